/**
 * What the server keeps, and the storage ports that keep it: one small interface per area, all
 * implemented by the Deno KV store (embedded) and the Redis store (cluster).
 *
 * Every method that writes resolves only when the write is committed, so a reply sent after it
 * is a promise kept across a crash. User names passed in are canonical (as registered) except
 * where a method says it folds them.
 * @module
 */

import type { PasswordHash } from "../auth/password.ts";
import type { LockoutState } from "../auth/lockout.ts";
import type { ChangeFeedStore } from "./change_feed.ts";

/** A registered account. */
export interface UserRecord {
  /** The name as registered; lookups ignore case. */
  readonly name: string;
  readonly password: PasswordHash;
  /** `admin` only when the operator granted it (`deno task admin user add --admin`). */
  readonly role: "user" | "admin";
  readonly createdAt: number;
}

/** When a user last logged in and out (epoch ms; 0 for never). */
export interface SeenRecord {
  readonly name: string;
  readonly lastLogin: number;
  readonly lastLogout: number;
  /** Where the last session came from: its address, ident and real name (IRC's WHOWAS). */
  readonly ip?: string;
  readonly ident?: string;
  readonly realname?: string;
}

/** One login, as toom's `userlog.txt` records it. */
export interface LoginRecord {
  readonly number: number;
  readonly at: number;
  readonly user: string;
  readonly ip: string;
  /** The UDP port the client reported in that session, once it did. */
  readonly udpPort?: number;
}

/** A stored message of any kind. */
export interface StoredMessage {
  /** Position in its log: broadcast number, room message number, or a global sequence. */
  readonly number: number;
  readonly from: string;
  readonly text: string;
  /** Epoch ms when the server accepted it. */
  readonly at: number;
}

/** A private message, as kept in both users' history and in the recipient's offline queue. */
export interface PrivateMessage extends StoredMessage {
  readonly to: string;
}

/** A separate room with a fixed member set. */
export interface RoomRecord {
  readonly id: number;
  /** Sorted member names, creator included. */
  readonly members: readonly string[];
  readonly creator: string;
  readonly createdAt: number;
}

/** A forum thread. Its id is unique for ever, so a new thread of the same name is another one. */
export interface ThreadRecord {
  readonly id: number;
  readonly name: string;
  readonly creator: string;
  readonly createdAt: number;
}

/** A post in a thread. Its number is its position among the thread's posts, so it renumbers. */
export interface PostItem {
  readonly kind: "post";
  /** Stable id, ordering items in the thread. */
  readonly id: number;
  readonly author: string;
  readonly text: string;
  readonly at: number;
}

/** A file attached to a thread. */
export interface FileItem {
  readonly kind: "file";
  readonly id: number;
  readonly uploader: string;
  /** The name users see; never used as a path. */
  readonly filename: string;
  readonly size: number;
  /** SHA-256, hex. */
  readonly sha256: string;
  /** Id in the blob store. */
  readonly blob: string;
  readonly at: number;
}

/** Something in a thread, in the order it was added. */
export type ThreadItem = PostItem | FileItem;

/**
 * A write whose result (a message and its number) is known before its commit completes: the
 * embedded store numbers at once and commits in groups, the Redis store numbers and commits in
 * one step. Nothing may be acknowledged to a user before `committed` resolves.
 */
export interface Pending<T> {
  readonly value: T;
  readonly committed: Promise<void>;
  /**
   * The request's id had been stored with this message before: `value` is what was stored then,
   * and nothing was stored now.
   */
  readonly repeated?: boolean;
}

/**
 * A request id as the store keeps it: whose request (folded name) and the client's id, so that
 * a retry stores nothing twice (see lib/protocol/request_id.ts).
 */
export interface RequestKey {
  readonly user: string;
  readonly id: string;
}

/** A request id used again for another request than the one stored under it. */
export class RequestIdReusedError extends Error {
  readonly code = "request_id_reused";
  constructor(id: string) {
    super(`Request id ${id} was used for another request already`);
    this.name = "RequestIdReusedError";
  }
}

/** A private message being stored: the sender's copy, and the number of the recipient's. */
export interface PendingPrivate extends Pending<PrivateMessage> {
  /** The number of the recipient's copy, in the recipient's own mailbox (and offline queue). */
  readonly receivedNumber: number;
}

/** Which part of a message log to read. */
export interface HistoryQuery {
  /** Only messages accepted at or after this epoch ms. */
  readonly since?: number;
  /** Only messages accepted before this epoch ms. */
  readonly until?: number;
  /** Only messages numbered below this. */
  readonly before?: number;
  /**
   * Only messages numbered above this; then the oldest `limit` matching messages are read
   * rather than the newest.
   */
  readonly after?: number;
  /** At most this many of the newest (or with `after`, the oldest) matching messages. */
  readonly limit: number;
}

