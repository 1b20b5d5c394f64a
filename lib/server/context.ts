/**
 * What command handlers work with: the server's state and services, and the handler signature.
 * @module
 */

import type { ServerConfig } from "../config.ts";
import type { BlobStore } from "../store/blob_store.ts";
import type { RoomRecord, SeenRecord, Store } from "../store/store.ts";
import type { BlockList } from "./block_list.ts";
import type { Hub } from "./hub.ts";
import type { KeyedLock } from "./keyed_lock.ts";
import type { Session } from "./session.ts";

/** Where the server writes its log lines. */
export interface Logger {
  info(line: string): void;
  error(line: string, error?: unknown): void;
}

/** The state and services shared by every session. */
export interface ServerContext {
  readonly config: Readonly<ServerConfig>;
  readonly store: Store;
  readonly hub: Hub<Session>;
  readonly blocks: BlockList;
  /** Last login and logout of every user who ever logged in. */
  readonly seen: Map<string, SeenRecord>;
  /** Every room by id. */
  readonly rooms: Map<number, RoomRecord>;
  /** Messages of the day, in rotation order. */
  readonly motd: string[];
  /** Uploaded files. */
  readonly blobs: BlobStore;
  /** Serialises read-modify-write work per key (`user:yoda`, `thread:a`). */
  readonly locks: KeyedLock;
  readonly log: Logger;
  /** True once shutdown has begun: no presence notices, no new logins. */
  readonly shuttingDown: boolean;
  /** Starts an orderly shutdown. */
  requestShutdown(reason: string): void;
}

/** What a handler answers: the reply, and work to do once the reply is queued. */
export interface Outcome {
  readonly code: number;
  readonly text: string | readonly string[];
  /** Runs after the reply is queued, so events it sends follow the reply. */
  readonly after?: () => void | Promise<void>;
  /**
   * A write the reply must wait for: the user is told only once it is stored. The session goes
   * on with its next request meanwhile; replies still leave in request order.
   */
  readonly durable?: Promise<void>;
  /** Raw bytes that follow the reply line directly, with no event in between (a download). */
  readonly stream?: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>;
}

/** Runs one command whose arguments already fit its spec. */
export type Handler = (
  ctx: ServerContext,
  session: Session,
  args: readonly string[],
) => Promise<Outcome>;

/** Handlers by canonical command name. */
export type HandlerTable = Readonly<Record<string, Handler>>;

/** Shorthand for a successful outcome. */
export function ok(text: string | readonly string[], after?: Outcome["after"]): Outcome {
  return { code: 200, text, after };
}
