/**
 * Peer-to-peer UDP transfer on loopback, two processes as two chat-clients would be, against
 * plain TCP between the same two processes. Loss is measured on the network test bed
 * (./netlab.ts), where it is the kernel's, not a relay's.
 * @module
 */

import { loopbackLink, transferAcross } from "../../testing/netlab.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";
import { perGiB, type Row } from "../common.ts";

export async function p2pTransfer(mib: number): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-p2p-" });
  try {
    const path = `${dir}/payload.bin`;
    await writeRandomFile(path, mib * 1024 * 1024);
    const udp = await transferAcross(loopbackLink, dir, path, false);
    await Deno.remove(`${dir}/received.bin`);
    // Deno's own sockets, one operation per datagram: where FFI is not allowed.
    const portable = await transferAcross(loopbackLink, dir, path, false, 0, "deno");
    await Deno.remove(`${dir}/received.bin`);
    const tcp = await transferAcross(loopbackLink, dir, path, true);
    const mb = (mib * 1024 * 1024) / 1e6;
    return [{
      scenario: `peer-to-peer UDP transfer of ${mib} MiB on loopback, two processes`,
      figures: {
        "labchat UDP MB/s": +(mb / udp.seconds).toFixed(1),
        engine: udp.engine,
        "deno engine MB/s": +(mb / portable.seconds).toFixed(1),
        "TCP MB/s": +(mb / tcp.seconds).toFixed(1),
        retransmissions: udp.retransmissions,
        "UDP CPU s/GiB send/receive": perGiB(udp, mib),
        "deno engine CPU s/GiB": perGiB(portable, mib),
      },
    }];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
