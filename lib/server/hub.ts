/**
 * Who is online, and delivery of events to them: the one seam between handlers and the
 * connections. The embedded server uses {@linkcode LocalHub}; a cluster replaces it with a hub
 * that shares presence and events between nodes, and no handler knows which one runs.
 * @module
 */

import type { OutboundEvent } from "../protocol/events.ts";

/** A user online somewhere, as WHO shows them. */
export interface OnlineUser {
  readonly name: string;
  readonly ip: string;
  readonly loginAt: number;
  /** The UDP port the user's client reported, once it did. */
  readonly udpPort?: number;
}

/** Something that takes events for one online user on this server (a client). */
export interface Recipient {
  deliver(event: OutboundEvent): boolean;
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
  /** The online user of this canonical name, or `undefined`. */
  online(user: string): OnlineUser | undefined;
  /** Everyone online, in login order. */
  list(): Iterable<OnlineUser>;
  /** Number of users online. */
  readonly size: number;
  /** Delivers to one online user; false when offline or the connection refused it. */
  deliver(user: string, event: OutboundEvent): boolean;
  /** Delivers to every online user `accept` admits. */
  fanout(event: OutboundEvent, accept: (user: string) => boolean): void;
}

interface Entry {
  user: OnlineUser;
  readonly recipient: Recipient;
}

/** The hub of a single server process. */
export class LocalHub implements Hub {
  readonly #online = new Map<string, Entry>();

  claim(user: OnlineUser, recipient: Recipient): Promise<boolean> {
    if (this.#online.has(user.name)) return Promise.resolve(false);
    this.#online.set(user.name, { user, recipient });
    return Promise.resolve(true);
  }

  release(user: string, recipient: Recipient): Promise<void> {
    if (this.#online.get(user)?.recipient === recipient) this.#online.delete(user);
    return Promise.resolve();
  }

  setUdpPort(user: string, udpPort: number): Promise<void> {
    const entry = this.#online.get(user);
    if (entry) entry.user = { ...entry.user, udpPort };
    return Promise.resolve();
  }

  online(user: string): OnlineUser | undefined {
    return this.#online.get(user)?.user;
  }

  *list(): Iterable<OnlineUser> {
    for (const entry of this.#online.values()) yield entry.user;
  }

  get size(): number {
    return this.#online.size;
  }

  deliver(user: string, event: OutboundEvent): boolean {
    return this.#online.get(user)?.recipient.deliver(event) ?? false;
  }

  fanout(event: OutboundEvent, accept: (user: string) => boolean): void {
    for (const [user, entry] of this.#online) {
      if (accept(user)) entry.recipient.deliver(event);
    }
  }
}
