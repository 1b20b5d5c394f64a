/**
 * Who is online, and delivery of events to them: the one seam between handlers and the
 * connections. The embedded server uses {@linkcode LocalHub}; a cluster replaces it with a hub
 * that shares presence and events between nodes, and no handler knows which one runs.
 * @module
 */

import type { OutboundEvent } from "../protocol/events.ts";
import { foldName } from "../protocol/names.ts";
import type { SharedChange } from "./shared_changes.ts";

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
}

/** Something that takes events for one online user on this server (a client). */
export interface Recipient {
  deliver(event: OutboundEvent): boolean;
  /** Whether private message `number` of the user's mailbox is new to it (noting it). */
  privateOnce?(number: number): boolean;
  /** When it last sent a request, epoch ms. */
  readonly lastActivity?: number;
}

/** A place in the order of deliveries, kept for work that finishes later (a numbered message). */
export interface HubHold {
  /** See {@linkcode Hub.deliver}. */
  deliver(user: string, event: OutboundEvent, kept?: number): boolean;
  fanout(event: OutboundEvent, accept: (user: string) => boolean): void;
  /** Done (also on failure): the deliveries made through it leave, then those held behind it. */
  release(): void;
}

/** What the server does with news from other nodes (a cluster's hub has some). */
export interface HubListener {
  /** Another node changed state every node keeps in memory. */
  applyChange?(change: SharedChange): void;
  /** These users were on a node that died; they are offline now. */
  usersGone?(users: readonly OnlineUser[]): void;
  /**
   * These sessions of this node were taken for gone by the cluster (the node froze, or lost
   * Redis) and are online again: announce them, and hand over what waited meanwhile.
   */
  sessionsBack?(sessions: readonly HubSession[]): void;
  /** A message kept in `user`'s offline queue (number `kept`) reached them live here. */
  keptDelivered?(user: string, kept: number): void;
  /**
   * These sessions of this node cannot be online any more (their user logged in elsewhere while
   * the cluster took this node for gone): end them, saying why.
   */
  sessionsLost?(sessions: readonly HubSession[], reason: string): void;
}

/** A session of this node as the hub knows it. */
export interface HubSession {
  readonly user: OnlineUser;
  readonly recipient: Recipient;
}

/** Presence and delivery. */
export interface Hub {
  /**
   * Marks the user online on this recipient: the one live session of that user. False when the
   * user is online already (on any node).
   */
  claim(user: OnlineUser, recipient: Recipient): Promise<boolean>;
  /** Marks the user offline, if this recipient holds the user. */
  release(user: string, recipient: Recipient): Promise<void>;
  /** Records the UDP port an online user reported. */
  setUdpPort(user: string, udpPort: number): Promise<void>;
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
  /** The connection of a user online on this node, if any. */
  recipientOf(user: string): Recipient | undefined;
  /** Delivers to every online user `accept` admits. */
  fanout(event: OutboundEvent, accept: (user: string) => boolean): void;
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

  /** Leaves: a cluster's node removes its users and closes its connections. */
  close(): Promise<void>;
}

interface Entry {
  user: OnlineUser;
  readonly recipient: Recipient;
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
  readonly #online = new Map<string, Entry>();
  /** Canonical names by folded name. */
  readonly #names = new Map<string, string>();
  /** Names of the online users with the admin role. */
  readonly #operators = new Set<string>();

  claim(user: OnlineUser, recipient: Recipient): Promise<boolean> {
    const folded = foldName(user.name);
    if (this.#online.has(user.name) || this.#names.has(folded)) return Promise.resolve(false);
    this.#online.set(user.name, { user, recipient });
    this.#names.set(folded, user.name);
    if (user.admin) this.#operators.add(user.name);
    return Promise.resolve(true);
  }

  release(user: string, recipient: Recipient): Promise<void> {
    if (this.#online.get(user)?.recipient === recipient) {
      this.#online.delete(user);
      this.#names.delete(foldName(user));
      this.#operators.delete(user);
    }
    return Promise.resolve();
  }

  find(name: string): OnlineUser | undefined {
    const canonical = this.#names.get(foldName(name));
    return canonical === undefined ? undefined : this.#online.get(canonical)?.user;
  }

  setUdpPort(user: string, udpPort: number): Promise<void> {
    const entry = this.#online.get(user);
    if (entry) entry.user = { ...entry.user, udpPort };
    return Promise.resolve();
  }

  update(
    user: string,
    change: Pick<OnlineUser, "away" | "guest" | "admin" | "wallops">,
  ): Promise<void> {
    const entry = this.#online.get(user);
    if (entry) {
      entry.user = { ...entry.user, ...change };
      if (entry.user.admin) this.#operators.add(user);
      else this.#operators.delete(user);
    }
    return Promise.resolve();
  }

  online(user: string): OnlineUser | undefined {
    return this.#online.get(user)?.user;
  }

  activeAt(user: string): number | undefined {
    return this.#online.get(user)?.recipient.lastActivity;
  }

  *list(): Iterable<OnlineUser> {
    for (const entry of this.#online.values()) yield entry.user;
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
    return this.#online.get(user)?.recipient;
  }

  deliver(user: string, event: OutboundEvent): boolean {
    const recipient = this.#online.get(user)?.recipient;
    if (!recipient) return false;
    this.delivered++;
    return recipient.deliver(event);
  }

  fanout(event: OutboundEvent, accept: (user: string) => boolean): void {
    for (const [user, entry] of this.#online) {
      if (!accept(user)) continue;
      this.delivered++;
      entry.recipient.deliver(event);
    }
  }

  readonly shared = false;

  /**
   * Delivers at once: with the embedded store a message is numbered the moment it is stored,
   * so work that holds a place finishes in order anyway (in the same turn of the event loop).
   */
  hold(): HubHold {
    return {
      deliver: (user, event, kept) => {
        const recipient = this.#online.get(user)?.recipient;
        if (kept !== undefined && recipient?.privateOnce?.(kept) === false) return true;
        const delivered = this.deliver(user, event);
        // Handed to the connection: the copy kept in the offline queue is not needed.
        if (delivered && kept !== undefined) this.#listener?.keptDelivered?.(user, kept);
        return delivered;
      },
      fanout: (event, accept) => this.fanout(event, accept),
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
