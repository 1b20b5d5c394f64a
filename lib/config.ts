/**
 * Defaults and limits for the whole system, in one place. Flags override them.
 * @module
 */

/** Settings the server runs with. Every field has a default in {@linkcode DEFAULT_SERVER_CONFIG}. */
export interface ServerConfig {
  /** Interface to listen on. */
  hostname: string;
  /** TCP port; 0 lets the OS choose. */
  port: number;
  /** Directory holding the Deno KV database, the MOTD seed file and the blob store. */
  dataDir: string;
  /** Whether unknown users may create an account. */
  registration: boolean;
  /**
   * Redis replicas that must have each write before it is acknowledged (`WAIT`); 0 does not
   * wait. Only with a cluster.
   */
  clusterAcks: number;
  /** Keep the search index (SEARCH); off, nothing is indexed and SEARCH says so. */
  search: boolean;
  /** Consecutive failed logins before the account is blocked. */
  maxLoginFailures: number;
  /** How long an account stays blocked after too many failures, in milliseconds. */
  lockoutMs: number;
  /**
   * A session whose person has not used the client for this long (no request, no ACTIVE; IRC
   * keep-alives do not count) is logged out and disconnected, in milliseconds; 0: never.
   */
  idleTimeoutMs: number;
  /** Longest request line in bytes, line ending excluded. */
  maxLineBytes: number;
  /** Bytes a session may have queued for sending before it is disconnected as a slow reader. */
  maxSendQueueBytes: number;
  /** Connections open at once, all clients together. */
  maxConnections: number;
  /** Connections open at once from one IP address. */
  maxConnectionsPerIp: number;
  /**
   * Sessions one account may have at once (terminal, web page, IRC clients, on any nodes); 1
   * refuses a second login as "already logged in elsewhere". Guests always have one.
   */
  sessionsPerUser: number;
  /** New connections per second from one IP address (bursts of twice that); 0 turns it off. */
  connectRatePerIp: number;
  /**
   * USER, LOGIN and REGISTER attempts per second from one IP address (bursts of twice that); 0
   * turns it off. Defaults to the connect rate.
   */
  authRatePerIp: number;
  /** Requests per second a connection may send (bursts of twice that); 0 turns it off. */
  requestRate: number;
  /** A connection held back by the request rate this long without a break is a flood, in ms. */
  floodLimitMs: number;
  /**
   * An HTTP connection that sends no complete request for this long is closed, in ms: before its
   * first request (a half-sent header included) and between requests on a kept-alive connection.
   */
  httpIdleMs: number;
  /**
   * Existing accounts that hold the admin role while this server runs (the operator tool grants
   * it for good). Names without an account are reserved, and give the role to nobody.
   */
  admins: string[];
  /** Password that lets any logged-in user run SHUTDOWN; empty disables it. */
  adminPassword: string;
  /** Largest forum upload in bytes. */
  maxUploadBytes: number;
  /** scrypt cost parameter N (a power of two). Lower only for tests and benchmarks. */
  scryptCost: number;
  /** Shortest password REGISTER and PASSWD accept (imports and the operator tool only warn). */
  minPasswordLength: number;
  /** Print one line per command and per connection. */
  verbose: boolean;
  /** Serve the web client and its WebSocket. */
  http: boolean;
  /** HTTP (or HTTPS) port of the web client; 0 lets the OS choose. */
  httpPort: number;
  /** Directory the web client's built files are served from. */
  webRoot: string;
  /** Speak IRC on `ircPort`. */
  irc: boolean;
  /** Port of the IRC gateway (TLS with the same certificate when `tlsCert` is set). */
  ircPort: number;
  /** IRC nicks that are no account may connect without a password (when registration is open). */
  ircGuests: boolean;
  /** Users online above which IRC clients see `#lab` as a large channel (0: never; irc_views.ts). */
  ircLabLimit: number;
  /** Login and logout notices in one second above which they are announced in batches. */
  presenceStormPerSecond: number;
  /** The server's name as IRC clients see it. */
  ircServerName: string;
  /** The process's open-file limit, when known: `maxConnections` is lowered to fit it. */
  openFilesLimit?: number;
  /**
   * Redis URL (`redis://host:port`, `rediss://` for TLS) of the cluster this server joins as a
   * node; absent, the server keeps everything in its embedded Deno KV store.
   */
  cluster?: string;
  /** This node's name, unique in the cluster (default: `node-` and the process id). */
  node?: string;
  /** Set SO_REUSEPORT on the listeners, so nodes on one machine share their ports. */
  reusePort: boolean;
  /** PEM certificate chain; with `tlsKey`, the server speaks TLS only. */
  tlsCert?: string;
  /** PEM private key for `tlsCert`. */
  tlsKey?: string;
}

/** The defaults of the design: port 4000, `data/`, 3 failures → 10 s, 10 min idle, 8 KiB lines, 1 MiB queue. */
export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = Object.freeze({
  hostname: "0.0.0.0",
  port: 4000,
  dataDir: "data",
  reusePort: false,
  registration: true,
  search: true,
  clusterAcks: 0,
  maxLoginFailures: 3,
  lockoutMs: 10_000,
  idleTimeoutMs: 0,
  maxLineBytes: 8 * 1024,
  maxSendQueueBytes: 1024 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerIp: 256,
  sessionsPerUser: 16,
  connectRatePerIp: 50,
  authRatePerIp: 50,
  requestRate: 50,
  floodLimitMs: 10_000,
  httpIdleMs: 30_000,
  admins: [],
  adminPassword: "",
  maxUploadBytes: 100 * 1024 * 1024,
  scryptCost: 1 << 14,
  minPasswordLength: 8,
  verbose: true,
  http: true,
  httpPort: 8080,
  webRoot: "web/dist",
  irc: true,
  ircPort: 6667,
  ircGuests: true,
  ircLabLimit: 1000,
  presenceStormPerSecond: 50,
  ircServerName: "labchat",
});

/** Default server port for clients too. */
export const DEFAULT_PORT = 4000;

/** Messages of the day used when `data/motd.txt` is missing. */
export const FALLBACK_MOTD: readonly string[] = [
  "One can never be too rich, too thin, or have too much bandwidth.",
  "Worse is better.",
  "Be conservative in what you send, and liberal in what you accept.",
];

/** Most messages one HISTORY reply returns when `limit N` asks for more than a page. */
export const HISTORY_LIMIT = 1000;

/** Most members a room may have. */
export const MAX_ROOM_MEMBERS = 100;
