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

/** The config's fields that hold numbers. */
type NumberField = {
  [K in keyof ServerConfig]-?: NonNullable<ServerConfig[K]> extends number ? K : never;
}[
  keyof ServerConfig
];
/** The config's fields that hold strings. */
type TextField = { [K in keyof ServerConfig]-?: ServerConfig[K] extends string ? K : never }[
  keyof ServerConfig
];
/** The config's fields that are switches. */
type SwitchField = { [K in keyof ServerConfig]-?: ServerConfig[K] extends boolean ? K : never }[
  keyof ServerConfig
];

/** How a number on the command line is stored: seconds as ms, MiB as bytes. */
const UNITS = { N: 1, SECS: 1000, MIB: 1024 * 1024 } as const;

/**
 * A flag taking a number from `min` to `max` into `field`. Its help ends with the default,
 * unless it speaks of the default itself (`{default}` stands for it there).
 */
function numeric(
  name: string,
  field: NumberField,
  [min, max]: readonly [number, number],
  help: string,
  unit: keyof typeof UNITS = "N",
): Flag {
  const fallback = d[field];
  const shown = fallback === undefined ? "" : String(fallback / UNITS[unit]);
  return {
    name,
    value: unit,
    help: help.includes("default") || fallback === undefined
      ? help.replace("{default}", shown)
      : `${help} (default ${shown})`,
    apply: (v, c) => c[field] = Math.round(number(name, String(v), min, max) * UNITS[unit]),
  };
}

/** A flag whose value is stored as given in `field`, shown with its default. */
function text(name: string, value: string, field: TextField, help: string): Flag {
  return { name, value, help: `${help} (default ${d[field]})`, apply: (v, c) => c[field] = `${v}` };
}

/** A flag without a value that sets `field` to `to`. */
function toggle(name: string, field: SwitchField, to: boolean, help: string): Flag {
  return { name, help, apply: (_v, c) => c[field] = to };
}

/** A flag whose value goes to the command's other results. */
function extra(
  name: string,
  value: string,
  set: (e: Extras, v: string) => void,
  help: string,
): Flag {
  return { name, value, help, apply: (v, _c, e) => set(e, String(v)) };
}

/** A flag whose value must have `shape` (described by `rule`) before `field` takes it. */
function named(
  name: string,
  field: "ircServerName" | "node",
  [shape, rule]: readonly [RegExp, string],
  help: string,
): Flag {
  return {
    name,
    value: "NAME",
    help: `${help}: ${rule}`,
    apply: (v, c) => {
      if (!shape.test(String(v))) throw new RangeError(`--${name} must be ${rule}`);
      c[field] = String(v);
    },
  };
}

const PORT = [0, 65535] as const;
const MANY = [0, 1_000_000] as const;
const SECONDS = [0.01, 365 * 24 * 3600] as const;

