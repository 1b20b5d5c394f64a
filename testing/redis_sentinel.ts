/**
 * A replicated Redis watched by Redis Sentinel, for tests: a primary, replicas, and three
 * sentinels (quorum two) that promote a replica a second or two after the primary dies.
 * Debian's `redis-server` and `redis-sentinel`, on free loopback ports.
 * @module
 */

import { freePort, redisCommand, TestRedis } from "./redis_server.ts";

/** The name the sentinels know the group by. */
export const SENTINEL_GROUP = "labchat";

/** One `redis-sentinel` process. */
class TestSentinel implements AsyncDisposable {
  readonly port: number;
  readonly #dir: string;
  readonly #child: Deno.ChildProcess;

  private constructor(port: number, dir: string, child: Deno.ChildProcess) {
    this.port = port;
    this.#dir = dir;
    this.#child = child;
  }

  static async start(primaryPort: number, downAfterMs: number): Promise<TestSentinel> {
    const dir = await Deno.makeTempDir({ prefix: "labchat-sentinel-" });
    const port = freePort();
    // Sentinel rewrites its configuration file: it must be its own and writable.
    await Deno.writeTextFile(
      `${dir}/sentinel.conf`,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_GROUP} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_GROUP} ${downAfterMs}`,
        `sentinel failover-timeout ${SENTINEL_GROUP} 10000`,
        `sentinel parallel-syncs ${SENTINEL_GROUP} 1`,
        "",
      ].join("\n"),
    );
    const child = new Deno.Command("redis-sentinel", {
      args: [`${dir}/sentinel.conf`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const sentinel = new TestSentinel(port, dir, child);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if ((await redisCommand(port, "PING").catch(() => "")).startsWith("+PONG")) return sentinel;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sentinel[Symbol.asyncDispose]();
    throw new Error(`redis-sentinel did not start on port ${port}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** A primary, its replicas and three sentinels. */
export class TestSentinelGroup implements AsyncDisposable {
  /** Every Redis server of the group; the primary is the one {@linkcode primaryPort} names. */
  readonly servers: readonly TestRedis[];
  readonly #sentinels: readonly TestSentinel[];

  private constructor(servers: TestRedis[], sentinels: TestSentinel[]) {
    this.servers = servers;
    this.#sentinels = sentinels;
  }

  /**
   * Starts a primary with `replicas` replicas (each synced before this returns) and three
   * sentinels that call the primary down after `downAfterMs`.
   */
  static async start(replicas = 1, downAfterMs = 1000): Promise<TestSentinelGroup> {
    const servers: TestRedis[] = [];
    const sentinels: TestSentinel[] = [];
    try {
      const primary = await TestRedis.start("always");
      servers.push(primary);
      for (let i = 0; i < replicas; i++) {
        servers.push(
          await TestRedis.start("always", ["--replicaof", "127.0.0.1", String(primary.port)]),
        );
      }
      for (const replica of servers.slice(1)) await waitForSync(replica.port);
      for (let i = 0; i < 3; i++) {
        sentinels.push(await TestSentinel.start(primary.port, downAfterMs));
      }
      const group = new TestSentinelGroup(servers, sentinels);
      await group.waitForSentinels(replicas);
      return group;
    } catch (error) {
      for (const sentinel of sentinels) await sentinel[Symbol.asyncDispose]();
      for (const server of servers) await server[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** `redis-sentinel://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C/labchat`. */
  get url(): string {
    const hosts = this.#sentinels.map((s) => `127.0.0.1:${s.port}`).join(",");
    return `redis-sentinel://${hosts}/${SENTINEL_GROUP}`;
  }

  /** The port of the primary as the first sentinel sees it now. */
  async primaryPort(): Promise<number> {
    const reply = await redisCommand(
      this.#sentinels[0].port,
      "SENTINEL",
      "get-master-addr-by-name",
      SENTINEL_GROUP,
    );
    const port = /\r\n\$\d+\r\n(\d+)\r\n$/.exec(reply)?.[1];
    if (!port) throw new Error(`no primary known to the sentinel: ${JSON.stringify(reply)}`);
    return Number(port);
  }

  /** The server that is the primary now. */
  async primary(): Promise<TestRedis> {
    const port = await this.primaryPort();
    const found = this.servers.find((s) => s.port === port);
    if (!found) throw new Error(`the primary ${port} is not one of the group's servers`);
    return found;
  }

  /** Waits until every sentinel knows the replicas and the other sentinels. */
  async waitForSentinels(replicas: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const sentinel of this.#sentinels) {
      while (true) {
        const info = await redisCommand(sentinel.port, "INFO", "sentinel").catch(() => "");
        const m = /slaves=(\d+),sentinels=(\d+)/.exec(info);
        if (m && Number(m[1]) >= replicas && Number(m[2]) >= this.#sentinels.length) break;
        if (Date.now() > deadline) throw new Error(`sentinels not ready: ${info}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Waits until the sentinels name a primary other than `port`; returns the new one's port. */
  async waitForFailover(port: number, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const now = await this.primaryPort().catch(() => port);
      if (now !== port) return now;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no failover away from ${port} within ${timeoutMs} ms`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const sentinel of this.#sentinels) await sentinel[Symbol.asyncDispose]();
    for (const server of this.servers) await server[Symbol.asyncDispose]();
  }
}

/** Waits until a replica has finished its first sync with the primary. */
async function waitForSync(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const info = await redisCommand(port, "INFO", "replication").catch(() => "");
    if (/master_link_status:up/.test(info)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`replica on ${port} did not sync`);
}
