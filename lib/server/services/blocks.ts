/**
 * Who blocked whom: held in memory for the delivery path (every fan-out asks it) and kept in the
 * store.
 * @module
 */

import type { BlockStore } from "../../store/store.ts";
import type { ShareChange } from "../shared_changes.ts";

const NONE: ReadonlySet<string> = new Set();

/** Block relations: a blocker hears nothing from the users it blocked. */
export class BlockService {
  readonly #store: BlockStore;
  readonly #blocked: Map<string, Set<string>>;
  /** The reverse: user → who blocked them. */
  readonly #blockers = new Map<string, Set<string>>();
  /** Tells the other nodes of a cluster what changed. */
  share: ShareChange = () => {};

  private constructor(store: BlockStore, blocked: Map<string, Set<string>>) {
    this.#store = store;
    this.#blocked = blocked;
    for (const [blocker, users] of blocked) {
      for (const user of users) this.#add(this.#blockers, user, blocker);
    }
  }

  #add(map: Map<string, Set<string>>, key: string, value: string): void {
    let set = map.get(key);
    if (!set) map.set(key, set = new Set());
    set.add(value);
  }

  /** Loads every block from the store. */
  static async open(store: BlockStore): Promise<BlockService> {
    return new BlockService(store, await store.loadBlocks());
  }

  /** Whether `blocker` has blocked `user`. */
  has(blocker: string, user: string): boolean {
    return this.#blocked.get(blocker)?.has(user) ?? false;
  }

  /** Whom `blocker` has blocked. */
  blockedBy(blocker: string): ReadonlySet<string> {
    return this.#blocked.get(blocker) ?? NONE;
  }

  /** Who has blocked `user`. */
  blockersOf(user: string): ReadonlySet<string> {
    return this.#blockers.get(user) ?? NONE;
  }

  /** Whether either user blocked the other (presence notices and peer introductions need neither). */
  either(a: string, b: string): boolean {
    return this.has(a, b) || this.has(b, a);
  }

  /** Stores and applies a block. */
  async block(blocker: string, user: string): Promise<void> {
    await this.#store.setBlocked(blocker, user, true);
    this.applied(blocker, user, true);
    this.share({ kind: "block", blocker, blocked: user, on: true });
  }

  /** Stores and lifts a block. */
  async unblock(blocker: string, user: string): Promise<void> {
    await this.#store.setBlocked(blocker, user, false);
    this.applied(blocker, user, false);
    this.share({ kind: "block", blocker, blocked: user, on: false });
  }

  /** Updates the memory only: a block stored by someone else (another node). */
  applied(blocker: string, user: string, on: boolean): void {
    if (on) {
      this.#add(this.#blocked, blocker, user);
      this.#add(this.#blockers, user, blocker);
    } else {
      this.#blocked.get(blocker)?.delete(user);
      this.#blockers.get(user)?.delete(blocker);
    }
  }
}
