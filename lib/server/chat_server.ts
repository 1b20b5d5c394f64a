/**
 * The labchat server: opens storage and the services, accepts connections on its front ends, and
 * shuts down in order.
 * @module
 */

import { DEFAULT_SERVER_CONFIG, type ServerConfig } from "../config.ts";
import { OutboundEvent, SHUTDOWN_EVENT } from "../protocol/events.ts";
import { BlobStore } from "../store/blob_store.ts";
import { DataDirLock } from "../store/data_dir_lock.ts";
import { openKvStore } from "../store/kv_store.ts";
import { redactUrl } from "../store/redis_client.ts";
import { openCluster } from "./cluster/open_cluster.ts";
import { serveTcp, type TcpFrontEnd } from "./tcp/tcp_front_end.ts";
import { ClusterHub } from "./cluster/cluster_hub.ts";
import type { Client } from "./client.ts";
import type { ClientHost, FrameSource } from "./client_host.ts";
import { ConnectionGuard } from "./io/connection_guard.ts";
import type { Logger } from "./context.ts";
import { LocalHub } from "./hub.ts";
import { IdleCollector } from "./io/idle_collector.ts";
import { IdleSweeper } from "./idle_sweeper.ts";
import { Counters } from "./metrics.ts";
import { type Listeners, openListeners } from "./listeners.ts";
import { FlushScheduler } from "./io/outbound.ts";
import { logOut } from "./presence.ts";
import { type LineHandler, RequestPipeline } from "./request_pipeline.ts";
import { type IrcFrontEnd, serveIrc } from "./irc/irc_front_end.ts";
import { type Clock, systemClock } from "./services/clock.ts";
import { openServerState, type ServerState } from "./server_state.ts";
import { StaticFiles } from "./web/static_files.ts";
import { webHandler } from "./web/web_front_end.ts";
import { serveWeb, type WebServer } from "./web/http_server.ts";

/** How long events wait to be coalesced into one write per connection. */
const FLUSH_DELAY_MS = 2;
/** File descriptors kept for the database, blobs, logs and listeners, beyond connections. */
const RESERVED_FDS = 64;

/** Options of {@linkcode startChatServer}: any config field, plus where to log. */
export interface ChatServerOptions extends Partial<ServerConfig> {
  /** Defaults to a logger that writes nothing. */
  readonly log?: Logger;
  /** Defaults to the system clock. */
  readonly clock?: Clock;
}

const SILENT: Logger = { info() {}, warn() {}, error() {} };

/** The largest number of connections the open-file limit leaves room for, or `undefined`. */
function connectionsForFdLimit(config: ServerConfig): number | undefined {
  const limit = config.openFilesLimit;
  if (limit === undefined || config.maxConnections <= limit - RESERVED_FDS) return undefined;
  return Math.max(1, limit - RESERVED_FDS);
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
  const { log = SILENT, clock = systemClock, ...overrides } = options;
  const config: ServerConfig = { ...DEFAULT_SERVER_CONFIG, ...overrides };
  if (config.cluster !== undefined) config.node ??= `node-${Deno.pid}`;
  // Nodes of a cluster share the data directory; an embedded store is one server's alone.
  const lock = await DataDirLock.acquire(
    config.dataDir,
    config.cluster === undefined ? "exclusive" : "shared",
    "server",
  );
  const counters = new Counters();
  let opened;
  try {
    opened = config.cluster === undefined
      ? { ...(await openKvStore(config.dataDir)), hub: new LocalHub() }
      : {
        ...(await openCluster(config.cluster, config.node ?? "", log, {
          acks: config.clusterAcks,
          counters,
        })),
        warnings: [] as string[],
      };
  } catch (error) {
    lock.release();
    throw error;
  }
  const { store, hub, warnings } = opened;
  if (lock.notice) warnings.unshift(lock.notice);
  let serving: ServerState | undefined;
  try {
    const fdCap = connectionsForFdLimit(config);
    if (fdCap !== undefined) {
      warnings.push(
        `--max-connections ${config.maxConnections} does not fit the open-file limit of ${config.openFilesLimit}; using ${fdCap} (raise it with ulimit -n)`,
      );
      config.maxConnections = fdCap;
    }
    const verboseLog: Logger = config.verbose
      ? log
      : { info() {}, warn: (line) => log.warn(line), error: (line, e) => log.error(line, e) };
    const state = await openServerState(config, {
      store,
      // Nodes may share one blob directory; each has its own for uploads under way.
      blobs: await BlobStore.open(
        config.dataDir,
        config.node === undefined ? undefined : `tmp-${config.node}`,
      ),
      hub,
      clock,
      log: verboseLog,
      counters,
    });
    serving = state.state;
    for (const note of state.notes) log.info(note);
    for (const warning of [...warnings, ...state.warnings]) log.error(`Warning: ${warning}`);
    if (config.cluster !== undefined) {
      log.info(`Node ${config.node} joined the cluster at ${redactUrl(config.cluster)}`);
    }
    const files = config.http ? await StaticFiles.load(config.webRoot) : undefined;
    if (files?.problem !== undefined) log.error(`Warning: ${files.problem}`);
    const listeners = openListeners(config);
    state.state.search?.start();
    // Broadcasts from every node go out in number order, from the first after the newest now.
    if (hub instanceof ClusterHub) {
      const [newest] = await store.listBroadcasts({ limit: 1 });
      hub.broadcastsAfter(newest?.number ?? 0);
    }
    return new ChatServer(listeners, state.state, lock, files);
  } catch (error) {
    await serving?.search?.close();
    await hub.close();
    await store.close();
    lock.release();
    throw error;
  }
}

