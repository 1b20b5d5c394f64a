/**
 * The labchat server: accept loop, sessions, idle sweeper and orderly shutdown.
 * @module
 */

import { join } from "node:path";
import { DEFAULT_SERVER_CONFIG, FALLBACK_MOTD, type ServerConfig } from "../config.ts";
import { Reply } from "../protocol/codes.ts";
import { SHUTDOWN_EVENT } from "../protocol/events.ts";
import { describeLineError } from "../protocol/line_splitter.ts";
import { formatDuration } from "../protocol/timestamp.ts";
import { BlobStore } from "../store/blob_store.ts";
import { openKvStore } from "../store/kv_store.ts";
import type { RoomRecord, SeenRecord, Store } from "../store/store.ts";
import { BlockList } from "./block_list.ts";
import type { Logger, ServerContext } from "./context.ts";
import { dispatch } from "./dispatch.ts";
import { Hub } from "./hub.ts";
import { KeyedLock } from "./keyed_lock.ts";
import { TokenBucket } from "./token_bucket.ts";
import { logOut } from "./presence.ts";
import { FlushScheduler } from "./outbound.ts";
import { encodeEvent, Session } from "./session.ts";

/** How long events wait to be coalesced into one write per connection. */
const FLUSH_DELAY_MS = 4;

/** Options of {@linkcode startChatServer}: any config field, plus where to log. */
export interface ChatServerOptions extends Partial<ServerConfig> {
  /** Defaults to a logger that writes nothing. */
  readonly log?: Logger;
}

const SILENT: Logger = { info() {}, error() {} };

/** The mutable part of the context, owned by the server. */
class State implements ServerContext {
  shuttingDown = false;
  readonly hub: Hub<Session> = new Hub<Session>();
  readonly locks: KeyedLock = new KeyedLock();

  constructor(
    readonly config: Readonly<ServerConfig>,
    readonly store: Store,
    readonly blocks: BlockList,
    readonly seen: Map<string, SeenRecord>,
    readonly rooms: Map<number, RoomRecord>,
    readonly motd: string[],
    readonly blobs: BlobStore,
    readonly log: Logger,
    readonly requestShutdown: (reason: string) => void,
  ) {}
}

/** Reads the MOTD seed file: one message per non-empty line. */
async function readMotdSeed(dataDir: string): Promise<string[]> {
  try {
    const text = await Deno.readTextFile(join(dataDir, "motd.txt"));
    return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [...FALLBACK_MOTD];
    throw error;
  }
}

async function loadMotd(store: Store, dataDir: string): Promise<string[]> {
  const stored = await store.listMotd();
  if (stored.length > 0) return stored;
  const seed = await readMotdSeed(dataDir);
  for (const text of seed) await store.addMotd(text);
  return seed;
}

/**
 * Opens the store under `dataDir` and starts listening. Resolves once the server accepts
 * connections; `addr` has the real port when `port` is 0.
 *
 * @example Usage
 * ```ts ignore
 * import { startChatServer } from "./chat_server.ts";
 * await using server = await startChatServer({ hostname: "127.0.0.1", port: 0, dataDir: "/tmp/x" });
 * console.log(server.addr.port);
 * ```
 */
