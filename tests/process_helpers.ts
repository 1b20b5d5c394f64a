/**
 * Running `server.ts` as a real process in tests, reading its log as it goes.
 * @module
 */

import { LineSplitter } from "../lib/protocol/line_splitter.ts";

const ROOT = new URL("../", import.meta.url).pathname;

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

/** Starts `deno run server.ts --host 127.0.0.1 --port 0 --data dataDir ...extra`. */
export async function spawnServer(
  dataDir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `--allow-read=${dataDir}`,
      `--allow-write=${dataDir}`,
      "--allow-env=LABCHAT_ADMIN_PASSWORD",
      "server.ts",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--data",
      dataDir,
      "--scrypt-cost",
      "1024",
      ...extra,
    ],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const listeners = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const splitter = new LineSplitter(1 << 20);
    for await (const chunk of stream) {
      for (const frame of splitter.push(chunk)) if ("line" in frame) output.push(frame.line);
      for (const listener of listeners) listener();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status.then(async (s) => (await pumps, s));
  const waitForLine = (pattern: RegExp, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const line = output.find((l) => pattern.test(l));
        if (line !== undefined) done(() => resolve(line));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`No line ${pattern} in:\n${output.join("\n")}`))),
        timeoutMs,
      );
      const done = (finish: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        finish();
      };
      listeners.add(check);
      void status.then(() => setTimeout(check, 0));
      check();
    });
  const started = await waitForLine(/listening on /);
  const port = Number(/:(\d+) /.exec(started)?.[1]);
  return {
    child,
    port,
    output,
    waitForLine,
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
