/**
 * Who is online, and delivery of events to them: the one seam between handlers and the
 * connections. The embedded server uses {@linkcode LocalHub}; a cluster replaces it with a hub
 * that shares presence and events between nodes, and no handler knows which one runs.
 * @module
 */

import type { OutboundEvent } from "../protocol/events.ts";
import { foldName } from "../protocol/names.ts";
import type { SharedChange } from "./shared_changes.ts";
import type { ChannelReplication, ChannelService } from "./services/channels.ts";
import { SessionGroup, type SessionInfo } from "./session_group.ts";

/** A user online somewhere, as WHO shows them. */
export interface OnlineUser {
  readonly name: string;
  readonly ip: string;
  readonly loginAt: number;
  /** The UDP port the user's client reported, once it did. */
  readonly udpPort?: number;
  /** Logged in without an account (an IRC nick), for that connection only. */
  readonly guest?: boolean;
  /** Holds the admin role in this session. */
  readonly admin?: boolean;
  /** Takes WALLOPS though not an admin (IRC user mode +w). */
  readonly wallops?: boolean;
  /** Away message; absent or empty when present. */
  readonly away?: string;
  /** What an IRC client called itself (USER's username and real name). */
  readonly ident?: string;
  readonly realname?: string;
  /** How many sessions the person has (across nodes), when more than one is possible. */
  readonly sessions?: number;
}

/**
 * What a claim got: the person's first session (tell the others), another session of someone
 * online already, or a refusal: the name is held by a guest (or the limit is 1), or the person
 * has as many sessions as the server allows.
 */
export type Claim = "first" | "more" | "taken" | "full";

/** Something that takes events for one online user on this server (a client). */
export interface Recipient {
  deliver(event: OutboundEvent): boolean;
  /** Whether private message `number` of the user's mailbox is new to it (noting it). */
  privateOnce?(number: number): boolean;
  /** When it last sent a request, epoch ms. */
  readonly lastActivity?: number;
  /** Its number on this server, and what it came through (`tcp`, `ws`, `irc`): SESSIONS shows them. */
  readonly id?: number;
  readonly transport?: string;
}

/** A place in the order of deliveries, kept for work that finishes later (a numbered message). */
export interface HubHold {
  /** See {@linkcode Hub.deliver}. */
  deliver(user: string, event: OutboundEvent, kept?: number): boolean;
  fanout(event: OutboundEvent, accept: (user: string) => boolean): void;
  /** See {@linkcode Hub.echo}. */
  echo(user: string, event: OutboundEvent, from: Recipient): void;
  /** Done (also on failure): the deliveries made through it leave, then those held behind it. */
  release(): void;
}

/** What the server does with news from other nodes (a cluster's hub has some). */
export interface HubListener {
  /** Another node changed state every node keeps in memory. */
  applyChange?(change: SharedChange): void;
  /**
   * Changes the other nodes made may not have reached this node: it is back in the cluster after
   * losing Redis, or it stalled (froze) long enough for the stream of changes to be trimmed past
   * what it had read. What is kept in memory is read again from the store.
   */
  missedChanges?(): void;
  /** These users were on a node that died; they are offline now. */
  usersGone?(users: readonly OnlineUser[]): void;
  /**
   * These sessions of this node were taken for gone by the cluster (the node froze, or lost
   * Redis) and are online again: announce them, and hand over what waited meanwhile.
   */
  sessionsBack?(sessions: readonly HubSession[]): void;
  /**
   * Broadcasts `from`–`to` did not reach this node in time (their deliveries were lost, say with
   * a Redis primary that failed over before it passed them on): those stored after `since`
   * (epoch ms), read back from the store, each with who may hear it. Before `since` this node's
   * users were taken for gone, and HISTORY has what they missed. Rejects when the store cannot
   * be read (the order then looks again before it skips them).
   */
  missedBroadcasts?(from: number, to: number, since: number): Promise<ReadBack[]>;
  /**
   * A session of `user` on another node ended (or its node died) while the user has sessions
   * here: what waited in their offline queue for it is handed to a session here.
   */
  otherSessionsGone?(user: string): void;
  /** A message kept in `user`'s offline queue (number `kept`) reached them live here. */
  keptDelivered?(user: string, kept: number): void;
  /**
   * These sessions of this node cannot be online any more (their user logged in elsewhere while
   * the cluster took this node for gone): end them, saying why.
   */
  sessionsLost?(sessions: readonly HubSession[], reason: string): void;
}

/** A stored broadcast read back for this node's users, with who may hear it. */
export interface ReadBack {
  readonly number: number;
  readonly event: OutboundEvent;
  readonly accept: (user: string) => boolean;
}