export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const { log = SILENT, ...overrides } = options;
  const config: ServerConfig = { ...DEFAULT_SERVER_CONFIG, ...overrides };
  const store = await openKvStore(config.dataDir);
  try {
    const blocks = new BlockList(await store.loadBlocks());
    const seen = await store.loadSeen();
    const rooms = new Map((await store.listRooms()).map((r) => [r.id, r]));
    const motd = await loadMotd(store, config.dataDir);
    const blobs = await BlobStore.open(config.dataDir);
    const address = { hostname: config.hostname, port: config.port };
    const listener: Deno.Listener = config.tlsCert && config.tlsKey
      ? Deno.listenTls({ ...address, cert: config.tlsCert, key: config.tlsKey })
      : Deno.listen(address);
    return new ChatServer(listener, config, (requestShutdown) => {
      const verboseLog: Logger = config.verbose ? log : { info() {}, error: log.error };
      return new State(
        config,
        store,
        blocks,
        seen,
        rooms,
        motd,
        blobs,
        verboseLog,
        requestShutdown,
      );
    });
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** A running server. Stop it with {@linkcode ChatServer.shutdown} (or `await using`). */
export class ChatServer implements AsyncDisposable {
  /** The address the server listens on. */
  readonly addr: Deno.NetAddr;
  readonly #listener: Deno.Listener;
  readonly #ctx: State;
  readonly #sessions = new Map<Session, Promise<void>>();
  readonly #flush = new FlushScheduler(FLUSH_DELAY_MS);
  readonly #perIp = new Map<string, number>();
  /** New-connection buckets by address; cleared every minute so the map cannot grow for ever. */
  #connectRate = new Map<string, TokenBucket>();
  #connectRateSince = Date.now();
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #acceptLoop: Promise<void>;
  #shutdown: Promise<void> | undefined;
  readonly #finished = Promise.withResolvers<string>();

  constructor(
    listener: Deno.Listener,
    config: Readonly<ServerConfig>,
    makeState: (requestShutdown: (reason: string) => void) => State,
  ) {
    this.#listener = listener;
    this.addr = listener.addr as Deno.NetAddr;
    this.#ctx = makeState((reason) => void this.shutdown(reason));
    const tick = Math.min(1000, Math.max(20, Math.floor(config.idleTimeoutMs / 4)));
    this.#sweeper = setInterval(() => this.#sweepIdle(), tick);
    this.#acceptLoop = this.#accept();
  }

  /** Resolves with the reason once the server has shut down. */
  get finished(): Promise<string> {
    return this.#finished.promise;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  async #accept(): Promise<void> {
    const { config, log } = this.#ctx;
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#ctx.shuttingDown) return;
        if (error instanceof Deno.errors.BadResource) return;
        log.error("Cannot accept a connection", error);
        continue;
      }
      const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
      const fromIp = this.#perIp.get(ip) ?? 0;
      if (this.#sessions.size >= config.maxConnections || fromIp >= config.maxConnectionsPerIp) {
        log.info(`Refused connection from ${ip}: too many connections`);
        void refuse(conn, `${Reply.SERVER_BUSY} Too many connections; try again later\n`);
        continue;
      }
      if (!this.#mayConnect(ip)) {
        log.info(`Refused connection from ${ip}: connecting too fast`);
        void refuse(
          conn,
          `${Reply.SERVER_BUSY} Too many new connections from your address; slow down\n`,
        );
        continue;
      }
      if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
      this.#perIp.set(ip, fromIp + 1);
      const session = new Session(conn, {
        maxLineBytes: config.maxLineBytes,
        maxSendQueueBytes: config.maxSendQueueBytes,
        flush: this.#flush,
        onSlowReader: (s) => {
          log.info(
            `${s.label} disconnected: not reading (send queue over ${config.maxSendQueueBytes} bytes)`,
          );
          void s.close();
        },
      });
      log.info(`Connected to ${session.ip}:${session.port}`);
      this.#sessions.set(session, this.#serve(session));
    }
  }

  /** Per-address connection rate (bursts of twice the rate). */
  #mayConnect(ip: string): boolean {
    const rate = this.#ctx.config.connectRatePerIp;
    if (rate <= 0) return true;
    if (Date.now() - this.#connectRateSince > 60_000) {
      this.#connectRate = new Map();
      this.#connectRateSince = Date.now();
    }
    let bucket = this.#connectRate.get(ip);
    if (!bucket) this.#connectRate.set(ip, bucket = new TokenBucket(rate, rate * 2, 0));
    return bucket.take(performance.now()).kind === "now";
  }

  async #serve(session: Session): Promise<void> {
    const ctx = this.#ctx;
    const { requestRate, floodLimitMs } = ctx.config;
    const bucket = requestRate > 0
      ? new TokenBucket(requestRate, requestRate * 2, Infinity)
      : undefined;
    /** Since when every request of this session has had to wait: a flood once it lasts. */
    let throttledSince: number | undefined;
    try {
      await session.readFrames(async (frame) => {
        // Flood control: past the rate, stop reading (TCP pushes back on the client); held back
        // for longer than the flood limit, the client is disconnected with the reason.
        const now = performance.now();
        const turn = bucket?.take(now);
        if (turn?.kind === "wait") {
          throttledSince ??= now;
          if (now - throttledSince > floodLimitMs) {
            ctx.log.info(`${session.label} disconnected: flooding`);
            session.event({
              type: "disconnect",
              text:
                `Disconnected: more than ${requestRate} requests per second for too long (flooding)`,
            });
            await session.close(true, 1000);
            return;
          }
          await session.pause(turn.ms);
        } else {
          throttledSince = undefined;
        }
        if (session.isClosed) return;
        if ("line" in frame) {
          if (frame.line.trim() === "") return;
          await dispatch(ctx, session, frame.line);
        } else {
          session.lastActivity = Date.now();
          session.reply(Reply.BAD_LINE, describeLineError(frame.error, ctx.config.maxLineBytes));
        }
      });
    } catch (error) {
      ctx.log.error(`${session.label}: connection failed`, error);
    } finally {
      await logOut(ctx, session);
      await session.close();
      this.#sessions.delete(session);
      const left = (this.#perIp.get(session.ip) ?? 1) - 1;
      if (left <= 0) this.#perIp.delete(session.ip);
      else this.#perIp.set(session.ip, left);
    }
  }

  /** One timer for every session: logs out and disconnects those idle too long. */
  #sweepIdle(): void {
    const limit = this.#ctx.config.idleTimeoutMs;
    const now = Date.now();
    const idle = formatDuration(limit);
    for (const session of this.#sessions.keys()) {
      if (session.isClosed || now - session.lastActivity < limit) continue;
      if (session.user !== undefined) {
        this.#ctx.log.info(`${session.user} timed out after ${idle} idle`);
        session.event({
          type: "idle",
          text: `You have been logged out after ${idle} of inactivity`,
        });
      } else {
        session.event({ type: "disconnect", text: `Disconnected after ${idle} of inactivity` });
      }
      void session.close(true, 1000);
    }
  }

  /**
   * Tells every client, stops accepting, waits for sessions to end, flushes and closes storage.
   * Idempotent: later calls return the first call's promise.
   */
  shutdown(reason = "shutdown"): Promise<void> {
    this.#shutdown ??= this.#doShutdown(reason);
    return this.#shutdown;
  }

  async #doShutdown(reason: string): Promise<void> {
    const ctx = this.#ctx;
    ctx.shuttingDown = true;
    ctx.log.info(`Server shutting down (${reason})`);
    clearInterval(this.#sweeper);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#acceptLoop;
    const notice = encodeEvent(SHUTDOWN_EVENT);
    const sessions = [...this.#sessions.keys()];
    for (const session of sessions) session.send(notice);
    this.#flush.flush();
    await Promise.all(sessions.map((s) => s.close(true)));
    await Promise.all(this.#sessions.values());
    await ctx.store.close();
    this.#finished.resolve(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown("disposed");
  }
}

/** Tells a connection over the caps why it is refused and closes it. */
async function refuse(conn: Deno.Conn, line: string): Promise<void> {
  try {
    await conn.write(new TextEncoder().encode(line));
  } catch {
    // the peer is gone already
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}
