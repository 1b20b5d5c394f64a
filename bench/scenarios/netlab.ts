/**
 * Peer-to-peer transfers on the network test bed (testing/netlab.ts): a 1 Gbit/s veth link with
 * MTU 1500 between two namespaces, at 0, 2 and 5% random loss, against plain TCP on the same link
 * in the same run. Needs root; skipped with the reason otherwise.
 * @module
 */

import { NetLab, netLabUnavailable, transferAcross } from "../../testing/netlab.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";
import type { Row } from "../common.ts";

/** CPU seconds per GiB on each side, `sender/receiver` (process totals, start-up included). */
function perGiB(run: { senderCpu: number; receiverCpu: number }, mib: number): string {
  const gib = mib / 1024;
  return `${(run.senderCpu / gib).toFixed(1)}/${(run.receiverCpu / gib).toFixed(1)}`;
}

/** labchat UDP and plain TCP across the lab at each loss rate, `mib` MiB each. */
export async function netlabTransfers(mib: number, losses = [0, 0.02, 0.05]): Promise<Row[]> {
  const unavailable = await netLabUnavailable();
  if (unavailable) {
    return [{ scenario: "p2p on the network test bed", figures: { skipped: unavailable } }];
  }
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-netlab-" });
  const rows: Row[] = [];
  try {
    const path = `${dir}/payload.bin`;
    await writeRandomFile(path, mib * 1024 * 1024);
    for (const loss of losses) {
      await using lab = await NetLab.open({ rateMbit: 1000, loss });
      const udp = await transferAcross(lab, dir, path, false);
      await Deno.remove(`${dir}/received.bin`);
      const tcp = await transferAcross(lab, dir, path, true);
      const mb = (mib * 1024 * 1024) / 1e6;
      rows.push({
        scenario: `p2p ${mib} MiB on 1 Gbit/s veth, MTU 1500, ${loss * 100}% loss`,
        figures: {
          "labchat UDP MB/s": +(mb / udp.seconds).toFixed(1),
          "TCP MB/s": +(mb / tcp.seconds).toFixed(1),
          "UDP/TCP": +(tcp.seconds / udp.seconds).toFixed(2),
          retransmissions: udp.retransmissions,
          "UDP CPU s/GiB send/receive": perGiB(udp, mib),
          "TCP CPU s/GiB send/receive": perGiB(tcp, mib),
        },
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}
