/**
 * One HTTP/1.1 connection of the web port, served here rather than by Deno's HTTP engine: request
 * after request (kept alive), each handed to the handler as a web `Request`, its `Response`
 * written back; and a WebSocket upgrade, after which the connection is a
 * {@linkcode RawWebSocket}. A head must arrive whole within the idle time, or the connection is
 * closed (slowloris); a request the strict reader refuses gets its status and the connection
 * closes.
 * @module
 */

import { createHash } from "node:crypto";
import { concatBytes } from "../../../protocol/bytes.ts";
import type { Logger } from "../../context.ts";
import type { FlushScheduler } from "../../io/outbound.ts";
import { type MessageSocket, RawWebSocket } from "./raw_websocket.ts";
import {
  bodyLength,
  fieldValues,
  hasToken,
  headEnd,
  HttpError,
  MAX_HEAD_BYTES,
  parseRequestHead,
  type RequestHead,
} from "./request_head.ts";

/** What a handler learns about a request besides the request itself. */
export interface WebRequestInfo {
  readonly remoteAddr: Deno.NetAddr;
  /**
   * Accepts a WebSocket upgrade: the socket, and the response to return from the handler.
   *
   * @throws {HttpError} 400 when the request is not a valid upgrade.
   */
  upgrade(protocol?: string): { socket: MessageSocket; response: Response };
}

/** A request handler. */
export type WebHandler = (request: Request, info: WebRequestInfo) => Promise<Response>;

/** Settings of {@linkcode serveHttp1}. */
export interface Http1Options {
  readonly handler: WebHandler;
  /** Served over TLS: request URLs are https. */
  readonly secure: boolean;
  /** How long a connection may take to send a request's head, and wait between requests. */
  readonly idleMs: number;
  /** The largest WebSocket message a client may send. */
  readonly maxMessageBytes: number;
  /** Bytes a WebSocket may have waiting to be sent before its peer counts as not reading. */
  readonly maxQueueBytes: number;
  readonly scheduler?: FlushScheduler;
  readonly log: Logger;
}

/** A Host: a name or an address, and a port; nothing a URL would read as a path or a user. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/;
const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
/** How long a response may wait for the client to read before the connection is cut. */
const WRITE_STALL_MS = 30_000;
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** A body larger than this is sent chunked (its length is not known in advance). */
const BUFFERED_BODY_BYTES = 64 * 1024;
/** Bytes read at a time while a head arrives. */
const HEAD_READ_BYTES = 1024;
/** An unread request body up to this size is read and dropped to keep the connection. */
const DRAIN_BYTES = 64 * 1024;

/** Serves `conn` until it closes, ends, or becomes a WebSocket. */
export async function serveHttp1(conn: Deno.Conn, options: Http1Options): Promise<void> {
  const reader = new ConnReader(conn);
  const remoteAddr = conn.remoteAddr as Deno.NetAddr;
  try {
    while (true) {
      const head = await reader.head(options.idleMs);
      if (head === null) return;
      const outcome = await serveRequest(conn, reader, head, remoteAddr, options);
      if (outcome === "upgraded" || outcome === "close") return;
    }
  } catch (error) {
    if (error instanceof HttpError) {
      await writeAll(conn, errorResponse(error.status, error.message, error.fields)).catch(
        () => {},
      );
    } else if (!isDisconnect(error)) {
      options.log.info(`HTTP connection from ${remoteAddr.hostname} ended: ${error}`);
    }
  } finally {
    if (!reader.upgraded) closeQuietly(conn);
  }
}

