/**
 * `deno task bench`: measures the server on loopback and prints a table (and writes JSON to
 * bench/results/). Every loop is bounded in count and time.
 *
 *   --clients 100,1000,5000  client counts for the fan-out and idle-connection runs
 *   --broadcasts 200      broadcasts per burst run
 *   --rate 500            broadcasts per second in the paced latency run
 *   --seconds 4           length of the paced run
 *   --messages 2000       private messages in the persistence run
 *   --logins 40           logins in the login-rate run (default scrypt cost)
 *   --file-mib 100        size of the forum upload/download file
 *   --p2p-mib 200         size of the peer-to-peer UDP transfer (run with 0% and 5% loss)
 *   --scenarios LIST      which to run: fanout,idle,rooms,persistence,logins,forum,p2p (default all)
 * @module
 */

import { parseArgs } from "node:util";
import { ChatConnection } from "../lib/client/chat_connection.ts";
import { LoadClient } from "./load_client.ts";
import { downloadFile, uploadFile } from "../lib/client/transfers.ts";
import { receiveFile } from "../lib/p2p/file_receiver.ts";
import { sendFile } from "../lib/p2p/file_sender.ts";
import { PacketType, tokenFromHex } from "../lib/p2p/packet.ts";
import { PeerSocket } from "../lib/p2p/peer_socket.ts";
import { LossyRelay } from "../tests/p2p/lossy_relay.ts";
import { spawnServer } from "../tests/process_helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

interface Row {
  readonly scenario: string;
  readonly figures: Record<string, number | string>;
}

