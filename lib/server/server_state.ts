/**
 * The server's services, wired together over one store: what every front end and handler works
 * with. Built the same way for the embedded server, the cluster and tests.
 * @module
 */

import { HashQueue } from "../auth/hash_queue.ts";
import type { ServerConfig } from "../config.ts";
import type { BlobStore } from "../store/blob_store.ts";
import type { Store } from "../store/store.ts";
import type { Logger, ServerContext, SessionChoice } from "./context.ts";
import type { Hub, ReadBack } from "./hub.ts";
import { KeyedLock } from "./keyed_lock.ts";
import { RateLimiter } from "./io/rate_limiter.ts";
import { AccountService } from "./services/accounts.ts";
import { BlockService } from "./services/blocks.ts";
import { ChannelService } from "./services/channels.ts";
import type { Clock } from "./services/clock.ts";
import { ForumService } from "./services/forum.ts";
import { MessageService } from "./services/messages.ts";
import { MotdService } from "./services/motd.ts";
import { RoomService } from "./services/rooms.ts";
import { SeenService } from "./services/seen.ts";
import { WebSessionService } from "./services/web_sessions.ts";

import { PresenceNotices } from "./presence_notices.ts";
import { passOfflineQueue, sessionsBack, sessionsLost } from "./presence.ts";
import { applySharedChange, type SharedChange } from "./shared_changes.ts";
import { Counters, readMetrics } from "./metrics.ts";
import { SearchIndex } from "../search/search_index.ts";
import { searchIndexPath, SearchService } from "./services/search.ts";
import type { StoredEntry } from "./services/messages.ts";
import { foldName } from "../protocol/names.ts";
import { Client } from "./client.ts";
import { OutboundEvent } from "../protocol/events.ts";
import { sessionId } from "./session_group.ts";
import { everyoneHearing, membersHearing, tell } from "./audience.ts";

/** Most broadcasts read back at once when their deliveries were lost. */
const MISSED_READ_BACK = 1000;

/** Password hashes running at once: the machine's cores (scrypt is CPU and memory bound). */
const HASH_CONCURRENCY = Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2));

/** The server's context: its services, plus the shutdown flag it owns. */
export class ServerState implements ServerContext {
  shuttingDown = false;
  readonly locks: KeyedLock = new KeyedLock();
  readonly authRate: RateLimiter;
  readonly webSessions: WebSessionService;
  readonly channels: ChannelService;
  readonly presence: PresenceNotices;
  readonly counters: Counters;
  /** The search index, unless the server runs with `--no-search`. */
  readonly search: SearchService | undefined;
  readonly #startedAt: number;
  /** Open connections by front end, told by the server once it runs. */
  connections: () => ReadonlyMap<string, number> = () => new Map();
  /** Connections not logged in, told by the server once it runs. */
  unregistered: () => number = () => 0;
  #peak = { all: 0, here: 0 };
  #requestShutdown: (reason: string) => void = () => {};

  constructor(
    readonly config: Readonly<ServerConfig>,
    readonly clock: Clock,
    readonly log: Logger,
    readonly hub: Hub,
    readonly store: Store,
    readonly accounts: AccountService,
    readonly seen: SeenService,
    readonly blocks: BlockService,
    readonly messages: MessageService,
    readonly rooms: RoomService,
    readonly motd: MotdService,
    readonly forum: ForumService,
    readonly hashes: HashQueue,
    counters: Counters = new Counters(),
  ) {
    this.counters = counters;
    this.#startedAt = clock.now();
    this.authRate = new RateLimiter(config.authRatePerIp);
    this.webSessions = new WebSessionService(store, accounts, clock);
    this.channels = new ChannelService(store);
    this.channels.report = (text, error) => log.error(text, error);
    if (config.search) {
      const search = new SearchService(
        SearchIndex.openOrRenew(
          searchIndexPath(config.dataDir, config.node),
          foldName,
          (why) => log.warn(why),
        ),
        store,
        rooms,
        this.channels,
        log,
      );
      // What is stored here is indexed at once; the rest (other nodes, a crash) is caught up.
      const note = (entry: StoredEntry) => search.note(entry);
      messages.stored = rooms.stored = this.channels.stored = note;
      this.search = search;
    }
    this.presence = new PresenceNotices(hub, blocks, clock, {
      stormPerSecond: config.presenceStormPerSecond,
    });
    this.#joinCluster();
  }

