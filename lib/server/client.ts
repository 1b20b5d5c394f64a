/**
 * One connected client as the server's handlers see it, whatever carries it (TCP, WebSocket,
 * IRC): who it is, whether it is active, and the order its replies leave in. The bytes go through
 * a {@linkcode ClientOutput} that each front end implements.
 * @module
 */

import type { OutboundEvent } from "../protocol/events.ts";
import type { Identity } from "./identity.ts";
import type { ReplyDetail } from "../protocol/reply_data.ts";

/** The front ends a client can come through. */
export type Transport = "tcp" | "ws" | "irc" | "http";

/** Where a client's replies and events go; one implementation per front end. */
export interface ClientOutput {
  /** Whether the transport carries raw bytes after a reply (UPLOAD and DOWNLOAD). */
  readonly rawBytes: boolean;
  /** Whether it can show client-only tags (TAGMSG); the others are never given them. */
  readonly showsClientTags?: boolean;
  readonly isClosed: boolean;
  /** Queues an event; false when the connection is gone or too far behind (it is then dropped). */
  event(event: OutboundEvent): boolean;
  /**
   * Queues events, waiting whenever the connection falls behind: a long backlog reaches a slow
   * reader at the reader's pace instead of overflowing its queue. Resolves once all are queued.
   */
  eventsPaced(events: Iterable<OutboundEvent>): Promise<void>;
  /**
   * Writes a reply. Resolves once queued, or for a long reply once written with back-pressure.
   * `detail` is what the reply means, for outputs that render replies their own way.
   */
  reply(code: number, text: string | readonly string[], detail?: ReplyDetail): Promise<void>;
  /** Writes a reply line then raw bytes, nothing in between (downloads). */
  stream(
    code: number,
    text: string,
    body: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
  ): Promise<void>;
  /**
   * Reads exactly `size` raw bytes that follow the current request (uploads).
   *
   * @throws {Deno.errors.UnexpectedEof} when the connection ends first.
   */
  readRaw(size: number, onChunk: (bytes: Uint8Array) => Promise<void>): Promise<void>;
  /** Resolves when everything queued so far has been written to the transport. */
  flushed(): Promise<void>;
  /** Closes, after writing what is queued when `graceful` (bounded by `graceMs`). Idempotent. */
  close(graceful?: boolean, graceMs?: number): Promise<void>;
}

let nextClientId = 1;

/** Offline messages handed to a client and not yet known to have reached it. */
export interface OfflineHandover {
  /** The newest offline message number whose bytes were written to the transport (0: none). */
  written: number;
  /** The newest one the client acknowledged (dropped from the queue). */
  settled: number;
  /** True once no page follows: every message waiting at login has been handed over. */
  complete: boolean;
}

/** A settled promise: where every client's chain of replies starts (one for all of them). */
const SETTLED: Promise<void> = Promise.resolve();

/** How many private message numbers a session remembers having been handed (then starts over). */
const PRIVATES_REMEMBERED = 4096;

/** A connected client, logged in or not. */
export class Client {
  readonly id: number = nextClientId++;
  readonly transport: Transport;
  readonly ip: string;
  readonly port: number;
  readonly connectedAt: number = Date.now();
  readonly output: ClientOutput;
  #identity: Identity | undefined;
  #udpPort: number | undefined;
  #lastActivity: number = Date.now();
  /** Replies wait their turn here, so they leave in request order even when some wait for storage. */
  #turn: Promise<void> = SETTLED;
  #pendingReplies = 0;
  /** Readers waiting for fewer replies to be pending (see {@linkcode repliesBelow}). */
  #belowWaiters: { limit: number; resolve: () => void }[] | undefined;
  #offline: OfflineHandover | undefined;
  /**
   * This session is handing over its person's offline queue (it was their first), and the
   * handover is not settled yet: if it ends first, another session of theirs takes it over.
   */
  holdsOfflineQueue = false;
  /** Number of this login in the login history, once recorded. */
  loginNumber: number | undefined;
  /** What an IRC client called itself (USER's username and real name). */
  ident: string | undefined;
  realname: string | undefined;

  /**
   * What the transport carried to vouch for the user, if anything: the web session token of the
   * browser's cookie. `SESSION` turns it into a login.
   */
  readonly credential: string | undefined;