interface BenchServer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** The server as a separate process (so its RSS is its own), with limits raised for load. */
async function startServer(extra: string[] = []): Promise<BenchServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-bench-" });
  const server = await spawnServer(dataDir, [
    "--quiet",
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
    ...extra,
  ]);
  return {
    port: server.port,
    pid: server.child.pid,
    async stop() {
      server.child.kill("SIGTERM");
      await server.status;
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** Resident set size of a process in bytes, from `ps` (Deno needs full access for /proc). */
async function rssOf(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
  })
    .output();
  const kb = Number(new TextDecoder().decode(out.stdout).trim());
  return out.success && kb > 0 ? kb * 1024 : NaN;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function inBatches<T>(
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

async function connectUsers(
  port: number,
  count: number,
  prefix: string,
): Promise<ChatConnection[]> {
  return await inBatches(count, 100, async (i) => {
    const chat = await ChatConnection.connect({ hostname: "127.0.0.1", port });
    const reply = await chat.request(`REGISTER ${prefix}${i} pw`);
    if (reply.code !== 200) throw new Error(`REGISTER failed: ${reply.code} ${reply.text}`);
    return chat;
  });
}

/** RSS per connection for `n` connections that are open but not logged in (no presence, no KV). */
async function idleConnections(n: number): Promise<Row> {
  const server = await startServer();
  try {
    const base = await rssOf(server.pid);
    const conns: Deno.TcpConn[] = [];
    for (let i = 0; i < n; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const rss = await rssOf(server.pid);
    for (const conn of conns) conn.close();
    return {
      scenario: `${n} idle connections, not logged in`,
      figures: {
        "server RSS MiB": +(rss / 1048576).toFixed(1),
        "RSS per connection KiB": +((rss - base) / n / 1024).toFixed(2),
      },
    };
  } finally {
    await server.stop();
  }
}

/** Waits until the receivers have `expected` broadcasts between them, or `timeoutMs` passes. */
async function untilReceived(
  receivers: LoadClient[],
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

function latencyFigures(receivers: LoadClient[]): Record<string, number> {
  const sorted = receivers.flatMap((r) => r.latencies.splice(0)).sort((a, b) => a - b);
  return {
    "p50 ms": +percentile(sorted, 0.5).toFixed(1),
    "p99 ms": +percentile(sorted, 0.99).toFixed(1),
  };
}

/** Sends `count` broadcasts from `sender`, pipelined (64 in flight) or paced at `rate` per second. */
async function broadcastMany(
  sender: ChatConnection,
  count: number,
  tag: string,
  rate?: number,
): Promise<void> {
  const start = performance.now();
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    if (rate) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    acks.push(
      sender.request(`BROADCAST ${tag}${i} t=${performance.timeOrigin + performance.now()}`),
    );
    if (acks.length >= 64) await acks.shift();
  }
  await Promise.all(acks);
}

async function fanout(
  n: number,
  broadcasts: number,
  rate: number,
  seconds: number,
): Promise<Row[]> {
  // scrypt N=2: registering thousands of users must not be what the RSS figure measures.
  const server = await startServer(["--scrypt-cost", "2"]);
  try {
    const baseRss = await rssOf(server.pid);
    const sender = await ChatConnection.connect({ hostname: "127.0.0.1", port: server.port });
    await sender.request("REGISTER sender pw");
    const receivers: LoadClient[] = [];
    for (let i = 0; i < n - 1; i += 100) {
      const batch = Array.from(
        { length: Math.min(100, n - 1 - i) },
        (_, j) => LoadClient.register(server.port, `u${i + j}`, i + j < 20),
      );
      receivers.push(...await Promise.all(batch));
    }
    await new Promise((r) => setTimeout(r, 500)); // let login notices settle
    const rss = await rssOf(server.pid);
    const rows: Row[] = [{
      scenario: `${n} logged in (RSS high-water: each login announced to all)`,
      figures: {
        "server RSS MiB": +(rss / 1048576).toFixed(1),
        "RSS per connection KiB": +((rss - baseRss) / n / 1024).toFixed(2),
      },
    }];
    const receiversCount = receivers.length;

    // Burst: as fast as one sender can pipeline them.
    for (const r of receivers) r.received = 0;
    let start = performance.now();
    await broadcastMany(sender, broadcasts, "b");
    let got = await untilReceived(receivers, broadcasts * receiversCount, 120_000);
    let elapsed = (performance.now() - start) / 1000;
    rows.push({
      scenario: `broadcast burst to ${receiversCount} receivers`,
      figures: {
        broadcasts,
        "deliveries/s": Math.round(got / elapsed),
        lost: broadcasts * receiversCount - got,
        ...latencyFigures(receivers),
        "server RSS MiB": +((await rssOf(server.pid)) / 1048576).toFixed(1),
      },
    });

    // Paced: a steady rate, for latency.
    const total = Math.round(rate * seconds);
    for (const r of receivers) r.received = 0;
    start = performance.now();
    await broadcastMany(sender, total, "p", rate);
    got = await untilReceived(receivers, total * receiversCount, 120_000);
    elapsed = (performance.now() - start) / 1000;
    rows.push({
      scenario: `${rate} broadcasts/s for ${seconds} s to ${receiversCount} receivers`,
      figures: {
        "deliveries/s": Math.round(got / elapsed),
        lost: total * receiversCount - got,
        ...latencyFigures(receivers),
      },
    });
    await Promise.all([sender.close(), ...receivers.map((r) => r.close())]);
    return rows;
  } finally {
    await server.stop();
  }
}

/** ROOM SAY pipelined by one member into a room of `members`; acks/s and deliveries/s. */
async function roomThroughput(members: number, messages: number): Promise<Row> {
  const server = await startServer(["--scrypt-cost", "2"]);
  try {
    const sender = await ChatConnection.connect({ hostname: "127.0.0.1", port: server.port });
    await sender.request("REGISTER speaker pw");
    const others: LoadClient[] = [];
    for (let i = 0; i < members - 1; i++) {
      others.push(await LoadClient.register(server.port, `m${i}`, false, "603"));
    }
    const created = await sender.request(`ROOM CREATE ${others.map((_, i) => `m${i}`).join(" ")}`);
    if (created.code !== 200) throw new Error(`ROOM CREATE failed: ${created.text}`);
    const start = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < messages; i++) {
      acks.push(sender.request(`ROOM SAY 1 message ${i}`));
      if (acks.length >= 64) await acks.shift();
    }
    await Promise.all(acks);
    const acked = (performance.now() - start) / 1000;
    const got = await untilReceived(others, messages * others.length, 60_000);
    const delivered = (performance.now() - start) / 1000;
    await Promise.all([sender.close(), ...others.map((o) => o.close())]);
    return {
      scenario: `room of ${members}: ROOM SAY pipelined by one member (64 in flight)`,
      figures: {
        messages,
        "acks/s": Math.round(messages / acked),
        "deliveries/s": Math.round(got / delivered),
        lost: messages * others.length - got,
      },
    };
  } finally {
    await server.stop();
  }
}

async function persistence(messages: number): Promise<Row> {
  const server = await startServer();
  try {
    const [a, b] = await connectUsers(server.port, 2, "p");
    const start = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < messages; i++) {
      acks.push(a.request(`MSG p1 message ${i}`));
      if (acks.length >= 64) await acks.shift();
    }
    await Promise.all(acks);
    const elapsed = (performance.now() - start) / 1000;
    await Promise.all([a.close(), b.close()]);
    return {
      scenario: "private messages (MSG) stored and acknowledged (64 in flight)",
      figures: { messages, "acks/s": Math.round(messages / elapsed) },
    };
  } finally {
    await server.stop();
  }
}

async function logins(count: number): Promise<Row> {
  const server = await startServer(["--scrypt-cost", "16384"]); // what a real server pays
  try {
    const users = await connectUsers(server.port, Math.min(count, 20), "l");
    await Promise.all(users.map((u) => u.request("LOGOUT")));
    const start = performance.now();
    await inBatches(count, 20, async (i) => {
      const chat = users[i % users.length];
      await chat.request(`LOGIN l${i % users.length} pw`);
      await chat.request("LOGOUT");
    });
    const elapsed = (performance.now() - start) / 1000;
    await Promise.all(users.map((u) => u.close()));
    return {
      scenario: "logins with scrypt N=2^14 (20 in parallel)",
      figures: { logins: count, "logins/s": Math.round(count / elapsed) },
    };
  } finally {
    await server.stop();
  }
}

/** Sends a file over a plain TCP connection to a sink that discards it: the yardstick. */
async function plainTcpCopy(path: string): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(64 * 1024);
    let total = 0;
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) total += n;
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

