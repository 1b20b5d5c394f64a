/**
 * Peer-to-peer transfers on the network test bed (testing/netlab.ts): a 1 Gbit/s veth link with
 * MTU 1500 between two namespaces, at 0, 2 and 5% random loss, against plain TCP on the same link
 * in the same run. Needs root; skipped with the reason otherwise.
 * @module
 */

import {
  type Link,
  NetLab,
  netLabUnavailable,
  roundTrips,
  transferAcross,
} from "../../testing/netlab.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";
import { perGiB, type Row } from "../common.ts";

/**
 * Two labchat transfers of `mib` MiB at once over one link (each its own sender and receiver),
 * and the round trip across the link when idle and under a labchat or a TCP transfer: whether
 * the flows share and whether the sender builds a standing queue.
 */
async function sharing(lab: Link, dir: string, path: string, mib: number): Promise<Row[]> {
  const mb = (mib * 1024 * 1024) / 1e6;
  const flowDirs = [`${dir}/flow0`, `${dir}/flow1`];
  for (const d of flowDirs) await Deno.mkdir(d, { recursive: true });
  const both = await Promise.all(
    flowDirs.map((d, flow) => transferAcross(lab, d, path, false, flow)),
  );
  const rates = both.map((run) => mb / run.seconds);
  const shares = rates.map((rate) => rate / (rates[0] + rates[1]));
  for (const d of flowDirs) await Deno.remove(d, { recursive: true });
  const idle = await roundTrips(lab, 2);
  const underUdp = await roundTrips(lab, 2, async () => {
    await transferAcross(lab, dir, path, false);
    await Deno.remove(`${dir}/received.bin`);
  });
  const underTcp = await roundTrips(lab, 2, () => transferAcross(lab, dir, path, true));
  const rtt = (r: { p50: number; p99: number }) => `${r.p50.toFixed(2)}/${r.p99.toFixed(2)}`;
  return [
    {
      scenario: `two labchat transfers of ${mib} MiB at once, 1 Gbit/s, 0% loss`,
      figures: {
        "flow 1 MB/s": +rates[0].toFixed(1),
        "flow 2 MB/s": +rates[1].toFixed(1),
        "shares %": `${(100 * shares[0]).toFixed(0)}/${(100 * shares[1]).toFixed(0)}`,
        "total MB/s": +(rates[0] + rates[1]).toFixed(1),
      },
    },
    {
      scenario: "round trip across the link, ms p50/p99",
      figures: {
        idle: rtt(idle),
        "under labchat UDP": rtt(underUdp),
        "under TCP": rtt(underTcp),
        "probes lost idle/UDP/TCP": `${idle.lost}/${underUdp.lost}/${underTcp.lost}`,
      },
    },
  ];
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
      const portable = await transferAcross(lab, dir, path, false, 0, "deno");
      await Deno.remove(`${dir}/received.bin`);
      const tcp = await transferAcross(lab, dir, path, true);
      const mb = (mib * 1024 * 1024) / 1e6;
      rows.push({
        scenario: `p2p ${mib} MiB on 1 Gbit/s veth, MTU 1500, ${loss * 100}% loss`,
        figures: {
          "labchat UDP MB/s": +(mb / udp.seconds).toFixed(1),
          engine: udp.engine,
          "deno engine MB/s": +(mb / portable.seconds).toFixed(1),
          "TCP MB/s": +(mb / tcp.seconds).toFixed(1),
          "UDP/TCP": +(tcp.seconds / udp.seconds).toFixed(2),
          retransmissions: udp.retransmissions,
          "UDP CPU s/GiB send/receive": perGiB(udp, mib),
          "TCP CPU s/GiB send/receive": perGiB(tcp, mib),
        },
      });
      if (loss === 0) rows.push(...await sharing(lab, dir, path, mib));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}
