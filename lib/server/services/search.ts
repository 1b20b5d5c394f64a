/**
 * SEARCH: the full-text index kept up with the store, and the answers a user may see. The index
 * is derived data. What this server stores is indexed at once; before each search and every few
 * seconds it reads the store's change feed and catches up the logs that changed (broadcasts, a
 * user's mailbox, a room, a channel) past their watermarks, and the forum threads that changed,
 * compared whole. At start it catches up every log. So it is never behind what a search could
 * read, it recovers by itself after a crash, and every node of a cluster, reading the same
 * Redis, answers the same.
 * @module
 */

import { join } from "node:path";
import { foldChannel, foldName } from "../../protocol/names.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import type { HitPlace, SearchHitView } from "../../protocol/reply_data.ts";
import type {
  DocKind,
  Reader,
  SearchDoc,
  SearchFilter,
  SearchHit,
  SearchIndex,
} from "../../search/search_index.ts";
import type { SearchQuery } from "../../search/search_query.ts";
import type { ChangedLog } from "../../store/change_feed.ts";
import type {
  PrivateMessage,
  Store,
  StoredMessage,
  ThreadItem,
  ThreadRecord,
} from "../../store/store.ts";
import type { StoredEntry } from "./messages.ts";
import type { Logger } from "../context.ts";
import type { ChannelService } from "./channels.ts";
import type { RoomService } from "./rooms.ts";

/** Results per page. */
export const SEARCH_PAGE = 20;
/** Log entries read from the store per request while catching up. */
const READ_PAGE = 1000;
/** How long messages stored here wait to be indexed together. */
const FLUSH_AFTER_MS = 50;
/** How many waiting entries are indexed at once, without waiting longer. */
const FLUSH_AT = 2000;
/** How often the index catches up by itself, besides before each search. */
const SYNC_EVERY_MS = 10_000;

/** The file the index lives in: one per node of a cluster (they share the data directory). */
export function searchIndexPath(dataDir: string, node?: string): string {
  return join(dataDir, node === undefined ? "search.sqlite" : `search-${node}.sqlite`);
}

/** A page of results. */
export interface SearchPage {
  readonly hits: readonly SearchHit[];
  /** Whether there are more after this page. */
  readonly more: boolean;
}

/** The search of one server. */
export class SearchService {
  readonly #index: SearchIndex;
  readonly #store: Store;
  readonly #rooms: RoomService;
  readonly #channels: ChannelService;
  readonly #log: Logger;
  #syncing: Promise<void> | undefined;
  #closed = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Where this index stands in the store's change feed; unset until the first catch-up. */
  #feed: { epoch: string; head: number } | undefined;
  /**
   * Per numbered log: its watermark (every number up to it is indexed, or had nothing to index)
   * and the numbers indexed above it, as messages stored here were indexed at once.
   */
  readonly #logs = new Map<string, { mark: number; above: Set<number> }>();
  /** Messages stored here, waiting to be indexed in one transaction. */
  #queued: { log: string; number: number; doc?: SearchDoc }[] = [];

  constructor(
    index: SearchIndex,
    store: Store,
    rooms: RoomService,
    channels: ChannelService,
    log: Logger,
  ) {
    this.#index = index;
    this.#store = store;
    this.#rooms = rooms;
    this.#channels = channels;
    this.#log = log;
  }

