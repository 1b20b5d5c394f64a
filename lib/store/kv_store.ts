/**
 * The {@linkcode Store} on Deno KV: one embedded database file under the data directory, created
 * 0600 inside a 0700 directory.
 * @module
 */

import { join } from "node:path";
import type { LockoutState } from "../auth/lockout.ts";
import { NO_FAILURES } from "../auth/lockout.ts";
import type { PasswordHash } from "../auth/password.ts";
import { foldName } from "../protocol/names.ts";
import { type ChangedLog, type FeedChanges, MemoryChangeFeed } from "./change_feed.ts";
import { ensurePrivateDir, makePrivate, touchPrivate } from "./data_dir.ts";
import { GhostLockouts } from "./ghost_lockouts.ts";
import { migrateKv } from "./kv_migrations.ts";
import type {
  FileItem,
  HistoryQuery,
  LoginRecord,
  Pending,
  PendingPrivate,
  PostItem,
  PrivateMessage,
  RequestKey,
  RoomRecord,
  SeenRecord,
  Store,
  StoredMessage,
  ThreadItem,
  ThreadRecord,
  UserRecord,
  WebSessionRecord,
} from "./store.ts";
import { RequestIdReusedError } from "./store.ts";
import { REQUEST_ID_TTL_MS } from "../protocol/request_id.ts";

/** What a request id is remembered with: the message stored (and the recipient's number). */
interface RequestMemo {
  readonly value: StoredMessage;
  readonly received?: number;
}

/** A request id's record: what identifies the request, and what it stored. */
interface StoredRequest extends RequestMemo {
  readonly fingerprint: string;
}

/** File name of the database inside the data directory. */
export const KV_FILE = "labchat.kv";

/** Deno KV allows at most this many mutations in one atomic operation. */
const MAX_MUTATIONS = 500;

/** Most bytes of values in one group commit (Deno KV refuses atomic operations over 800 KiB). */
const BATCH_BYTES = 256 * 1024;

/** Thread items removed per atomic operation (each file takes three mutations). */
const COLLECT_BATCH = 150;

/** An upper bound of a message's stored size (UTF-8 takes at most 3 bytes per UTF-16 unit). */
const sizeOf = (message: { text: string; from: string }): number =>
  (message.text.length + message.from.length) * 3 + 256;

type Counter = "broadcast" | "pm" | "room" | "motd" | "thread_item" | "thread" | "login";

/**
 * Counters (broadcast numbers, room ids, …) are handed out from memory so that concurrent
 * requests never wait on each other, and are persisted with `max` in the same atomic commit as
 * the record that uses them.
 */
class Counters {
  readonly #values = new Map<Counter, number>();
  /** Each user's private-message numbers (their own, so they tell nothing of others' traffic). */
  readonly #mailboxes = new Map<string, number>();

  async load(kv: Deno.Kv): Promise<void> {
    for await (const entry of kv.list<Deno.KvU64>({ prefix: ["counter"] })) {
      this.#values.set(entry.key[1] as Counter, Number(entry.value.value));
    }
    for await (const entry of kv.list<Deno.KvU64>({ prefix: ["pm_seq"] })) {
      this.#mailboxes.set(entry.key[1] as string, Number(entry.value.value));
    }
  }

