/**
 * Who blocked whom, held in memory for the delivery path and mirrored to the store.
 * @module
 */

/** Block relations: `blocker` hears nothing from the users it blocked. */
export class BlockList {
  readonly #blocked: Map<string, Set<string>>;

  constructor(initial: Map<string, Set<string>>) {
    this.#blocked = initial;
  }

  /** Whether `blocker` has blocked `user`. */
  has(blocker: string, user: string): boolean {
    return this.#blocked.get(blocker)?.has(user) ?? false;
  }

  /** Whether either user blocked the other (presence notices need neither). */
  either(a: string, b: string): boolean {
    return this.has(a, b) || this.has(b, a);
  }

  add(blocker: string, user: string): void {
    let set = this.#blocked.get(blocker);
    if (!set) this.#blocked.set(blocker, set = new Set());
    set.add(user);
  }

  delete(blocker: string, user: string): void {
    this.#blocked.get(blocker)?.delete(user);
  }
}
