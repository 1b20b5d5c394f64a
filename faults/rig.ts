/**
 * The cluster a fault run works on: a Redis (or a primary, replicas and sentinels), two labchat
 * nodes as separate processes on one data directory, and the faults: a node killed or frozen, Redis
 * stopped or killed and started again, the primary killed under Sentinel, and a network partition
 * between one node and Redis. The partitioned node reaches Redis at 127.0.0.2 (still loopback),
 * and the partition drops that traffic with iptables, both ways, without touching the clients'.
 * @module
 */

import { redisCommand, TestRedis } from "../testing/redis_server.ts";
import { TestSentinelGroup } from "../testing/redis_sentinel.ts";
import { type ServerProcess, spawnServer } from "../testing/server_process.ts";

/** The second loopback address the partitionable node reaches Redis at. */
const PARTITIONED_HOST = "127.0.0.2";
/** Marks this suite's firewall rules, so they are always found and removed. */
const RULE_COMMENT = "labchat-faults";

/** How the cluster is built. */
export interface RigOptions {
  /** Redis with two replicas and three sentinels instead of one Redis. */
  readonly sentinel?: boolean;
  /** `--cluster-acks` of the nodes. */
  readonly acks?: number;
  /** Node `b` reaches Redis at 127.0.0.2, so it can be cut off from it. */
  readonly partitionable?: boolean;
}

/** A node of the rig. */
interface Node {
  readonly name: string;
  readonly url: string;
  process?: ServerProcess;
  frozen: boolean;
}

