/**
 * Command-line flags of the server: one table gives the usage text, the parser's options and
 * how each flag sets the {@linkcode ServerConfig}.
 * @module
 */

import { MAX_PASSWORD_LENGTH } from "../auth/password.ts";
import { parseArgs } from "node:util";
import { DEFAULT_SERVER_CONFIG, type ServerConfig } from "../config.ts";
import { redisUrlProblem, withPassword } from "../store/redis_client.ts";

/** What the command line asks for. */
export type ServerArgs =
  | { readonly help: true }
  | {
    readonly help: false;
    readonly config: ServerConfig;
    /** File to read the admin password from, if given. */
    readonly adminPasswordFile?: string;
    /** PEM files for TLS, if given (both or neither). */
    readonly tlsCertFile?: string;
    readonly tlsKeyFile?: string;
    /** Where the log file goes (default `<data>/logs`); `false` for none. */
    readonly logDir?: string | false;
  };

/** The parts of {@linkcode ServerArgs} the flags fill in besides the config. */
interface Extras {
  adminPasswordFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  logDir?: string | false;
}

/** One flag: how it is shown and how it is applied. */
interface Flag {
  readonly name: string;
  readonly short?: string;
  /** Placeholder of its value (`N`, `DIR`), or undefined for a switch. */
  readonly value?: string;
  readonly multiple?: boolean;
  readonly help: string;
  readonly apply: (
    value: string | boolean | string[],
    config: ServerConfig,
    extras: Extras,
  ) => void;
}

const d = DEFAULT_SERVER_CONFIG;

function number(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new RangeError(
      `Cannot use "${value}" for --${name}: expected a number from ${min} to ${max}`,
    );
  }
  return n;
}

/** A flag taking a number, stored by `set`. */
function numeric(
  name: string,
  value: string,
  help: string,
  min: number,
  max: number,
  set: (config: ServerConfig, n: number) => void,
): Flag {
  return {
    name,
    value,
    help,
    apply: (v, config) => set(config, number(name, String(v), min, max)),
  };
}

/** A flag taking seconds, stored in milliseconds. */
function seconds(
  name: string,
  help: string,
  set: (config: ServerConfig, ms: number) => void,
): Flag {
  return numeric(name, "SECS", help, 0.01, 365 * 24 * 3600, (c, n) => set(c, Math.round(n * 1000)));
}

