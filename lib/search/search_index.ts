/**
 * The full-text index of everything said and posted: an SQLite FTS5 table (built into Deno's
 * `node:sqlite`) beside a table of what each entry is, where and by whom. It is derived data: a
 * file under the data directory that the search service fills from the store, and that can be
 * deleted and rebuilt at any time.
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { PRIVATE_FILE_MODE } from "../store/data_dir.ts";

/** Creates `path` readable by its owner only, unless it exists (then makes it so). */
function createPrivate(path: string): void {
  try {
    Deno.openSync(path, { write: true, createNew: true, mode: PRIVATE_FILE_MODE }).close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  if (Deno.build.os !== "windows") Deno.chmodSync(path, PRIVATE_FILE_MODE);
}

/** What kind of thing an entry is. */
export type DocKind =
  /** A broadcast. */
  | "b"
  /** A private message. */
  | "p"
  /** A room message. */
  | "r"
  /** A channel message. */
  | "c"
  /** A forum post. */
  | "t"
  /** A forum file (its name is its text). */
  | "f";

/** One entry of the index. */
export interface SearchDoc {
  /** Unique and stable: `b:12`, `p:yoda:3`, `r:2:5`, `c:#networks:7`, `t:4:19`, `f:4:20`. */
  readonly key: string;
  readonly kind: DocKind;
  /** The room id, the channel's folded name, or the thread's name; empty for broadcasts. */
  readonly place: string;
  /** Its number where it is: broadcast #, mailbox #, room or channel #, post number. */
  readonly number: number;
  readonly sender: string;
  /** A private message's recipient; a file's name. */
  readonly peer: string;
  readonly at: number;
  readonly text: string;
}

/** Who is asking, and what they may read besides broadcasts and the forum. */
export interface Reader {
  /** Folded name: their own private messages. */
  readonly user: string;
  /** Rooms they are a member of. */
  readonly rooms: readonly number[];
  /** Channels (folded names) they may read. */
  readonly channels: readonly string[];
}

/** What to look for, besides the words. */
export interface SearchFilter {
  readonly kinds?: readonly DocKind[];
  readonly place?: string;
  /** Folded name: private messages with this user. */
  readonly peer?: string;
  /** Folded name of the sender. */
  readonly sender?: string;
  readonly after?: number;
  readonly before?: number;
}

/** A match, newest first, with the matched words marked in its snippet. */
export interface SearchHit extends Omit<SearchDoc, "text"> {
  readonly snippet: string;
}

/** Entries one millisecond's id range holds (see `put`). */
const IDS_PER_MS = 1024;

/** Marks around matched words in snippets. */
export const MARK_START = "[";
export const MARK_END = "]";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  place TEXT NOT NULL,
  number INTEGER NOT NULL,
  sender TEXT NOT NULL,
  sender_f TEXT NOT NULL,
  peer TEXT NOT NULL,
  peer_f TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_at ON docs(at);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** The index file of one server (or node). Close it when done. */
export class SearchIndex implements Disposable {
  readonly #db: DatabaseSync;
  readonly #fold: (name: string) => string;
  readonly #find: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;
  readonly #text: StatementSync;
  readonly #deleteText: StatementSync;
  readonly #textOf: StatementSync;
  readonly #deleteDoc: StatementSync;
  readonly #getMark: StatementSync;
  readonly #idTaken: StatementSync;
  readonly #lastId: StatementSync;
  readonly #setMark: StatementSync;
  #closed = false;

  /** Opens (creating) the index at `path` (`:memory:` for none on disk). */
  constructor(path: string, fold: (name: string) => string) {
    // The file holds private messages' words: the owner's only, as everything in the data
    // directory (SQLite gives its -wal and -shm files the database file's mode).
    if (path !== ":memory:") createPrivate(path);
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    this.#db.exec(SCHEMA);
    this.#fold = fold;
    this.#find = this.#db.prepare("SELECT id FROM docs WHERE key = ?");
    this.#insert = this.#db.prepare(
      `INSERT INTO docs (id, key, kind, place, number, sender, sender_f, peer, peer_f, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#idTaken = this.#db.prepare("SELECT 1 FROM docs WHERE id = ?");
    this.#lastId = this.#db.prepare("SELECT max(id) AS id FROM docs WHERE id >= ? AND id < ?");
    this.#update = this.#db.prepare(
      "UPDATE docs SET place = ?, number = ?, sender = ?, sender_f = ?, peer = ?, peer_f = ?, at = ? WHERE id = ?",
    );
    this.#text = this.#db.prepare("INSERT INTO fts (rowid, text) VALUES (?, ?)");
    this.#deleteText = this.#db.prepare("DELETE FROM fts WHERE rowid = ?");
    this.#textOf = this.#db.prepare("SELECT text FROM fts WHERE rowid = ?");
    this.#deleteDoc = this.#db.prepare("DELETE FROM docs WHERE id = ?");
    this.#getMark = this.#db.prepare("SELECT value FROM marks WHERE name = ?");
    this.#setMark = this.#db.prepare(
      "INSERT INTO marks (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
    );
  }

  /**
   * Opens the index at `path`; one that cannot be opened (damaged, or from elsewhere) is
   * deleted and begun anew, as derived data may be, and `onProblem` is told why.
   */
  static openOrRenew(
    path: string,
    fold: (name: string) => string,
    onProblem: (why: string) => void,
  ): SearchIndex {
    try {
      return new SearchIndex(path, fold);
    } catch (error) {
      onProblem(`Search index ${path} cannot be read (${error}); building it anew`);
      for (const suffix of ["", "-wal", "-shm"]) {
        try {
          Deno.removeSync(path + suffix);
        } catch (removal) {
          if (!(removal instanceof Deno.errors.NotFound)) throw removal;
        }
      }
      return new SearchIndex(path, fold);
    }
  }

  /** Runs `work` in one transaction (much faster for many entries). */
  batch<T>(work: () => T): T {
    this.#db.exec("BEGIN");
    try {
      const result = work();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Adds an entry, or replaces what its key held (an edited post). */
  put(doc: SearchDoc): void {
    const found = this.#find.get(doc.key) as { id: number } | undefined;
    const who = [doc.sender, this.#fold(doc.sender), doc.peer, this.#fold(doc.peer)] as const;
    if (found) {
      this.#update.run(doc.place, doc.number, ...who, doc.at, found.id);
      // Unchanged words are left alone: a thread compared whole rewrites only what was edited.
      const held = this.#textOf.get(found.id) as { text: string } | undefined;
      if (held?.text === doc.text) return;
      this.#deleteText.run(found.id);
      this.#text.run(found.id, doc.text);
      return;
    }
    // Ids follow time (its millisecond, times 1024), so the newest matches come first straight
    // from the full-text index, without sorting them all.
    const first = Math.max(0, Math.floor(doc.at)) * IDS_PER_MS;
    const taken = (this.#lastId.get(first, first + IDS_PER_MS) as { id: number | null }).id;
    let id = taken === null ? first : taken + 1;
    while (this.#idTaken.get(id)) id++; // only when a millisecond held more than its share
    this.#insert.run(id, doc.key, doc.kind, doc.place, doc.number, ...who, doc.at);
    this.#text.run(id, doc.text);
  }

  /** Removes entries by key. */
  remove(keys: Iterable<string>): void {
    for (const key of keys) {
      const found = this.#find.get(key) as { id: number } | undefined;
      if (!found) continue;
      this.#deleteText.run(found.id);
      this.#deleteDoc.run(found.id);
    }
  }

  /** The keys of every entry of these kinds (the forum's, to find what is gone). */
  keysOf(kinds: readonly DocKind[]): Set<string> {
    const rows = this.#db.prepare(
      `SELECT key FROM docs WHERE kind IN (${kinds.map(() => "?").join(",")})`,
    ).all(...kinds) as { key: string }[];
    return new Set(rows.map((r) => r.key));
  }

  /** The keys of every entry whose key starts with `prefix` (one thread's, say). */
  keysStartingWith(prefix: string): Set<string> {
    // A range on the keys' index: everything from the prefix up to the prefix's last character
    // plus one.
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const rows = this.#db.prepare("SELECT key FROM docs WHERE key >= ? AND key < ?")
      .all(prefix, end) as { key: string }[];
    return new Set(rows.map((r) => r.key));
  }

  /** A watermark: how far a log has been indexed (0 when never). */
  mark(name: string): number {
    return (this.#getMark.get(name) as { value: number } | undefined)?.value ?? 0;
  }

  setMark(name: string, value: number): void {
    this.#setMark.run(name, value);
  }

  /** Entries in the index. */
  get size(): number {
    return (this.#db.prepare("SELECT count(*) AS n FROM docs").get() as { n: number }).n;
  }

  /**
   * Matches of `match` (an FTS5 expression of quoted terms) that `reader` may read, newest
   * first: `limit` of them after skipping `offset`.
   */
  search(
    match: string,
    reader: Reader,
    filter: SearchFilter,
    limit: number,
    offset: number,
  ): SearchHit[] {
    const where = [
      "fts MATCH ?",
      `(d.kind IN ('b', 't', 'f')
        OR (d.kind = 'p' AND (d.sender_f = ? OR d.peer_f = ?))
        OR (d.kind = 'r' AND d.place IN (SELECT value FROM json_each(?)))
        OR (d.kind = 'c' AND d.place IN (SELECT value FROM json_each(?))))`,
    ];
    const args: (string | number)[] = [
      match,
      reader.user,
      reader.user,
      JSON.stringify(reader.rooms.map(String)),
      JSON.stringify(reader.channels),
    ];
    if (filter.kinds) {
      where.push(`d.kind IN (${filter.kinds.map(() => "?").join(",")})`);
      args.push(...filter.kinds);
    }
    if (filter.place !== undefined) {
      where.push("d.place = ?");
      args.push(filter.place);
    }
    if (filter.peer !== undefined) {
      where.push("(d.sender_f = ? OR d.peer_f = ?)");
      args.push(filter.peer, filter.peer);
    }
    if (filter.sender !== undefined) {
      where.push("d.sender_f = ?");
      args.push(filter.sender);
    }
    if (filter.after !== undefined) {
      where.push("d.at > ?");
      args.push(filter.after);
    }
    if (filter.before !== undefined) {
      where.push("d.at < ?");
      args.push(filter.before);
    }
    const rows = this.#db.prepare(
      `SELECT d.key, d.kind, d.place, d.number, d.sender, d.peer, d.at,
              snippet(fts, 0, '${MARK_START}', '${MARK_END}', '…', 16) AS snippet
       FROM fts JOIN docs d ON d.id = fts.rowid
       WHERE ${where.join(" AND ")}
       ORDER BY fts.rowid DESC
       LIMIT ? OFFSET ?`,
    ).all(...args, limit, offset) as unknown as SearchHit[];
    return rows.map((r) => ({ ...r }));
  }

  /** Closes the file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