  /** Catches up now and then every few seconds, until closed. */
  start(): void {
    const background = () =>
      void this.sync().catch((error) => this.#log.warn(`Search index behind: ${error}`));
    background();
    this.#timer = setInterval(background, SYNC_EVERY_MS);
  }

  /**
   * Indexes a message stored on this server within 50 ms (in one transaction with the others
   * stored meanwhile), so searching never has to read it back from the store.
   */
  note(entry: StoredEntry): void {
    // Stored after the index closed (a request finishing during shutdown): the next start's
    // catch-up indexes it, and no timer outlives the close.
    if (this.#closed) return;
    // Gathered for a moment: one transaction for many messages is much cheaper (the full-text
    // index writes a segment per transaction), and a search flushes what is waiting first.
    if (this.#queued.length >= FLUSH_AT) this.#flushQueued();
    this.#flushTimer ??= setTimeout(() => this.#flushQueued(), FLUSH_AFTER_MS);
    if (entry.kind === "private") {
      const pm = entry.message;
      // The recipient's copy has its own number in its mailbox: nothing more to index.
      const recipientCopy = { log: `p:${foldName(pm.to)}`, number: entry.receivedNumber };
      this.#queued.push({ log: `p:${foldName(pm.from)}`, number: pm.number, doc: privateDoc(pm) });
      this.#queued.push(recipientCopy);
      return;
    }
    const m = entry.message;
    const [log, doc] = entry.kind === "broadcast"
      ? ["b", broadcastDoc(m)]
      : entry.kind === "room"
      ? [`r:${entry.room}`, roomDoc(entry.room, m)]
      : [`c:${entry.channel}`, channelDoc(entry.channel, m)];
    this.#queued.push({ log, number: m.number, doc });
  }

  #flushQueued(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const queued = this.#queued;
    this.#queued = [];
    if (this.#closed) return;
    try {
      this.#index.batch(() => {
        const moved = new Set<string>();
        for (const { log, number, doc } of queued) {
          if (this.#handle(log, number, doc)) moved.add(log);
        }
        for (const log of moved) this.#index.setMark(log, this.#logState(log).mark);
      });
    } catch (error) {
      this.#forget();
      this.#log.warn(`Search index: cannot index what was just stored (caught up later): ${error}`);
    }
  }

  /**
   * After a transaction failed, what memory says was indexed may not be: the watermarks are read
   * again and the next catch-up reads every log.
   */
  #forget(): void {
    this.#logs.clear();
    this.#feed = undefined;
  }

  /** The state of a numbered log, read from the index the first time. */
  #logState(log: string): { mark: number; above: Set<number> } {
    let state = this.#logs.get(log);
    if (!state) this.#logs.set(log, state = { mark: this.#index.mark(log), above: new Set() });
    return state;
  }

