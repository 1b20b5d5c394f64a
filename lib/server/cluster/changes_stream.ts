/**
 * The stream of shared changes every node of a cluster reads (state kept in memory: blocks,
 * rooms, channels, accounts), and how to append to it: the nodes do, and so does the operator
 * tool when it changes an account.
 * @module
 */

import { redisCall, type RedisClient, REPLY_TIMEOUT_MS } from "../../store/redis_client.ts";
import { appendCommand } from "./event_log.ts";

/** The stream of shared changes. */
export const CHANGES_STREAM = "labchat:changes";

/** Entries the stream keeps. */
export const CHANGES_LENGTH = 1000;

/** Appends a change to the stream every node reads (ended at once when `closing` aborts). */
export async function appendChange(
  redis: RedisClient,
  message: string,
  closing?: AbortSignal,
): Promise<void> {
  await redisCall(
    () => redis.sendCommand(appendCommand(CHANGES_STREAM, CHANGES_LENGTH, message)),
    REPLY_TIMEOUT_MS,
    closing,
  );
}
