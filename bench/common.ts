/**
 * What the bench scenarios share: the server as a separate process with load limits raised,
 * process RSS, percentiles, batching, and the plain TCP yardstick.
 * @module
 */

import { ChatConnection } from "../lib/client/chat_connection.ts";
import { spawnServer } from "../testing/server_process.ts";
import type { Receiver } from "./load_client.ts";

/** One line of the results table. */
export interface Row {
  readonly scenario: string;
  readonly figures: Record<string, number | string>;
}

/** A server process for one scenario. */
export interface BenchServer {
  readonly port: number;
  /** The web front end's port, when `--http-port` was given. */
  readonly webPort?: number;
  /** The IRC gateway's port, when `--irc-port` was given. */
  readonly ircPort?: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * The server as a separate process (so its RSS is its own), with limits raised for load. Nodes
 * of a cluster share `sharedDataDir` (the caller removes it).
 */
export async function startServer(
  extra: string[] = [],
  sharedDataDir?: string,
): Promise<BenchServer> {
  const dataDir = sharedDataDir ?? await Deno.makeTempDir({ prefix: "labchat-bench-" });
  const server = await spawnServer(dataDir, [
    "--quiet",
    "--no-log-file",
    "--max-per-ip",
    "100000",
    "--max-connections",
    "100000",
    "--max-queue-bytes",
    String(16 * 1024 * 1024),
    "--connect-rate",
    "0",
    "--request-rate",
    "0",
    // Thousands of throwaway users register with a two-letter password.
    "--min-password-length",
    "1",
    ...extra,
  ]);
  const webPort = extra.includes("--http-port")
    ? Number(/:(\d+)\/$/.exec(await server.waitForLine(/web client at /))?.[1])
    : undefined;
  const ircPort = extra.includes("--irc-port")
    ? Number(/:(\d+)(?:,|$)/.exec(await server.waitForLine(/IRC gateway on /))?.[1])
    : undefined;
  return {
    port: server.port,
    webPort,
    ircPort,
    pid: server.child.pid,
    async stop() {
      server.child.kill("SIGTERM");
      await server.status;
      if (sharedDataDir === undefined) await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Resident set size of a process in bytes, from `ps`. */
export async function rssOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
  })
    .output();
  const kb = Number(new TextDecoder().decode(out.stdout).trim());
  return out.success && kb > 0 ? kb * 1024 : NaN;
}

/** The value at fraction `p` of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** CPU seconds per GiB on each side, `sender/receiver` (process totals, start-up included). */
export function perGiB(run: { senderCpu: number; receiverCpu: number }, mib: number): string {
  const gib = mib / 1024;
  return `${(run.senderCpu / gib).toFixed(1)}/${(run.receiverCpu / gib).toFixed(1)}`;
}

/** Runs `make` for 0…count-1, `batch` at a time. */
export async function inBatches<T>(
  count: number,
  batch: number,
  make: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += batch) {
    const size = Math.min(batch, count - i);
    out.push(...await Promise.all(Array.from({ length: size }, (_, j) => make(i + j))));
  }
  return out;
}

/**
 * Registrations sent at once while a scenario sets up: below the server's waiting line for new
 * password hashes (32), which answers "busy, try again" beyond it.
 */
export const REGISTER_BATCH = 30;

/** `count` registered, logged-in full clients named prefix0, prefix1, … */
export async function connectUsers(
  port: number,
  count: number,
  prefix: string,
): Promise<ChatConnection[]> {
  return await inBatches(count, REGISTER_BATCH, async (i) => {
    const chat = await ChatConnection.connect({ hostname: "127.0.0.1", port });
    const reply = await chat.request(`REGISTER ${prefix}${i} pw`);
    if (reply.code !== 200) throw new Error(`REGISTER failed: ${reply.code} ${reply.text}`);
    return chat;
  });
}

/** Receivers whose latency is sampled in a run. */
const SAMPLED_RECEIVERS = 20;