  /**
   * In a cluster, what this node changes in memory is told to the others, what they change is
   * applied here, and the users of a node that died are logged out (the first node to notice
   * records it; every node announces it to its own users through the hub).
   */
  #joinCluster(): void {
    const keptDelivered = (user: string, kept: number) =>
      this.messages.unqueue(user, kept).catch((error) =>
        this.log.error(`Cannot drop a delivered message from ${user}'s offline queue`, error)
      );
    if (!this.hub.shared) {
      this.hub.attach({ keptDelivered });
      return;
    }
    const share = (change: SharedChange) => this.hub.share(change);
    this.accounts.share = this.blocks.share = this.rooms.share = share;
    this.seen.share = this.motd.share = share;
    const channelLog = this.hub.channelLog;
    if (channelLog) {
      this.channels.replicate(channelLog);
      this.channels.isHere = (user) => this.hub.sessionsOf(user).length > 0;
      this.channels.isOnline = (user) => this.hub.online(user) !== undefined;
      this.channels.rejoined = (user, names) => this.#rejoined(user, names);
      channelLog.attach(this.channels);
    }
    this.hub.attach({
      applyChange: (change) => applySharedChange(this, change),
      missedChanges: () => this.#reloadShared(),
      sessionsBack: (sessions) => sessionsBack(this, sessions),
      keptDelivered,
      sessionsLost: (sessions, reason) => sessionsLost(this, sessions, reason),
      otherSessionsGone: (user) => passOfflineQueue(this, user),
      missedBroadcasts: (from, to, since) =>
        this.#readBackBroadcasts(from, to, since).catch((error) => {
          // Not "none found": the order looks again for a while before it skips them.
          this.log.error(`Cannot read broadcasts #${from}-#${to} back from the store`, error);
          throw error;
        }),
      usersGone: (users) => {
        const now = this.clock.now();
        for (const user of users) {
          this.channels.leaveAll(user.name).catch((error) =>
            this.log.error(`Cannot take ${user.name} out of their channels`, error)
          );
          if (!this.shuttingDown) {
            this.presence.announce(user.name, "logout", {
              reason: "Their server stopped answering",
              ident: user.ident,
              ip: user.ip,
            });
          }
          if (user.guest) continue;
          this.seen.loggedOut(user.name, user.loginAt, now).catch((error) =>
            this.log.error(`Cannot record logout of ${user.name}`, error)
          );
        }
      },
    });
    // A change another node stored after the services were loaded here, but told before this
    // listener was attached, reached nobody.
    this.#reloadShared();
  }

  /**
   * Reads again from the store what every node keeps in memory and learns of through the stream
   * of shared changes (blocks, rooms, messages of the day, last logins): after an outage, a
   * change may have been stored but never told (its node lost Redis between the two, or a
   * failover lost the stream's newest entries); after a stall, told but trimmed from the stream
   * unread. Accounts are only cached for seconds.
   */
  #reloadShared(): void {
    for (
      const [what, reload] of [
        ["blocks", () => this.blocks.reload()],
        ["rooms", () => this.rooms.reload()],
        ["messages of the day", () => this.motd.reload()],
        ["last logins and logouts", () => this.seen.reload()],
      ] as const
    ) {
      reload().catch((error) => this.log.error(`Cannot read the ${what} again`, error));
    }
  }

  /** A user this node's cluster had taken for gone is back in channels: their members hear. */
  #rejoined(user: string, names: readonly string[]): void {
    for (const name of names) {
      const event = new OutboundEvent({ type: "channel_join", channel: name, user });
      tell(this.hub, membersHearing(this, this.channels.members(name), user), event);
    }
  }

  /**
   * Broadcasts whose deliveries never reached this node, read back from the store for its users
   * (at most the newest {@linkcode MISSED_READ_BACK}, and none stored before `since`).
   */
  async #readBackBroadcasts(from: number, to: number, since: number): Promise<ReadBack[]> {
    const first = Math.max(from, to - MISSED_READ_BACK + 1);
    const missed = await this.store.listBroadcasts({
      after: first - 1,
      before: to + 1,
      limit: MISSED_READ_BACK,
    });
    return missed.filter((message) => message.at >= since).map((message) => ({
      number: message.number,
      event: new OutboundEvent(
        { type: "broadcast", from: message.from, number: message.number, text: message.text },
        message.at,
      ),
      accept: everyoneHearing(this, message.from),
    }));
  }

  endSession(name: string, text: string, reason: string, which: SessionChoice = {}): void {
    const ended = this.endLocalSession(name, text, reason, which);
    // One session found here is all there was to end; any other choice may reach other nodes.
    if (ended && which.only !== undefined) return;
    if (this.hub.shared) this.hub.share({ kind: "kill", name, text, reason, ...which });
  }

  /** Ends the user's sessions held on this node (as `which` says); false when none was here. */
  endLocalSession(name: string, text: string, reason: string, which: SessionChoice = {}): boolean {
    let ended = false;
    for (const { recipient } of this.hub.sessionsOf(name)) {
      if (!(recipient instanceof Client)) continue;
      const id = sessionId(recipient, this.hub.node);
      if (which.only !== undefined && id !== which.only) continue;
      if (which.except !== undefined && id === which.except) continue;
      endClient(recipient, text, reason);
      ended = true;
    }
    return ended;
  }

  peakUsers(): { readonly all: number; readonly here: number } {
    this.#peak = {
      all: Math.max(this.#peak.all, this.hub.size),
      here: Math.max(this.#peak.here, this.hub.localSize ?? this.hub.size),
    };
    return this.#peak;
  }

  metrics(): string {
    return readMetrics({
      counters: this.counters,
      connections: () => this.connections(),
      usersOnline: () => this.hub.size,
      usersHere: () => this.hub.localSize ?? this.hub.size,
      deliveries: () => this.hub.delivered,
      storeUp: () => this.store.reachable?.() ?? true,
      uptimeSeconds: () => (this.clock.now() - this.#startedAt) / 1000,
    });
  }

  unhealthy(): string | undefined {
    if (this.shuttingDown) return "shutting down";
    if (this.store.reachable?.() === false) return "the store (Redis) is unreachable";
    return undefined;
  }

  requestShutdown(reason: string): void {
    this.#requestShutdown(reason);
  }

  /** Who carries out a shutdown request (the server, once it runs). */
  onShutdownRequest(handler: (reason: string) => void): void {
    this.#requestShutdown = handler;
  }
}

/** What {@linkcode openServerState} needs besides the config. */
export interface StateParts {
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly log: Logger;
  /** Counted from the start, the cluster's connection losses included. */
  readonly counters?: Counters;
}

/**
 * Loads every service from the store. Returns the state and what the operator should be told
 * (admins without accounts, files collected after a crash).
 */
export async function openServerState(
  config: Readonly<ServerConfig>,
  parts: StateParts,
): Promise<{ state: ServerState; warnings: string[]; notes: string[] }> {
  const { store, blobs, hub, clock, log } = parts;
  // Registrations get at most half the hashing slots: a login always finds one free.
  const hashes = new HashQueue(HASH_CONCURRENCY, {
    verify: { running: HASH_CONCURRENCY, waiting: 256 },
    create: { running: Math.max(1, Math.floor(HASH_CONCURRENCY / 2)), waiting: 32 },
  });
  const policy = {
    maxFailures: config.maxLoginFailures,
    lockoutMs: config.lockoutMs,
    scryptCost: config.scryptCost,
    registration: config.registration,
    minPasswordLength: config.minPasswordLength,
  };
  const opened = await AccountService.open(store, hashes, policy, clock, config.admins);
  const { forum, removedBlobs } = await ForumService.open(store, blobs);
  const notes = removedBlobs > 0
    ? [`Deleted ${removedBlobs} forum files left behind by removed threads`]
    : [];
  const state = new ServerState(
    config,
    clock,
    log,
    hub,
    store,
    opened.accounts,
    await SeenService.open(store),
    await BlockService.open(store),
    new MessageService(store),
    await RoomService.open(store),
    await MotdService.open(store, config.dataDir),
    forum,
    hashes,
    parts.counters,
  );
  return { state, warnings: opened.warnings, notes };
}

/** Ends one session: tells it why (`text`), and the others why it left (`reason`). */
export function endClient(client: Client, text: string, reason: string): void {
  client.quitReason = reason;
  client.output.event(new OutboundEvent({ type: "disconnect", text }));
  void client.output.close(true, 1000);
}
