/**
 * The Deno permissions each program needs, computed from its own command line: exactly the
 * directories and files its flags name, and nothing else. Used by the launcher behind
 * `deno task server|client|admin`, by `deno task compile` and by `deno task bundle`.
 * @module
 */

import { parseArgs } from "node:util";

/** The programs labchat ships. */
export type ProgramName = "server" | "client" | "admin";

/** A program's entry module and its fixed permissions. */
export interface ProgramSpec {
  readonly entry: string;
  /** Permissions whatever the arguments. */
  readonly fixed: readonly string[];
  /** Runtime flags (V8's), the same however it is run. */
  readonly runtime?: readonly string[];
}

/** Entry points and fixed permissions. */
export const PROGRAM_SPECS: Readonly<Record<ProgramName, ProgramSpec>> = {
  server: {
    entry: "server.ts",
    // The Redis client (cluster mode) reads its two debugging switches. The LAN addresses are
    // printed at start, for people to type into a browser or client.
    fixed: [
      "--allow-net",
      "--allow-sys=networkInterfaces",
      "--allow-env=LABCHAT_ADMIN_PASSWORD,LABCHAT_REDIS_PASSWORD,REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
    ],
    // A young generation of 4 MiB rather than V8's 16: a login storm's garbage no longer leaves
    // ~10 KiB of resident memory per connection behind (docs/PERFORMANCE.md, Memory). gc() for
    // the collection once a storm is over (lib/server/io/idle_collector.ts).
    runtime: ["--v8-flags=--max-semi-space-size=4,--expose-gc"],
  },
  client: {
    entry: "client.ts",
    // Reads the files the user uploads or sends; statfs checks free space before receiving.
    fixed: [
      "--allow-net",
      "--allow-read",
      "--allow-env=NO_COLOR,LABCHAT_PASSWORD",
      "--allow-sys=statfs",
    ],
  },
  admin: {
    entry: "admin.ts",
    fixed: [],
  },
};

/** Unstable APIs the programs use (Deno KV, UDP, reusePort). */
export const UNSTABLE_FLAGS: readonly string[] = ["--unstable-kv", "--unstable-net"];

/** The value of `--name VALUE` or `--name=VALUE` among `args` (the last one wins). */
function flagValue(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}` && i + 1 < args.length) value = args[++i];
    else if (args[i].startsWith(`--${name}=`)) value = args[i].slice(name.length + 3);
  }
  return value;
}

/** The network and environment a cluster's Redis at `url` needs (none without one). */
function redisAccess(url: string | undefined): string[] {
  if (url === undefined) return [];
  let host: string;
  try {
    const parsed = new URL(url);
    host = `${parsed.hostname}:${parsed.port || "6379"}`;
  } catch {
    return []; // the tool reports the bad URL
  }
  return [
    `--allow-net=${host}`,
    "--allow-env=LABCHAT_REDIS_PASSWORD,REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
  ];
}

function allow(kind: "read" | "write", paths: readonly (string | undefined)[]): string[] {
  const given = [...new Set(paths.filter((p): p is string => p !== undefined && p !== ""))];
  return given.length === 0 ? [] : [`--allow-${kind}=${given.join(",")}`];
}

/**
 * The permission flags for running `program` with `args`, from the paths the flags name.
 *
 * @example Usage
 * ```ts
 * import { permissionsFor } from "./permissions.ts";
 * permissionsFor("server", ["--data", "/srv/lab"]);
 * // ["--allow-net", "--allow-env=…", "--allow-read=/srv/lab", "--allow-write=/srv/lab"]
 * ```
 */
export function permissionsFor(program: ProgramName, args: readonly string[]): string[] {
  const fixed = [...PROGRAM_SPECS[program].fixed];
  switch (program) {
    case "server": {
      const data = flagValue(args, "data") ?? "data";
      const logDir = flagValue(args, "log-dir");
      const reads = [
        data,
        logDir,
        flagValue(args, "tls-cert"),
        flagValue(args, "tls-key"),
        flagValue(args, "admin-password-file"),
        flagValue(args, "web-root") ?? "web/dist",
      ];
      return [...fixed, ...allow("read", reads), ...allow("write", [data, logDir])];
    }
    case "client": {
      // FFI for the batched UDP engine (libc's sendmmsg/recvmmsg), unless the user keeps the
      // client on Deno's own sockets. It cannot be narrowed to libc's path: Deno's pointer
      // functions need FFI allowed outright, which in effect lifts the sandbox for this process.
      const ffi = flagValue(args, "udp-engine") === "deno" ? [] : ["--allow-ffi"];
      return [
        ...fixed,
        ...ffi,
        ...allow("write", [flagValue(args, "downloads") ?? "downloads"]),
      ];
    }
    case "admin": {
      const data = flagValue(args, "data") ?? "data";
      const { positionals } = parseArgs({
        args: [...args],
        strict: false,
        allowPositionals: true,
        options: {
          data: { type: "string" },
          out: { type: "string" },
          cluster: { type: "string" },
        },
      });
      const [area, verb, operand] = positionals.map(String);
      const reads = [data];
      const writes = [data];
      if (area === "user" && verb === "import") reads.push(operand);
      if (area === "backup") {
        reads.push(verb, `${verb}.part`);
        writes.push(verb, `${verb}.part`);
      }
      if (area === "restore") reads.push(verb);
      if (area === "export") writes.push(flagValue(args, "out") ?? "export");
      return [
        ...fixed,
        ...redisAccess(flagValue(args, "cluster")),
        ...allow("read", reads),
        ...allow("write", writes),
      ];
    }
  }
}