/** Writes `mib` MiB of random bytes to a new file. */
async function randomFile(path: string, mib: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    for (let j = 0; j < chunk.length; j += 65536) {
      crypto.getRandomValues(chunk.subarray(j, j + 65536));
    }
    await file.write(chunk);
  }
}

/** One UDP transfer between two sockets on loopback, through a lossy relay when loss > 0. */
async function udpTransfer(
  path: string,
  dir: string,
  loss: number,
): Promise<{ seconds: number; retransmissions: number }> {
  const token = tokenFromHex("00112233445566778899aabbccddeeff") ?? new Uint8Array(16);
  await using a = new PeerSocket(0, "127.0.0.1");
  await using b = new PeerSocket(0, "127.0.0.1");
  await using relay = loss > 0
    ? new LossyRelay(a.port, b.port, { drop: loss, duplicate: 0, maxDelayMs: 0 })
    : undefined;
  const aSeenByB = { hostname: "127.0.0.1", port: relay?.portForA ?? a.port };
  const bSeenByA = { hostname: "127.0.0.1", port: relay?.portForB ?? b.port };
  const received = new Promise<unknown>((resolve, reject) => {
    const stop = b.register(token, aSeenByB, (packet) => {
      if (packet.type !== PacketType.OFFER) return;
      stop();
      receiveFile(b, aSeenByB, token, packet, {
        dir,
        finalName: () => Promise.resolve(`received-${loss}`),
        peerName: "a",
        lingerMs: 0,
      }).then(resolve, reject);
    });
  });
  const result = await sendFile(a, bSeenByA, token, path, { name: "payload.bin", peerName: "b" });
  await received;
  return { seconds: result.seconds, retransmissions: result.retransmissions };
}

