/**
 * Redis without a single point of failure: a replicated Redis watched by Redis Sentinel. The
 * node asks the sentinels which server is the primary and reaches it through a small relay on
 * its own loopback, so every connection the store and the hub hold goes to the primary of the
 * moment: when the sentinels promote a replica, the relay drops the connections to the old
 * primary, the clients reconnect as they do after a Redis restart, and the relay takes them to
 * the new one.
 * @module
 */

/** A sentinel's address. */
export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

/** What a `redis-sentinel://` URL names. */
export interface SentinelTarget {
  readonly sentinels: readonly SentinelAddress[];
  /** The name the sentinels monitor the group by. */
  readonly group: string;
  /** The password of the Redis servers (not of the sentinels), if the URL has one. */
  readonly password?: string;
  readonly username?: string;
}

/** The scheme of a sentinel URL. */
export const SENTINEL_SCHEME = "redis-sentinel:";

/**
 * Reads `redis-sentinel://[[user]:password@]HOST:PORT[,HOST:PORT…]/GROUP`; a string says what
 * is wrong with it.
 */
export function parseSentinelUrl(url: string): SentinelTarget | string {
  if (!url.startsWith(`${SENTINEL_SCHEME}//`)) return `"${url}" is not a redis-sentinel:// URL`;
  const rest = url.slice(SENTINEL_SCHEME.length + 2);
  const slash = rest.indexOf("/");
  if (slash < 0) return "name the group the sentinels monitor: redis-sentinel://HOST:PORT/NAME";
  const authority = rest.slice(0, slash);
  const group = decodeURIComponent(rest.slice(slash + 1));
  if (!/^[\w.:-]{1,64}$/.test(group)) return `"${group}" is not a sentinel group name`;
  const at = authority.lastIndexOf("@");
  let username: string | undefined;
  let password: string | undefined;
  if (at >= 0) {
    const info = authority.slice(0, at);
    const colon = info.indexOf(":");
    username = decodeURIComponent(colon < 0 ? info : info.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(info.slice(colon + 1)) || undefined;
  }
  const sentinels: SentinelAddress[] = [];
  for (const part of authority.slice(at + 1).split(",")) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d{1,5})$/.exec(part);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      return `"${part}" is not HOST:PORT of a sentinel`;
    }
    sentinels.push({ host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) });
  }
  if (sentinels.length === 0) return "name at least one sentinel: redis-sentinel://HOST:PORT/NAME";
  return { sentinels, group, password, username };
}

/** A Redis value as the sentinel's small replies hold them. */
type RespValue = string | number | null | RespValue[] | Error;

/**
 * Reads one RESP value from `bytes` at `offset`: the value and where the next begins, or
 * `undefined` when more bytes are needed.
 */
