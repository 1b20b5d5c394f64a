/**
 * What the server keeps, and the interface of the storage that keeps it.
 * @module
 */

import type { PasswordHash } from "../auth/password.ts";
import type { LockoutState } from "../auth/lockout.ts";

/** A registered account. */
export interface UserRecord {
  readonly name: string;
  readonly password: PasswordHash;
  readonly role: "user" | "admin";
  readonly createdAt: number;
}

/** When a user last logged in and out (epoch ms; 0 for never). */
export interface SeenRecord {
  readonly name: string;
  readonly lastLogin: number;
  readonly lastLogout: number;
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

/** A forum thread. */
export interface ThreadRecord {
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
 * A write whose result is known at once (a message and its number) and whose commit completes
 * later. Nothing may be acknowledged to a user before `committed` resolves.
 */
export interface Pending<T> {
  readonly value: T;
  readonly committed: Promise<void>;
}

/** Limits for reading a history. */
export interface HistoryQuery {
  /** Only messages at or after this epoch ms. */
  readonly since?: number;
  /** At most this many of the newest matching messages. */
  readonly limit: number;
}

/**
 * Durable storage of the server. Every method that writes resolves only when the write is
 * committed, so a reply sent after it is a promise kept across a crash.
 */
export interface Store extends AsyncDisposable {
  getUser(name: string): Promise<UserRecord | undefined>;
  /** Creates the account unless the name is taken; false when it is. */
  createUser(user: UserRecord): Promise<boolean>;
  setPassword(name: string, password: PasswordHash): Promise<void>;

  getLockout(name: string): Promise<LockoutState>;
  setLockout(name: string, state: LockoutState): Promise<void>;

  /** Every block: blocker → the users they blocked. */
  loadBlocks(): Promise<Map<string, Set<string>>>;
  setBlocked(blocker: string, blocked: string, on: boolean): Promise<void>;

  loadSeen(): Promise<Map<string, SeenRecord>>;
  setSeen(record: SeenRecord): Promise<void>;

  /** Stores a broadcast, numbered 1, 2, … (group-committed with concurrent writes). */
  appendBroadcast(from: string, text: string, at: number): Pending<StoredMessage>;
  listBroadcasts(query: HistoryQuery): Promise<StoredMessage[]>;

  /**
   * Stores a private message in both users' history and, if asked, the recipient's offline queue
   * (group-committed with concurrent writes).
   */
  appendPrivate(
    from: string,
    to: string,
    text: string,
    at: number,
    queueOffline: boolean,
  ): Pending<PrivateMessage>;
  /** A user's private messages, sent and received, optionally with one other user only. */
  listPrivate(user: string, query: HistoryQuery, withUser?: string): Promise<PrivateMessage[]>;
  /** Removes and returns the user's offline queue, oldest first. */
  takeOffline(user: string): Promise<PrivateMessage[]>;

  /** Creates a room unless one with the same members exists; returns it and whether it is new. */
  createRoom(
    members: readonly string[],
    creator: string,
    at: number,
  ): Promise<{ room: RoomRecord; created: boolean }>;
  listRooms(): Promise<RoomRecord[]>;
  /** Stores a room message, numbered 1, 2, … per room (group-committed with concurrent writes). */
  appendRoomMessage(room: number, from: string, text: string, at: number): Pending<StoredMessage>;
  listRoomMessages(room: number, query: HistoryQuery): Promise<StoredMessage[]>;

  /** Creates the thread unless the name is taken; false when it is. */
  createThread(thread: ThreadRecord): Promise<boolean>;
  getThread(name: string): Promise<ThreadRecord | undefined>;
  listThreads(): Promise<ThreadRecord[]>;
  /** Everything in a thread, oldest first. */
  listThreadItems(thread: string): Promise<ThreadItem[]>;
  addPost(thread: string, author: string, text: string, at: number): Promise<PostItem>;
  /** Attaches a file unless one with that name is in the thread; false when it is. */
  addFile(thread: string, file: Omit<FileItem, "id" | "kind">): Promise<FileItem | undefined>;
  /** Replaces a post's text. */
  editPost(thread: string, post: PostItem, text: string): Promise<void>;
  deletePost(thread: string, post: PostItem): Promise<void>;
  /** Removes a thread and everything in it; returns what it held (to delete the blobs). */
  removeThread(thread: string): Promise<ThreadItem[]>;

  listMotd(): Promise<string[]>;
  addMotd(text: string): Promise<void>;
  /** Index of the next message of the day to show, kept across restarts. */
  nextMotdIndex(): Promise<number>;

  close(): Promise<void>;
}
