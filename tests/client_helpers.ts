/**
 * Running `client.ts` as a real process with piped standard input, as a script or a user would.
 * @module
 */

import { permissionsFor } from "../lib/launch/permissions.ts";
import { OutputLines } from "../testing/output_lines.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const encoder = new TextEncoder();

/** A client process: feed it lines, read what it prints. */
export interface ClientProcess extends AsyncDisposable {
  /** Sends lines (each gets a newline). */
  write(...lines: string[]): Promise<void>;
  /** Closes standard input (end of the script). */
  end(): Promise<void>;
  /** Waits until a line (from line `from` on) matches `pattern`; returns that line. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Every line printed so far, stdout and stderr in arrival order. */
  readonly lines: string[];
  readonly stdout: string[];
  readonly stderr: string[];
  /** Exit code once the process ends. */
  readonly exitCode: Promise<number>;
}

/** Starts `deno run client.ts ...args` with NO_COLOR unset unless given in `env`. */
export function spawnClient(args: string[], env: Record<string, string> = {}): ClientProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      // FFI exactly as the launcher grants it, so peers move datagrams as a user's client does.
      ...permissionsFor("client", args).filter((flag) => flag.startsWith("--allow-ffi")),
      "client.ts",
      ...args,
    ],
    cwd: ROOT,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const output = new OutputLines();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const pumps = Promise.all([output.pump(child.stdout, stdout), output.pump(child.stderr, stderr)]);
  const exitCode = child.status.then(async (s) => {
    await pumps;
    output.end();
    return s.code;
  });
  let ended = false;
  const end = async () => {
    if (ended) return;
    ended = true;
    try {
      await writer.close();
    } catch {
      // the process exited and closed its end
    }
  };
  return {
    lines: output.lines,
    stdout,
    stderr,
    exitCode,
    end,
    async write(...text: string[]) {
      await writer.write(encoder.encode(text.map((t) => t + "\n").join("")));
    },
    waitFor: (pattern, timeoutMs, from) => output.waitFor(pattern, timeoutMs, from),
    async [Symbol.asyncDispose]() {
      await end();
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await exitCode;
    },
  };
}

/** Runs a client to completion with the given standard input; returns its output and status. */
export async function runClientScript(
  args: string[],
  input: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string[]; stderr: string[]; lines: string[] }> {
  await using client = spawnClient(args, env);
  await client.write(...input);
  await client.end();
  const code = await client.exitCode;
  return { code, stdout: client.stdout, stderr: client.stderr, lines: client.lines };
}
