/**
 * Running `server.ts` as a real process in tests, reading its log as it goes.
 * @module
 */

import { PROGRAM_SPECS } from "../lib/launch/permissions.ts";
import { OutputLines } from "./output_lines.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** `--cpu-prof` flags when LABCHAT_CPU_PROF names a directory (and the variable may be read). */
function cpuProfileFlags(): string[] {
  let dir: string | undefined;
  try {
    dir = Deno.env.get("LABCHAT_CPU_PROF");
  } catch {
    return [];
  }
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** A server process and what it has printed so far. */
export interface ServerProcess extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Every stdout and stderr line so far. */
  readonly output: string[];
  /** Waits for a printed line matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit status once the process ends. */
  readonly status: Promise<Deno.CommandStatus>;
}

/**
 * The command `deno run server.ts --host 127.0.0.1 --port 0 --data dataDir ...extra`, under
 * `umask` and `ulimit -n` when given (through sh), with its output piped.
 */
export function serverCommand(
  dataDir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
  umask?: string,
  openFiles?: number,
): Deno.Command {
  const web = extra.some((a) => a.startsWith("--http-port"));
  const irc = extra.some((a) => a.startsWith("--irc-port"));
  const deno = [
    Deno.execPath(),
    "run",
    ...PROGRAM_SPECS.server.runtime ?? [],
    // LABCHAT_CPU_PROF=DIR writes a V8 CPU profile of each server there (for benchmarks).
    ...cpuProfileFlags(),
    "--allow-net",
    // The web front end, where a test asks for it, serves the built page (if there is one).
    `--allow-read=${dataDir}${web ? `,${ROOT}web/dist` : ""}`,
    `--allow-write=${dataDir}`,
    "--allow-env=LABCHAT_ADMIN_PASSWORD,LABCHAT_REDIS_PASSWORD,REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
    "server.ts",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--data",
    dataDir,
    "--scrypt-cost",
    "1024",
    // The web front end only where a test asks for it, and never on the fixed port 8080.
    ...(web ? [] : ["--no-http"]),
    // Likewise the IRC gateway, never on the fixed port 6667.
    ...(irc ? [] : ["--no-irc"]),
    ...extra,
  ];
  const limits = [
    umask === undefined ? "" : `umask ${umask}; `,
    openFiles === undefined ? "" : `ulimit -n ${openFiles}; `,
  ].join("");
  const [command, ...args] = limits === ""
    ? deno
    : ["sh", "-c", `${limits}exec "$0" "$@"`, ...deno];
  return new Deno.Command(command, {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Starts {@linkcode serverCommand} and waits until the server listens. */
export async function spawnServer(
  dataDir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
  umask?: string,
  openFiles?: number,
): Promise<ServerProcess> {
  const child = serverCommand(dataDir, extra, env, umask, openFiles).spawn();
  const output = new OutputLines();
  const pumps = Promise.all([output.pump(child.stdout), output.pump(child.stderr)]);
  const status = child.status.then(async (s) => {
    await pumps;
    output.end();
    return s;
  });
  const started = await output.waitFor(/listening on /);
  const port = Number(/:(\d+) /.exec(started)?.[1]);
  return {
    child,
    port,
    output: output.lines,
    waitForLine: (pattern, timeoutMs) => output.waitFor(pattern, timeoutMs),
    status,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await status;
    },
  };
}
