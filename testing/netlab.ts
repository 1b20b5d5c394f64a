/**
 * A real network link for tests and the bench: two network namespaces joined by a veth pair
 * (MTU 1500), shaped by a `tbf` qdisc on both ends, with random loss dropped by the kernel
 * (`iptables -m statistic --mode random`) on every packet entering either namespace, UDP and TCP
 * alike. Needs root, `ip`, `tc` and `iptables`. The addresses exist only inside the namespaces,
 * and {@linkcode NetLab.close} removes everything, also after a failure.
 * @module
 */

import type { EngineChoice } from "../lib/p2p/peer_socket.ts";

/** How the link is shaped. */
export interface LinkOptions {
  /** Rate in Mbit/s on each direction (default 1000). */
  readonly rateMbit?: number;
  /** Fraction of packets dropped on entering each side, 0–1 (default 0). */
  readonly loss?: number;
  /** MTU of both ends (default 1500). */
  readonly mtu?: number;
}

/** A command's outcome. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const decoder = new TextDecoder();
const ROOT = new URL("../", import.meta.url).pathname;

async function run(command: string, args: string[], allowFailure = false): Promise<RunResult> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (!out.success && !allowFailure) {
    throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr.trim()}`);
  }
  return result;
}

/** Why the link cannot be built here (not root, a tool missing), or `undefined` when it can. */
export async function netLabUnavailable(): Promise<string | undefined> {
  const uid = await run("id", ["-u"], true).catch(() => ({ stdout: "" }));
  if (uid.stdout.trim() !== "0") return "needs root (ip netns, tc, iptables)";
  for (const tool of ["ip", "tc", "iptables"]) {
    try {
      await new Deno.Command(tool, { args: ["-V"], stdout: "null", stderr: "null" }).output();
    } catch {
      return `${tool} is not installed (apt-get install iproute2 iptables)`;
    }
  }
  return undefined;
}

/** A link between namespace `a` (address `addressA`) and namespace `b` (`addressB`). */
/** Two places to run the ends of a transfer, and the addresses they reach each other at. */
export interface Link {
  readonly a: string;
  readonly b: string;
  readonly addressA: string;
  readonly addressB: string;
  exec(place: string, command: string, args: string[]): Promise<RunResult>;
  spawn(place: string, command: string, args: string[]): Deno.ChildProcess;
}

/** Both ends on this machine's loopback, unshaped: the ceiling of the code itself. */
export const loopbackLink: Link = {
  a: "",
  b: "",
  addressA: "127.0.0.1",
  addressB: "127.0.0.1",
  exec: (_place, command, args) => run(command, args, true),
  spawn: (_place, command, args) =>
    new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).spawn(),
};

export class NetLab implements AsyncDisposable, Link {
  readonly a: string;
  readonly b: string;
  readonly addressA: string;
  readonly addressB: string;
  #closed = false;

  private constructor(id: string, subnet: number) {
    this.a = `lcA${id}`;
    this.b = `lcB${id}`;
    this.addressA = `10.231.${subnet}.1`;
    this.addressB = `10.231.${subnet}.2`;
  }