/** Every flag, in the order the usage text lists them. */
const FLAGS: readonly Flag[] = [
  numeric(
    "port",
    "N",
    `TCP port (default ${d.port}; 0 lets the OS choose)`,
    0,
    65535,
    (c, n) => c.port = n,
  ),
  {
    name: "host",
    value: "ADDR",
    help: `interface to listen on (default ${d.hostname})`,
    apply: (v, c) => c.hostname = String(v),
  },
  {
    name: "data",
    value: "DIR",
    help: `data directory: database, motd.txt, uploads, logs (default ${d.dataDir})`,
    apply: (v, c) => c.dataDir = String(v),
  },
  {
    name: "no-registration",
    help: "refuse REGISTER: only accounts the operator made may log in",
    apply: (_v, c) => c.registration = false,
  },
  {
    name: "no-search",
    help: "keep no search index: SEARCH is off",
    apply: (_v, c) => c.search = false,
  },
  numeric(
    "sessions-per-user",
    "N",
    `sessions one account may have at once: terminal, web, IRC, any mix (default ${d.sessionsPerUser}; ` +
      `1: a second login is refused)`,
    1,
    1000,
    (c, n) => c.sessionsPerUser = n,
  ),
  numeric(
    "max-failures",
    "N",
    `failed logins in a row before the account is blocked (default ${d.maxLoginFailures})`,
    1,
    1000,
    (c, n) => c.maxLoginFailures = n,
  ),
  seconds(
    "lockout",
    `how long such a block lasts (default ${d.lockoutMs / 1000})`,
    (c, ms) => c.lockoutMs = ms,
  ),
  numeric(
    "min-password-length",
    "N",
    `shortest password a new account or PASSWD may set (default ${d.minPasswordLength})`,
    1,
    MAX_PASSWORD_LENGTH,
    (c, n) => c.minPasswordLength = n,
  ),
  numeric(
    "idle-timeout",
    "SECS",
    "log out and disconnect people who have not used their client this long (default 0: never)",
    0,
    365 * 24 * 3600,
    (c, n) => c.idleTimeoutMs = Math.round(n * 1000),
  ),
  {
    name: "admin",
    value: "NAME",
    multiple: true,
    help:
      "give an existing account the admin role while this server runs (repeatable); grant it for good with deno task admin user add NAME --admin",
    apply: (v, c) => c.admins = v as string[],
  },
  {
    name: "admin-password-file",
    value: "F",
    help: "file holding the admin password for SHUTDOWN (or LABCHAT_ADMIN_PASSWORD)",
    apply: (v, _c, e) => e.adminPasswordFile = String(v),
  },
  {
    name: "admin-password",
    value: "P",
    help: "the admin password itself (shows in ps: prefer the file or the variable)",
    apply: (v, c) => c.adminPassword = String(v),
  },
  numeric(
    "max-line-bytes",
    "N",
    `longest request line (default ${d.maxLineBytes})`,
    64,
    1 << 20,
    (c, n) => c.maxLineBytes = n,
  ),
  numeric(
    "max-queue-bytes",
    "N",
    `send queue per client before it is dropped as not reading (default ${d.maxSendQueueBytes})`,
    4096,
    1 << 30,
    (c, n) => c.maxSendQueueBytes = n,
  ),
  numeric(
    "max-connections",
    "N",
    `connections at once (default ${d.maxConnections}, lowered to fit the open-file limit)`,
    1,
    1_000_000,
    (c, n) => c.maxConnections = n,
  ),
  numeric(
    "max-per-ip",
    "N",
    `connections at once from one address (default ${d.maxConnectionsPerIp})`,
    1,
    1_000_000,
    (c, n) => c.maxConnectionsPerIp = n,
  ),
  numeric(
    "connect-rate",
    "N",
    `new connections per second from one address, 0 for no limit (default ${d.connectRatePerIp})`,
    0,
    1_000_000,
    (c, n) => c.connectRatePerIp = n,
  ),
  numeric(
    "auth-rate",
    "N",
    "USER, LOGIN and REGISTER per second from one address, 0 for no limit (default: the connect rate)",
    0,
    1_000_000,
    (c, n) => c.authRatePerIp = n,
  ),
  numeric(
    "request-rate",
    "N",
    `requests per second per connection before it is slowed, 0 for no limit (default ${d.requestRate}); a connection ${
      d.floodLimitMs / 1000
    } s behind is disconnected as a flood`,
    0,
    1_000_000,
    (c, n) => c.requestRate = n,
  ),
  numeric(
    "max-upload-mb",
    "N",
    `largest forum upload in MiB (default ${d.maxUploadBytes / 1024 / 1024})`,
    1,
    1 << 20,
    (c, n) => c.maxUploadBytes = Math.round(n * 1024 * 1024),
  ),
  numeric(
    "scrypt-cost",
    "N",
    `scrypt N for new password hashes, a power of two (default ${d.scryptCost})`,
    2,
    1 << 20,
    (c, n) => {
      if ((n & (n - 1)) !== 0) {
        throw new RangeError(`Cannot use "${n}" for --scrypt-cost: expected a power of two`);
      }
      c.scryptCost = n;
    },
  ),
  numeric(
    "open-files-limit",
    "N",
    "the process's open-file limit (the server task fills it in from ulimit -n)",
    16,
    1 << 30,
    (c, n) => c.openFilesLimit = n,
  ),
  numeric(
    "http-port",
    "N",
    `port of the web client and its WebSocket (default ${d.httpPort}; 0 lets the OS choose)`,
    0,
    65535,
    (c, n) => c.httpPort = n,
  ),
  { name: "no-http", help: "do not serve the web client", apply: (_v, c) => c.http = false },
  {
    name: "web-root",
    value: "DIR",
    help: `where the built web client is (default ${d.webRoot}; deno task server builds it)`,
    apply: (v, c) => c.webRoot = String(v),
  },
  numeric(
    "irc-port",
    "N",
    `port of the IRC gateway (default ${d.ircPort}; 0 lets the OS choose)`,
    0,
    65535,
    (c, n) => c.ircPort = n,
  ),
  { name: "no-irc", help: "do not speak IRC", apply: (_v, c) => c.irc = false },
  {
    name: "no-irc-guests",
    help: "IRC nicks need an account (PASS or SASL), even when registration is open",
    apply: (_v, c) => c.ircGuests = false,
  },
  numeric(
    "irc-lab-limit",
    "N",
    `users online above which IRC clients are not sent each login as a JOIN to #lab and its NAMES ` +
      `lists operators only (default ${d.ircLabLimit}; 0: no limit)`,
    0,
    1_000_000,
    (c, n) => c.ircLabLimit = n,
  ),
  {
    name: "irc-server-name",
    value: "NAME",
    help: `the server's name as IRC clients see it (default ${d.ircServerName})`,
    apply: (v, c) => {
      const name = String(v);
      if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(name)) {
        throw new RangeError(
          `--irc-server-name must be a host-like name (letters, digits, . and -)`,
        );
      }
      c.ircServerName = name;
    },
  },
  {
    name: "tls-cert",
    value: "F",
    help:
      "serve TLS (and HTTPS/WSS, IRC over TLS) with this PEM certificate chain (with --tls-key)",
    apply: (v, _c, e) => e.tlsCertFile = String(v),
  },
  {
    name: "tls-key",
    value: "F",
    help: "the PEM private key of --tls-cert",
    apply: (v, _c, e) => e.tlsKeyFile = String(v),
  },
  {
    name: "cluster",
    value: "URL",
    help:
      "join a cluster of nodes sharing this Redis (redis://HOST:PORT, rediss:// for TLS, redis-sentinel://HOST:PORT,HOST:PORT/NAME for a group its sentinels watch; password from LABCHAT_REDIS_PASSWORD)",
    apply: (v, c) => {
      const url = String(v);
      const problem = redisUrlProblem(url);
      if (problem) throw new RangeError(`--cluster: ${problem}`);
      c.cluster = url;
    },
  },
  numeric(
    "cluster-acks",
    "N",
    "acknowledge a write only once N Redis replicas have it (WAIT; 0: do not wait)",
    0,
    16,
    (c, n) => c.clusterAcks = Math.floor(n),
  ),
  {
    name: "node",
    value: "NAME",
    help: "this node's name in the cluster (default node-PID); logs go to DATA/logs/NAME",
    apply: (v, c) => {
      const name = String(v);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
        throw new RangeError(`--node must be letters, digits, ., _ and - (up to 63)`);
      }
      c.node = name;
    },
  },
  {
    name: "reuse-port",
    help: "share the ports with other nodes on this machine (SO_REUSEPORT, Linux)",
    apply: (_v, c) => c.reusePort = true,
  },
  {
    name: "log-dir",
    value: "DIR",
    help: "where server.log and its rotations go (default DATA/logs)",
    apply: (v, _c, e) => e.logDir = String(v),
  },
  {
    name: "no-log-file",
    help: "log to standard output only",
    apply: (_v, _c, e) => e.logDir = false,
  },
  {
    name: "quiet",
    short: "q",
    help: "do not log each command",
    apply: (_v, c) => c.verbose = false,
  },
  { name: "help", short: "h", help: "show this help", apply: () => {} },
];

