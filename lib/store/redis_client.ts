/**
 * Connections to the Redis server a cluster shares: one place that sets how they fail and
 * reconnect. While Redis is unreachable, commands fail at once with
 * {@linkcode StoreUnavailableError} (never queued, so nothing is acknowledged that was not
 * stored), and the connection is retried in the background; losing and regaining it is logged.
 * @module
 */

import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  type RedisClientType,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from "redis";
import {
  parseSentinelUrl,
  redactSentinelUrl,
  SENTINEL_SCHEME,
  sentinelUrlWithPassword,
} from "./sentinel.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";

/** A connection to Redis (the `redis` npm package's client). */
export type RedisClient = RedisClientType;

export { StoreUnavailableError };

/** Whether `error` means Redis could not be reached (rather than a refused command). */
export function isConnectionError(error: unknown): boolean {
  return error instanceof StoreUnavailableError || error instanceof ClientOfflineError ||
    error instanceof ClientClosedError || brokeUnderWay(error) ||
    error instanceof ConnectionTimeoutError;
}

/**
 * Whether the connection broke while a command was under way: it may have been carried out.
 * (An offline or closed client sends nothing; a socket that closes, times out or is reset may
 * have delivered the command first.)
 */
function brokeUnderWay(error: unknown): boolean {
  if (
    error instanceof SocketClosedUnexpectedlyError || error instanceof SocketTimeoutError ||
    error instanceof TimeoutError || error instanceof ReplyTimeoutError
  ) {
    return true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE" ||
    (error instanceof Error && /ECONNRESET|EPIPE|Connection reset/i.test(error.message));
}

/**
 * Whether `error` is Redis refusing every write for now, before carrying any out: a replica (the
 * old primary during a failover), a server still loading its data, too few replicas for
 * `min-replicas-to-write`.
 */
export function isRefusedForNow(error: unknown): boolean {
  return error instanceof Error &&
    /^(READONLY|LOADING|MASTERDOWN|NOREPLICAS|TRYAGAIN|CLUSTERDOWN)\b/.test(error.message);
}

/** How long a command waits for Redis's reply before its outcome is taken as unknown. */
export const REPLY_TIMEOUT_MS = 5000;

/** Redis did not answer a command in time (it was sent: it may have been carried out). */
export class ReplyTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = "ReplyTimeoutError";
  }
}

/**
 * Runs a Redis command, turning a lost connection, a Redis that refuses writes for now, or one
 * that does not answer within `timeoutMs` (cut off by a partition: the connection looks alive
 * and the client waits for ever) into {@linkcode StoreUnavailableError}. Once `closing` is
 * aborted (its owner closes), the call ends at once the same way: nothing of it, its timer
 * included, outlives the close.
 */
export async function redisCall<T>(
  call: () => Promise<T>,
  timeoutMs = REPLY_TIMEOUT_MS,
  closing?: AbortSignal,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onClose: (() => void) | undefined;
  try {
    if (closing?.aborted) throw new StoreUnavailableError(new ClosedError(), "not_done");
    const pending = call();
    pending.catch(() => {}); // answered after the timeout: nobody waits for it any more
    const racers: Promise<T>[] = [
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ReplyTimeoutError(timeoutMs)), timeoutMs);
      }),
    ];
    if (closing) {
      racers.push(
        new Promise<never>((_, reject) => {
          onClose = () => reject(new StoreUnavailableError(new ClosedError(), "unknown"));
          closing.addEventListener("abort", onClose, { once: true });
        }),
      );
    }
    return await Promise.race(racers);
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    if (isConnectionError(error)) {
      throw new StoreUnavailableError(error, brokeUnderWay(error) ? "unknown" : "not_done");
    }
    if (isRefusedForNow(error)) throw new StoreUnavailableError(error, "not_done");
    throw error;
  } finally {
    clearTimeout(timer);
    if (onClose) closing?.removeEventListener("abort", onClose);
  }
}

/** The owner of a connection closed it while a command was under way, or before it was sent. */
export class ClosedError extends Error {
  constructor() {
    super("The connection to Redis was closed");
    this.name = "ClosedError";
  }
}

/** Options of {@linkcode connectRedis}. */
export interface RedisConnectOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS. */
  readonly url: string;
  /** What the connection is for, in log lines (`store`, `events`). */
  readonly role: string;
  /** Where losing and regaining the connection is reported. */
  readonly log: (line: string) => void;
  /** The connection's name in Redis's `CLIENT LIST` (default none). */
  readonly name?: string;
  /** Give up on the first connection after this long (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/**
 * Why `url` cannot be a Redis URL (`redis://HOST:PORT`, `rediss://` for TLS,
 * `redis-sentinel://HOST:PORT,HOST:PORT/NAME` for a group watched by sentinels), or `undefined`.
 */
export function redisUrlProblem(url: string): string | undefined {
  if (url.startsWith(SENTINEL_SCHEME)) {
    const target = parseSentinelUrl(url);
    return typeof target === "string" ? target : undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a URL: give redis://HOST:PORT (or rediss:// for TLS)`;
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return `"${redactUrl(url)}" is not a redis://, rediss:// or redis-sentinel:// URL`;
  }
  if (parsed.hostname === "") return `"${redactUrl(url)}" names no host`;
  return undefined;
}

/**
 * The URL with `password` in it, unless it has one already (LABCHAT_REDIS_PASSWORD keeps the
 * password off the command line).
 */
export function withPassword(url: string, password: string | undefined): string {
  if (!password) return url;
  if (url.startsWith(SENTINEL_SCHEME)) return sentinelUrlWithPassword(url, password);
  const parsed = new URL(url);
  if (!parsed.password) parsed.password = password;
  return parsed.toString();
}

/** Closes a connection if it is open (waiting for replies under way); never throws. */
export async function closeQuietly(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  try {
    await client.close();
  } catch {
    try {
      client.destroy();
    } catch {
      // closed meanwhile
    }
  }
}

/** Drops a connection at once, failing the commands under way (a blocked read, say). */
export function destroyQuietly(client: RedisClient): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // closed meanwhile
  }
}

/** The URL without its password, for log lines. */
export function redactUrl(url: string): string {
  if (url.startsWith(SENTINEL_SCHEME)) return redactSentinelUrl(url);
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unreadable URL)";
  }
}

/**
 * Connects to Redis. Rejects when the first connection fails; afterwards the client reconnects
 * by itself (backing off to once a second) and logs each outage once.
 */
export async function connectRedis(options: RedisConnectOptions): Promise<RedisClient> {
  const where = redactUrl(options.url);
  let down = false;
  let first = true;
  const client = createClient({
    url: options.url,
    name: options.name,
    disableOfflineQueue: true,

    socket: {
      connectTimeout: options.connectTimeoutMs ?? 5000,
      // The first connection is not retried: a wrong address is reported at start.
      reconnectStrategy: (retries: number) => first ? false : Math.min(1000, 50 * 2 ** retries),
    },
  });
  client.on("error", (error: unknown) => {
    if (first || down) return;
    down = true;
    options.log(`Lost the ${options.role} connection to Redis at ${where}: ${error}; retrying`);
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    options.log(`Reconnected the ${options.role} connection to Redis at ${where}`);
  });
  try {
    await client.connect();
  } catch (error) {
    throw new StoreUnavailableError(error);
  }
  first = false;
  return client;
}