/** Runs iptables; resolves whether it succeeded. */
async function iptables(args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command("iptables", { args, stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/** The rules that cut `port` on 127.0.0.2 off, both ways. */
function partitionRules(port: number): string[][] {
  const mark = ["-m", "comment", "--comment", RULE_COMMENT, "-j", "DROP"];
  return [
    ["INPUT", "-i", "lo", "-p", "tcp", "-d", PARTITIONED_HOST, "--dport", String(port), ...mark],
    ["INPUT", "-i", "lo", "-p", "tcp", "-s", PARTITIONED_HOST, "--sport", String(port), ...mark],
  ];
}

/** Why a partition cannot be made here, or `undefined` when it can. */
export async function partitionUnavailable(): Promise<string | undefined> {
  const id = await new Deno.Command("id", { args: ["-u"], stdout: "piped" }).output()
    .catch(() => undefined);
  if (new TextDecoder().decode(id?.stdout).trim() !== "0") return "needs root (iptables)";
  if (!(await iptables(["-L", "INPUT", "-n"]))) return "iptables does not work here";
  return undefined;
}

/** Removes every rule this suite left behind (a run killed half-way). */
export async function removeStaleRules(): Promise<void> {
  const out = await new Deno.Command("iptables", { args: ["-S", "INPUT"], stdout: "piped" })
    .output().catch(() => undefined);
  if (!out?.success) return;
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (!line.includes(RULE_COMMENT) || !line.startsWith("-A ")) continue;
    const rule = line.slice(3).split(" ").map((word) => word.replace(/^"|"$/g, ""));
    await iptables(["-D", ...rule]);
  }
}

/** Two nodes on a shared Redis, and the faults to throw at them. */
export class ClusterRig implements AsyncDisposable {
  readonly dataDir: string;
  readonly #redis: TestRedis | undefined;
  readonly #group: TestSentinelGroup | undefined;
  readonly #nodes = new Map<string, Node>();
  readonly #acks: number;
  #partitioned = false;

  private constructor(
    dataDir: string,
    redis: TestRedis | undefined,
    group: TestSentinelGroup | undefined,
    acks: number,
  ) {
    this.dataDir = dataDir;
    this.#redis = redis;
    this.#group = group;
    this.#acks = acks;
  }

  /** Starts Redis (or the sentinel group) and nodes `a` and `b`. */
  static async start(options: RigOptions = {}): Promise<ClusterRig> {
    const dataDir = await Deno.makeTempDir({ prefix: "labchat-faults-" });
    const group = options.sentinel ? await TestSentinelGroup.start(2, 1000) : undefined;
    const redis = group ? undefined : await TestRedis.start(
      "always",
      options.partitionable ? ["--bind", "127.0.0.1", PARTITIONED_HOST] : [],
    );
    const rig = new ClusterRig(dataDir, redis, group, options.acks ?? 0);
    try {
      const url = group?.url ?? redis?.url ?? "";
      const partitionUrl = redis ? `redis://${PARTITIONED_HOST}:${redis.port}` : url;
      rig.#nodes.set("a", { name: "a", url, frozen: false });
      rig.#nodes.set("b", {
        name: "b",
        url: options.partitionable ? partitionUrl : url,
        frozen: false,
      });
      for (const name of rig.#nodes.keys()) await rig.startNode(name);
      return rig;
    } catch (error) {
      await rig.close();
      throw error;
    }
  }

  /** The names of the nodes. */
  get nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  /** The TCP port of a node that runs and is not frozen. */
  port(name: string): number | undefined {
    const node = this.#nodes.get(name);
    return node?.process && !node.frozen ? node.process.port : undefined;
  }

  /** What a node's process printed so far (its log). */
  output(name: string): readonly string[] {
    return this.#must(name).process?.output ?? [];
  }

  /** Starts a node (again, after a kill: same name, new port). */
  async startNode(name: string): Promise<void> {
    const node = this.#must(name);
    node.process = await spawnServer(this.dataDir, [
      "--quiet",
      "--no-log-file",
      "--cluster",
      node.url,
      "--node",
      name,
      ...(this.#acks > 0 ? ["--cluster-acks", String(this.#acks)] : []),
    ]);
    node.frozen = false;
  }

  /** Kills a node's process outright. */
  async killNode(name: string): Promise<void> {
    const node = this.#must(name);
    const process = node.process;
    node.process = undefined;
    if (!process) return;
    if (node.frozen) process.child.kill("SIGCONT");
    process.child.kill("SIGKILL");
    await process.status;
    node.frozen = false;
  }

  /** Stops a node's process (SIGSTOP), as a long pause would. */
  freezeNode(name: string): void {
    const node = this.#must(name);
    node.process?.child.kill("SIGSTOP");
    node.frozen = true;
  }

  /** Lets a frozen node run again. */
  thawNode(name: string): void {
    const node = this.#must(name);
    node.process?.child.kill("SIGCONT");
    node.frozen = false;
  }

  /** Stops Redis: SIGTERM, or SIGKILL with `kill`. */
  async stopRedis(kill: boolean): Promise<void> {
    if (!this.#redis) throw new Error("this rig runs on sentinels");
    await this.#redis.stop(kill);
  }

  /** Starts Redis again on the same port and files. */
  async startRedis(): Promise<void> {
    if (!this.#redis) throw new Error("this rig runs on sentinels");
    await this.#redis.restart();
  }

  /** Kills the primary and waits until the sentinels have promoted a replica. */
  async killPrimary(): Promise<void> {
    if (!this.#group) throw new Error("this rig runs on one Redis");
    const primary = await this.#group.primary();
    await primary.stop(true);
    await this.#group.waitForFailover(primary.port);
  }

  /** Cuts node `b` off from Redis (its packets to and from Redis are dropped). */
  async partition(): Promise<void> {
    if (!this.#redis) throw new Error("a partition needs the one-Redis rig");
    for (const rule of partitionRules(this.#redis.port)) {
      if (!(await iptables(["-I", ...rule]))) throw new Error("iptables refused the rule");
    }
    this.#partitioned = true;
  }

  /** Ends the partition. */
  async heal(): Promise<void> {
    if (!this.#redis || !this.#partitioned) return;
    for (const rule of partitionRules(this.#redis.port)) await iptables(["-D", ...rule]);
    this.#partitioned = false;
  }

  /** Whether Redis answers (for the rig's own waiting). */
  async redisAnswers(): Promise<boolean> {
    if (!this.#redis) return true;
    return (await redisCommand(this.#redis.port, "PING").catch(() => "")).startsWith("+PONG");
  }

  #must(name: string): Node {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** Stops everything and removes the data directory and any firewall rule. */
  async close(): Promise<void> {
    await this.heal();
    for (const name of this.#nodes.keys()) {
      const node = this.#must(name);
      const process = node.process;
      node.process = undefined;
      if (!process) continue;
      if (node.frozen) process.child.kill("SIGCONT");
      process.child.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([
        process.status.then(() => true),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
      ]).finally(() => clearTimeout(timer));
      if (!exited) {
        process.child.kill("SIGKILL");
        await process.status;
      }
    }
    await this.#redis?.[Symbol.asyncDispose]();
    await this.#group?.[Symbol.asyncDispose]();
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