function flagUsage(flag: Flag): string {
  const short = flag.short ? `-${flag.short}, ` : "    ";
  const left = `  ${short}--${flag.name}${flag.value ? ` ${flag.value}` : ""}`;
  return `${left.padEnd(33)}${flag.help}`;
}

/** Usage text of `deno task server` / `chat-server`. */
export const SERVER_USAGE = `labchat server: chat, forum and file sharing for a lab or LAN

Usage: chat-server [port] [options]

Options:
${FLAGS.map(flagUsage).join("\n")}

Stop it with SHUTDOWN from an admin, Ctrl+C or SIGTERM: clients are told, storage is flushed.`;

/**
 * Parses the server's arguments. `env` supplies LABCHAT_ADMIN_PASSWORD.
 *
 * @throws {RangeError} for a bad value, {TypeError} for an unknown flag.
 */
export function parseServerArgs(
  args: string[],
  env: (name: string) => string | undefined,
): ServerArgs {
  const options = Object.fromEntries(FLAGS.map((f) => [f.name, {
    type: f.value ? "string" as const : "boolean" as const,
    ...(f.short ? { short: f.short } : {}),
    ...(f.multiple ? { multiple: true } : {}),
  }]));
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options });
  if (values.help) return { help: true };
  if (positionals.length > 1) throw new TypeError(`Unexpected argument "${positionals[1]}"`);
  const config: ServerConfig = { ...d, admins: [...d.admins] };
  config.adminPassword = env("LABCHAT_ADMIN_PASSWORD") ?? "";
  const extras: Extras = {};
  const given = values as Record<string, string | boolean | string[] | undefined>;
  if (positionals[0] !== undefined && given.port === undefined) given.port = positionals[0];
  for (const flag of FLAGS) {
    const value = given[flag.name];
    if (value !== undefined && value !== false) flag.apply(value, config, extras);
  }
  if (given["auth-rate"] === undefined) config.authRatePerIp = config.connectRatePerIp;
  if (config.node !== undefined && config.cluster === undefined) {
    throw new TypeError("--node names a node of a cluster: give --cluster too");
  }
  if (config.clusterAcks > 0 && config.cluster === undefined) {
    throw new TypeError("--cluster-acks counts Redis replicas of a cluster: give --cluster too");
  }
  if (config.cluster !== undefined) {
    config.cluster = withPassword(config.cluster, env("LABCHAT_REDIS_PASSWORD"));
  }
  if ((extras.tlsCertFile === undefined) !== (extras.tlsKeyFile === undefined)) {
    throw new TypeError("Give both --tls-cert and --tls-key, or neither");
  }
  return { help: false, config, ...extras };
}