/** A session of this node as the hub knows it. */
export interface HubSession {
  readonly user: OnlineUser;
  readonly recipient: Recipient;
}

/** What of the channel service a cluster's channel log drives. */
export type ChannelTarget = Pick<
  ChannelService,
  "loaded" | "applyLogged" | "names" | "snapshotOf" | "retryOwed"
>;

/** A cluster's log of channel operations (see `ChannelService`). */
export interface ChannelLogPort extends ChannelReplication {
  /** Hands the channels kept in the cluster, and every operation from then on, to `target`. */
  attach(target: ChannelTarget): void;
}

/** Presence and delivery. */
export interface Hub {
  /**
   * Adds a session of the user on this recipient, if the user has fewer than `limit` (on any
   * node). A guest's name has one session only; so has every name when `limit` is 1.
   */
  claim(user: OnlineUser, recipient: Recipient, limit: number): Promise<Claim>;
  /**
   * Ends this recipient's session of the user, if it holds one: true when it was the person's
   * last (on any node), so the person is offline now.
   */
  release(user: string, recipient: Recipient): Promise<boolean>;
  /** Records the UDP port a session of an online user reported. */
  setUdpPort(user: string, udpPort: number, recipient: Recipient): Promise<void>;
  /** Records what an online user says about itself: away (or back), an account now. */
  update(
    user: string,
    change: Pick<OnlineUser, "away" | "guest" | "admin" | "wallops">,
  ): Promise<void>;
  /** The online user of this canonical name, or `undefined`. */
  online(user: string): OnlineUser | undefined;
  /** The online user of this name in any case, or `undefined`. */
  find(name: string): OnlineUser | undefined;
  /** Everyone online, in login order. */
  list(): Iterable<OnlineUser>;
  /**
   * Online users who hold the admin role (IRC shows them as operators), in login order: kept
   * apart, so that asking costs the few of them rather than a pass over everyone online.
   */
  operators(): OnlineUser[];
  /** When an online user last sent a request, epoch ms, where the hub knows. */
  activeAt?(user: string): number | undefined;
  /** Number of users online. */
  readonly size: number;
  /** Users online on this node (a cluster's); `size` where there is one node. */
  readonly localSize?: number;
  /** Events handed to this node's connections so far (for monitoring). */
  readonly delivered: number;
  /**
   * Delivers to one online user; false when offline or the connection refused it. `kept`: the
   * number of the copy waiting in the user's offline queue, to drop once delivered (a cluster's
   * message to a user on another node waits there until that node has handed it over).
   */
  deliver(user: string, event: OutboundEvent, kept?: number): boolean;
  /** Whether an online user is on another node of a cluster. */
  remote?(user: string): boolean;
  /** What takes a user's events on this node (all of the person's sessions here), if any. */
  recipientOf(user: string): Recipient | undefined;
  /** The user's sessions on this node, in login order. */
  sessionsOf(user: string): HubSession[];
  /** What SESSIONS shows of each of the user's sessions, on every node. */
  sessionInfo(user: string): SessionInfo[];
  /** Delivers to every online user `accept` admits. */
  fanout(event: OutboundEvent, accept: (user: string) => boolean): void;
  /**
   * Delivers to the user's sessions other than `from`, on every node: what a person sends from
   * one client shows in the others.
   */
  echo(user: string, event: OutboundEvent, from: Recipient): void;
  /** This node's name in a cluster (session ids carry it). */
  readonly node?: string;
  /** Whether there are other nodes to tell of changes ({@linkcode share} does something). */
  readonly shared: boolean;
  /**
   * Keeps the current place in the order of deliveries: what is delivered through the hold later
   * reaches recipients before anything delivered on the hub after this call. Release it always.
   */
  hold(): HubHold;
  /** Tells the other nodes of a change to state kept in memory (nobody, on a single server). */
  share(change: SharedChange): void;
  /** Sets who hears of changes and departures on other nodes. */
  attach(listener: HubListener): void;
  /** A cluster's log of channel operations, which every node applies in one order. */
  readonly channelLog?: ChannelLogPort;

  /** Leaves: a cluster's node removes its users and closes its connections. */
  close(): Promise<void>;
}

/** The users of `names` that `userOf` finds online, in login order (a hub's operators). */
export function inLoginOrder(
  names: Iterable<string>,
  userOf: (name: string) => OnlineUser | undefined,
): OnlineUser[] {
  const users: OnlineUser[] = [];
  for (const name of names) {
    const user = userOf(name);
    if (user) users.push(user);
  }
  return users.sort((a, b) => a.loginAt - b.loginAt);
}

/** The hub of a single server process. */
export class LocalHub implements Hub {
  readonly #online = new Map<string, SessionGroup>();
  /** Canonical names by folded name. */
  readonly #names = new Map<string, string>();
  /** Names of the online users with the admin role. */
  readonly #operators = new Set<string>();