/**
 * Whether receiver `i` of `count` samples latency: 20 of them, spread evenly over the order in
 * which they joined. A server writes to its receivers in some order; sampling only the first ones
 * would measure the best case.
 */
export function isSampled(i: number, count: number): boolean {
  const stride = sampleStride(count);
  return i % stride === 0 && i / stride < SAMPLED_RECEIVERS;
}

/** Every how many receivers one samples latency, for {@linkcode isSampled}'s 20. */
export function sampleStride(count: number): number {
  return Math.max(1, Math.floor(count / SAMPLED_RECEIVERS));
}

/** Waits until the receivers have `expected` events between them, or `timeoutMs` passes. */
export async function untilReceived(
  receivers: readonly Receiver[],
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let got = 0;
  while (performance.now() < deadline) {
    got = receivers.reduce((n, r) => n + r.received, 0);
    if (got >= expected) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return got;
}

/**
 * Counts deliveries of `messages` messages to every receiver, sent by `send`: deliveries per
 * second from the first send to the last delivery, those lost, and p50/p99 latency.
 */
export async function measureDeliveries(
  receivers: readonly Receiver[],
  messages: number,
  send: () => Promise<void>,
): Promise<Record<string, number>> {
  for (const r of receivers) r.received = 0;
  const lag = new LoopLagProbe();
  const start = performance.now();
  await send();
  const expected = messages * receivers.length;
  const got = await untilReceived(receivers, expected, 120_000);
  const elapsed = (performance.now() - start) / 1000;
  return {
    "deliveries/s": Math.round(got / elapsed),
    lost: expected - got,
    ...latencyFigures(receivers),
    ...lag.stop(),
  };
}

/**
 * How late the load generator's own event loop runs a 5 ms timer: a delivery it reads late
 * counts as latency, so this tells how much of a latency figure is the generator's.
 */
export class LoopLagProbe {
  readonly #lateness: number[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  #last = performance.now();

  constructor(everyMs = 5) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#lateness.push(Math.max(0, now - this.#last - everyMs));
      this.#last = now;
    }, everyMs);
  }

  /** Stops the probe; the 99th percentile and the worst of the lateness, in ms. */
  stop(): Record<string, number> {
    clearInterval(this.#timer);
    const sorted = this.#lateness.sort((a, b) => a - b);
    return {
      "generator lag p99 ms": +percentile(sorted, 0.99).toFixed(1),
      "generator lag max ms": +(sorted.at(-1) ?? 0).toFixed(1),
    };
  }
}

/** p50 and p99 of the latencies the sampling receivers collected (and clears them). */
export function latencyFigures(receivers: readonly Receiver[]): Record<string, number> {
  const sorted = receivers.flatMap((r) => r.latencies.splice(0)).sort((a, b) => a - b);
  return {
    "p50 ms": +percentile(sorted, 0.5).toFixed(1),
    "p99 ms": +percentile(sorted, 0.99).toFixed(1),
  };
}

/**
 * Seconds to copy a file over loopback TCP with no protocol: read in 64 KiB pieces and written to
 * the socket, the receiving end discarding the bytes, or writing them into a new file `into`
 * (and fsyncing it when `sync`): what `nc` and a shell redirect do, the yardstick for transfers.
 */
export async function plainTcpCopy(
  path: string,
  into?: { readonly file: string; readonly sync: boolean },
): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    using out = into ? await Deno.open(into.file, { write: true, createNew: true }) : undefined;
    const buffer = new Uint8Array(64 * 1024);
    let total = 0;
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      total += n;
      for (let offset = 0; out && offset < n;) {
        offset += await out.write(buffer.subarray(offset, n));
      }
    }
    if (into?.sync) await out?.sync();
    conn.close();
    return total;
  })();
  const start = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(64 * 1024);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    let offset = 0;
    while (offset < n) offset += await conn.write(buffer.subarray(offset, n));
  }
  await conn.closeWrite();
  await received;
  const seconds = (performance.now() - start) / 1000;
  conn.close();
  listener.close();
  return seconds;
}