/** Accounts, lockout and the login history. Names given here are folded: any case finds it. */
export interface AccountStore {
  getUser(name: string): Promise<UserRecord | undefined>;
  /** Creates the account unless the name is taken in any case; false when it is. */
  createUser(user: UserRecord): Promise<boolean>;
  /** Replaces an existing account's password or role; false when there is no such account. */
  updateUser(
    name: string,
    change: { readonly password?: PasswordHash; readonly role?: UserRecord["role"] },
  ): Promise<boolean>;
  /** Deletes an account and its lockout state; false when there was none. */
  deleteUser(name: string): Promise<boolean>;
  listUsers(): Promise<UserRecord[]>;

  /**
   * The failed logins of an account from one source address. Failures are counted per account
   * and address, so guesses from elsewhere never lock the owner out of their own address.
   */
  getLockout(name: string, source: string): Promise<LockoutState>;
  /**
   * Changes the lockout state of an account and address in one atomic step (read, `change`,
   * write; again if another process changed it meanwhile), so failures counted at once on several
   * nodes all count. Returns the state written.
   */
  updateLockout(
    name: string,
    source: string,
    change: (state: LockoutState) => LockoutState,
  ): Promise<LockoutState>;
  /** The account's lockout states, one per address that failed (the operator's view). */
  listLockouts(name: string): Promise<LockoutState[]>;
  /** Forgets an account's failed logins from every address (the operator's unlock). */
  clearLockouts(name: string): Promise<void>;
  /**
   * The failed logins of a name that has no account. They are counted like an account's, so a
   * name's existence cannot be told from its lockout, but they are transient: forgotten `ttlMs`
   * after the last change (the embedded store keeps them in memory, bounded; Redis shares them
   * between nodes with an expiry). Atomic like {@linkcode updateLockout}.
   */
  updateGhostLockout(
    name: string,
    change: (state: LockoutState) => LockoutState,
    ttlMs: number,
  ): Promise<LockoutState>;
  getGhostLockout(name: string): Promise<LockoutState>;

  loadSeen(): Promise<Map<string, SeenRecord>>;
  setSeen(record: SeenRecord): Promise<void>;
  /** Appends a login to the login history; returns its number. */
  appendLogin(record: Omit<LoginRecord, "number">): Promise<number>;
  /** Records the UDP port reported during the login numbered `number`. */
  setLoginUdpPort(number: number, udpPort: number): Promise<void>;
  listLogins(): AsyncIterable<LoginRecord>;
}

/** Who blocked whom. */
export interface BlockStore {
  /** Every block: blocker → the users they blocked. */
  loadBlocks(): Promise<Map<string, Set<string>>>;
  setBlocked(blocker: string, blocked: string, on: boolean): Promise<void>;
  /** Whether `blocker` has blocked `blocked`, as stored now. */
  isBlocked(blocker: string, blocked: string): Promise<boolean>;
}