/** One request: "keep" the connection for the next, "close" it, or it was "upgraded". */
async function serveRequest(
  conn: Deno.Conn,
  reader: ConnReader,
  bytes: Uint8Array,
  remoteAddr: Deno.NetAddr,
  options: Http1Options,
): Promise<"keep" | "close" | "upgraded"> {
  const head = parseRequestHead(bytes);
  const host = fieldValues(head, "host");
  if (host.length !== 1 && head.version === "1.1") throw new HttpError(400, "Give one Host");
  if (host.length > 0 && !HOST.test(host[0])) throw new HttpError(400, "Malformed Host");
  let url: URL;
  try {
    url = new URL(`${options.secure ? "https" : "http"}://${host[0] ?? "localhost"}${head.target}`);
  } catch {
    throw new HttpError(400, "Malformed Host or target");
  }
  const length = bodyLength(head);
  const hasBody = length > 0 && head.method !== "GET" && head.method !== "HEAD";
  if (length > 0 && !hasBody) throw new HttpError(400, "A GET or HEAD carries no body");
  const expectsContinue = hasToken(head, "expect", "100-continue");
  const body = new BodyReader(reader, length, expectsContinue, conn, options.idleMs);
  let request: Request;
  try {
    request = new Request(url, {
      method: head.method,
      headers: head.fields as [string, string][],
      body: hasBody ? body.stream() : null,
    });
  } catch {
    throw new HttpError(400, "Malformed request");
  }
  let socket: RawWebSocket | undefined;
  const info: WebRequestInfo = {
    remoteAddr,
    upgrade(protocol) {
      const accepted = upgradeResponse(head, protocol);
      // The server's options object, shared: its WebSocket settings are among them.
      socket = new RawWebSocket(conn, accepted.head, options);
      return { socket, response: new Response(null, { status: 200 }) };
    },
  };
  let response: Response;
  try {
    response = await options.handler(request, info);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    options.log.info(`HTTP request from ${remoteAddr.hostname} not answered: ${error}`);
    response = new Response("Internal error\n", { status: 500 });
  }
  if (socket) {
    reader.upgraded = true;
    void socket.run(reader.takeBuffered());
    return "upgraded";
  }
  const keepAlive = head.version === "1.1"
    ? !hasToken(head, "connection", "close")
    : hasToken(head, "connection", "keep-alive");
  // The next request starts after this one's body: read what is left of it, or close.
  const drains = body.remaining <= DRAIN_BYTES;
  const close = !keepAlive || !drains;
  await writeResponse(conn, response, head, close);
  if (close) return "close";
  await body.drain();
  return "keep";
}

/** The handshake's answer (RFC 6455 §4.2.2), or a 400 for a request that is no upgrade. */
function upgradeResponse(head: RequestHead, protocol?: string): { head: Uint8Array } {
  const key = fieldValues(head, "sec-websocket-key");
  if (
    head.method !== "GET" || !hasToken(head, "upgrade", "websocket") ||
    !hasToken(head, "connection", "upgrade") || key.length !== 1 ||
    !/^[A-Za-z0-9+/]{22}==$/.test(key[0])
  ) {
    throw new HttpError(400, "Not a valid WebSocket upgrade");
  }
  if (fieldValues(head, "sec-websocket-version").join(",") !== "13") {
    // The version spoken goes with the refusal (RFC 6455 §4.4).
    throw new HttpError(
      426,
      "Only WebSocket version 13 is spoken",
      "sec-websocket-version: 13\r\n",
    );
  }
  const accept = createHash("sha1").update(key[0] + WS_GUID).digest("base64");
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "upgrade: websocket",
    "connection: Upgrade",
    `sec-websocket-accept: ${accept}`,
    ...(protocol ? [`sec-websocket-protocol: ${protocol}`] : []),
  ];
  return { head: encoder.encode(lines.join("\r\n") + "\r\n\r\n") };
}