  /**
   * Indexes message `number` of `log` (or notes it had nothing to index) unless done already;
   * whether the watermark moved (the caller writes it).
   */
  #handle(log: string, number: number, doc: SearchDoc | undefined): boolean {
    const state = this.#logState(log);
    if (number <= state.mark || state.above.has(number)) return false;
    if (doc) this.#index.put(doc);
    state.above.add(number);
    const before = state.mark;
    while (state.above.delete(state.mark + 1)) state.mark++;
    return state.mark !== before;
  }

  /** Brings the index up to what the store holds (one catch-up at a time). */
  sync(): Promise<void> {
    this.#syncing ??= this.#syncNow().finally(() => this.#syncing = undefined);
    return this.#syncing;
  }

  /**
   * Reads the store's change feed after where this index stands and catches up what changed;
   * all of it the first time (a start, after a crash) and when the feed began anew.
   */
  async #syncNow(): Promise<void> {
    this.#flushQueued();
    const changes = await this.#store.changesSince(this.#feed?.head ?? 0);
    if (changes.epoch !== this.#feed?.epoch) {
      await this.#catchUpAll();
    } else {
      let threads: Promise<ThreadRecord[]> | undefined;
      for (const log of changes.changed) {
        if (this.#closed) return;
        if (log.kind !== "thread") await this.#catchUp(log);
        else await this.#catchUpThread(log.thread, await (threads ??= this.#store.listThreads()));
      }
    }
    this.#feed = { epoch: changes.epoch, head: changes.head };
  }

  /** Every log and thread, each past its watermark; the forum compared whole. */
  async #catchUpAll(): Promise<void> {
    await this.#catchUp({ kind: "broadcast", last: Infinity });
    for (const user of await this.#store.listUsers()) {
      await this.#catchUp({ kind: "private", user: user.name, last: Infinity });
    }
    for (const room of await this.#store.listRooms()) {
      await this.#catchUp({ kind: "room", room: room.id, last: Infinity });
    }
    const channels = new Set([...await this.#store.listChannelLogs(), ...this.#channels.names()]);
    for (const channel of channels) {
      await this.#catchUp({ kind: "channel", channel, last: Infinity });
    }
    const docs: SearchDoc[] = [];
    for (const thread of await this.#store.listThreads()) {
      docs.push(...threadDocs(thread, await this.#store.listThreadItems(thread)));
    }
    this.#replace(this.#index.keysOf(["t", "f"]), docs);
  }

  /** Indexes what one changed log or thread holds that the index does not. */
  async #catchUp(log: ChangedLog): Promise<void> {
    switch (log.kind) {
      case "broadcast":
        return await this.#follow(
          "b",
          log.last,
          (after) => this.#store.listBroadcasts({ after, limit: READ_PAGE }),
          broadcastDoc,
        );
      case "private": {
        const owner = foldName(log.user);
        // A mailbox holds both sides: each message is indexed once, from its sender's copy.
        return await this.#follow(
          `p:${owner}`,
          log.last,
          (after) => this.#store.listPrivate(log.user, { after, limit: READ_PAGE }),
          (m) => foldName(m.from) !== owner ? undefined : privateDoc(m),
        );
      }
      case "room":
        return await this.#follow(
          `r:${log.room}`,
          log.last,
          (after) => this.#store.listRoomMessages(log.room, { after, limit: READ_PAGE }),
          (m) => roomDoc(log.room, m),
        );
      case "channel":
        return await this.#follow(
          `c:${log.channel}`,
          log.last,
          (after) => this.#store.listChannelMessages(log.channel, { after, limit: READ_PAGE }),
          (m) => channelDoc(log.channel, m),
        );
      case "thread":
        return await this.#catchUpThread(log.thread, await this.#store.listThreads());
    }
  }

  /**
   * A thread changes in place (edits, deletions renumber posts, removal): it is compared whole.
   * `threads` are the forum's threads now.
   */
  async #catchUpThread(id: number, threads: readonly ThreadRecord[]): Promise<void> {
    const thread = threads.find((t) => t.id === id);
    const items = thread ? await this.#store.listThreadItems(thread) : [];
    const held = new Set([
      ...this.#index.keysStartingWith(`t:${id}:`),
      ...this.#index.keysStartingWith(`f:${id}:`),
    ]);
    this.#replace(held, thread ? threadDocs(thread, items) : []);
  }

  /** Puts `docs` in the index and removes the keys of `held` that are not among them. */
  #replace(held: Set<string>, docs: readonly SearchDoc[]): void {
    this.#index.batch(() => {
      for (const doc of docs) {
        held.delete(doc.key);
        this.#index.put(doc);
      }
      this.#index.remove(held);
    });
  }

  /**
   * Indexes a numbered log past its watermark, a page at a time, skipping what was indexed as
   * it was stored, unless the watermark is at `last` already. What the store holds up to the
   * last number read is then all indexed: the watermark moves there (a number a failed write
   * used is never filled in).
   */
  async #follow<T extends { number: number }>(
    log: string,
    last: number,
    read: (after: number) => Promise<T[]>,
    docOf: (message: T) => SearchDoc | undefined,
  ): Promise<void> {
    while (!this.#closed) {
      const state = this.#logState(log);
      if (state.mark >= last) return;
      const page = await read(state.mark);
      if (page.length === 0 || this.#closed) return;
      try {
        this.#indexPage(log, state, page, docOf);
      } catch (error) {
        this.#forget();
        throw error;
      }
      if (page.length < READ_PAGE) return;
    }
  }

  /** Indexes a page read from a log, in one transaction, and moves the watermark past it. */
  #indexPage<T extends { number: number }>(
    log: string,
    state: { mark: number; above: Set<number> },
    page: readonly T[],
    docOf: (message: T) => SearchDoc | undefined,
  ): void {
    this.#index.batch(() => {
      for (const message of page) {
        if (message.number > state.mark && !state.above.has(message.number)) {
          const doc = docOf(message);
          if (doc) this.#index.put(doc);
        }
      }
      const newest = page[page.length - 1].number;
      if (newest > state.mark) {
        state.mark = newest;
        for (const number of state.above) if (number <= newest) state.above.delete(number);
        this.#index.setMark(log, newest);
      }
    });
  }

  /**
   * The page of results `query` asks for that `user` may read: broadcasts, the forum, their own
   * private messages, their rooms, the channels they are in and the public ones.
   */
  async search(user: string, query: SearchQuery): Promise<SearchPage> {
    await this.sync();
    const reader: Reader = {
      user: foldName(user),
      rooms: this.#rooms.forMember(user).map((r) => r.id),
      channels: this.#channels.names().filter((name) => {
        const view = this.#channels.view(name);
        return view !== undefined && (!view.secret || this.#channels.isMember(name, user));
      }),
    };
    const filter = filterOf(query);
    const offset = (query.page - 1) * SEARCH_PAGE;
    const hits = this.#index.search(query.match, reader, filter, SEARCH_PAGE + 1, offset);
    return { hits: hits.slice(0, SEARCH_PAGE), more: hits.length > SEARCH_PAGE };
  }

  /** Stops catching up and closes the index. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#syncing?.catch(() => {});
    this.#flushQueued();
    this.#closed = true;
    this.#index.close();
  }
}

/** The entries of a thread: its posts, numbered as THREAD READ numbers them, and its files. */
function threadDocs(thread: ThreadRecord, items: readonly ThreadItem[]): SearchDoc[] {
  const docs: SearchDoc[] = [];
  let post = 0;
  for (const item of items) {
    const common = { place: thread.name, at: item.at };
    if (item.kind === "post") {
      post++;
      docs.push({
        ...common,
        key: `t:${thread.id}:${item.id}`,
        kind: "t",
        number: post,
        sender: item.author,
        peer: "",
        text: item.text,
      });
    } else {
      docs.push({
        ...common,
        key: `f:${thread.id}:${item.id}`,
        kind: "f",
        number: 0,
        sender: item.uploader,
        peer: item.filename,
        // The name's words are what is searched: "iperf_results.txt" finds "iperf".
        text: item.filename.replace(/[_.-]+/g, " "),
      });
    }
  }
  return docs;
}