async function p2pTransfer(mib: number): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-p2p-" });
  try {
    const path = `${dir}/payload.bin`;
    await randomFile(path, mib);
    const plain = await plainTcpCopy(path);
    const rows: Row[] = [];
    for (const loss of [0, 0.05]) {
      const run = await udpTransfer(path, dir, loss);
      rows.push({
        scenario: `peer-to-peer UDP transfer of ${mib} MiB, ${loss * 100}% loss`,
        figures: {
          "MiB/s": +(mib / run.seconds).toFixed(1),
          "plain TCP MiB/s": +(mib / plain).toFixed(1),
          "udp/plain": +(plain / run.seconds).toFixed(2),
          retransmissions: run.retransmissions,
        },
      });
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function forumTransfer(mib: number): Promise<Row> {
  const server = await startServer(["--max-upload-mb", String(mib + 1)]);
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-file-" });
  try {
    const path = `${dir}/payload.bin`;
    await randomFile(path, mib);
    const [chat] = await connectUsers(server.port, 1, "f");
    await chat.request("THREAD CREATE bench");
    let start = performance.now();
    const up = await uploadFile(chat, "bench", path);
    const upSeconds = (performance.now() - start) / 1000;
    if (up.code !== 200) throw new Error(`Upload failed: ${up.text}`);
    start = performance.now();
    await downloadFile(chat, "bench", "payload.bin", `${dir}/dl`);
    const downSeconds = (performance.now() - start) / 1000;
    await chat.close();
    const plain = await plainTcpCopy(path);
    const mibps = (s: number) => +(mib / s).toFixed(1);
    return {
      scenario: `forum upload/download of ${mib} MiB vs plain TCP copy`,
      figures: {
        "upload MiB/s": mibps(upSeconds),
        "download MiB/s": mibps(downSeconds),
        "plain TCP MiB/s": mibps(plain),
        "upload/plain": +(plain / upSeconds).toFixed(2),
        "download/plain": +(plain / downSeconds).toFixed(2),
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.stop();
  }
}

function printTable(rows: Row[]): void {
  for (const row of rows) {
    const figures = Object.entries(row.figures).map(([k, v]) => `${k}=${v}`).join("  ");
    console.log(`${row.scenario.padEnd(52)} ${figures}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      clients: { type: "string", default: "100,1000,5000" },
      broadcasts: { type: "string", default: "200" },
      rate: { type: "string", default: "500" },
      seconds: { type: "string", default: "4" },
      messages: { type: "string", default: "2000" },
      logins: { type: "string", default: "40" },
      "file-mib": { type: "string", default: "100" },
      "p2p-mib": { type: "string", default: "200" },
      scenarios: { type: "string", default: "fanout,idle,rooms,persistence,logins,forum,p2p" },
    },
  });
  const rows: Row[] = [];
  /** Runs one scenario, prints its rows at once; a failure is a row too, not the end of the run. */
  const wanted = new Set(values.scenarios.split(","));
  const run = async (name: string, scenario: () => Promise<Row | Row[]>) => {
    if (!wanted.has(name.split(" ")[0])) return;
    let result: Row[];
    try {
      const out = await scenario();
      result = Array.isArray(out) ? out : [out];
    } catch (error) {
      result = [{
        scenario: name,
        figures: { error: error instanceof Error ? error.message : String(error) },
      }];
    }
    printTable(result);
    rows.push(...result);
  };
  for (const n of values.clients.split(",").map(Number)) {
    await run(
      `fanout with ${n} clients`,
      () => fanout(n, Number(values.broadcasts), Number(values.rate), Number(values.seconds)),
    );
  }
  for (const n of values.clients.split(",").map(Number)) {
    await run(`idle ${n} connections`, () => idleConnections(n));
  }
  await run("rooms", () => roomThroughput(100, Number(values.messages)));
  await run("persistence", () => persistence(Number(values.messages)));
  await run("logins", () => logins(Number(values.logins)));
  await run("forum transfer", () => forumTransfer(Number(values["file-mib"])));
  await run("p2p transfer", () => p2pTransfer(Number(values["p2p-mib"])));
  await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
  const file = `${ROOT}bench/results/latest.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({ date: new Date().toISOString(), deno: Deno.version.deno, rows }, null, 2),
  );
  console.log(`Wrote ${file}`);
}