export function readResp(
  bytes: Uint8Array,
  offset = 0,
): { value: RespValue; next: number } | undefined {
  const end = bytes.indexOf(0x0a, offset);
  if (end < 0 || bytes[end - 1] !== 0x0d) return undefined;
  const head = new TextDecoder().decode(bytes.subarray(offset + 1, end - 1));
  const type = String.fromCharCode(bytes[offset]);
  switch (type) {
    case "+":
      return { value: head, next: end + 1 };
    case "-":
      return { value: new Error(head), next: end + 1 };
    case ":":
      return { value: Number(head), next: end + 1 };
    case "$": {
      const length = Number(head);
      if (length < 0) return { value: null, next: end + 1 };
      if (bytes.length < end + 1 + length + 2) return undefined;
      const value = new TextDecoder().decode(bytes.subarray(end + 1, end + 1 + length));
      return { value, next: end + 1 + length + 2 };
    }
    case "*": {
      const count = Number(head);
      if (count < 0) return { value: null, next: end + 1 };
      const items: RespValue[] = [];
      let next = end + 1;
      for (let i = 0; i < count; i++) {
        const item = readResp(bytes, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
  }
  throw new Error(`not a Redis reply (${JSON.stringify(type)})`);
}

/** A command in RESP. */
function encodeCommand(args: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts = args.map((a) => `$${encoder.encode(a).length}\r\n${a}\r\n`);
  return encoder.encode(`*${args.length}\r\n${parts.join("")}`);
}

/** Sends one command to `address` on a fresh connection and reads the reply, within `timeoutMs`. */
async function ask(
  address: SentinelAddress,
  args: readonly string[],
  timeoutMs: number,
): Promise<RespValue> {
  const abort = new AbortController();
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => {
    abort.abort(new Error(`no answer within ${timeoutMs} ms`));
    try {
      conn?.close();
    } catch {
      // closed already
    }
  }, timeoutMs);
  try {
    conn = await Deno.connect({
      hostname: address.host,
      port: address.port,
      signal: abort.signal,
    });
    await conn.write(encodeCommand(args));
    let buffer = new Uint8Array(0);
    const chunk = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(chunk);
      if (n === null) throw new Error("the sentinel closed the connection");
      const joined = new Uint8Array(buffer.length + n);
      joined.set(buffer);
      joined.set(chunk.subarray(0, n), buffer.length);
      buffer = joined;
      if (buffer.length > 65536) throw new Error("the sentinel's reply is too long");
      const reply = readResp(buffer);
      if (reply) return reply.value;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // closed by the timer
    }
  }
}

/** Where the primary is. */
export interface PrimaryAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Asks the sentinels, in turn, where the group's primary is; the first that knows answers.
 *
 * @throws {Error} when no sentinel answers, saying what each said.
 */
export async function askPrimary(
  target: SentinelTarget,
  timeoutMs = 1000,
): Promise<PrimaryAddress> {
  const problems: string[] = [];
  for (const sentinel of target.sentinels) {
    try {
      const reply = await ask(
        sentinel,
        ["SENTINEL", "get-master-addr-by-name", target.group],
        timeoutMs,
      );
      if (reply instanceof Error) throw reply;
      if (!Array.isArray(reply) || typeof reply[0] !== "string") {
        throw new Error(`knows no group "${target.group}"`);
      }
      return { host: reply[0], port: Number(reply[1]) };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      problems.push(`${sentinel.host}:${sentinel.port}: ${why}`);
    }
  }
  throw new Error(`no sentinel named the primary of "${target.group}" (${problems.join("; ")})`);
}

/** Options of {@linkcode SentinelRelay.start}. */
export interface SentinelRelayOptions {
  /** Where changes of primary and unreachable sentinels are reported. */
  readonly log: (line: string) => void;
  /** How often the sentinels are asked (default 500 ms). */
  readonly pollMs?: number;
}

/**
 * A relay on loopback to the primary of the moment. Point Redis clients at {@linkcode url}.
 */
export class SentinelRelay implements AsyncDisposable {
  readonly #target: SentinelTarget;
  readonly #listener: Deno.TcpListener;
  readonly #log: (line: string) => void;
  readonly #pipes = new Set<{ primary: string; close: () => void }>();
  #primary: PrimaryAddress;
  #timer: ReturnType<typeof setInterval>;
  #asking = false;
  #sentinelsDown = false;
  #accepting: Promise<void>;
  #closed = false;

  private constructor(
    target: SentinelTarget,
    primary: PrimaryAddress,
    listener: Deno.TcpListener,
    options: SentinelRelayOptions,
  ) {
    this.#target = target;
    this.#primary = primary;
    this.#listener = listener;
    this.#log = options.log;
    this.#timer = setInterval(() => void this.#refresh(), options.pollMs ?? 500);
    this.#accepting = this.#accept();
  }

  /**
   * Asks the sentinels for the primary and opens the relay.
   *
   * @throws {Error} when no sentinel names a primary.
   */
  static async start(
    target: SentinelTarget,
    options: SentinelRelayOptions,
  ): Promise<SentinelRelay> {
    const primary = await askPrimary(target);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return new SentinelRelay(target, primary, listener, options);
  }

  /** `redis://127.0.0.1:PORT` of the relay, with the target's password. */
  get url(): string {
    const { username, password } = this.#target;
    const auth = password === undefined
      ? ""
      : `${encodeURIComponent(username ?? "")}:${encodeURIComponent(password)}@`;
    return `redis://${auth}127.0.0.1:${this.#listener.addr.port}`;
  }

  /** The primary the relay leads to now. */
  get primary(): PrimaryAddress {
    return this.#primary;
  }

  /** Asks the sentinels again; on a new primary, drops the connections to the old one. */
  async #refresh(): Promise<void> {
    if (this.#asking || this.#closed) return;
    this.#asking = true;
    try {
      const primary = await askPrimary(this.#target);
      if (this.#sentinelsDown) this.#log("The sentinels answer again");
      this.#sentinelsDown = false;
      if (this.#closed) return;
      const before = keyOf(this.#primary);
      if (keyOf(primary) !== before) {
        this.#primary = primary;
        this.#log(`The Redis primary is now ${keyOf(primary)} (was ${before}): reconnecting`);
        for (const pipe of this.#pipes) if (pipe.primary === before) pipe.close();
      }
    } catch (error) {
      if (!this.#sentinelsDown) this.#log(`${error instanceof Error ? error.message : error}`);
      this.#sentinelsDown = true;
    } finally {
      this.#asking = false;
    }
  }

  async #accept(): Promise<void> {
    for await (const inbound of this.#listener) {
      if (this.#closed) {
        inbound.close();
        break;
      }
      void this.#relay(inbound);
    }
  }

  /** Joins a client's connection to the primary's, until either ends. */
  async #relay(inbound: Deno.TcpConn): Promise<void> {
    const primary = this.#primary;
    let outbound: Deno.TcpConn;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 2000);
    try {
      outbound = await Deno.connect({
        hostname: primary.host,
        port: primary.port,
        signal: abort.signal,
      });
    } catch {
      // The primary may have just died: ask now rather than at the next poll.
      void this.#refresh();
      inbound.close();
      return;
    } finally {
      clearTimeout(timer);
    }
    outbound.setNoDelay(true);
    inbound.setNoDelay(true);
    let closed = false;
    const pipe = {
      primary: keyOf(primary),
      close: () => {
        if (closed) return;
        closed = true;
        for (const conn of [inbound, outbound]) {
          try {
            conn.close();
          } catch {
            // closed already
          }
        }
      },
    };
    this.#pipes.add(pipe);
    const copy = async (from: Deno.TcpConn, to: Deno.TcpConn) => {
      const buffer = new Uint8Array(65536);
      try {
        while (true) {
          const n = await from.read(buffer);
          if (n === null) break;
          let written = 0;
          while (written < n) written += await to.write(buffer.subarray(written, n));
        }
      } catch {
        // either side closed
      }
      pipe.close();
    };
    await Promise.all([copy(inbound, outbound), copy(outbound, inbound)]);
    this.#pipes.delete(pipe);
  }

  /** Closes the relay and every connection through it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      this.#listener.close();
    } catch {
      // closed already
    }
    await this.#accepting.catch(() => {});
    for (const pipe of this.#pipes) pipe.close();
    while (this.#asking) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function keyOf(address: PrimaryAddress): string {
  return `${address.host}:${address.port}`;
}

/** The URL with `password` for the Redis servers in it, unless it has one already. */
export function sentinelUrlWithPassword(url: string, password: string | undefined): string {
  const target = parseSentinelUrl(url);
  if (!password || typeof target === "string" || target.password !== undefined) return url;
  const rest = url.slice(SENTINEL_SCHEME.length + 2);
  const user = target.username === undefined ? "" : encodeURIComponent(target.username);
  const hosts = rest.slice(rest.lastIndexOf("@", rest.indexOf("/")) + 1);
  return `${SENTINEL_SCHEME}//${user}:${encodeURIComponent(password)}@${hosts}`;
}

/** The sentinel URL without its password, for log lines. */
export function redactSentinelUrl(url: string): string {
  const target = parseSentinelUrl(url);
  if (typeof target === "string") return "(an unreadable URL)";
  const hosts = target.sentinels.map((s) =>
    `${s.host.includes(":") ? `[${s.host}]` : s.host}:${s.port}`
  );
  const auth = target.password === undefined ? "" : `${target.username ?? ""}:***@`;
  return `${SENTINEL_SCHEME}//${auth}${hosts.join(",")}/${target.group}`;
}

/**
 * A `redis://` URL of the primary now: a sentinel URL is resolved by asking its sentinels (for
 * short tasks such as the operator tool's; a server follows failovers with a relay); any other
 * URL is returned as it is.
 */
export async function primaryUrl(url: string): Promise<string> {
  if (!url.startsWith(SENTINEL_SCHEME)) return url;
  const target = parseSentinelUrl(url);
  if (typeof target === "string") throw new Error(target);
  const { host, port } = await askPrimary(target);
  const { username, password } = target;
  const auth = password === undefined
    ? ""
    : `${encodeURIComponent(username ?? "")}:${encodeURIComponent(password)}@`;
  return `redis://${auth}${host.includes(":") ? `[${host}]` : host}:${port}`;
}