  constructor(
    transport: Transport,
    ip: string,
    port: number,
    output: ClientOutput,
    credential?: string,
  ) {
    this.transport = transport;
    this.ip = ip;
    this.port = port;
    this.output = output;
    this.credential = credential;
  }

  /** The logged-in user, if any. */
  get identity(): Identity | undefined {
    return this.#identity;
  }

  /** `yoda` once logged in, `127.0.0.1:5555` before. */
  get label(): string {
    return this.#identity?.name ?? `${this.ip}:${this.port}`;
  }

  /**
   * Why the session ends, for the others (IRC's QUIT reason): set by whatever ends it; a session
   * that ends without one lost its connection.
   */
  quitReason: string | undefined;

  /** UDP port the client reported for peer-to-peer, if any. */
  get udpPort(): number | undefined {
    return this.#udpPort;
  }

  set udpPort(port: number | undefined) {
    this.#udpPort = port;
  }

  /** Last time the client sent a request (epoch ms); receiving is not activity. */
  get lastActivity(): number {
    return this.#lastActivity;
  }

  /** Records a request: the client is active. */
  touch(now: number = Date.now()): void {
    this.#lastActivity = now;
  }

  /** Binds the client to a logged-in user (presence does this, once the hub has it). */
  signIn(identity: Identity): void {
    this.#identity = identity;
  }

  /** Forgets the user; returns who it was. */
  signOut(): Identity | undefined {
    const identity = this.#identity;
    this.#identity = undefined;
    this.#offline = undefined;
    this.holdsOfflineQueue = false;
    this.loginNumber = undefined;
    return identity;
  }

  /** Offline messages handed over at login and not yet acknowledged. */
  get offlineHandover(): OfflineHandover | undefined {
    return this.#offline;
  }

  set offlineHandover(handover: OfflineHandover | undefined) {
    this.#offline = handover;
  }

  /**
   * Delivers an event to this client (the hub calls it). A TAGMSG goes only to outputs that can
   * show client-only tags: the others have nothing to show for one.
   */
  deliver(event: OutboundEvent): boolean {
    if (event.event.type === "tag_message" && !this.output.showsClientTags) return true;
    return this.output.event(event);
  }

  /** Mailbox numbers of the private messages handed to this session (live or kept for it). */
  #privatesHandedOver: Set<number> | undefined;

  /**
   * Whether private message `number` of the user's mailbox is new to this session, noting it: a
   * message kept in the offline queue may come both live and in the handover of what waited.
   */
  privateOnce(number: number): boolean {
    const handed = this.#privatesHandedOver ??= new Set();
    if (handed.has(number)) return false;
    if (handed.size >= PRIVATES_REMEMBERED) handed.clear();
    handed.add(number);
    return true;
  }

  /** Runs `task` after every reply queued before it (it writes the next reply). */
  inTurn(task: () => Promise<void>): void {
    this.#pendingReplies++;
    // Tasks report their own failures; the chain must go on for the replies after them.
    this.#turn = this.#turn.then(task).catch(() => {}).finally(() => {
      this.#pendingReplies--;
      if (this.#belowWaiters) this.#wakeBelow();
    });
  }

  /** Replies waiting their turn; a client far ahead of its replies is read no further for now. */
  get pendingReplies(): number {
    return this.#pendingReplies;
  }

  /**
   * Resolves once fewer than `limit` replies wait their turn: a reader held back by a long line
   * of replies goes on while the rest are still being stored, so the line never runs dry.
   */
  repliesBelow(limit: number): Promise<void> {
    if (this.#pendingReplies < limit) return Promise.resolve();
    return new Promise((resolve) => (this.#belowWaiters ??= []).push({ limit, resolve }));
  }

  #wakeBelow(): void {
    const waiting = this.#belowWaiters ?? [];
    const still = waiting.filter((waiter) => this.#pendingReplies >= waiter.limit);
    this.#belowWaiters = still.length > 0 ? still : undefined;
    for (const waiter of waiting) {
      if (this.#pendingReplies < waiter.limit) waiter.resolve();
    }
  }

  /** Resolves when every reply queued so far has been handed to the output. */
  repliesSent(): Promise<void> {
    return this.#turn;
  }
}