  /**
   * The next number in `user`'s private messages. A mailbox begins after the numbers shared by
   * everyone before mailboxes had their own, so its order holds.
   */
  nextInMailbox(user: string): number {
    const value = (this.#mailboxes.get(user) ?? this.#values.get("pm") ?? 0) + 1;
    this.#mailboxes.set(user, value);
    return value;
  }

  persistMailbox(op: Deno.AtomicOperation, user: string, value: number): Deno.AtomicOperation {
    return op.max(["pm_seq", user], BigInt(value));
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

/** A commit refused because one of its checks failed (something changed meanwhile). */
class CommitRefused extends Error {
  constructor() {
    super("Cannot store data: database commit was refused");
    this.name = "CommitRefused";
  }
}

async function commit(op: Deno.AtomicOperation): Promise<void> {
  const result = await op.commit();
  if (!result.ok) throw new CommitRefused();
}

/** What opening the store found worth telling the operator. */
export interface OpenedKvStore {
  readonly store: KvStore;
  readonly warnings: string[];
}

/** Opens (creating if needed, with private modes) the database in `dataDir`. */
export async function openKvStore(dataDir: string): Promise<OpenedKvStore> {
  const warning = await ensurePrivateDir(dataDir);
  const path = join(dataDir, KV_FILE);
  // SQLite gives its -wal and -shm files the mode of the database file.
  await touchPrivate(path);
  const kv = await Deno.openKv(path);
  try {
    for (const suffix of ["", "-wal", "-shm"]) await makePrivate(path + suffix);
    await migrateKv(kv);
    const store = new KvStore(kv);
    await store.load();
    return { store, warnings: warning ? [warning] : [] };
  } catch (error) {
    kv.close();
    throw error;
  }
}

/** A {@linkcode Store} backed by Deno KV. Create it with {@linkcode openKvStore}. */
export class KvStore implements Store {
  readonly #kv: Deno.Kv;
  readonly #counters = new Counters();
  /** Failed logins of names without an account: one process, so memory is enough. */
  readonly #ghosts = new GhostLockouts();
  #closed = false;
  /** Last message number of each room, loaded at start and kept in memory. */
  readonly #roomCounts = new Map<number, number>();
  /** Last message number of each channel (by folded name), loaded at start. */
  readonly #channelCounts = new Map<string, number>();
  /** Writes waiting for the next group commit. */
  #batch: {
    add: (op: Deno.AtomicOperation) => void;
    bytes: number;
    /** A key the write checks: two writes checking one key never share a commit. */
    checks?: string;
    done: PromiseWithResolvers<void>;
  }[] = [];
  #committing: Promise<void> | undefined;
  /** Requests with an id being stored now, by user and id: a copy waits for the first. */
  readonly #requests = new Map<string, Promise<void>>();
  /** Settles when the last request id looked up has been stored or answered. */
  #gate: Promise<void> | undefined;
  /** Which logs and threads changed since this store opened (the search index reads it). */
  readonly #feed = new MemoryChangeFeed();
  /** Settles when every group-committed write queued so far has been committed (or failed). */
  #lastQueued: Promise<void> = Promise.resolve();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /** Reads the counters kept in memory. */
  async load(): Promise<void> {
    await this.#counters.load(this.#kv);
    for await (const room of this.#kv.list<RoomRecord>({ prefix: ["room"] })) {
      const last = this.#kv.list<StoredMessage>({ prefix: ["room_msg", room.value.id] }, {
        reverse: true,
        limit: 1,
      });
      for await (const entry of last) this.#roomCounts.set(room.value.id, entry.value.number);
    }
    for await (const entry of this.#kv.list<number>({ prefix: ["chan_last"] })) {
      this.#channelCounts.set(String(entry.key[1]), entry.value);
    }
  }

  // ---- accounts ----

  async getUser(name: string): Promise<UserRecord | undefined> {
    return (await this.#kv.get<UserRecord>(["user", foldName(name)])).value ?? undefined;
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const key = ["user", foldName(user.name)];
    // Group-committed: a login storm of new accounts is not one fsync per account.
    try {
      await this.#groupCommit(
        (op) => op.check({ key, versionstamp: null }).set(key, user),
        JSON.stringify(user).length + 256,
        key.join("\0"),
      );
      return true;
    } catch (error) {
      if (error instanceof CommitRefused) return false; // the name is taken
      throw error;
    }
  }