function broadcastDoc(m: StoredMessage): SearchDoc {
  const { number, from, at, text } = m;
  return { key: `b:${number}`, kind: "b", place: "", number, sender: from, peer: "", at, text };
}

/** A private message, from its sender's copy (numbered in the sender's mailbox). */
function privateDoc(m: PrivateMessage): SearchDoc {
  return {
    key: `p:${foldName(m.from)}:${m.number}`,
    kind: "p",
    place: "",
    number: m.number,
    sender: m.from,
    peer: m.to,
    at: m.at,
    text: m.text,
  };
}

function roomDoc(room: number, m: StoredMessage): SearchDoc {
  const { number, from, at, text } = m;
  return {
    key: `r:${room}:${number}`,
    kind: "r",
    place: String(room),
    number,
    sender: from,
    peer: "",
    at,
    text,
  };
}

function channelDoc(channel: string, m: StoredMessage): SearchDoc {
  const { number, from, at, text } = m;
  return {
    key: `c:${channel}:${number}`,
    kind: "c",
    place: channel,
    number,
    sender: from,
    peer: "",
    at,
    text,
  };
}

/** The index's filter for a query's scope, sender and times. */
function filterOf(query: SearchQuery): SearchFilter {
  const base: SearchFilter = {
    sender: query.from === undefined ? undefined : foldName(query.from),
    after: query.after,
    before: query.before,
  };
  const scope = query.scope;
  switch (scope?.kind) {
    case undefined:
      return base;
    case "broadcasts":
      return { ...base, kinds: ["b"] };
    case "private":
      return {
        ...base,
        kinds: ["p"],
        peer: scope.with === undefined ? undefined : foldName(scope.with),
      };
    case "rooms":
      return {
        ...base,
        kinds: ["r"],
        place: scope.room === undefined ? undefined : String(scope.room),
      };
    case "channel":
      return { ...base, kinds: ["c"], place: foldChannel(scope.channel) };
    case "forum":
      return { ...base, kinds: ["t", "f"] };
  }
}

/** Where a hit was said or posted. */
export function placeOf(hit: SearchHit, reader: string): HitPlace {
  const kind = hit.kind as DocKind;
  switch (kind) {
    case "b":
      return { kind: "broadcast", number: hit.number };
    case "p":
      return {
        kind: "private",
        with: foldName(hit.sender) === foldName(reader) ? hit.peer : hit.sender,
      };
    case "r":
      return { kind: "room", room: Number(hit.place), number: hit.number };
    case "c":
      return { kind: "channel", channel: hit.place, number: hit.number };
    case "t":
      return { kind: "post", thread: hit.place, number: hit.number };
    case "f":
      return { kind: "file", thread: hit.place, file: hit.peer };
  }
}

/** A place in words: `broadcast #12`, `private with hans`, `#networks #3`. */
function placeText(place: HitPlace): string {
  switch (place.kind) {
    case "broadcast":
      return `broadcast #${place.number}`;
    case "private":
      return `private with ${place.with}`;
    case "room":
      return `room ${place.room} #${place.number}`;
    case "channel":
      return `${place.channel} #${place.number}`;
    case "post":
      return `thread ${place.thread} post ${place.number}`;
    case "file":
      return `thread ${place.thread} file ${place.file}`;
  }
}

/** A hit as reply data, for the reader who searched. */
export function hitView(hit: SearchHit, reader: string): SearchHitView {
  const place = placeOf(hit, reader);
  const snippet = hit.snippet.replace(/\s+/g, " ");
  return { place, where: placeText(place), at: hit.at, from: hit.sender, snippet };
}

/** A hit as a line of SEARCH's reply: where; when; who; the snippet with the words marked. */
export function formatHit(hit: SearchHitView): string {
  return `${hit.where}; ${formatTimestamp(hit.at)}; ${hit.from}; ${hit.snippet}`;
}
