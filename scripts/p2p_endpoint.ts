/**
 * One end of a peer-to-peer file transfer, without a server: what chat-client does after PEER,
 * for the network test bed (each end runs in its own namespace).
 *
 *   deno run --allow-net --allow-read --allow-write --allow-ffi scripts/p2p_endpoint.ts \
 *     send|receive --bind ADDR:PORT --peer ADDR:PORT --token HEX32 (--file PATH | --dir DIR)
 *     [--engine auto|deno|linux]                  how datagrams move (PeerSocket's engines)
 *   ... tcp-send --peer ADDR:PORT --file PATH     the same file over plain TCP, the yardstick
 *   ... tcp-receive --bind ADDR:PORT              counts what arrives
 *   ... echo --bind ADDR:PORT                     sends every datagram back (until killed)
 *   ... ping --bind ADDR:PORT --peer ADDR:PORT --seconds S
 *                                                 a 64-byte probe every 10 ms; prints the round
 *                                                 trip's `rtt P50 P99 MAX LOST` in ms
 *
 * The sender prints `sent BYTES SECONDS RETRANSMISSIONS CPU ENGINE`, the receiver `received PATH
 * BYTES CPU`, CPU being the process's user + system seconds and ENGINE the one that moved the
 * datagrams (`linux` or `deno`); a receiver prints `ready` once bound.
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { receiveFile } from "../lib/p2p/file_receiver.ts";
import { sendFile } from "../lib/p2p/file_sender.ts";
import { PacketType, tokenFromHex } from "../lib/p2p/packet.ts";
import { PeerSocket } from "../lib/p2p/peer_socket.ts";

/** How long a receiver keeps answering the sender's FIN after the file is saved. */
const LINGER_MS = 1000;

/** User + system CPU seconds of this process so far. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function address(text: string): { hostname: string; port: number } {
  const at = text.lastIndexOf(":");
  return { hostname: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      bind: { type: "string" },
      peer: { type: "string" },
      token: { type: "string" },
      file: { type: "string" },
      dir: { type: "string" },
      seconds: { type: "string" },
      engine: { type: "string", default: "auto" },
    },
  });
  if (positionals[0] === "echo") return await echo(address(values.bind ?? ""));
  if (positionals[0] === "ping") {
    return await ping(
      address(values.bind ?? ""),
      address(values.peer ?? ""),
      Number(values.seconds ?? "2"),
    );
  }
  if (positionals[0] === "tcp-send") {
    return await tcpSend(address(values.peer ?? ""), values.file ?? "");
  }
  if (positionals[0] === "tcp-receive") return await tcpReceive(address(values.bind ?? ""));
  const token = tokenFromHex(values.token ?? "");
  if (!values.bind || !values.peer || !token) {
    console.error("usage: send|receive --bind ADDR:PORT --peer ADDR:PORT --token HEX32 ...");
    return 2;
  }
  const bind = address(values.bind);
  const peer = address(values.peer);
  const engine = values.engine;
  if (engine !== "auto" && engine !== "deno" && engine !== "linux") {
    console.error("--engine is auto, deno or linux");
    return 2;
  }
  await using socket = new PeerSocket(bind.port, bind.hostname, engine);
  if (positionals[0] === "send") {
    const path = values.file ?? "";
    const result = await sendFile(socket, peer, token, path, {
      name: "payload.bin",
      peerName: "b",
    });
    console.log(
      `sent ${result.bytes} ${result.seconds} ${result.retransmissions} ${cpuSeconds()} ${socket.engine}`,
    );
    return 0;
  }
  const dir = values.dir ?? ".";
  console.log("ready");
  const saved = await new Promise<{ path: string; bytes: number }>((resolve, reject) => {
    const stop = socket.register(token, peer, (packet) => {
      if (packet.type !== PacketType.OFFER) return;
      stop();
      receiveFile(socket, peer, token, packet, {
        dir,
        finalName: () => Promise.resolve("received.bin"),
        peerName: "a",
        lingerMs: LINGER_MS,
        deadMs: 30_000,
      }).then(resolve, reject);
    });
  });
  console.log(`received ${saved.path} ${saved.bytes} ${cpuSeconds()}`);
  // Stay to answer a FIN whose FIN_ACK was lost: closing the socket now would leave the sender
  // asking until it gives up on a transfer that succeeded.
  await new Promise((resolve) => setTimeout(resolve, LINGER_MS));
  return 0;
}

async function tcpSend(peer: { hostname: string; port: number }, path: string): Promise<number> {
  const start = performance.now();
  let conn: Deno.TcpConn | undefined;
  for (let attempt = 0; conn === undefined; attempt++) {
    try {
      conn = await Deno.connect(peer);
    } catch (error) {
      if (attempt > 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(256 * 1024);
  let bytes = 0;
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    for (let at = 0; at < n;) at += await conn.write(buffer.subarray(at, n));
    bytes += n;
  }
  await conn.closeWrite();
  await conn.read(new Uint8Array(1)); // the receiver closes once it has everything
  conn.close();
  console.log(`sent ${bytes} ${(performance.now() - start) / 1000} 0 ${cpuSeconds()} tcp`);
  return 0;
}

async function tcpReceive(bind: { hostname: string; port: number }): Promise<number> {
  const listener = Deno.listen(bind);
  console.log("ready");
  const conn = await listener.accept();
  const buffer = new Uint8Array(256 * 1024);
  let bytes = 0;
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) bytes += n;
  conn.close();
  listener.close();
  console.log(`received tcp ${bytes} ${cpuSeconds()}`);
  return 0;
}

async function echo(bind: { hostname: string; port: number }): Promise<number> {
  const socket = Deno.listenDatagram({ transport: "udp", ...bind });
  console.log("ready");
  for await (const [data, from] of socket) await socket.send(data, from);
  return 0;
}

/** Round trips of small probes, sent every 10 ms for `seconds`: what a queue on the way adds. */
async function ping(
  bind: { hostname: string; port: number },
  peer: { hostname: string; port: number },
  seconds: number,
): Promise<number> {
  const socket = Deno.listenDatagram({ transport: "udp", ...bind });
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  const target = { transport: "udp" as const, ...peer };
  const receiving = (async () => {
    for await (const [data] of socket) {
      const seq = new DataView(data.buffer, data.byteOffset).getUint32(0);
      const at = sentAt.get(seq);
      if (at !== undefined) rtts.push(performance.now() - at);
      sentAt.delete(seq);
    }
  })().catch(() => {});
  const probe = new Uint8Array(64);
  const count = Math.round(seconds * 100);
  for (let seq = 0; seq < count; seq++) {
    new DataView(probe.buffer).setUint32(0, seq);
    sentAt.set(seq, performance.now());
    await socket.send(probe, target);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 200));
  socket.close();
  await receiving;
  rtts.sort((a, b) => a - b);
  const at = (p: number) => (rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] ?? NaN);
  const ms = (v: number) => v.toFixed(3);
  console.log(
    `rtt ${ms(at(0.5))} ${ms(at(0.99))} ${ms(rtts.at(-1) ?? NaN)} ${count - rtts.length}`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
