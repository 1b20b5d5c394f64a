/**
 * Command-line flags of the server, parsed into a {@linkcode ServerConfig}.
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_SERVER_CONFIG, type ServerConfig } from "../config.ts";

/** Usage text of `deno task server` / `chat-server`. */
export const SERVER_USAGE = `labchat server: chat, forum and file sharing for a lab or LAN

Usage: chat-server [port] [options]

Options:
  -p, --port N                   TCP port (default ${DEFAULT_SERVER_CONFIG.port}; 0 lets the OS choose)
      --host ADDR                interface to listen on (default ${DEFAULT_SERVER_CONFIG.hostname})
      --data DIR                 data directory: database, motd.txt, uploads (default ${DEFAULT_SERVER_CONFIG.dataDir})
      --no-registration          refuse REGISTER: only existing accounts may log in
      --max-failures N           failed logins in a row before the account is blocked (default ${DEFAULT_SERVER_CONFIG.maxLoginFailures})
      --lockout SECS             how long such a block lasts (default ${
  DEFAULT_SERVER_CONFIG.lockoutMs / 1000
})
      --idle-timeout SECS        log out and disconnect clients idle this long (default ${
  DEFAULT_SERVER_CONFIG.idleTimeoutMs / 1000
})
      --admin NAME               give NAME the admin role (repeatable)
      --admin-password-file F    file holding the admin password for SHUTDOWN
                                 (or set LABCHAT_ADMIN_PASSWORD; --admin-password P works but shows in ps)
      --max-line-bytes N         longest request line (default ${DEFAULT_SERVER_CONFIG.maxLineBytes})
      --max-queue-bytes N        send queue per client before it is dropped as not reading (default ${DEFAULT_SERVER_CONFIG.maxSendQueueBytes})
      --max-connections N        connections at once (default ${DEFAULT_SERVER_CONFIG.maxConnections})
      --max-per-ip N             connections at once from one address (default ${DEFAULT_SERVER_CONFIG.maxConnectionsPerIp})
      --connect-rate N           new connections per second from one address, 0 for no limit (default ${DEFAULT_SERVER_CONFIG.connectRatePerIp})
      --request-rate N           requests per second per connection before it is slowed, 0 for no limit (default ${DEFAULT_SERVER_CONFIG.requestRate});
                                 a connection more than ${
  DEFAULT_SERVER_CONFIG.floodLimitMs / 1000
} s behind is disconnected as a flood
      --max-upload-mb N          largest forum upload in MiB (default ${
  DEFAULT_SERVER_CONFIG.maxUploadBytes / 1024 / 1024
})
      --scrypt-cost N            scrypt N for new password hashes (default ${DEFAULT_SERVER_CONFIG.scryptCost})
      --tls-cert F, --tls-key F  serve TLS with this PEM certificate chain and key
  -q, --quiet                    do not log each command
  -h, --help                     show this help

Stop it with SHUTDOWN from an admin, Ctrl+C or SIGTERM: clients are told, storage is flushed.`;

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
  };

function number(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new RangeError(
      `Cannot use "${value}" for --${name}: expected a number from ${min} to ${max}`,
    );
  }
  return n;
}

/**
 * Parses the server's arguments. `env` supplies LABCHAT_ADMIN_PASSWORD.
 *
 * @throws {RangeError} for a bad value, {TypeError} for an unknown flag.
 */
export function parseServerArgs(
  args: string[],
  env: (name: string) => string | undefined,
): ServerArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: "string", short: "p" },
      host: { type: "string" },
      data: { type: "string" },
      "no-registration": { type: "boolean" },
      "max-failures": { type: "string" },
      lockout: { type: "string" },
      "idle-timeout": { type: "string" },
      admin: { type: "string", multiple: true },
      "admin-password": { type: "string" },
      "admin-password-file": { type: "string" },
      "max-line-bytes": { type: "string" },
      "max-queue-bytes": { type: "string" },
      "max-connections": { type: "string" },
      "max-per-ip": { type: "string" },
      "connect-rate": { type: "string" },
      "request-rate": { type: "string" },
      "max-upload-mb": { type: "string" },
      "scrypt-cost": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length > 1) throw new TypeError(`Unexpected argument "${positionals[1]}"`);
  const d = DEFAULT_SERVER_CONFIG;
  const port = number("port", values.port ?? positionals[0], 0, 65535) ?? d.port;
  const secs = (name: string, v: string | undefined, fallbackMs: number) => {
    const n = number(name, v, 0.01, 365 * 24 * 3600);
    return n === undefined ? fallbackMs : Math.round(n * 1000);
  };
  const scryptCost = number("scrypt-cost", values["scrypt-cost"], 2, 1 << 20) ?? d.scryptCost;
  if ((scryptCost & (scryptCost - 1)) !== 0) {
    throw new RangeError(`Cannot use "${scryptCost}" for --scrypt-cost: expected a power of two`);
  }
  const uploadMb = number("max-upload-mb", values["max-upload-mb"], 1, 1 << 20);
  const config: ServerConfig = {
    ...d,
    hostname: values.host ?? d.hostname,
    port,
    dataDir: values.data ?? d.dataDir,
    registration: !values["no-registration"],
    maxLoginFailures: number("max-failures", values["max-failures"], 1, 1000) ?? d.maxLoginFailures,
    lockoutMs: secs("lockout", values.lockout, d.lockoutMs),
    idleTimeoutMs: secs("idle-timeout", values["idle-timeout"], d.idleTimeoutMs),
    admins: values.admin ?? [],
    adminPassword: values["admin-password"] ?? env("LABCHAT_ADMIN_PASSWORD") ?? "",
    maxLineBytes: number("max-line-bytes", values["max-line-bytes"], 64, 1 << 20) ?? d.maxLineBytes,
    maxSendQueueBytes: number("max-queue-bytes", values["max-queue-bytes"], 4096, 1 << 30) ??
      d.maxSendQueueBytes,
    maxConnections: number("max-connections", values["max-connections"], 1, 1_000_000) ??
      d.maxConnections,
    maxConnectionsPerIp: number("max-per-ip", values["max-per-ip"], 1, 1_000_000) ??
      d.maxConnectionsPerIp,
    connectRatePerIp: number("connect-rate", values["connect-rate"], 0, 1_000_000) ??
      d.connectRatePerIp,
    requestRate: number("request-rate", values["request-rate"], 0, 1_000_000) ?? d.requestRate,
    maxUploadBytes: uploadMb === undefined ? d.maxUploadBytes : Math.round(uploadMb * 1024 * 1024),
    scryptCost,
    verbose: !values.quiet,
  };
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    throw new TypeError("Give both --tls-cert and --tls-key, or neither");
  }
  return {
    help: false,
    config,
    adminPasswordFile: values["admin-password-file"],
    tlsCertFile: values["tls-cert"],
    tlsKeyFile: values["tls-key"],
  };
}