/** Every flag, in the order the usage text lists them. */
const FLAGS: readonly Flag[] = [
  numeric("port", "port", PORT, "TCP port; 0 lets the OS choose"),
  text("host", "ADDR", "hostname", "interface to listen on"),
  text("data", "DIR", "dataDir", "data directory: database, motd.txt, uploads, logs"),
  toggle(
    "no-registration",
    "registration",
    false,
    "refuse REGISTER: accounts the operator made only",
  ),
  toggle("no-search", "search", false, "keep no search index: SEARCH is off"),
  numeric(
    "sessions-per-user",
    "sessionsPerUser",
    [1, 1000],
    "sessions one account may have at once: terminal, web, IRC, any mix; 1: a second login is refused",
  ),
  numeric("max-failures", "maxLoginFailures", [1, 1000], "failed logins in a row before a block"),
  numeric("lockout", "lockoutMs", SECONDS, "how long such a block lasts", "SECS"),
  numeric(
    "min-password-length",
    "minPasswordLength",
    [1, MAX_PASSWORD_LENGTH],
    "shortest password a new account or PASSWD may set",
  ),
  numeric(
    "idle-timeout",
    "idleTimeoutMs",
    [0, SECONDS[1]],
    "log out and disconnect people who have not used their client this long; 0: never",
    "SECS",
  ),
  {
    name: "admin",
    value: "NAME",
    multiple: true,
    help:
      "give an existing account the admin role while this server runs (repeatable); grant it for good with deno task admin user add NAME --admin",
    apply: (v, c) => c.admins = v as string[],
  },
  extra(
    "admin-password-file",
    "F",
    (e, v) => e.adminPasswordFile = v,
    "file holding the admin password for SHUTDOWN (or LABCHAT_ADMIN_PASSWORD)",
  ),
  {
    name: "admin-password",
    value: "P",
    help: "the admin password itself (shows in ps: prefer the file or the variable)",
    apply: (v, c) => c.adminPassword = String(v),
  },
  numeric("max-line-bytes", "maxLineBytes", [64, 1 << 20], "longest request line"),
  numeric(
    "max-queue-bytes",
    "maxSendQueueBytes",
    [4096, 1 << 30],
    "send queue per client before it is dropped as not reading",
  ),
  numeric(
    "max-connections",
    "maxConnections",
    [1, MANY[1]],
    "connections at once (default {default}, lowered to fit the open-file limit)",
  ),
  numeric(
    "max-per-ip",
    "maxConnectionsPerIp",
    [1, MANY[1]],
    "connections at once from one address",
  ),
  numeric(
    "connect-rate",
    "connectRatePerIp",
    MANY,
    "new connections per second from one address, 0 for no limit",
  ),
  numeric(
    "auth-rate",
    "authRatePerIp",
    MANY,
    "USER, LOGIN and REGISTER per second from one address, 0 for no limit (default: the connect rate)",
  ),
  numeric(
    "request-rate",
    "requestRate",
    MANY,
    `requests per second per connection before it is slowed, 0 for no limit (default {default}); a connection ${
      d.floodLimitMs / 1000
    } s behind is disconnected as a flood`,
  ),
  numeric("max-upload-mb", "maxUploadBytes", [1, 1 << 20], "largest forum upload in MiB", "MIB"),
  {
    ...numeric(
      "scrypt-cost",
      "scryptCost",
      [2, 1 << 20],
      "scrypt N for new password hashes, a power of two",
    ),
    apply: (v, c) => {
      const n = number("scrypt-cost", String(v), 2, 1 << 20);
      if ((n & (n - 1)) !== 0) {
        throw new RangeError(`Cannot use "${n}" for --scrypt-cost: expected a power of two`);
      }
      c.scryptCost = n;
    },
  },
  numeric(
    "open-files-limit",
    "openFilesLimit",
    [16, 1 << 30],
    "the process's open-file limit (the server task fills it in from ulimit -n)",
  ),
  numeric(
    "http-port",
    "httpPort",
    PORT,
    "port of the web client and its WebSocket; 0 lets the OS choose",
  ),
  toggle("no-http", "http", false, "do not serve the web client"),
  text("web-root", "DIR", "webRoot", "where the built web client is (deno task server builds it)"),
  numeric("irc-port", "ircPort", PORT, "port of the IRC gateway; 0 lets the OS choose"),
  toggle("no-irc", "irc", false, "do not speak IRC"),
  toggle(
    "no-irc-guests",
    "ircGuests",
    false,
    "IRC nicks need an account (PASS or SASL), even when registration is open",
  ),
  numeric(
    "irc-lab-limit",
    "ircLabLimit",
    MANY,
    "users online above which IRC clients are not sent each login as a JOIN to #lab and its NAMES " +
      "lists operators only; 0: no limit",
  ),
  named(
    "irc-server-name",
    "ircServerName",
    [/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, "letters, digits, . and - (up to 63)"],
    `the server's name as IRC clients see it (default ${d.ircServerName})`,
  ),
  extra(
    "tls-cert",
    "F",
    (e, v) => e.tlsCertFile = v,
    "serve TLS (and HTTPS/WSS, IRC over TLS) with this PEM certificate chain (with --tls-key)",
  ),
  extra("tls-key", "F", (e, v) => e.tlsKeyFile = v, "the PEM private key of --tls-cert"),
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
    "clusterAcks",
    [0, 16],
    "acknowledge a write only once N Redis replicas have it (WAIT; 0: do not wait)",
  ),
  named(
    "node",
    "node",
    [/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "letters, digits, ., _ and - (up to 63)"],
    "this node's name in the cluster (default node-PID; logs go to DATA/logs/NAME)",
  ),
  toggle(
    "reuse-port",
    "reusePort",
    true,
    "share the ports with other nodes on this machine (SO_REUSEPORT, Linux)",
  ),
  extra(
    "log-dir",
    "DIR",
    (e, v) => e.logDir = v,
    "where server.log and its rotations go (default DATA/logs)",
  ),
  {
    name: "no-log-file",
    help: "log to standard output only",
    apply: (_v, _c, e) => e.logDir = false,
  },
  { ...toggle("quiet", "verbose", false, "do not log each command"), short: "q" },
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
