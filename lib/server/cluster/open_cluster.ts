/**
 * Joining a cluster: the Redis store and the cluster hub, over their own connections.
 * @module
 */

import {
  closeQuietly,
  connectRedis,
  redactUrl,
  type RedisClient,
} from "../../store/redis_client.ts";
import { RedisStore } from "../../store/redis_store.ts";
import type { Logger } from "../context.ts";
import { ClusterHub } from "./cluster_hub.ts";
import type { Counters } from "../metrics.ts";

/** A node's storage and hub. */
export interface ClusterParts {
  readonly store: RedisStore;
  readonly hub: ClusterHub;
}

/**
 * Connects to the cluster's Redis at `url` as node `node`: one connection for the store, one for
 * the hub's commands, one for its subscriptions, one that reads its event log.
 *
 * @throws {Error} when Redis cannot be reached (saying where), or a live node has that name.
 */
export async function openCluster(
  url: string,
  node: string,
  log: Logger,
  counters?: Counters,
): Promise<ClusterParts> {
  // Losing Redis is worked around (retried, repaired): a warning; getting it back is news.
  const report = (line: string) => {
    if (/^Reconnected /.test(line)) return log.info(line);
    if (/^Lost the .* connection to Redis/.test(line) && counters) counters.redisDisconnects++;
    log.warn(line);
  };
  const connect = async (role: string): Promise<RedisClient> => {
    try {
      return await connectRedis({ url, role, log: report, name: `labchat:${node}:${role}` });
    } catch (error) {
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      throw new Error(`Cannot reach Redis at ${redactUrl(url)}: ${cause}`);
    }
  };
  const opened: RedisClient[] = [];
  try {
    opened.push(await connect("store"));
    const store = await RedisStore.open(opened[0]);
    opened.push(await connect("hub"), await connect("presence"), await connect("events"));
    const hub = await ClusterHub.open(opened[1], opened[2], opened[3], { node, log: report });
    return { store, hub };
  } catch (error) {
    for (const client of opened) await closeQuietly(client);
    throw error;
  }
}