/** A running server. Stop it with {@linkcode ChatServer.shutdown} (or `await using`). */
export class ChatServer implements AsyncDisposable {
  /** The address the server listens on. */
  readonly addr: Deno.NetAddr;
  /** The address of the web client and its WebSocket, when served. */
  readonly httpAddr: Deno.NetAddr | undefined;
  /** The address of the IRC gateway, when it runs. */
  readonly ircAddr: Deno.NetAddr | undefined;
  readonly #irc: IrcFrontEnd | undefined;
  readonly #lock: DataDirLock;
  readonly #http: WebServer | undefined;
  readonly #ctx: ServerState;
  readonly #clients = new Map<Client, Promise<void>>();
  readonly #flush = new FlushScheduler(FLUSH_DELAY_MS);
  readonly #guard: ConnectionGuard;
  readonly #sweeper: IdleSweeper | undefined;
  readonly #collector: IdleCollector;
  /** Connections served and frames read so far: with the writes, what the idle collector watches. */
  #work = 0;
  readonly #tcp: TcpFrontEnd;
  #shutdown: Promise<void> | undefined;
  readonly #finished = Promise.withResolvers<string>();

  /**
   * @param listeners the ports, opened; the IRC gateway and the web front end run on theirs
   * @param lock the data directory's lock, released once storage is closed
   * @param files the web client's files; the web front end runs when they are given
   */
  constructor(
    listeners: Listeners,
    state: ServerState,
    lock: DataDirLock,
    files?: StaticFiles,
  ) {
    const listener = listeners.tcp;
    this.#lock = lock;
    this.addr = listener.addr as Deno.NetAddr;
    this.#ctx = state;
    state.onShutdownRequest((reason) => void this.shutdown(reason));
    state.unregistered = () => {
      let count = 0;
      for (const client of this.#clients.keys()) if (client.identity === undefined) count++;
      return count;
    };
    state.connections = () => {
      const counts = new Map<string, number>([["tcp", 0], ["irc", 0], ["ws", 0]]);
      for (const client of this.#clients.keys()) {
        counts.set(client.transport, (counts.get(client.transport) ?? 0) + 1);
      }
      return counts;
    };
    const { config, clock, log } = this.#ctx;
    this.#guard = new ConnectionGuard(config);
    this.#sweeper = config.idleTimeoutMs > 0
      ? new IdleSweeper(() => this.#clients.keys(), config.idleTimeoutMs, clock, log)
      : undefined;
    this.#collector = new IdleCollector({
      work: () => this.#work + this.#ctx.counters.frames + this.#flush.gate.started,
      onCollected: (before, after, ms) =>
        log.info(
          `Quiet after a burst: heap collected in ${Math.round(ms)} ms, ` +
            `${mib(before)} -> ${mib(after)} MiB in use`,
        ),
    });
    const host: ClientHost = {
      ctx: state,
      flush: this.#flush,
      admit: (ip) => this.#guard.admit(ip),
      release: (ip) => this.#guard.release(ip),
      serve: (client, source, lines) => {
        this.#work++;
        this.#clients.set(client, this.#serveClient(client, source, lines));
      },
    };
    this.#tcp = serveTcp(listener, host);
    this.#irc = listeners.irc ? serveIrc(listeners.irc, host) : undefined;
    this.ircAddr = this.#irc?.addr;
    if (files && listeners.web) {
      const secure = config.tlsCert !== undefined && config.tlsKey !== undefined;
      this.#http = serveWeb({
        listener: listeners.web,
        handler: webHandler({ host, files, secure }),
        admit: (ip) => this.#guard.admit(ip),
        release: (ip) => this.#guard.release(ip),
        idleMs: config.httpIdleMs,
        secure,
        // Beyond a line's limit a message is answered as too long; far beyond, the socket is cut.
        maxMessageBytes: Math.max(64 * 1024, 4 * config.maxLineBytes),
        maxQueueBytes: 2 * config.maxSendQueueBytes,
        scheduler: this.#flush,
        log,
        stopping: () => this.#ctx.shuttingDown,
      });
      this.httpAddr = this.#http.addr;
    }
  }

  /** Resolves with the reason once the server has shut down. */
  get finished(): Promise<string> {
    return this.#finished.promise;
  }

  /** Why the server cannot serve now (what `/healthz` says), or `undefined` when it can. */
  get unhealthyReason(): string | undefined {
    return this.#ctx.unhealthy();
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.#clients.size;
  }

  /**
   * A client's life, whatever carries it: its frames in order, then logout and release. The
   * source reads and tells the pipeline of the end from its own async frame: an idle connection
   * holds one suspended frame (its read) and no closures; thousands of them are what memory per
   * client is made of.
   */
  #serveClient(client: Client, source: FrameSource, lines?: LineHandler): Promise<void> {
    return source.readFrames(new RequestPipeline(this.#ctx, client, source, this.#ended, lines));
  }

  /** Once a client's connection has ended: logged out, closed, counted out. */
  readonly #ended = async (client: Client): Promise<void> => {
    await logOut(this.#ctx, client);
    await client.output.close();
    this.#clients.delete(client);
    this.#guard.release(client.ip);
  };

  /**
   * Tells every client, stops accepting, waits for clients to end, flushes and closes storage.
   * Idempotent: later calls return the first call's promise.
   */
  shutdown(reason = "shutdown"): Promise<void> {
    this.#shutdown ??= this.#doShutdown(reason);
    return this.#shutdown;
  }

  async #doShutdown(reason: string): Promise<void> {
    const ctx = this.#ctx;
    ctx.shuttingDown = true;
    ctx.presence.stop();
    ctx.log.info(`Server shutting down (${reason})`);
    this.#sweeper?.stop();
    this.#collector.stop();
    await this.#tcp.stop();
    await this.#irc?.stop();
    const notice = new OutboundEvent(SHUTDOWN_EVENT);
    const clients = [...this.#clients.keys()];
    for (const client of clients) client.output.event(notice);
    this.#flush.flush();
    await Promise.all(clients.map((c) => c.output.close(true)));
    await Promise.all(this.#clients.values());
    this.#flush.close(); // every connection is gone: no more writes to let turns in between
    await this.#http?.shutdown();
    await ctx.forum.collect().catch((error) => ctx.log.error("Cannot collect threads", error));
    await ctx.search?.close();
    await ctx.hub.close().catch((error) => ctx.log.error("Cannot leave the cluster", error));
    ctx.channels.close();
    await ctx.store.close();
    this.#lock.release();
    this.#finished.resolve(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown("disposed");
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
