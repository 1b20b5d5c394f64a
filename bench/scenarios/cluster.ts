/**
 * The cluster: broadcast fan-out through 1 and 2 nodes sharing one Redis, the receivers spread
 * over the nodes, one sender on the first node. On this machine the nodes, Redis and the load
 * clients share 2 cores, so the figures show the cost of the cluster's path more than its gain.
 * @module
 */

import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { TestRedis } from "../../testing/redis_server.ts";
import {
  type BenchServer,
  isSampled,
  measureDeliveries,
  REGISTER_BATCH,
  type Row,
  startServer,
} from "../common.ts";
import { LoadClient, type Receiver } from "../load_client.ts";
import { broadcastMany } from "./fanout.ts";

/** Fan-out to `n` receivers through `nodes` nodes: a burst, then `rate` per second. */
async function clusterRun(
  nodes: number,
  n: number,
  broadcasts: number,
  rate: number,
  seconds: number,
  fsync: "always" | "everysec" = "always",
): Promise<Row[]> {
  await using redis = await TestRedis.start(fsync);
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-bench-cluster-" });
  const servers: BenchServer[] = [];
  try {
    for (let i = 0; i < nodes; i++) {
      servers.push(
        await startServer(
          ["--scrypt-cost", "2", "--cluster", redis.url, "--node", `bench${i + 1}`],
          dataDir,
        ),
      );
    }
    const sender = await ChatConnection.connect({ hostname: "127.0.0.1", port: servers[0].port });
    await sender.request("REGISTER sender pw");
    const receivers: Receiver[] = [];
    const storm = performance.now();
    for (let i = 0; i < n; i += REGISTER_BATCH) {
      const batch = Array.from(
        { length: Math.min(REGISTER_BATCH, n - i) },
        (_, j) =>
          LoadClient.register(servers[(i + j) % nodes].port, `u${i + j}`, isSampled(i + j, n)),
      );
      receivers.push(...await Promise.all(batch));
    }
    const stormSeconds = (performance.now() - storm) / 1000;
    await new Promise((r) => setTimeout(r, 1500)); // let login notices settle
    const label = `${nodes} node${nodes > 1 ? "s" : ""}${fsync === "always" ? "" : `, ${fsync}`}`;
    const burst = await measureDeliveries(
      receivers,
      broadcasts,
      () => broadcastMany(sender, broadcasts, "b"),
    );
    const total = Math.round(rate * seconds);
    const paced = await measureDeliveries(
      receivers,
      total,
      () => broadcastMany(sender, total, "p", rate),
    );
    await Promise.all([sender.close(), ...receivers.map((r) => r.close())]);
    return [
      {
        scenario: `cluster of ${label}: burst to ${n} receivers`,
        figures: { "logins s": +stormSeconds.toFixed(2), broadcasts, ...burst },
      },
      { scenario: `cluster of ${label}: ${rate} broadcasts/s to ${n} receivers`, figures: paced },
    ];
  } finally {
    for (const server of servers) await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** The cluster scenario: the same load through 1 node and through 2. */
export async function clusterFanout(
  n: number,
  broadcasts: number,
  rate: number,
  seconds: number,
): Promise<Row[]> {
  return [
    ...await clusterRun(1, n, broadcasts, rate, seconds),
    ...await clusterRun(2, n, broadcasts, rate, seconds),
    // What appendfsync always costs: the same single node with Redis syncing once a second.
    ...await clusterRun(1, n, broadcasts, rate, seconds, "everysec"),
  ];
}
