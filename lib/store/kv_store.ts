/**
 * The {@linkcode Store} on Deno KV: one embedded database file under the data directory.
 * @module
 */

import { join } from "node:path";
import type { LockoutState } from "../auth/lockout.ts";
import { NO_FAILURES } from "../auth/lockout.ts";
import type { PasswordHash } from "../auth/password.ts";
import type {
  FileItem,
  HistoryQuery,
  Pending,
  PostItem,
  PrivateMessage,
  RoomRecord,
  SeenRecord,
  Store,
  StoredMessage,
  ThreadItem,
  ThreadRecord,
  UserRecord,
} from "./store.ts";

/** File name of the database inside the data directory. */
export const KV_FILE = "labchat.kv";

/** Deno KV allows at most this many mutations in one atomic operation. */
const MAX_MUTATIONS = 500;

/** Most bytes of values in one group commit (Deno KV refuses atomic operations over 800 KiB). */
const BATCH_BYTES = 256 * 1024;

/** An upper bound of a message's stored size (UTF-8 takes at most 3 bytes per UTF-16 unit). */
const sizeOf = (message: { text: string; from: string }): number =>
  (message.text.length + message.from.length) * 3 + 256;

type Counter = "broadcast" | "pm" | "room" | "motd" | "thread_item";

/**
 * Counters (broadcast numbers, room ids, …) are handed out from memory so that concurrent
 * requests never wait on each other, and are persisted with `max` in the same atomic commit as
 * the record that uses them.
 */
class Counters {
  readonly #values = new Map<Counter, number>();

  async load(kv: Deno.Kv): Promise<void> {
    for await (const entry of kv.list<Deno.KvU64>({ prefix: ["counter"] })) {
      this.#values.set(entry.key[1] as Counter, Number(entry.value.value));
    }
  }