  /** Builds the link; on failure, removes what was built and throws. */
  static async open(options: LinkOptions = {}): Promise<NetLab> {
    const id = crypto.randomUUID().slice(0, 6);
    const lab = new NetLab(id, 1 + Math.floor(Math.random() * 250));
    try {
      await lab.#build(id, options);
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  async #build(id: string, options: LinkOptions): Promise<void> {
    const rate = options.rateMbit ?? 1000;
    const mtu = options.mtu ?? 1500;
    const loss = options.loss ?? 0;
    const vethA = `lca${id}`;
    const vethB = `lcb${id}`;
    await run("ip", ["netns", "add", this.a]);
    await run("ip", ["netns", "add", this.b]);
    await run("ip", ["link", "add", vethA, "type", "veth", "peer", "name", vethB]);
    for (
      const [ns, dev, address] of [[this.a, vethA, this.addressA], [this.b, vethB, this.addressB]]
    ) {
      await run("ip", ["link", "set", dev, "netns", ns]);
      await run("ip", ["-n", ns, "addr", "add", `${address}/24`, "dev", dev]);
      await run("ip", ["-n", ns, "link", "set", dev, "mtu", String(mtu), "up"]);
      await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      // A token bucket at the link rate; the burst must cover a timer tick at that rate.
      const burstBytes = Math.max(32 * 1024, Math.round((rate * 1e6) / 8 / 250));
      await run("ip", [
        "netns",
        "exec",
        ns,
        "tc",
        "qdisc",
        "add",
        "dev",
        dev,
        "root",
        "tbf",
        "rate",
        `${rate}mbit`,
        "burst",
        String(burstBytes),
        "latency",
        "5ms",
      ]);
      if (loss > 0) {
        await run("ip", [
          "netns",
          "exec",
          ns,
          "iptables",
          "-A",
          "INPUT",
          "-i",
          dev,
          "-m",
          "statistic",
          "--mode",
          "random",
          "--probability",
          String(loss),
          "-j",
          "DROP",
        ]);
      }
    }
  }

  /** Runs a program inside namespace `ns` and waits for it. */
  exec(ns: string, command: string, args: string[]): Promise<RunResult> {
    return run("ip", ["netns", "exec", ns, command, ...args], true);
  }

  /** Starts a program inside namespace `ns`. */
  spawn(ns: string, command: string, args: string[]): Deno.ChildProcess {
    return new Deno.Command("ip", {
      args: ["netns", "exec", ns, command, ...args],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  /** Removes both namespaces (and with them the veth pair and the firewall rules). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await run("ip", ["netns", "del", this.a], true);
    await run("ip", ["netns", "del", this.b], true);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const TOKEN = "00112233445566778899aabbccddeeff";
const ENDPOINT = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  // The batched UDP engine (libc's sendmmsg/recvmmsg), as the client runs it.
  "--allow-ffi",
  `${ROOT}scripts/p2p_endpoint.ts`,
];

/**
 * Reads a program's output until it printed "ready" (it listens): what it printed, or undefined
 * when it ended first.
 */
export async function readUntilReady(
  lines: ReadableStreamDefaultReader<string>,
): Promise<string | undefined> {
  let out = "";
  while (!out.includes("ready\n")) {
    const { value, done } = await lines.read();
    if (done) return undefined;
    out += value;
  }
  return out;
}

/** The rest of a program's output, until it ends. */
export async function readToEnd(lines: ReadableStreamDefaultReader<string>): Promise<string> {
  let out = "";
  for (let chunk = await lines.read(); !chunk.done; chunk = await lines.read()) out += chunk.value;
  return out;
}

/** What one transfer across the lab measured. */
export interface TransferAcross {
  readonly seconds: number;
  readonly retransmissions: number;
  /** How the datagrams moved (`linux`, `deno`), or `tcp`. */
  readonly engine: string;
  /** User + system CPU seconds of each end's process. */
  readonly senderCpu: number;
  readonly receiverCpu: number;
}

/**
 * Sends the file at `path` from namespace a to b: labchat's peer-to-peer transfer
 * (`scripts/p2p_endpoint.ts`), or plain TCP when `tcp`. The receiver saves into `dir` as
 * `received.bin`, which is left for the caller. Throws when either end fails. Transfers with
 * different `flow` numbers (and directories) can run at once.
 */
export async function transferAcross(
  lab: Link,
  dir: string,
  path: string,
  tcp: boolean,
  flow = 0,
  engine: EngineChoice = "auto",
): Promise<TransferAcross> {
  const base = 40000 + 10 * flow;
  const receiverArgs = tcp ? ["tcp-receive", "--bind", `${lab.addressB}:${base + 2}`] : [
    "receive",
    "--bind",
    `${lab.addressB}:${base + 1}`,
    "--peer",
    `${lab.addressA}:${base}`,
    "--token",
    TOKEN,
    "--dir",
    dir,
    "--engine",
    engine,
  ];
  const senderArgs = tcp ? ["tcp-send", "--peer", `${lab.addressB}:${base + 2}`, "--file", path] : [
    "send",
    "--bind",
    `${lab.addressA}:${base}`,
    "--peer",
    `${lab.addressB}:${base + 1}`,
    "--token",
    TOKEN,
    "--file",
    path,
    "--engine",
    engine,
  ];
  const receiver = lab.spawn(lab.b, Deno.execPath(), [...ENDPOINT, ...receiverArgs]);
  const receiverErr = new Response(receiver.stderr).text();
  // The receiver binds first (its first start may type-check for seconds).
  const lines = receiver.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = (await readUntilReady(lines)) ?? "";
  const sent = await lab.exec(lab.a, Deno.execPath(), [...ENDPOINT, ...senderArgs]);
  out += await readToEnd(lines);
  const status = await receiver.status;
  if (sent.code !== 0 || !status.success) {
    throw new Error(`transfer failed: ${sent.stderr} ${await receiverErr}`);
  }
  await receiverErr;
  const [, , seconds, retransmissions, senderCpu, sentWith] = sent.stdout.trim().split(" ");
  const receiverCpu = out.trim().split(" ").at(-1);
  return {
    seconds: Number(seconds),
    retransmissions: Number(retransmissions),
    engine: sentWith ?? "unknown",
    senderCpu: Number(senderCpu),
    receiverCpu: Number(receiverCpu),
  };
}

/** Round-trip times of small probes across the link, ms. */
export interface RoundTrips {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly lost: number;
}

/**
 * Measures the round trip from a to b for `seconds` with a probe every 10 ms (through the same
 * shaped queue as a transfer from a to b), while `during` runs, if given.
 */
export async function roundTrips(
  lab: Link,
  seconds: number,
  during?: () => Promise<unknown>,
): Promise<RoundTrips> {
  const echo = lab.spawn(lab.b, Deno.execPath(), [
    ...ENDPOINT,
    "echo",
    "--bind",
    `${lab.addressB}:40900`,
  ]);
  const lines = echo.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    if ((await readUntilReady(lines)) === undefined) throw new Error("the echo end did not start");
    const load = during?.();
    // With a load, probe once it is under way (its processes start and type-check first).
    if (load) await new Promise((r) => setTimeout(r, 1500));
    const probe = await lab.exec(lab.a, Deno.execPath(), [
      ...ENDPOINT,
      "ping",
      "--bind",
      `${lab.addressA}:40901`,
      "--peer",
      `${lab.addressB}:40900`,
      "--seconds",
      String(seconds),
    ]);
    await load;
    const [, p50, p99, max, lost] = probe.stdout.trim().split(" ").map(Number);
    return { p50, p99, max, lost };
  } finally {
    echo.kill("SIGKILL");
    await echo.status;
    await lines.cancel().catch(() => {});
    await new Response(echo.stderr).text().catch(() => "");
  }
}
