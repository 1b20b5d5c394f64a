/**
 * Who blocked whom: held in memory for the delivery path (every fan-out asks it) and kept in the
 * store. In a cluster the store is the truth: a change another node reports is applied at once,
 * then read back from the store, so that one person blocking and unblocking the same user from
 * two nodes at the same moment leaves every node with what the store kept last; and after an
 * outage a node reads every block again (a change it was never told of is not lost on it).
 * @module
 */

import type { BlockStore } from "../../store/store.ts";
import type { ShareChange } from "../shared_changes.ts";

const NONE: ReadonlySet<string> = new Set();
/** Reads of the store overtaken by changes this many times in a row are given up. */
const READ_ATTEMPTS = 3;

/** Block relations: a blocker hears nothing from the users it blocked. */
export class BlockService {
  readonly #store: BlockStore;
  readonly #blocked: Map<string, Set<string>>;
  /** The reverse: user → who blocked them. */
  readonly #blockers = new Map<string, Set<string>>();
  /** Tells the other nodes of a cluster what changed. */
  share: ShareChange = () => {};
  /**
   * Counts the changes made to the memory: a read from the store that a change overtook is not
   * applied (it may predate the change), but read again.
   */
  #changes = 0;
  /** Reads from the store under way, for {@linkcode settled}. */
  readonly #reads = new Set<Promise<unknown>>();

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
    this.#set(blocker, user, true);
    this.share({ kind: "block", blocker, blocked: user, on: true });
  }

  /** Stores and lifts a block. */
  async unblock(blocker: string, user: string): Promise<void> {
    await this.#store.setBlocked(blocker, user, false);
    this.#set(blocker, user, false);
    this.share({ kind: "block", blocker, blocked: user, on: false });
  }

  /**
   * A block stored by someone else (another node): applied to the memory at once, then read back
   * from the store, which holds whatever was stored last (if the store cannot be read, what was
   * reported stays).
   */
  applied(blocker: string, user: string, on: boolean): void {
    this.#set(blocker, user, on);
    this.#track(this.#readBack(blocker, user));
  }

  /**
   * Reads every block from the store again (after an outage, when changes may have gone untold).
   * Rejects if the store cannot be read.
   */
  reload(): Promise<void> {
    return this.#track(this.#readAll());
  }

  /** Resolves once the reads from the store under way now have ended (for tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#reads]);
  }

  #track<T>(read: Promise<T>): Promise<T> {
    this.#reads.add(read);
    const done = () => this.#reads.delete(read);
    read.then(done, done);
    return read;
  }

  async #readBack(blocker: string, user: string): Promise<void> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const changes = this.#changes;
      let on: boolean;
      try {
        on = await this.#store.isBlocked(blocker, user);
      } catch {
        return;
      }
      if (changes === this.#changes) {
        this.#set(blocker, user, on);
        return;
      }
    }
  }

  async #readAll(): Promise<void> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const changes = this.#changes;
      const all = await this.#store.loadBlocks();
      if (changes !== this.#changes) continue;
      const stale: [string, string][] = [];
      for (const [blocker, users] of this.#blocked) {
        for (const user of users) if (!all.get(blocker)?.has(user)) stale.push([blocker, user]);
      }
      for (const [blocker, user] of stale) this.#set(blocker, user, false);
      for (const [blocker, users] of all) for (const user of users) this.#set(blocker, user, true);
      return;
    }
  }

  #set(blocker: string, user: string, on: boolean): void {
    this.#changes++;
    if (on) {
      this.#add(this.#blocked, blocker, user);
      this.#add(this.#blockers, user, blocker);
    } else {
      this.#blocked.get(blocker)?.delete(user);
      this.#blockers.get(user)?.delete(blocker);
    }
  }
}