  next(name: Counter): number {
    const value = (this.#values.get(name) ?? 0) + 1;
    this.#values.set(name, value);
    return value;
  }

  persist(op: Deno.AtomicOperation, name: Counter, value: number): Deno.AtomicOperation {
    return op.max(["counter", name], BigInt(value));
  }
}

async function commit(op: Deno.AtomicOperation): Promise<void> {
  const result = await op.commit();
  if (!result.ok) throw new Error("Cannot store data: database commit was refused");
}

/** Opens (creating if needed) the database in `dataDir`. */
export async function openKvStore(dataDir: string): Promise<KvStore> {
  await Deno.mkdir(dataDir, { recursive: true });
  const kv = await Deno.openKv(join(dataDir, KV_FILE));
  const store = new KvStore(kv);
  await store.load();
  return store;
}

/** A {@linkcode Store} backed by Deno KV. Create it with {@linkcode openKvStore}. */
export class KvStore implements Store {
  readonly #kv: Deno.Kv;
  readonly #counters = new Counters();
  #motdCursor = 0;
  #closed = false;
  /** Last message number of each room, loaded at start and kept in memory. */
  readonly #roomCounts = new Map<number, number>();
  /** Accounts found so far (never names that were not found: those could grow without bound). */
  readonly #users = new Map<string, UserRecord>();
  /** Writes waiting for the next group commit. */
  #batch: {
    add: (op: Deno.AtomicOperation) => void;
    bytes: number;
    done: PromiseWithResolvers<void>;
  }[] = [];
  #committing: Promise<void> | undefined;

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Reads the counters and cursors kept in memory. */
  async load(): Promise<void> {
    await this.#counters.load(this.#kv);
    const cursor = await this.#kv.get<number>(["meta", "motd_cursor"]);
    this.#motdCursor = cursor.value ?? 0;
    for await (const room of this.#kv.list<RoomRecord>({ prefix: ["room"] })) {
      const last = this.#kv.list<StoredMessage>({ prefix: ["room_msg", room.value.id] }, {
        reverse: true,
        limit: 1,
      });
      for await (const entry of last) this.#roomCounts.set(room.value.id, entry.value.number);
    }
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const cached = this.#users.get(name);
    if (cached) return cached;
    const user = (await this.#kv.get<UserRecord>(["user", name])).value ?? undefined;
    if (user) this.#users.set(name, user);
    return user;
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const key = ["user", user.name];
    const result = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, user)
      .commit();
    if (result.ok) this.#users.set(user.name, user);
    return result.ok;
  }

  async setPassword(name: string, password: PasswordHash): Promise<void> {
    const entry = await this.#kv.get<UserRecord>(["user", name]);
    if (!entry.value) throw new Error(`Cannot change password: user "${name}" does not exist`);
    const updated = { ...entry.value, password };
    await commit(this.#kv.atomic().check(entry).set(["user", name], updated));
    this.#users.set(name, updated);
  }

  async getLockout(name: string): Promise<LockoutState> {
    return (await this.#kv.get<LockoutState>(["lockout", name])).value ?? NO_FAILURES;
  }

  async setLockout(name: string, state: LockoutState): Promise<void> {
    if (state.failures === 0 && state.blockedUntil === 0) await this.#kv.delete(["lockout", name]);
    else await this.#kv.set(["lockout", name], state);
  }

  async loadBlocks(): Promise<Map<string, Set<string>>> {
    const blocks = new Map<string, Set<string>>();
    for await (const entry of this.#kv.list({ prefix: ["block"] })) {
      const [, blocker, blocked] = entry.key as [string, string, string];
      let set = blocks.get(blocker);
      if (!set) blocks.set(blocker, set = new Set());
      set.add(blocked);
    }
    return blocks;
  }

  async setBlocked(blocker: string, blocked: string, on: boolean): Promise<void> {
    const key = ["block", blocker, blocked];
    if (on) await this.#kv.set(key, true);
    else await this.#kv.delete(key);
  }

  async loadSeen(): Promise<Map<string, SeenRecord>> {
    const seen = new Map<string, SeenRecord>();
    for await (const entry of this.#kv.list<SeenRecord>({ prefix: ["seen"] })) {
      seen.set(entry.value.name, entry.value);
    }
    return seen;
  }

  async setSeen(record: SeenRecord): Promise<void> {
    await this.#kv.set(["seen", record.name], record);
  }

  appendBroadcast(from: string, text: string, at: number): Pending<StoredMessage> {
    const message = { number: this.#counters.next("broadcast"), from, text, at };
    const committed = this.#groupCommit((op) => {
      op.set(["broadcast", message.number], message);
      this.#counters.persist(op, "broadcast", message.number);
    }, sizeOf(message));
    return { value: message, committed };
  }

  listBroadcasts(query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#history<StoredMessage>(["broadcast"], query);
  }

  appendPrivate(
    from: string,
    to: string,
    text: string,
    at: number,
    queueOffline: boolean,
  ): Pending<PrivateMessage> {
    const message = { number: this.#counters.next("pm"), from, to, text, at };
    const committed = this.#groupCommit((op) => {
      op.set(["pm", from, message.number], message).set(["pm", to, message.number], message);
      if (queueOffline) op.set(["offline", to, message.number], message);
      this.#counters.persist(op, "pm", message.number);
    }, sizeOf(message) * 3);
    return { value: message, committed };
  }

  listPrivate(user: string, query: HistoryQuery, withUser?: string): Promise<PrivateMessage[]> {
    const filter = withUser === undefined
      ? undefined
      : (m: PrivateMessage) => m.from === withUser || m.to === withUser;
    return this.#history<PrivateMessage>(["pm", user], query, filter);
  }

  async takeOffline(user: string): Promise<PrivateMessage[]> {
    const entries: Deno.KvEntry<PrivateMessage>[] = [];
    for await (const entry of this.#kv.list<PrivateMessage>({ prefix: ["offline", user] })) {
      entries.push(entry);
    }
    for (let i = 0; i < entries.length; i += MAX_MUTATIONS) {
      const op = this.#kv.atomic();
      for (const entry of entries.slice(i, i + MAX_MUTATIONS)) op.delete(entry.key);
      await commit(op);
    }
    return entries.map((e) => e.value);
  }

  async createRoom(
    members: readonly string[],
    creator: string,
    at: number,
  ): Promise<{ room: RoomRecord; created: boolean }> {
    const sorted = [...members].sort();
    const byMembers = ["room_by_members", sorted.join("\n")];
    const existing = await this.#kv.get<number>(byMembers);
    if (existing.value !== null) {
      const room = await this.#kv.get<RoomRecord>(["room", existing.value]);
      if (room.value) return { room: room.value, created: false };
    }
    const room: RoomRecord = {
      id: this.#counters.next("room"),
      members: sorted,
      creator,
      createdAt: at,
    };
    const op = this.#kv.atomic()
      .check({ key: byMembers, versionstamp: existing.versionstamp })
      .set(byMembers, room.id)
      .set(["room", room.id], room);
    const result = await this.#counters.persist(op, "room", room.id).commit();
    if (!result.ok) return this.createRoom(members, creator, at); // lost a race: read the winner
    return { room, created: true };
  }

  async listRooms(): Promise<RoomRecord[]> {
    const rooms: RoomRecord[] = [];
    for await (const entry of this.#kv.list<RoomRecord>({ prefix: ["room"] })) {
      rooms.push(entry.value);
    }
    return rooms;
  }

  appendRoomMessage(room: number, from: string, text: string, at: number): Pending<StoredMessage> {
    const number = (this.#roomCounts.get(room) ?? 0) + 1;
    this.#roomCounts.set(room, number);
    const message = { number, from, text, at };
    const committed = this.#groupCommit((op) => {
      op.set(["room_msg", room, number], message);
    }, sizeOf(message));
    return { value: message, committed };
  }

  listRoomMessages(room: number, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#history<StoredMessage>(["room_msg", room], query);
  }

  async createThread(thread: ThreadRecord): Promise<boolean> {
    const key = ["thread", thread.name];
    const result = await this.#kv.atomic().check({ key, versionstamp: null }).set(key, thread)
      .commit();
    return result.ok;
  }

  async getThread(name: string): Promise<ThreadRecord | undefined> {
    return (await this.#kv.get<ThreadRecord>(["thread", name])).value ?? undefined;
  }

  async listThreads(): Promise<ThreadRecord[]> {
    const threads: ThreadRecord[] = [];
    for await (const entry of this.#kv.list<ThreadRecord>({ prefix: ["thread"] })) {
      threads.push(entry.value);
    }
    return threads;
  }

  async listThreadItems(thread: string): Promise<ThreadItem[]> {
    const items: ThreadItem[] = [];
    for await (const entry of this.#kv.list<ThreadItem>({ prefix: ["thread_item", thread] })) {
      items.push(entry.value);
    }
    return items;
  }

  async addPost(thread: string, author: string, text: string, at: number): Promise<PostItem> {
    const post: PostItem = {
      kind: "post",
      id: this.#counters.next("thread_item"),
      author,
      text,
      at,
    };
    const op = this.#kv.atomic()
      .check({ key: ["thread", thread], versionstamp: await this.#threadVersion(thread) })
      .set(["thread_item", thread, post.id], post);
    await commit(this.#counters.persist(op, "thread_item", post.id));
    return post;
  }

  async addFile(
    thread: string,
    file: Omit<FileItem, "id" | "kind">,
  ): Promise<FileItem | undefined> {
    const item: FileItem = { kind: "file", id: this.#counters.next("thread_item"), ...file };
    const byName = ["thread_file", thread, file.filename];
    const op = this.#kv.atomic()
      .check({ key: byName, versionstamp: null })
      .check({ key: ["thread", thread], versionstamp: await this.#threadVersion(thread) })
      .set(byName, item.id)
      .set(["thread_item", thread, item.id], item);
    const result = await this.#counters.persist(op, "thread_item", item.id).commit();
    return result.ok ? item : undefined;
  }

  async editPost(thread: string, post: PostItem, text: string): Promise<void> {
    await this.#kv.set(["thread_item", thread, post.id], { ...post, text });
  }

  async deletePost(thread: string, post: PostItem): Promise<void> {
    await this.#kv.delete(["thread_item", thread, post.id]);
  }

  async removeThread(thread: string): Promise<ThreadItem[]> {
    const items = await this.listThreadItems(thread);
    const keys: Deno.KvKey[] = [["thread", thread]];
    for (const item of items) {
      keys.push(["thread_item", thread, item.id]);
      if (item.kind === "file") keys.push(["thread_file", thread, item.filename]);
    }
    // The thread record goes in the last batch, so a crash midway leaves it listed and removable.
    keys.push(keys.shift() as Deno.KvKey);
    for (let i = 0; i < keys.length; i += MAX_MUTATIONS) {
      const op = this.#kv.atomic();
      for (const key of keys.slice(i, i + MAX_MUTATIONS)) op.delete(key);
      await commit(op);
    }
    return items;
  }

  /** The thread's versionstamp, so a write into a thread fails if it was removed meanwhile. */
  async #threadVersion(thread: string): Promise<string | null> {
    return (await this.#kv.get(["thread", thread])).versionstamp;
  }

  async listMotd(): Promise<string[]> {
    const texts: string[] = [];
    for await (const entry of this.#kv.list<string>({ prefix: ["motd"] })) texts.push(entry.value);
    return texts;
  }

  async addMotd(text: string): Promise<void> {
    const n = this.#counters.next("motd");
    await commit(this.#counters.persist(this.#kv.atomic().set(["motd", n], text), "motd", n));
  }

  async nextMotdIndex(): Promise<number> {
    const index = this.#motdCursor++;
    await this.#kv.set(["meta", "motd_cursor"], this.#motdCursor);
    return index;
  }

  /**
   * Group commit: while one atomic commit is under way, new writes gather and go in the next,
   * so the commit rate (an fsync each) does not bound the message rate.
   */
  #groupCommit(add: (op: Deno.AtomicOperation) => void, bytes: number): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#batch.push({ add, bytes, done });
    this.#committing ??= this.#drainBatches();
    return done.promise;
  }

  async #drainBatches(): Promise<void> {
    while (this.#batch.length > 0) {
      // Stay well inside Deno KV's limits per atomic operation (mutations and total size).
      let count = 0;
      let bytes = 0;
      while (
        count < Math.min(100, this.#batch.length) &&
        (count === 0 || bytes + this.#batch[count].bytes <= BATCH_BYTES)
      ) {
        bytes += this.#batch[count++].bytes;
      }
      const batch = this.#batch.splice(0, count);
      const op = this.#kv.atomic();
      for (const item of batch) item.add(op);
      try {
        await commit(op);
        for (const item of batch) item.done.resolve();
      } catch (error) {
        for (const item of batch) item.done.reject(error);
      }
    }
    this.#committing = undefined;
  }

  /** Newest `limit` entries under `prefix` at or after `since`, returned oldest first. */
  async #history<T extends StoredMessage>(
    prefix: Deno.KvKey,
    query: HistoryQuery,
    filter?: (value: T) => boolean,
  ): Promise<T[]> {
    const out: T[] = [];
    for await (const entry of this.#kv.list<T>({ prefix }, { reverse: true })) {
      if (query.since !== undefined && entry.value.at < query.since) break;
      if (filter && !filter(entry.value)) continue;
      out.push(entry.value);
      if (out.length >= query.limit) break;
    }
    return out.reverse();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#committing) await this.#committing; // nothing accepted is left unwritten
    this.#kv.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