  claim(user: OnlineUser, recipient: Recipient, limit: number): Promise<Claim> {
    const canonical = this.#names.get(foldName(user.name));
    const group = canonical === undefined ? undefined : this.#online.get(canonical);
    if (group) return Promise.resolve(joinGroup(group, user, recipient, limit));
    this.#online.set(user.name, new SessionGroup(user, recipient));
    this.#names.set(foldName(user.name), user.name);
    if (user.admin) this.#operators.add(user.name);
    return Promise.resolve("first");
  }

  release(user: string, recipient: Recipient): Promise<boolean> {
    const group = this.#online.get(user);
    if (!group?.remove(recipient)) return Promise.resolve(false);
    if (group.size > 0) return Promise.resolve(false);
    this.#online.delete(user);
    this.#names.delete(foldName(user));
    this.#operators.delete(user);
    return Promise.resolve(true);
  }

  find(name: string): OnlineUser | undefined {
    const canonical = this.#names.get(foldName(name));
    return canonical === undefined ? undefined : this.#online.get(canonical)?.user;
  }

  setUdpPort(user: string, udpPort: number, recipient: Recipient): Promise<void> {
    this.#online.get(user)?.setUdpPort(recipient, udpPort);
    return Promise.resolve();
  }

  update(
    user: string,
    change: Pick<OnlineUser, "away" | "guest" | "admin" | "wallops">,
  ): Promise<void> {
    const group = this.#online.get(user);
    if (group) {
      group.update(change);
      if (group.user.admin) this.#operators.add(user);
      else this.#operators.delete(user);
    }
    return Promise.resolve();
  }

  online(user: string): OnlineUser | undefined {
    return this.#online.get(user)?.user;
  }

  activeAt(user: string): number | undefined {
    return this.#online.get(user)?.lastActivity;
  }

  *list(): Iterable<OnlineUser> {
    for (const group of this.#online.values()) yield group.user;
  }

  operators(): OnlineUser[] {
    return inLoginOrder(this.#operators, (name) => this.#online.get(name)?.user);
  }

  get size(): number {
    return this.#online.size;
  }

  /** Events handed to connections so far. */
  delivered = 0;

  recipientOf(user: string): Recipient | undefined {
    return this.#online.get(user);
  }

  sessionsOf(user: string): HubSession[] {
    return this.#online.get(user)?.sessions ?? [];
  }

  sessionInfo(user: string): SessionInfo[] {
    return this.#online.get(user)?.describe() ?? [];
  }

  deliver(user: string, event: OutboundEvent): boolean {
    const group = this.#online.get(user);
    if (!group) return false;
    this.delivered += group.size;
    return group.deliver(event);
  }

  fanout(event: OutboundEvent, accept: (user: string) => boolean): void {
    for (const [user, group] of this.#online) {
      if (!accept(user)) continue;
      this.delivered += group.size;
      group.deliver(event);
    }
  }

  echo(user: string, event: OutboundEvent, from: Recipient): void {
    const group = this.#online.get(user);
    if (!group || group.size < 2) return;
    this.delivered += group.size - 1;
    group.deliver(event, from.id);
  }

  readonly shared = false;

  /**
   * Delivers at once: with the embedded store a message is numbered the moment it is stored,
   * so work that holds a place finishes in order anyway (in the same turn of the event loop).
   */
  hold(): HubHold {
    return {
      deliver: (user, event, kept) => {
        if (kept === undefined) return this.deliver(user, event);
        const group = this.#online.get(user);
        if (!group) return false;
        const delivered = group.deliverKept(event, kept);
        if (delivered === "seen") return true; // handed over with the offline queue
        this.delivered++;
        // Handed to a connection: the copy kept in the offline queue is not needed.
        if (delivered) this.#listener?.keptDelivered?.(user, kept);
        return delivered;
      },
      fanout: (event, accept) => this.fanout(event, accept),
      echo: (user, event, from) => this.echo(user, event, from),
      release() {},
    };
  }

  share(_change: SharedChange): void {}

  #listener: HubListener | undefined;

  attach(listener: HubListener): void {
    this.#listener = listener;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Adds a session to someone online already, if the rules allow: never to a guest's name (nor to
 * any name when `limit` is 1), and up to `limit` sessions.
 */
function joinGroup(
  group: SessionGroup,
  user: OnlineUser,
  recipient: Recipient,
  limit: number,
): Claim {
  if (limit <= 1 || group.user.guest || user.guest || group.user.name !== user.name) return "taken";
  if (group.size >= limit) return "full";
  group.add(user, recipient);
  return "more";
}