  async updateUser(
    name: string,
    change: { readonly password?: PasswordHash; readonly role?: UserRecord["role"] },
  ): Promise<boolean> {
    const key = ["user", foldName(name)];
    const entry = await this.#kv.get<UserRecord>(key);
    if (!entry.value) return false;
    const result = await this.#kv.atomic().check(entry).set(key, { ...entry.value, ...change })
      .commit();
    return result.ok || this.updateUser(name, change); // changed meanwhile: apply to the new one
  }

  async deleteUser(name: string): Promise<boolean> {
    const key = ["user", foldName(name)];
    const entry = await this.#kv.get<UserRecord>(key);
    if (!entry.value) return false;
    await commit(this.#kv.atomic().check(entry).delete(key));
    await this.clearLockouts(name);
    return true;
  }

  async listUsers(): Promise<UserRecord[]> {
    const users: UserRecord[] = [];
    for await (const entry of this.#kv.list<UserRecord>({ prefix: ["user"] })) {
      users.push(entry.value);
    }
    return users;
  }

  async getLockout(name: string, source: string): Promise<LockoutState> {
    const key = ["lockout", foldName(name), source];
    return (await this.#kv.get<LockoutState>(key)).value ?? NO_FAILURES;
  }

  async updateLockout(
    name: string,
    source: string,
    change: (state: LockoutState) => LockoutState,
  ): Promise<LockoutState> {
    const key = ["lockout", foldName(name), source];
    for (let attempt = 0; attempt < 100; attempt++) {
      const entry = await this.#kv.get<LockoutState>(key);
      const next = change(entry.value ?? NO_FAILURES);
      const op = this.#kv.atomic().check(entry);
      if (next.failures === 0 && next.blockedUntil === 0) op.delete(key);
      else op.set(key, next);
      if ((await op.commit()).ok) return next;
    }
    throw new Error(`Cannot update the lockout of ${name}: it keeps changing`);
  }

  async listLockouts(name: string): Promise<LockoutState[]> {
    const states: LockoutState[] = [];
    for await (
      const entry of this.#kv.list<LockoutState>({ prefix: ["lockout", foldName(name)] })
    ) {
      states.push(entry.value);
    }
    return states;
  }

  async clearLockouts(name: string): Promise<void> {
    // Before failures were counted per address the key had no address: that goes too.
    const keys: Deno.KvKey[] = [["lockout", foldName(name)]];
    for await (const entry of this.#kv.list({ prefix: ["lockout", foldName(name)] })) {
      keys.push(entry.key);
    }
    for (let i = 0; i < keys.length; i += 500) {
      const op = this.#kv.atomic();
      for (const key of keys.slice(i, i + 500)) op.delete(key);
      await commit(op);
    }
  }

  getGhostLockout(name: string): Promise<LockoutState> {
    return Promise.resolve(this.#ghosts.get(name));
  }

  updateGhostLockout(
    name: string,
    change: (state: LockoutState) => LockoutState,
    ttlMs: number,
  ): Promise<LockoutState> {
    return Promise.resolve(this.#ghosts.update(name, change, ttlMs));
  }

  async loadSeen(): Promise<Map<string, SeenRecord>> {
    const seen = new Map<string, SeenRecord>();
    for await (const entry of this.#kv.list<SeenRecord>({ prefix: ["seen"] })) {
      seen.set(entry.value.name, entry.value);
    }
    return seen;
  }

  async setSeen(record: SeenRecord): Promise<void> {
    await this.#groupCommit((op) => op.set(["seen", record.name], record), 512);
  }

  async appendLogin(record: Omit<LoginRecord, "number">): Promise<number> {
    const number = this.#counters.next("login");
    await this.#groupCommit((op) => {
      op.set(["login", number], { ...record, number });
      this.#counters.persist(op, "login", number);
    }, 512);
    return number;
  }

  async setLoginUdpPort(number: number, udpPort: number): Promise<void> {
    const entry = await this.#kv.get<LoginRecord>(["login", number]);
    if (entry.value) await this.#kv.set(entry.key, { ...entry.value, udpPort });
  }

  async *listLogins(): AsyncIterable<LoginRecord> {
    for await (const entry of this.#kv.list<LoginRecord>({ prefix: ["login"] })) {
      yield entry.value;
    }
  }

  // ---- blocks ----

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

  async isBlocked(blocker: string, blocked: string): Promise<boolean> {
    return (await this.#kv.get(["block", blocker, blocked])).value !== null;
  }

  // ---- messages ----

  appendBroadcast(
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return this.#once<Pending<StoredMessage>>(request, `b\n\n${text}`, (remember) => {
      const message = { number: this.#counters.next("broadcast"), from, text, at };
      const committed = this.#groupCommit((op) => {
        op.set(["broadcast", message.number], message);
        this.#counters.persist(op, "broadcast", message.number);
        remember(op, { value: message });
      }, sizeOf(message) * 2);
      this.#noteWhen(committed, { kind: "broadcast", last: message.number });
      return { value: message, committed };
    }, (record) => ({ value: record.value, committed: Promise.resolve(), repeated: true }));
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
    request?: RequestKey,
  ): Promise<PendingPrivate> {
    return this.#once<PendingPrivate>(request, `p\n${foldName(to)}\n${text}`, (remember) => {
      // Each side's copy is numbered in that side's own mailbox.
      const message = { number: this.#counters.nextInMailbox(from), from, to, text, at };
      const received = { ...message, number: this.#counters.nextInMailbox(to) };
      const committed = this.#groupCommit((op) => {
        op.set(["pm", from, message.number], message).set(["pm", to, received.number], received);
        if (queueOffline) op.set(["offline", to, received.number], received);
        this.#counters.persistMailbox(op, from, message.number);
        this.#counters.persistMailbox(op, to, received.number);
        remember(op, { value: message, received: received.number });
      }, sizeOf(message) * 4);
      this.#noteWhen(committed, { kind: "private", user: from, last: message.number });
      this.#noteWhen(committed, { kind: "private", user: to, last: received.number });
      return { value: message, committed, receivedNumber: received.number };
    }, (record) => ({
      value: record.value as PrivateMessage,
      committed: Promise.resolve(),
      receivedNumber: record.received ?? 0,
      repeated: true,
    }));
  }

  listPrivate(user: string, query: HistoryQuery, withUser?: string): Promise<PrivateMessage[]> {
    const filter = withUser === undefined
      ? undefined
      : (m: PrivateMessage) => m.from === withUser || m.to === withUser;
    return this.#history<PrivateMessage>(["pm", user], query, filter);
  }

  async listOffline(user: string, after: number, limit: number): Promise<PrivateMessage[]> {
    await this.#settled();
    const out: PrivateMessage[] = [];
    const selector = { prefix: ["offline", user], start: ["offline", user, after + 1] };
    for await (const entry of this.#kv.list<PrivateMessage>(selector, { limit })) {
      out.push(entry.value);
    }
    return out;
  }

  async *allBroadcasts(): AsyncIterable<StoredMessage> {
    for await (const entry of this.#kv.list<StoredMessage>({ prefix: ["broadcast"] })) {
      yield entry.value;
    }
  }

  async *allPrivate(): AsyncIterable<PrivateMessage> {
    // Each message is kept under both users; the sender's copy stands for it. Oldest first.
    const all: PrivateMessage[] = [];
    for await (const entry of this.#kv.list<PrivateMessage>({ prefix: ["pm"] })) {
      if (entry.key[1] === entry.value.from) all.push(entry.value);
    }
    yield* all.sort((a, b) => a.at - b.at || a.number - b.number);
  }

  async unqueueOffline(user: string, number: number): Promise<void> {
    await this.#settled(); // the copy may still be on its way in
    await this.#kv.delete(["offline", user, number]);
  }

  async ackOffline(user: string, upTo: number): Promise<void> {
    const selector = { prefix: ["offline", user], end: ["offline", user, upTo + 1] };
    const keys: Deno.KvKey[] = [];
    for await (const entry of this.#kv.list(selector)) keys.push(entry.key);
    await this.#deleteKeys(keys);
  }

  // ---- rooms ----

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

  appendRoomMessage(
    room: number,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return this.#once<Pending<StoredMessage>>(request, `r\n${room}\n${text}`, (remember) => {
      const number = (this.#roomCounts.get(room) ?? 0) + 1;
      this.#roomCounts.set(room, number);
      const message = { number, from, text, at };
      const committed = this.#groupCommit((op) => {
        op.set(["room_msg", room, number], message);
        remember(op, { value: message });
      }, sizeOf(message) * 2);
      this.#noteWhen(committed, { kind: "room", room, last: number });
      return { value: message, committed };
    }, (record) => ({ value: record.value, committed: Promise.resolve(), repeated: true }));
  }

  listRoomMessages(room: number, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#history<StoredMessage>(["room_msg", room], query);
  }

  async *allRoomMessages(room: number): AsyncIterable<StoredMessage> {
    for await (const entry of this.#kv.list<StoredMessage>({ prefix: ["room_msg", room] })) {
      yield entry.value;
    }
  }

  // ---- channels ----

  appendChannelMessage(
    channel: string,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return this.#once<Pending<StoredMessage>>(request, `c\n${channel}\n${text}`, (remember) => {
      const number = (this.#channelCounts.get(channel) ?? 0) + 1;
      this.#channelCounts.set(channel, number);
      const message = { number, from, text, at };
      const committed = this.#groupCommit((op) => {
        op.set(["chan_msg", channel, number], message).set(["chan_last", channel], number);
        remember(op, { value: message });
      }, sizeOf(message) * 2 + channel.length);
      this.#noteWhen(committed, { kind: "channel", channel, last: number });
      return { value: message, committed };
    }, (record) => ({ value: record.value, committed: Promise.resolve(), repeated: true }));
  }

  /**
   * Stores a message once per request id: without `request`, `fresh` stores it (and may
   * `remember` nothing); with one stored already, `repeat` answers from what was stored; the
   * same id in flight waits for it first. The id's record is committed with the message. While
   * an id is looked up, later messages wait their turn, so numbers follow the order of calls.
   *
   * @throws {RequestIdReusedError} when the id was used for another message (`fingerprint`).
   */
  async #once<T extends Pending<unknown>>(
    request: RequestKey | undefined,
    fingerprint: string,
    fresh: (remember: (op: Deno.AtomicOperation, record: RequestMemo) => void) => T,
    repeat: (record: StoredRequest) => T,
  ): Promise<T> {
    const before = this.#gate;
    if (request === undefined && before === undefined) return fresh(() => {});
    let release = () => {};
    const mine = new Promise<void>((resolve) => release = resolve);
    this.#gate = mine;
    try {
      await before;
      if (request === undefined) return fresh(() => {});
      const name = `${foldName(request.user)}\n${request.id}`;
      const key = ["request", foldName(request.user), request.id];
      await this.#requests.get(name)?.catch(() => {});
      const prior = (await this.#kv.get<StoredRequest>(key)).value;
      if (prior) {
        if (prior.fingerprint !== fingerprint) throw new RequestIdReusedError(request.id);
        return repeat(prior);
      }
      const result = fresh((op, record) =>
        op.set(key, { fingerprint, ...record }, { expireIn: REQUEST_ID_TTL_MS })
      );
      const done = result.committed;
      this.#requests.set(name, done);
      done.catch(() => {}).finally(() => {
        if (this.#requests.get(name) === done) this.#requests.delete(name);
      });
      return result;
    } finally {
      release();
      if (this.#gate === mine) this.#gate = undefined;
    }
  }

  listChannelMessages(channel: string, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#history<StoredMessage>(["chan_msg", channel], query);
  }

  listChannelLogs(): Promise<string[]> {
    return Promise.resolve([...this.#channelCounts.keys()]);
  }

  // ---- the change feed ----

  changesSince(after: number): Promise<FeedChanges> {
    return Promise.resolve(this.#feed.changesSince(after));
  }

  /** Notes `log` in the change feed once `committed` resolves (a failed write changed nothing). */
  #noteWhen(committed: Promise<void>, log: ChangedLog): void {
    committed.then(() => this.#feed.note(log), () => {});
  }

  /** Notes a change of `thread` when `ok`; returns `ok`. */
  #threadChanged(thread: ThreadRecord, ok: boolean): boolean {
    if (ok) this.#feed.note({ kind: "thread", thread: thread.id });
    return ok;
  }

  // ---- forum ----

  async createThread(name: string, creator: string, at: number): Promise<ThreadRecord | undefined> {
    const key = ["thread", name];
    const thread: ThreadRecord = {
      id: this.#counters.next("thread"),
      name,
      creator,
      createdAt: at,
    };
    const op = this.#kv.atomic().check({ key, versionstamp: null }).set(key, thread);
    const result = await this.#counters.persist(op, "thread", thread.id).commit();
    return result.ok ? thread : undefined;
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

  async listThreadItems(thread: ThreadRecord): Promise<ThreadItem[]> {
    const items: ThreadItem[] = [];
    for await (const entry of this.#kv.list<ThreadItem>({ prefix: ["thread_item", thread.id] })) {
      items.push(entry.value);
    }
    return items;
  }

  /** The thread's entry if it is still this thread (not removed, not replaced). */
  async #liveThread(thread: ThreadRecord): Promise<Deno.KvEntryMaybe<ThreadRecord> | undefined> {
    const entry = await this.#kv.get<ThreadRecord>(["thread", thread.name]);
    return entry.value?.id === thread.id ? entry : undefined;
  }

  async addPost(
    thread: ThreadRecord,
    author: string,
    text: string,
    at: number,
  ): Promise<PostItem | undefined> {
    const live = await this.#liveThread(thread);
    if (!live) return undefined;
    const post: PostItem = {
      kind: "post",
      id: this.#counters.next("thread_item"),
      author,
      text,
      at,
    };
    const op = this.#kv.atomic().check(live).set(["thread_item", thread.id, post.id], post);
    const result = await this.#counters.persist(op, "thread_item", post.id).commit();
    return this.#threadChanged(thread, result.ok) ? post : undefined;
  }

  async addFile(
    thread: ThreadRecord,
    file: Omit<FileItem, "id" | "kind">,
  ): Promise<FileItem | undefined> {
    const live = await this.#liveThread(thread);
    if (!live) return undefined;
    const item: FileItem = { kind: "file", id: this.#counters.next("thread_item"), ...file };
    const byName = ["thread_file", thread.id, file.filename];
    const op = this.#kv.atomic()
      .check({ key: byName, versionstamp: null })
      .check(live)
      .set(byName, item.id)
      .set(["thread_item", thread.id, item.id], item);
    const result = await this.#counters.persist(op, "thread_item", item.id).commit();
    return this.#threadChanged(thread, result.ok) ? item : undefined;
  }

  async editPost(thread: ThreadRecord, post: PostItem, text: string): Promise<boolean> {
    const live = await this.#liveThread(thread);
    if (!live) return false;
    const key = ["thread_item", thread.id, post.id];
    const current = await this.#kv.get<ThreadItem>(key);
    if (!current.value) return false;
    const result = await this.#kv.atomic().check(live, current).set(key, { ...post, text })
      .commit();
    return this.#threadChanged(thread, result.ok);
  }

  async deletePost(thread: ThreadRecord, post: PostItem): Promise<boolean> {
    const live = await this.#liveThread(thread);
    if (!live) return false;
    const key = ["thread_item", thread.id, post.id];
    const current = await this.#kv.get<ThreadItem>(key);
    if (!current.value) return false;
    const result = await this.#kv.atomic().check(live, current).delete(key).commit();
    return this.#threadChanged(thread, result.ok);
  }

  async removeFile(thread: ThreadRecord, file: FileItem): Promise<boolean> {
    const live = await this.#liveThread(thread);
    if (!live) return false;
    const key = ["thread_item", thread.id, file.id];
    const current = await this.#kv.get<ThreadItem>(key);
    if (!current.value) return false;
    const result = await this.#kv.atomic()
      .check(live, current)
      .delete(key)
      .delete(["thread_file", thread.id, file.filename])
      .set(["gc_blob", file.blob], true)
      .commit();
    return this.#threadChanged(thread, result.ok);
  }

  async removeThread(thread: ThreadRecord): Promise<boolean> {
    const live = await this.#liveThread(thread);
    if (!live) return false;
    const result = await this.#kv.atomic()
      .check(live)
      .delete(["thread", thread.name])
      .set(["thread_removed", thread.id], thread)
      .commit();
    return this.#threadChanged(thread, result.ok);
  }

  async collectRemovedThreads(): Promise<string[]> {
    for await (const marker of this.#kv.list<ThreadRecord>({ prefix: ["thread_removed"] })) {
      const id = marker.value.id;
      while (true) {
        const op = this.#kv.atomic();
        let count = 0;
        const batch = this.#kv.list<ThreadItem>({ prefix: ["thread_item", id] }, {
          limit: COLLECT_BATCH,
        });
        for await (const entry of batch) {
          count++;
          op.delete(entry.key);
          const item = entry.value;
          if (item.kind === "file") {
            op.delete(["thread_file", id, item.filename]).set(["gc_blob", item.blob], true);
          }
        }
        if (count === 0) {
          await this.#kv.delete(marker.key);
          break;
        }
        await commit(op);
      }
    }
    return this.listDoomedBlobs();
  }

  async listDoomedBlobs(): Promise<string[]> {
    const ids: string[] = [];
    for await (const entry of this.#kv.list({ prefix: ["gc_blob"] })) {
      ids.push(entry.key[1] as string);
    }
    return ids;
  }

  forgetDoomedBlobs(ids: readonly string[]): Promise<void> {
    return this.#deleteKeys(ids.map((id) => ["gc_blob", id]));
  }

  async listLiveBlobs(): Promise<Set<string>> {
    const blobs = new Set<string>();
    for await (const entry of this.#kv.list<ThreadItem>({ prefix: ["thread_item"] })) {
      if (entry.value.kind === "file") blobs.add(entry.value.blob);
    }
    return blobs;
  }

  // ---- web sessions ----

  async putWebSession(id: string, session: WebSessionRecord): Promise<void> {
    const expireIn = Math.max(1000, session.expiresAt - Date.now());
    await this.#kv.set(["web_session", id], session, { expireIn });
  }

  async getWebSession(id: string): Promise<WebSessionRecord | undefined> {
    return (await this.#kv.get<WebSessionRecord>(["web_session", id])).value ?? undefined;
  }

  async deleteWebSession(id: string): Promise<void> {
    await this.#kv.delete(["web_session", id]);
  }

  // ---- message of the day ----

  async listMotd(): Promise<string[]> {
    const texts: string[] = [];
    for await (const entry of this.#kv.list<string>({ prefix: ["motd"] })) texts.push(entry.value);
    return texts;
  }

  async addMotd(text: string): Promise<void> {
    const n = this.#counters.next("motd");
    await commit(this.#counters.persist(this.#kv.atomic().set(["motd", n], text), "motd", n));
  }

  async getMotdCursor(): Promise<number> {
    return (await this.#kv.get<number>(["meta", "motd_cursor"])).value ?? 0;
  }

  async setMotdCursor(index: number): Promise<void> {
    await this.#kv.set(["meta", "motd_cursor"], index);
  }

  // ---- machinery ----

  async #deleteKeys(keys: readonly Deno.KvKey[]): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_MUTATIONS) {
      const op = this.#kv.atomic();
      for (const key of keys.slice(i, i + MAX_MUTATIONS)) op.delete(key);
      await commit(op);
    }
  }

  /**
   * Group commit: while one atomic commit is under way, new writes gather and go in the next,
   * so the commit rate (an fsync each) does not bound the message rate.
   */
  #groupCommit(
    add: (op: Deno.AtomicOperation) => void,
    bytes: number,
    checks?: string,
  ): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#batch.push({ add, bytes, checks, done });
    this.#lastQueued = done.promise.catch(() => {});
    this.#committing ??= this.#drainBatches();
    return done.promise;
  }

  /** Waits for the writes queued so far, so a read sees every write acknowledged before it. */
  #settled(): Promise<void> {
    return this.#lastQueued;
  }

  async #drainBatches(): Promise<void> {
    while (this.#batch.length > 0) {
      // Stay well inside Deno KV's limits per atomic operation (mutations and total size).
      // A check sees the state before the whole commit: two writes checking one key (the same
      // new account name) in one commit would both pass, so the second waits for the next.
      let count = 0;
      let bytes = 0;
      const checked = new Set<string>();
      while (
        count < Math.min(100, this.#batch.length) &&
        (count === 0 || bytes + this.#batch[count].bytes <= BATCH_BYTES)
      ) {
        const checks = this.#batch[count].checks;
        if (checks !== undefined) {
          if (checked.has(checks)) break;
          checked.add(checks);
        }
        bytes += this.#batch[count++].bytes;
      }
      const batch = this.#batch.splice(0, count);
      const op = this.#kv.atomic();
      for (const item of batch) item.add(op);
      try {
        await commit(op);
        for (const item of batch) item.done.resolve();
      } catch (error) {
        if (!(error instanceof CommitRefused) || batch.length === 1) {
          for (const item of batch) item.done.reject(error);
          continue;
        }
        // A check failed (a name taken meanwhile): each write alone, so only that one fails.
        for (const item of batch) {
          const alone = this.#kv.atomic();
          item.add(alone);
          await commit(alone).then(() => item.done.resolve(), (e) => item.done.reject(e));
        }
      }
    }
    this.#committing = undefined;
  }

  /**
   * Entries under `prefix` (keyed by number) within the query, oldest first: the newest `limit`
   * of them, or with `after`, the oldest `limit` numbered above it.
   */
  async #history<T extends StoredMessage>(
    prefix: Deno.KvKey,
    query: HistoryQuery,
    filter?: (value: T) => boolean,
  ): Promise<T[]> {
    await this.#settled();
    const out: T[] = [];
    const forward = query.after !== undefined;
    if (
      query.after !== undefined && query.before !== undefined && query.after + 1 >= query.before
    ) {
      return [];
    }
    const start = query.after === undefined ? undefined : [...prefix, query.after + 1];
    const end = query.before === undefined ? undefined : [...prefix, query.before];
    // Deno KV takes a prefix with one bound, or both bounds (which lie inside the prefix).
    const selector: Deno.KvListSelector = start && end
      ? { start, end }
      : start
      ? { prefix, start }
      : end
      ? { prefix, end }
      : { prefix };
    for await (const entry of this.#kv.list<T>(selector, { reverse: !forward })) {
      const at = entry.value.at;
      if (query.since !== undefined && at < query.since) {
        if (forward) continue;
        break;
      }
      if (query.until !== undefined && at >= query.until) {
        if (forward) break;
        continue;
      }
      if (filter && !filter(entry.value)) continue;
      out.push(entry.value);
      if (out.length >= query.limit) break;
    }
    return forward ? out : out.reverse();
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
