/**
 * The store's change feed: which message logs and forum threads changed since a position, so a
 * reader that keeps something derived from them (the search index) reads only those again, on
 * every node of a cluster alike. A log appears once, with the number of its last message; the
 * position only grows while the feed's `epoch` stays the same. A new epoch (a new embedded
 * store, a Redis that lost its data) means the positions read before mean nothing: read all.
 * @module
 */

/** A log or thread that changed, as the feed names it. */
export type ChangedLog =
  | { readonly kind: "broadcast"; readonly last: number }
  /** A user's mailbox: what they sent and what they got. */
  | { readonly kind: "private"; readonly user: string; readonly last: number }
  | { readonly kind: "room"; readonly room: number; readonly last: number }
  /** A channel, by its folded name. */
  | { readonly kind: "channel"; readonly channel: string; readonly last: number }
  /** A forum thread, by id: a post or file added, edited, deleted, or the thread removed. */
  | { readonly kind: "thread"; readonly thread: number };

/** The changes after a position, and the position they reach. */
export interface FeedChanges {
  readonly epoch: string;
  /** The feed's position now: pass it to read the changes after these. */
  readonly head: number;
  readonly changed: readonly ChangedLog[];
}

/** The part of a store that tells what changed. */
export interface ChangeFeedStore {
  /** What changed after position `after` (of the same epoch), and the position now. */
  changesSince(after: number): Promise<FeedChanges>;
  /** The folded names of the channels that have stored messages. */
  listChannelLogs(): Promise<string[]>;
}

/** A changed log as one string (a Redis member, a map key): `b`, `p:NAME`, `r:ID`, `c:#NAME`, `t:ID`. */
export function feedMember(log: ChangedLog): string {
  switch (log.kind) {
    case "broadcast":
      return "b";
    case "private":
      return `p:${log.user}`;
    case "room":
      return `r:${log.room}`;
    case "channel":
      return `c:${log.channel}`;
    case "thread":
      return `t:${log.thread}`;
  }
}

/** The changed log a member names, with the last number kept beside it; `undefined` if none. */
export function parseFeedMember(member: string, last: number): ChangedLog | undefined {
  if (member === "b") return { kind: "broadcast", last };
  const rest = member.slice(2);
  switch (member.slice(0, 2)) {
    case "p:":
      return rest === "" ? undefined : { kind: "private", user: rest, last };
    case "r:":
      return /^\d+$/.test(rest) ? { kind: "room", room: Number(rest), last } : undefined;
    case "c:":
      return rest === "" ? undefined : { kind: "channel", channel: rest, last };
    case "t:":
      return /^\d+$/.test(rest) ? { kind: "thread", thread: Number(rest) } : undefined;
  }
  return undefined;
}

/**
 * The feed of a store with one writer (the embedded store, locked to one server), kept in
 * memory: every start is a new epoch. Changes are noted once committed.
 */
export class MemoryChangeFeed {
  readonly epoch: string = crypto.randomUUID();
  #head = 0;
  /** Member → position of its last change and its last number. */
  readonly #changes = new Map<string, { at: number; log: ChangedLog }>();

  /** Notes that `log` changed (after its write committed). */
  note(log: ChangedLog): void {
    const member = feedMember(log);
    const previous = this.#changes.get(member)?.log;
    // Commits may finish out of order: a log's last number never goes back.
    const kept = previous && "last" in previous && "last" in log && previous.last > log.last
      ? previous
      : log;
    // Delete first, so the map stays in the order of positions.
    this.#changes.delete(member);
    this.#changes.set(member, { at: ++this.#head, log: kept });
  }

  /** What changed after `after`. */
  changesSince(after: number): FeedChanges {
    const changed: ChangedLog[] = [];
    if (after < this.#head) {
      for (const { at, log } of this.#changes.values()) if (at > after) changed.push(log);
    }
    return { epoch: this.epoch, head: this.#head, changed };
  }
}
