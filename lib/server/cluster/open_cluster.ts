/**
 * Joining a cluster: the Redis store and the cluster hub, over their own connections.
 * @module
 */

import { connectRedis, redactUrl } from "../../store/redis_client.ts";
import { RedisStore } from "../../store/redis_store.ts";
import type { Logger } from "../context.ts";
import { ClusterHub } from "./cluster_hub.ts";

/** A node's storage and hub. */
export interface ClusterParts {
  readonly store: RedisStore;
  readonly hub: ClusterHub;
}

/**
 * Connects to the cluster's Redis at `url` as node `node`.
 *
 * @throws {StoreUnavailableError} when Redis cannot be reached; an Error when the node name is
 * taken by a live node.
 */
export async function openCluster(url: string, node: string, log: Logger): Promise<ClusterParts> {
  const report = (line: string) => log.error(line);
  const connect = (role: string) => connectRedis({ url, role, log: report });
  const storeClient = await connect("store").catch((error) => {
    throw new Error(`Cannot reach Redis at ${redactUrl(url)}: ${error.cause ?? error}`);
  });
  const store = await RedisStore.open(storeClient);
  try {
    const hub = await ClusterHub.open(await connect("hub"), await connect("events"), {
      node,
      log: report,
    });
    return { store, hub };
  } catch (error) {
    await store.close();
    throw error;
  }
}