/** Broadcasts, private messages and offline queues. */
export interface MessageStore {
  /**
   * Stores a broadcast, numbered 1, 2, … (group-committed with concurrent writes). With
   * `request`, a second call of the same request stores nothing and returns the first's.
   *
   * @throws {RequestIdReusedError} when `request` was used for another message.
   */
  appendBroadcast(
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>>;
  listBroadcasts(query: HistoryQuery): Promise<StoredMessage[]>;

  /**
   * Stores a private message in both users' history and, if asked, the recipient's offline queue
   * (group-committed with concurrent writes). `request` as for {@linkcode appendBroadcast}.
   */
  appendPrivate(
    from: string,
    to: string,
    text: string,
    at: number,
    queueOffline: boolean,
    request?: RequestKey,
  ): Promise<PendingPrivate>;
  /** A user's private messages, sent and received, optionally with one other user only. */
  listPrivate(user: string, query: HistoryQuery, withUser?: string): Promise<PrivateMessage[]>;
  /** The oldest `limit` messages of a user's offline queue numbered above `after`. */
  listOffline(user: string, after: number, limit: number): Promise<PrivateMessage[]>;
  /** Every broadcast, oldest first (exports). */
  allBroadcasts(): AsyncIterable<StoredMessage>;
  /** Every private message once, oldest first (exports). */
  allPrivate(): AsyncIterable<PrivateMessage>;
  /** Removes the offline messages numbered `upTo` and below: they have reached the user. */
  ackOffline(user: string, upTo: number): Promise<void>;
  /** Removes one offline message: it reached the user live (on another node of a cluster). */
  unqueueOffline(user: string, number: number): Promise<void>;
}

/** Rooms and what is said in them. */
export interface RoomStore {
  /** Creates a room unless one with the same members exists; returns it and whether it is new. */
  createRoom(
    members: readonly string[],
    creator: string,
    at: number,
  ): Promise<{ room: RoomRecord; created: boolean }>;
  listRooms(): Promise<RoomRecord[]>;
  /**
   * Stores a room message, numbered 1, 2, … per room (group-committed with concurrent writes).
   * `request` as for {@linkcode MessageStore.appendBroadcast}.
   */
  appendRoomMessage(
    room: number,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>>;
  listRoomMessages(room: number, query: HistoryQuery): Promise<StoredMessage[]>;
  /** Every message of a room, oldest first (exports). */
  allRoomMessages(room: number): AsyncIterable<StoredMessage>;
}

/** What is said in channels, by the channel's folded name (the channels themselves live in memory). */
export interface ChannelStore {
  /**
   * Stores a channel message, numbered 1, 2, … per channel (group-committed). `request` as for
   * {@linkcode MessageStore.appendBroadcast}.
   */
  appendChannelMessage(
    channel: string,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>>;
  listChannelMessages(channel: string, query: HistoryQuery): Promise<StoredMessage[]>;
}

/**
 * Forum threads, posts and attached files. Writes into a thread take the record read before,
 * and fail (resolve `undefined`/`false`) when that thread has been removed meanwhile, even if a
 * new thread of the same name exists now.
 */
export interface ForumStore {
  /** Creates the thread unless the name is taken; `undefined` when it is. */
  createThread(name: string, creator: string, at: number): Promise<ThreadRecord | undefined>;
  getThread(name: string): Promise<ThreadRecord | undefined>;
  listThreads(): Promise<ThreadRecord[]>;
  /** Everything in a thread, oldest first. */
  listThreadItems(thread: ThreadRecord): Promise<ThreadItem[]>;
  addPost(
    thread: ThreadRecord,
    author: string,
    text: string,
    at: number,
  ): Promise<PostItem | undefined>;
  /** Attaches a file unless the thread is gone or has a file of that name; `undefined` then. */
  addFile(thread: ThreadRecord, file: Omit<FileItem, "id" | "kind">): Promise<FileItem | undefined>;
  editPost(thread: ThreadRecord, post: PostItem, text: string): Promise<boolean>;
  deletePost(thread: ThreadRecord, post: PostItem): Promise<boolean>;
  /**
   * Detaches a file from a live thread and marks its blob for deletion (see
   * {@linkcode forgetDoomedBlobs}); false when the thread or the file is gone already.
   */
  removeFile(thread: ThreadRecord, file: FileItem): Promise<boolean>;
  /**
   * Removes a thread in one atomic step (it is gone for readers and writers at once) and marks
   * its contents for collection; false if it was removed already.
   */
  removeThread(thread: ThreadRecord): Promise<boolean>;
  /**
   * Deletes the contents of removed threads, a batch at a time, turning their files into blob
   * ids to delete. Resumable after a crash; returns the ids to delete.
   */
  collectRemovedThreads(): Promise<string[]>;
  /** Blob ids waiting to be deleted (after a crash between collection and deletion). */
  listDoomedBlobs(): Promise<string[]>;
  /** Forgets blob ids once their files are gone. */
  forgetDoomedBlobs(ids: readonly string[]): Promise<void>;
  /** Every blob id a live thread refers to. */
  listLiveBlobs(): Promise<Set<string>>;
}

/** Messages of the day and the rotation's position. */
export interface MotdStore {
  listMotd(): Promise<string[]>;
  addMotd(text: string): Promise<void>;
  /** Index of the message to show next. */
  getMotdCursor(): Promise<number>;
  setMotdCursor(index: number): Promise<void>;
}

/** A browser's login, as the web front end keeps it (the token itself is never stored). */
export interface WebSessionRecord {
  readonly user: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** A fingerprint of the password hash at login: a new password ends old sessions. */
  readonly passwordMark: string;
}

/** Web sessions by the SHA-256 of their token. */
export interface WebSessionStore {
  putWebSession(id: string, session: WebSessionRecord): Promise<void>;
  getWebSession(id: string): Promise<WebSessionRecord | undefined>;
  deleteWebSession(id: string): Promise<void>;
}

/** All of the server's storage. */
export interface Store
  extends
    AccountStore,
    BlockStore,
    MessageStore,
    RoomStore,
    ChannelStore,
    ChangeFeedStore,
    ForumStore,
    MotdStore,
    WebSessionStore,
    AsyncDisposable {
  close(): Promise<void>;
  /** Whether the store answers now; a store that cannot fail to answer leaves it out. */
  reachable?(): boolean;
}
