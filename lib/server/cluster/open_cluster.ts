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
import { parseSentinelUrl, SENTINEL_SCHEME, SentinelRelay } from "../../store/sentinel.ts";
import type { Logger } from "../context.ts";
import { ClusterHub } from "./cluster_hub.ts";
import type { Counters } from "../metrics.ts";

/** A node's storage and hub. */
export interface ClusterParts {
  readonly store: RedisStore;
  readonly hub: ClusterHub;
}

/** Options of {@linkcode openCluster}. */
export interface ClusterOptions {
  /** Replicas that must have each write before it is acknowledged (`--cluster-acks`). */
  readonly acks?: number;
  readonly counters?: Counters;
}

/**
 * Connects to the cluster's Redis at `url` as node `node`: one connection for the store, one for
 * the hub's commands, one for its subscriptions, one that reads its event log. A
 * `redis-sentinel://` URL reaches the primary the sentinels name, through a relay that follows
 * a failover.
 *
 * @throws {Error} when Redis cannot be reached (saying where), or a live node has that name.
 */
export async function openCluster(
  url: string,
  node: string,
  log: Logger,
  options: ClusterOptions = {},
): Promise<ClusterParts> {
  const { counters } = options;
  // Losing Redis is worked around (retried, repaired): a warning; getting it back is news.
  const report = (line: string) => {
    if (/^Reconnected /.test(line)) return log.info(line);
    if (/^Lost the .* connection to Redis/.test(line) && counters) counters.redisDisconnects++;
    log.warn(line);
  };
  let relay: SentinelRelay | undefined;
  let redisUrl = url;
  if (url.startsWith(SENTINEL_SCHEME)) {
    const target = parseSentinelUrl(url);
    if (typeof target === "string") throw new Error(`--cluster: ${target}`);
    try {
      relay = await SentinelRelay.start(target, { log: report });
    } catch (error) {
      throw new Error(
        `Cannot find the Redis primary: ${error instanceof Error ? error.message : error}`,
      );
    }
    redisUrl = relay.url;
    const { host, port } = relay.primary;
    log.info(`The sentinels name ${host}:${port} as the Redis primary of "${target.group}"`);
  }
  const connect = async (role: string): Promise<RedisClient> => {
    try {
      return await connectRedis({
        url: redisUrl,
        role,
        log: report,
        name: `labchat:${node}:${role}`,
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      throw new Error(`Cannot reach Redis at ${redactUrl(url)}: ${cause}`);
    }
  };
  const opened: RedisClient[] = [];
  try {
    opened.push(await connect("store"));
    const store = await RedisStore.open(opened[0], {
      acks: options.acks,
      // The store closes last: the relay goes with it.
      onClose: relay && (() => relay.close()),
    });
    opened.push(await connect("hub"), await connect("presence"), await connect("events"));
    const hub = await ClusterHub.open(opened[1], opened[2], opened[3], { node, log: report });
    return { store, hub };
  } catch (error) {
    for (const client of opened) await closeQuietly(client);
    await relay?.close();
    throw error;
  }
}
