/**
 * Would more threads writing take the fan-out's p99 down on this machine? The same bare rounds of
 * writes (`bench/write_rounds.ts`, no chat server) to `n - 1` native receivers, once from the main
 * thread and once from two workers that share the port with `reusePort`, so each writes to about
 * half of the connections. On two cores shared with the receiver, the answer is no (see
 * docs/PERFORMANCE.md); on a machine with cores to spare it says how much sharding would give.
 * @module
 */

import type { Row } from "../common.ts";
import { buildNativeReceiver, NativeReceiver } from "../native_receiver.ts";
import { writeRounds, type WriteRoundsPlan, type WriteRoundsResult } from "../write_rounds.ts";

/** Time for the receiver to connect and register before the first line is due. */
const SETUP_MS = 4000;

/** The paced run from the main thread, then from `workers` workers, `pairs` times in turn. */
export async function writeThreads(
  n: number,
  rate: number,
  seconds: number,
  workers = 2,
  pairs = 2,
): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-threads-" });
  try {
    const binary = await buildNativeReceiver(dir);
    if (!binary) {
      return [{ scenario: `write threads (${n})`, figures: { "skipped: no C compiler": 1 } }];
    }
    const rows: Row[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      for (const threads of [1, workers]) {
        const figures = await pacedRun(binary, n - 1, rate, seconds, threads);
        const where = threads === 1 ? "the main thread" : `${threads} workers`;
        rows.push({
          scenario: `bare rounds, ${rate} lines/s to ${n - 1} native receivers, from ${where}`,
          figures,
        });
      }
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function pacedRun(
  binary: string,
  count: number,
  rate: number,
  seconds: number,
  threads: number,
): Promise<Record<string, number>> {
  const plan: WriteRoundsPlan = { port: freePort(), start: Date.now() + SETUP_MS, rate, seconds };
  const running = threads === 1
    ? [writeRounds(plan)]
    : Array.from({ length: threads }, () => inWorker(plan));
  // Let every listener open before the receiver connects.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const receiver = await NativeReceiver.connect(binary, plan.port, count);
  try {
    if (Date.now() > plan.start) throw new Error("The receiver took longer than the setup time");
    await receiver.ask("report");
    const results = await Promise.all(running);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const report = await receiver.ask("report");
    const writes = results.reduce((sum, r) => sum + r.writes, 0);
    const expected = Math.round(rate * seconds) * count;
    return {
      "writes/s": Math.round(writes / seconds),
      "mean round ms": +mean(results.map((r) => r.roundMs)).toFixed(1),
      lost: expected - report.received,
      "p50 ms": report.p50,
      "p99 ms": report.p99,
      "max ms": report.max,
    };
  } finally {
    await receiver.close();
  }
}

function inWorker(plan: WriteRoundsPlan): Promise<WriteRoundsResult> {
  const worker = new Worker(new URL("../write_rounds_worker.ts", import.meta.url), {
    type: "module",
  });
  return new Promise<WriteRoundsResult>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WriteRoundsResult>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(event.message));
    };
    worker.postMessage(plan);
  }).finally(() => worker.terminate());
}

/** A port nothing listens on now. */
function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr;
  probe.close();
  return port;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
}
