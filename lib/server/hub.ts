/**
 * Who is online and delivery of encoded events to them. The one seam a cluster bus would replace.
 * @module
 */

/** A logged-in connection as the hub sees it. */
export interface Member {
  /** Queues encoded bytes; false if the connection is gone or full. */
  send(bytes: Uint8Array): boolean;
}

/** Online users and delivery to them. An event is encoded once and the same bytes go to everyone. */
export class Hub<M extends Member> {
  readonly #online = new Map<string, M>();

  /** Marks the user online on this member; false when the user already is. */
  add(user: string, member: M): boolean {
    if (this.#online.has(user)) return false;
    this.#online.set(user, member);
    return true;
  }

  /** Marks the user offline if this member holds the user. */
  remove(user: string, member: M): void {
    if (this.#online.get(user) === member) this.#online.delete(user);
  }

  get(user: string): M | undefined {
    return this.#online.get(user);
  }

  isOnline(user: string): boolean {
    return this.#online.has(user);
  }

  /** Number of users online. */
  get size(): number {
    return this.#online.size;
  }

  /** Online users and their members, in login order. */
  entries(): IterableIterator<[string, M]> {
    return this.#online.entries();
  }

  /** Sends to one user; false when offline or the connection refused it. */
  sendTo(user: string, bytes: Uint8Array): boolean {
    return this.#online.get(user)?.send(bytes) ?? false;
  }

  /** Sends to every online user `accept` admits; returns how many were sent to. */
  fanout(bytes: Uint8Array, accept: (user: string) => boolean): number {
    let delivered = 0;
    for (const [user, member] of this.#online) {
      if (accept(user) && member.send(bytes)) delivered++;
    }
    return delivered;
  }
}
