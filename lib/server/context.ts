/**
 * What command handlers work with: the server's services, and the handler signatures derived
 * from the command table (a command without a handler does not compile).
 * @module
 */

import type { Counters } from "./metrics.ts";
import type { SearchService } from "./services/search.ts";
import type { HashQueue } from "../auth/hash_queue.ts";
import type { ServerConfig } from "../config.ts";
import type { AccessOf, ServerCommandName } from "../protocol/commands.ts";
import type { ClientTags } from "../protocol/events.ts";
import type { Client } from "./client.ts";
import type { Hub } from "./hub.ts";
import type { Identity } from "./identity.ts";
import type { KeyedLock } from "./keyed_lock.ts";
import type { PresenceNotices } from "./presence_notices.ts";
import type { RateLimiter } from "./io/rate_limiter.ts";
import type { ReplyData, ReplyDetail } from "../protocol/reply_data.ts";
import type { ChannelService } from "./services/channels.ts";
import type { AccountService } from "./services/accounts.ts";
import type { BlockService } from "./services/blocks.ts";
import type { Clock } from "./services/clock.ts";
import type { ForumService } from "./services/forum.ts";
import type { MessageService } from "./services/messages.ts";
import type { MotdService } from "./services/motd.ts";
import type { RoomService } from "./services/rooms.ts";
import type { SeenService } from "./services/seen.ts";
import type { WebSessionService } from "./services/web_sessions.ts";

/** Which of a user's sessions to end: all (the default), one by id, or all but one. */
export interface SessionChoice {
  readonly only?: string;
  readonly except?: string;
}

/** Where the server writes its log lines. */
export interface Logger {
  info(line: string): void;
  /** Trouble the server works around by itself (a lost connection it retries, a repair). */
  warn(line: string): void;
  error(line: string, error?: unknown): void;
}

/** The services shared by every client. */
export interface ServerContext {
  readonly config: Readonly<ServerConfig>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly hub: Hub;
  readonly accounts: AccountService;
  readonly seen: SeenService;
  readonly blocks: BlockService;
  /** Login and logout notices, gathered during storms. */
  readonly presence: PresenceNotices;
  readonly messages: MessageService;
  readonly rooms: RoomService;
  readonly channels: ChannelService;
  readonly motd: MotdService;
  readonly forum: ForumService;
  readonly webSessions: WebSessionService;
  /** The search index, unless the server runs with `--no-search`. */
  readonly search: SearchService | undefined;
  /** Password hashing, shared so that logins go first. */
  readonly hashes: HashQueue;
  /** USER, LOGIN and REGISTER attempts per client address. */
  readonly authRate: RateLimiter;
  /** Serialises read-modify-write work per key (`user:yoda`). */
  readonly locks: KeyedLock;
  /** What monitoring counts (logins, requests, …). */
  readonly counters: Counters;
  /**
   * Ends a user's session wherever it is (on this node, or through the cluster): the user is told
   * `text`, the others see `reason` (IRC's QUIT).
   */
  endSession(name: string, text: string, reason: string, which?: SessionChoice): void;
  /** Connections that have not logged in (yet). */
  unregistered(): number;
  /** The most users online at once since the start, in all and here (updated as it reads). */
  peakUsers(): { readonly all: number; readonly here: number };
  /** The metrics in Prometheus text, and why the server cannot serve now (`/healthz`), if so. */
  metrics(): string;
  unhealthy(): string | undefined;
  /** True once shutdown has begun: no presence notices, no new logins. */
  readonly shuttingDown: boolean;
  /** Starts an orderly shutdown. */
  requestShutdown(reason: string): void;
}

/** Raw bytes a request brings after its line (an upload): where they go and what comes after. */
export interface Receive {
  readonly size: number;
  write(bytes: Uint8Array): Promise<void>;
  /** All bytes arrived: the final reply. */
  finish(): Promise<Outcome>;
  /** The connection ended first: undo. */
  abort(): Promise<void>;
}

/** What a handler answers: the reply, and work to do once the reply is written. */
export interface Outcome {
  readonly code: number;
  readonly text: string | readonly string[];
  /** What the reply means, for front ends that render it their own way (IRC). */
  readonly detail?: ReplyDetail;
  /** Runs after the reply is written, so events it sends follow the reply. */
  readonly after?: () => void | Promise<void>;
  /**
   * A write the reply must wait for: the user is told only once it is stored. The client goes
   * on with its next request meanwhile; replies still leave in request order.
   */
  readonly durable?: Promise<void>;
  /** Raw bytes that follow the reply line directly, with no event in between (a download). */
  readonly stream?: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>;
  /** After this reply (a 350), read raw bytes from the client, then reply again (an upload). */
  readonly receive?: Receive;
}

/**
 * An outcome decided later (it waits for the store's number): the connection goes on with its
 * next request meanwhile, and the reply still leaves in request order. Whatever the work sends
 * to others keeps its place through a {@linkcode Hub.hold}.
 */
export interface Deferred {
  readonly deferred: Promise<Outcome>;
}

/** The caller of a request: the client, and its identity when the command needs a login. */
export type Caller<A> = A extends "anyone" ? {
    readonly client: Client;
    readonly tags?: ClientTags;
    /** The client's id of this request (`@id=`), which makes a retry harmless. */
    readonly requestId?: string;
  }
  : {
    readonly client: Client;
    readonly identity: Identity;
    readonly tags?: ClientTags;
    readonly requestId?: string;
  };

/** Runs one command whose arguments already fit its spec and whose access was checked. */
export type Handler<A> = (
  ctx: ServerContext,
  caller: Caller<A>,
  args: readonly string[],
) => Promise<Outcome | Deferred>;

/** A handler for every command the server carries out, typed by the command's access. */
export type HandlerTable = { readonly [N in ServerCommandName]: Handler<AccessOf<N>> };

/** Handlers for some commands (one area's file). */
export type PartialHandlers<N extends ServerCommandName> = {
  readonly [K in N]: Handler<AccessOf<K>>;
};

/** Shorthand for a successful outcome. */
export function ok(text: string | readonly string[], after?: Outcome["after"]): Outcome {
  return { code: 200, text, after };
}

/** A successful outcome with the data behind its text. */
export function okWith(
  text: string | readonly string[],
  data: ReplyData,
  after?: Outcome["after"],
): Outcome {
  return { code: 200, text, detail: { data }, after };
}

/** A number from an argument the command table declared `int`. */
export function intArg(text: string): number {
  return Number(text);
}
