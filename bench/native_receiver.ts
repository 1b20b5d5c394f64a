/**
 * The native load receiver (`bench/native/epoll_receiver.c`): built with the machine's C compiler
 * and spoken to line by line. An epoll loop in C reads every ready socket per wake-up, so a
 * latency it reports is the sender's, not its own.
 * @module
 */

import { join } from "node:path";
import { OutputLines } from "../testing/output_lines.ts";
import { sampleStride } from "./common.ts";

const SOURCE = new URL("./native/epoll_receiver.c", import.meta.url).pathname;

/** The receiver built into `dir`, or `undefined` when no C compiler is found. */
export function buildNativeReceiver(dir: string): Promise<string | undefined> {
  return buildC(SOURCE, join(dir, "epoll_receiver"));
}

/** Builds the C program `source` into `out`; `undefined` when no C compiler is found. */
export async function buildC(source: string, out: string): Promise<string | undefined> {
  for (const compiler of ["cc", "gcc", "clang"]) {
    try {
      const { success } = await new Deno.Command(compiler, {
        args: ["-O2", "-o", out, source],
        stdout: "null",
        stderr: "inherit",
      }).output();
      if (success) return out;
    } catch {
      // not installed: try the next
    }
  }
  return undefined;
}

/** The receiver process, spoken to line by line. */
export class NativeReceiver {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #output = new OutputLines();
  readonly #pumped: Promise<void>;
  /** The next line to read of what the receiver printed. */
  #next = 0;
  /** Receivers it holds. */
  readonly #count: number;

  constructor(binary: string, args: string[]) {
    this.#count = Number(args[2]);
    this.#child = new Deno.Command(binary, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#pumped = this.#output.pump(this.#child.stdout).finally(() => this.#output.end());
  }

  /**
   * `count` receivers registered on the server at `port` (as `u0`, `u1`, ...), latency sampled
   * fairly over them; resolves once all are ready. With `ircChannel` they are IRC clients in it
   * (any IRC server), counting what is said there. It must be closed.
   */
  static async connect(
    binary: string,
    port: number,
    count: number,
    ircChannel?: string,
  ): Promise<NativeReceiver> {
    const args = ["127.0.0.1", String(port), String(count), String(sampleStride(count)), "u"];
    if (ircChannel !== undefined) args.push(ircChannel);
    const receiver = new NativeReceiver(binary, args);
    if ((await receiver.line()) !== "ready") {
      await receiver.close();
      throw new Error("The native receiver failed");
    }
    return receiver;
  }

  /** The next line the receiver prints (registering 5000 users may take a while). */
  async line(): Promise<string> {
    const line = await this.#output.waitFor(/^/, 120_000, this.#next);
    this.#next++;
    return line;
  }

  async ask(command: string): Promise<Record<string, number>> {
    await this.#writer.write(new TextEncoder().encode(`${command}\n`));
    const figures: Record<string, number> = {};
    for (const pair of (await this.line()).split(" ")) {
      const [key, value] = pair.split("=");
      figures[key] = Number(value);
    }
    return figures;
  }

  /**
   * Times the delivery of `total` messages to every receiver, sent by `send`: deliveries per
   * second, how many did not arrive within 120 s, and latency percentiles in ms.
   */
  async time(total: number, send: () => Promise<void>): Promise<Record<string, number>> {
    await this.ask("report");
    const start = performance.now();
    await send();
    const expected = total * this.#count;
    const deadline = performance.now() + 120_000;
    let got = 0;
    while (performance.now() < deadline) {
      got = (await this.ask("count")).received;
      if (got >= expected) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const elapsed = (performance.now() - start) / 1000;
    const report = await this.ask("report");
    return {
      "deliveries/s": Math.round(got / elapsed),
      lost: expected - got,
      "p50 ms": report.p50,
      "p99 ms": report.p99,
      "max ms": report.max,
    };
  }

  async close(): Promise<void> {
    await this.#writer.write(new TextEncoder().encode("quit\n")).catch(() => {});
    await this.#writer.close().catch(() => {});
    await this.#child.status;
    await this.#pumped;
  }
}
