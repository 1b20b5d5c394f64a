/**
 * Peer-to-peer UDP transfer against a plain TCP copy, with and without loss.
 * @module
 */

import { receiveFile } from "../../lib/p2p/file_receiver.ts";
import { sendFile } from "../../lib/p2p/file_sender.ts";
import { PacketType, tokenFromHex } from "../../lib/p2p/packet.ts";
import { PeerSocket } from "../../lib/p2p/peer_socket.ts";
import { LossyRelay } from "../../testing/lossy_relay.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";
import { plainTcpCopy, type Row } from "../common.ts";

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

export async function p2pTransfer(mib: number): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-p2p-" });
  try {
    const path = `${dir}/payload.bin`;
    await writeRandomFile(path, mib * 1024 * 1024);
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
