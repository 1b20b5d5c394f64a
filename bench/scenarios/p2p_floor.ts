/**
 * The floor under a peer-to-peer sender's CPU on the network test bed: what any sender that does
 * what labchat's must do costs, part by part, against TCP's sender and labchat's in the same run.
 * The parts: Deno's start with the endpoint's modules (the TCP sender of a 1-byte file), the
 * whole-file SHA-256 the offer carries, and the kernel's part of sending the file as UDP at the
 * same rate, measured by a C program that does nothing else (`bench/native/udp_floor.c`: paced,
 * with segmentation offload). Needs root and a C compiler; skipped with the reason otherwise.
 * @module
 */

import process from "node:process";
import { join } from "node:path";
import {
  NetLab,
  netLabUnavailable,
  readToEnd,
  readUntilReady,
  transferAcross,
} from "../../testing/netlab.ts";
import type { Link } from "../../testing/netlab.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";
import { hashFile } from "../../lib/fs/hash_file.ts";
import { buildC } from "../native_receiver.ts";
import type { Row } from "../common.ts";

const SOURCE = new URL("../native/udp_floor.c", import.meta.url).pathname;
const ROUNDS = 3;

/** CPU seconds (user + system) this process spends on `work`. */
async function cpuOf(work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1e6;
}

/** Sends `path` from a to b with the C floor sender at `rate` bytes/s; its CPU seconds. */
async function floorSend(
  lab: Link,
  binary: string,
  path: string,
  size: number,
  rate: number,
): Promise<number> {
  const sink = lab.spawn(lab.b, binary, ["sink", lab.addressB, "41000", String(size)]);
  const lines = sink.stdout.pipeThrough(new TextDecoderStream()).getReader();
  if ((await readUntilReady(lines)) === undefined) {
    throw new Error("the floor's sink did not start");
  }
  const sent = await lab.exec(lab.a, binary, [
    "send",
    lab.addressB,
    "41000",
    path,
    String(Math.round(rate)),
  ]);
  await readToEnd(lines);
  await sink.status;
  if (sent.code !== 0) throw new Error(`the floor sender failed: ${sent.stderr}`);
  const [, , , user, system] = sent.stdout.trim().split(" ");
  return Number(user) + Number(system);
}

function range(values: number[], digits = 3): string {
  const low = Math.min(...values).toFixed(digits);
  const high = Math.max(...values).toFixed(digits);
  return low === high ? low : `${low}–${high}`;
}

/** Each part of the floor, TCP's sender and labchat's, `ROUNDS` times over `mib` MiB. */
export async function p2pFloor(mib: number): Promise<Row[]> {
  const scenario = `floor of a p2p sender, ${mib} MiB on 1 Gbit/s veth, CPU s`;
  const unavailable = await netLabUnavailable();
  if (unavailable) return [{ scenario, figures: { skipped: unavailable } }];
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-floor-" });
  try {
    const binary = await buildC(SOURCE, join(dir, "udp_floor"));
    if (!binary) return [{ scenario, figures: { skipped: "no C compiler" } }];
    const size = mib * 1024 * 1024;
    const path = `${dir}/payload.bin`;
    const tiny = `${dir}/tiny.bin`;
    await writeRandomFile(path, size);
    await Deno.writeFile(tiny, new Uint8Array(1));
    await using lab = await NetLab.open({ rateMbit: 1000 });
    const parts = { start: [] as number[], hash: [] as number[], kernel: [] as number[] };
    const floor: number[] = [];
    const tcp: number[] = [];
    const labchat: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const udp = await transferAcross(lab, dir, path, false);
      await Deno.remove(`${dir}/received.bin`);
      const start = (await transferAcross(lab, dir, tiny, true)).senderCpu;
      const hash = await cpuOf(() => hashFile(path));
      const kernel = await floorSend(lab, binary, path, size, size / udp.seconds);
      parts.start.push(start);
      parts.hash.push(hash);
      parts.kernel.push(kernel);
      floor.push(start + hash + kernel);
      tcp.push((await transferAcross(lab, dir, path, true)).senderCpu);
      labchat.push(udp.senderCpu);
    }
    const ratio = (of: number[]) => range(of.map((value, i) => value / tcp[i]), 2);
    return [{
      scenario,
      figures: {
        "Deno start": range(parts.start),
        "SHA-256": range(parts.hash),
        "kernel UDP send (C)": range(parts.kernel),
        floor: range(floor),
        "TCP sender": range(tcp),
        "labchat sender": range(labchat),
        "floor/TCP": ratio(floor),
        "labchat/TCP": ratio(labchat),
      },
    }];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