/** Writes a response: its head, then its body, with a length when it is known or short. */
async function writeResponse(
  conn: Deno.Conn,
  response: Response,
  request: RequestHead,
  close: boolean,
): Promise<void> {
  const status = response.status;
  const noBody = request.method === "HEAD" || status === 204 || status === 304 || status < 200;
  const headers = new Headers(response.headers);
  headers.delete("transfer-encoding");
  headers.delete("connection");
  // An answer that names a protocol to upgrade to says so in Connection too (RFC 9110 7.8).
  const options = [...(close ? ["close"] : []), ...(headers.has("upgrade") ? ["upgrade"] : [])];
  if (options.length > 0) headers.set("connection", options.join(", "));
  const body = response.body?.getReader();
  // A short body is read whole first, so it goes out with its length in one write.
  const buffered: Uint8Array[] = [];
  let bufferedBytes = 0;
  let ended = body === undefined;
  while (body && !ended && bufferedBytes <= BUFFERED_BODY_BYTES) {
    const next = await body.read();
    if (next.done) ended = true;
    else {
      buffered.push(next.value);
      bufferedBytes += next.value.length;
    }
  }
  const chunked = !ended && !headers.has("content-length");
  if (ended && status >= 200 && status !== 204 && status !== 304) {
    headers.set("content-length", String(bufferedBytes));
  }
  if (chunked) headers.set("transfer-encoding", "chunked");
  const lines = [`HTTP/1.1 ${status} ${response.statusText || reasonPhrase(status)}`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  const headBytes = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  const watch = stallWatch(conn, WRITE_STALL_MS);
  try {
    if (noBody) {
      await body?.cancel().catch(() => {});
      await writeAll(conn, headBytes);
      return;
    }
    const framed = (bytes: Uint8Array) =>
      chunked ? [encoder.encode(`${bytes.length.toString(16)}\r\n`), bytes, CRLF] : [bytes];
    const first = concatBytes(bufferedBytes > 0 ? framed(concatBytes(buffered)) : []);
    await writeAll(conn, concatBytes([headBytes, first]));
    if (ended || !body) return;
    for (let next = await body.read(); !next.done; next = await body.read()) {
      if (next.value.length > 0) await writeAll(conn, concatBytes(framed(next.value)));
    }
    if (chunked) await writeAll(conn, encoder.encode("0\r\n\r\n"));
  } finally {
    watch.stop();
  }
}

/** Closes the connection if a write waits longer than `ms` (a client that reads nothing). */
function stallWatch(conn: Deno.Conn, ms: number): { stop(): void } {
  const timer = setTimeout(() => closeQuietly(conn), ms);
  return { stop: () => clearTimeout(timer) };
}

/** Reads a connection's bytes: heads, bodies, and what is left for a WebSocket. */
class ConnReader {
  readonly #conn: Deno.Conn;
  #buffered: Uint8Array = new Uint8Array(0);
  /** The connection now belongs to a WebSocket. */
  upgraded = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /**
   * The next request's head, or `null` when the connection ends first, or is closed for not
   * sending a whole head within `idleMs`.
   *
   * @throws {HttpError} 431 when the head is too large.
   */
  async head(idleMs: number): Promise<Uint8Array | null> {
    const timer = setTimeout(() => closeQuietly(this.#conn), idleMs);
    try {
      while (true) {
        const end = headEnd(this.#buffered);
        if (end > MAX_HEAD_BYTES) throw new HttpError(431, "Request head too large");
        if (end >= 0) {
          const head = this.#buffered.subarray(0, end);
          this.#buffered = this.#buffered.subarray(end);
          return head;
        }
        if (this.#buffered.length > MAX_HEAD_BYTES) {
          throw new HttpError(431, "Request head too large");
        }
        // Small reads: a head is a few hundred bytes, and thousands of connections upgrading
        // at once would leave as many 4 KiB holes among what the sockets keep.
        const more = await this.#readSocket(HEAD_READ_BYTES).catch(() => null); // or idle too long
        if (more === null) return null;
        this.#buffered = concatBytes([this.#buffered, more]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Buffered bytes first, then one read of at most `max` bytes; `null` at the end. */
  async read(max: number): Promise<Uint8Array | null> {
    if (this.#buffered.length > 0) {
      const bytes = this.#buffered.subarray(0, max);
      this.#buffered = this.#buffered.subarray(bytes.length);
      return bytes;
    }
    return await this.#readSocket(max);
  }

  async #readSocket(max: number): Promise<Uint8Array | null> {
    const buffer = new Uint8Array(max);
    const n = await this.#conn.read(buffer);
    return n === null ? null : buffer.subarray(0, n);
  }

  /** What was read past the last request (the first WebSocket frames). */
  takeBuffered(): Uint8Array {
    const rest = this.#buffered;
    this.#buffered = new Uint8Array(0);
    return rest;
  }
}

/** A request's body: exactly its length, read as the handler asks. */
class BodyReader {
  readonly #reader: ConnReader;
  readonly #conn: Deno.Conn;
  readonly #idleMs: number;
  #continueDue: boolean;
  remaining: number;

  /** @param idleMs a body that sends nothing for this long is cut off with its connection */
  constructor(
    reader: ConnReader,
    length: number,
    expectsContinue: boolean,
    conn: Deno.Conn,
    idleMs: number,
  ) {
    this.#reader = reader;
    this.remaining = length;
    this.#continueDue = expectsContinue && length > 0;
    this.#conn = conn;
    this.#idleMs = idleMs;
  }

  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const bytes = await this.#next();
        if (bytes === null) controller.close();
        else controller.enqueue(bytes);
      },
    }, { highWaterMark: 0 });
  }

  async #next(): Promise<Uint8Array | null> {
    if (this.remaining === 0) return null;
    if (this.#continueDue) {
      this.#continueDue = false;
      await writeAll(this.#conn, encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    const stalled = setTimeout(() => closeQuietly(this.#conn), this.#idleMs);
    const bytes = await this.#reader.read(Math.min(this.remaining, 256 * 1024)).finally(() =>
      clearTimeout(stalled)
    );
    if (bytes === null) {
      throw new Deno.errors.UnexpectedEof(`The body ended ${this.remaining} bytes short`);
    }
    this.remaining -= bytes.length;
    return bytes;
  }

  /** Reads and drops what the handler left unread. */
  async drain(): Promise<void> {
    this.#continueDue = false; // the client was not told to send it: it will not
    while (this.remaining > 0) await this.#next();
  }
}

/** A plain-text answer after which the connection closes; `fields` are extra header lines. */
export function errorResponse(status: number, message: string, fields = ""): Uint8Array {
  const body = `${message}\n`;
  return encoder.encode(
    `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${encoder.encode(body).length}\r\nconnection: close\r\n${fields}\r\n` +
      body,
  );
}

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Status";
}

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof;
}

/** Closes `conn`, which may be closed already. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
