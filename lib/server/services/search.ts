/**
 * SEARCH: the full-text index kept up with the store, and the answers a user may see. The index
 * is derived data: it catches up from the store's logs by their numbers (broadcasts, each
 * user's mailbox, each room and channel; the forum is compared whole), before each search and
 * every few seconds. So it is never behind what a search could read, it recovers by itself after
 * a crash, and every node of a cluster, reading the same Redis, answers the same.
 * @module
 */

import { join } from "node:path";
import { foldChannel, foldName } from "../../protocol/names.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import {
  type DocKind,
  type Reader,
  type SearchDoc,
  type SearchFilter,
  type SearchHit,
  SearchIndex,
} from "../../search/search_index.ts";
import type { SearchQuery } from "../../search/search_query.ts";
import type { PostItem, Store } from "../../store/store.ts";
import type { Logger } from "../context.ts";
import type { ChannelService } from "./channels.ts";
import type { RoomService } from "./rooms.ts";

/** Results per page. */
export const SEARCH_PAGE = 20;
/** Log entries read from the store per request while catching up. */
const READ_PAGE = 1000;
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
  #timer: ReturnType<typeof setInterval> | undefined;

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

  /** Brings the index up to what the store holds (one catch-up at a time). */
  sync(): Promise<void> {
    this.#syncing ??= this.#syncNow().finally(() => this.#syncing = undefined);
    return this.#syncing;
  }

  async #syncNow(): Promise<void> {
    await this.#follow(
      "b",
      (after) => this.#store.listBroadcasts({ after, limit: READ_PAGE }),
      (m) => ({
        key: `b:${m.number}`,
        kind: "b",
        place: "",
        number: m.number,
        sender: m.from,
        peer: "",
        at: m.at,
        text: m.text,
      }),
    );
    for (const user of await this.#store.listUsers()) {
      const owner = foldName(user.name);
      // A mailbox holds both sides: each message is indexed once, from its sender's copy.
      await this.#follow(
        `p:${owner}`,
        (after) => this.#store.listPrivate(user.name, { after, limit: READ_PAGE }),
        (m) =>
          foldName(m.from) !== owner ? undefined : {
            key: `p:${owner}:${m.number}`,
            kind: "p",
            place: "",
            number: m.number,
            sender: m.from,
            peer: m.to,
            at: m.at,
            text: m.text,
          },
      );
    }
    for (const room of await this.#store.listRooms()) {
      await this.#follow(
        `r:${room.id}`,
        (after) => this.#store.listRoomMessages(room.id, { after, limit: READ_PAGE }),
        (m) => ({
          key: `r:${room.id}:${m.number}`,
          kind: "r",
          place: String(room.id),
          number: m.number,
          sender: m.from,
          peer: "",
          at: m.at,
          text: m.text,
        }),
      );
    }
    for (const channel of this.#channels.names()) {
      await this.#follow(
        `c:${channel}`,
        (after) => this.#store.listChannelMessages(channel, { after, limit: READ_PAGE }),
        (m) => ({
          key: `c:${channel}:${m.number}`,
          kind: "c",
          place: channel,
          number: m.number,
          sender: m.from,
          peer: "",
          at: m.at,
          text: m.text,
        }),
      );
    }
    await this.#syncForum();
  }

  /** Indexes a numbered log past its watermark, a page at a time. */
  async #follow<T extends { number: number }>(
    mark: string,
    read: (after: number) => Promise<T[]>,
    docOf: (message: T) => SearchDoc | undefined,
  ): Promise<void> {
    let after = this.#index.mark(mark);
    while (true) {
      const page = await read(after);
      if (page.length === 0) return;
      this.#index.batch(() => {
        for (const message of page) {
          const doc = docOf(message);
          if (doc) this.#index.put(doc);
        }
        after = page[page.length - 1].number;
        this.#index.setMark(mark, after);
      });
      if (page.length < READ_PAGE) return;
    }
  }

  /** The forum is small and changes in place (edits, deletions, removals): compared whole. */
  async #syncForum(): Promise<void> {
    const docs: SearchDoc[] = [];
    for (const thread of await this.#store.listThreads()) {
      let post = 0;
      for (const item of await this.#store.listThreadItems(thread)) {
        const common = { place: thread.name, at: item.at };
        if (item.kind === "post") {
          post++;
          docs.push({
            ...common,
            key: `t:${thread.id}:${item.id}`,
            kind: "t",
            number: post,
            sender: (item as PostItem).author,
            peer: "",
            text: (item as PostItem).text,
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
    }
    const gone = this.#index.keysOf(["t", "f"]);
    this.#index.batch(() => {
      for (const doc of docs) {
        gone.delete(doc.key);
        this.#index.put(doc);
      }
      this.#index.remove(gone);
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
    this.#index.close();
  }
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

/** Where a hit was said, in words: `broadcast #12`, `private with hans`, `#networks #3`. */
export function whereOf(hit: SearchHit, reader: string): string {
  const kind = hit.kind as DocKind;
  switch (kind) {
    case "b":
      return `broadcast #${hit.number}`;
    case "p":
      return `private with ${foldName(hit.sender) === foldName(reader) ? hit.peer : hit.sender}`;
    case "r":
      return `room ${hit.place} #${hit.number}`;
    case "c":
      return `${hit.place} #${hit.number}`;
    case "t":
      return `thread ${hit.place} post ${hit.number}`;
    case "f":
      return `thread ${hit.place} file ${hit.peer}`;
  }
}

/** A hit as a line of SEARCH's reply: where; when; who; the snippet with the words marked. */
export function formatHit(hit: SearchHit, reader: string): string {
  return `${whereOf(hit, reader)}; ${formatTimestamp(hit.at)}; ${hit.sender}; ${
    hit.snippet.replace(/\s+/g, " ")
  }`;
}
