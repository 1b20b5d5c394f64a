/**
 * What the web client knows, without any DOM: conversations (the broadcast stream, private chats,
 * rooms) with their messages and unread counts, who is online, whom the user blocked. Fed by
 * replies and events; the view reads it. Pure, so it is tested in Deno.
 * @module
 */

import { formatTimestamp } from "../lib/protocol/timestamp.ts";
import type { ChatEvent } from "../lib/protocol/events.ts";
import { parseWhoEntry } from "../lib/protocol/replies.ts";

/** One message as the page shows it. */
export interface Message {
  /** Its number in its log (broadcast or room number), when known. */
  readonly number?: number;
  readonly from: string;
  readonly text: string;
  /** As the server formats it (`03 Aug 2022 23:25:03`), when known. */
  readonly time?: string;
  /** Kept while the user was offline. */
  readonly offline?: boolean;
}

/** The time a live message arrived, as the server writes times. */
export const now = (): string => formatTimestamp(Date.now());

/** The kinds of conversation. */
export type ConversationKind = "broadcast" | "private" | "room";

/** A conversation and what the page has of it. */
export interface Conversation {
  /** `b`, `@user` or `room:N`. */
  readonly id: string;
  readonly kind: ConversationKind;
  /** The other user of a private chat, the room number of a room. */
  readonly target: string;
  title: string;
  messages: Message[];
  unread: number;
  /** Its history has been read from the server. */
  loaded: boolean;
}

/** The id of the broadcast stream. */
export const BROADCAST_ID = "b";

/** A conversation's id from what it is about. */
export function conversationId(kind: ConversationKind, target: string): string {
  return kind === "broadcast" ? BROADCAST_ID : kind === "private" ? `@${target}` : `room:${target}`;
}

/** Reads a history line: `n; time; from; text` or `n; time; from -> to; text`. */
export function parseHistoryLine(line: string): (Message & { to?: string }) | undefined {
  const m = /^(\d+); (\d\d \w{3} \d{4} [\d:]{8}); (\S+?)(?: -> (\S+))?; (.*)$/s.exec(line);
  if (!m) return undefined;
  return { number: Number(m[1]), time: m[2], from: m[3], to: m[4], text: m[5] };
}

/** A room from a ROOM LIST line: `1: obiwan,yoda (created by yoda at …)`. */
export function parseRoomLine(line: string): { id: number; members: string[] } | undefined {
  const m = /^(\d+): (\S+) \(created by /.exec(line);
  return m ? { id: Number(m[1]), members: m[2].split(",") } : undefined;
}

/** The room a ROOM CREATE reply made: `… room ID: 2, users in this room: a,b`. */
export function parseRoomCreated(text: string): { id: number; members: string[] } | undefined {
  const m = /room ID: (\d+), users in this room: (\S+)$/.exec(text);
  return m ? { id: Number(m[1]), members: m[2].split(",") } : undefined;
}

/** The broadcast number a BROADCAST reply gives: `Broadcast message, #2 broadcast at …`. */
export function parseBroadcastNumber(text: string): number | undefined {
  const m = /#(\d+) broadcast at/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A numbered post of a thread. */
export interface ThreadPost {
  readonly kind: "post";
  readonly number: number;
  readonly author: string;
  readonly text: string;
}

/** A file uploaded to a thread. */
export interface ThreadFile {
  readonly kind: "file";
  readonly uploader: string;
  readonly name: string;
}

/** One post or file of THREAD READ. */
export type ThreadEntry = ThreadPost | ThreadFile;

/** Reads THREAD READ's lines (the summary line is left out). */
export function parseThread(lines: readonly string[]): ThreadEntry[] {
  const entries: ThreadEntry[] = [];
  for (const line of lines) {
    const post = /^(\d+) (\S+?): (.*)$/s.exec(line);
    if (post) {
      entries.push({ kind: "post", number: Number(post[1]), author: post[2], text: post[3] });
      continue;
    }
    const file = /^(\S+) uploaded (\S+)$/.exec(line);
    if (file) entries.push({ kind: "file", uploader: file[1], name: file[2] });
  }
  return entries;
}

/** Where a search hit is. */
export type HitPlace =
  | { readonly kind: "broadcast"; readonly number: number }
  | { readonly kind: "private"; readonly with: string }
  | { readonly kind: "room"; readonly room: string; readonly number: number }
  | { readonly kind: "channel"; readonly channel: string; readonly number: number }
  | {
    readonly kind: "thread";
    readonly thread: string;
    readonly post?: number;
    readonly file?: string;
  };

/** One line of SEARCH's reply, read back. */
export interface SearchHit {
  readonly place: HitPlace;
  /** As the line says it (`broadcast #16`). */
  readonly where: string;
  readonly time: string;
  readonly from: string;
  /** The text around the words found; `[word]` marks them. */
  readonly snippet: string;
}

/** Reads `where; time; who; snippet` (a line of SEARCH's reply); undefined for the summary. */
export function parseSearchHit(line: string): SearchHit | undefined {
  const m = /^(.+?); (\d\d \w{3} \d{4} [\d:]{8}); (\S+); (.*)$/s.exec(line);
  if (!m) return undefined;
  const [, where, time, from, snippet] = m;
  let p: RegExpExecArray | null;
  let place: HitPlace | undefined;
  if ((p = /^broadcast #(\d+)$/.exec(where))) place = { kind: "broadcast", number: Number(p[1]) };
  else if ((p = /^private with (\S+)$/.exec(where))) place = { kind: "private", with: p[1] };
  else if ((p = /^room (\d+) #(\d+)$/.exec(where))) {
    place = { kind: "room", room: p[1], number: Number(p[2]) };
  } else if ((p = /^(#\S+) #(\d+)$/.exec(where))) {
    place = { kind: "channel", channel: p[1], number: Number(p[2]) };
  } else if ((p = /^thread (.+) post (\d+)$/.exec(where))) {
    place = { kind: "thread", thread: p[1], post: Number(p[2]) };
  } else if ((p = /^thread (.+) file (.+)$/.exec(where))) {
    place = { kind: "thread", thread: p[1], file: p[2] };
  }
  return place && { place, where, time, from, snippet };
}

/** A snippet in pieces: plain text, and the words found (between `[` and `]`). */
export function snippetParts(snippet: string): { text: string; found: boolean }[] {
  const parts: { text: string; found: boolean }[] = [];
  const pattern = /\[([^\[\]]+)\]/g;
  let at = 0;
  for (let m = pattern.exec(snippet); m; m = pattern.exec(snippet)) {
    if (m.index > at) parts.push({ text: snippet.slice(at, m.index), found: false });
    parts.push({ text: m[1], found: true });
    at = m.index + m[0].length;
  }
  if (at < snippet.length) parts.push({ text: snippet.slice(at), found: false });
  return parts;
}

/** Whether two messages are the same one (live events of private chats carry no number). */
function sameMessage(a: Message, b: Message): boolean {
  return a.from === b.from && a.text === b.text &&
    (a.number === undefined || b.number === undefined || a.number === b.number);
}

/** The page's knowledge of the chat. */
export class ChatModel {
  me = "";
  readonly conversations = new Map<string, Conversation>();
  readonly online = new Map<string, { since: string }>();
  readonly blocked = new Set<string>();

  constructor() {
    this.reset("");
  }

  /** Starts over for a (new) login. */
  reset(me: string): void {
    this.me = me;
    this.conversations.clear();
    this.online.clear();
    this.blocked.clear();
    this.conversation("broadcast", "");
  }

  /** The conversation about `target`, made if new. */
  conversation(kind: ConversationKind, target: string): Conversation {
    const id = conversationId(kind, target);
    let conversation = this.conversations.get(id);
    if (!conversation) {
      const title = kind === "broadcast"
        ? "Everyone"
        : kind === "private"
        ? target
        : `Room ${target}`;
      conversation = { id, kind, target, title, messages: [], unread: 0, loaded: false };
      this.conversations.set(id, conversation);
    }
    return conversation;
  }

  /** Adds a room with its members (from ROOM LIST, ROOM CREATE or an event). */
  addRoom(id: number, members: readonly string[]): Conversation {
    const room = this.conversation("room", String(id));
    const others = members.filter((m) => m !== this.me);
    room.title = `Room ${id}: ${others.join(", ")}`;
    return room;
  }

  /** Fills the online list from WHO's lines. */
  setOnline(lines: readonly string[]): void {
    this.online.clear();
    for (const line of lines) {
      const entry = parseWhoEntry(line);
      if (entry) this.online.set(entry.user, { since: entry.since });
    }
  }

  /** Lists the private chats that `HISTORY p` shows (their messages load when opened). */
  addPrivateChats(lines: readonly string[]): void {
    for (const line of lines) {
      const message = parseHistoryLine(line);
      if (!message?.to) continue;
      this.conversation("private", message.from === this.me ? message.to : message.from);
    }
  }

  /**
   * Puts a conversation's history (the server's lines, summary last) before the messages that
   * arrived while it was loading, leaving out those the history already has.
   */
  setHistory(conversation: Conversation, lines: readonly string[]): void {
    const history: Message[] = lines.flatMap((line) => {
      const message = parseHistoryLine(line);
      return message ? [message] : [];
    });
    const recent = history.slice(-20);
    const live = conversation.messages.filter((m) => !recent.some((h) => sameMessage(h, m)));
    conversation.messages = [...history, ...live];
    conversation.loaded = true;
  }

  /** Puts older history (read around a search hit) before what the conversation has. */
  addOlder(conversation: Conversation, lines: readonly string[]): void {
    const have = conversation.messages;
    const older = lines.flatMap((line) => {
      const message = parseHistoryLine(line);
      return message && !have.some((m) => sameMessage(m, message)) ? [message] : [];
    });
    const first = have.find((m) => m.number !== undefined)?.number;
    const before = older.filter((m) => first === undefined || (m.number ?? 0) < first);
    const after = older.filter((m) => !before.includes(m));
    conversation.messages = [...before, ...have, ...after];
  }

  /**
   * Adds a message to a conversation; counts it unread unless that conversation is the one
   * shown. Returns the conversation.
   */
  addMessage(
    conversation: Conversation,
    message: Message,
    shown: string | undefined,
  ): Conversation {
    if (conversation.loaded || conversation.id === shown) conversation.messages.push(message);
    if (conversation.id !== shown && message.from !== this.me) conversation.unread++;
    return conversation;
  }

  /** Total unread messages, for the page title. */
  get unread(): number {
    let total = 0;
    for (const c of this.conversations.values()) total += c.unread;
    return total;
  }

  /**
   * Applies an event; returns the conversation it added to, if any. Presence and rooms update
   * the model; notices (shutdown, idle) are the view's to show.
   */
  apply(event: ChatEvent, shown: string | undefined): Conversation | undefined {
    switch (event.type) {
      case "broadcast":
        return this.addMessage(
          this.conversation("broadcast", ""),
          { number: event.number, from: event.from, text: event.text, time: now() },
          shown,
        );
      case "private":
        return this.addMessage(
          this.conversation("private", event.from),
          { from: event.from, text: event.text, time: now() },
          shown,
        );
      case "private_sent": // from another of this person's sessions
        if (event.notice) return undefined;
        return this.addMessage(
          this.conversation("private", event.to),
          { from: this.me, text: event.text, time: now() },
          shown,
        );
      case "private_offline":
        return this.addMessage(
          this.conversation("private", event.from),
          { from: event.from, text: event.text, time: event.sentAt, offline: true },
          shown,
        );
      case "room":
        return this.addMessage(
          this.conversation("room", String(event.room)),
          { from: event.from, text: event.text, time: now() },
          shown,
        );
      case "room_created":
        this.addRoom(event.room, event.members);
        return undefined;
      case "login":
        this.online.set(event.user, { since: "just now" });
        return undefined;
      case "logout":
        this.online.delete(event.user);
        return undefined;
      case "presence":
        for (const user of event.logins) this.online.set(user, { since: "just now" });
        for (const user of event.logouts) this.online.delete(user);
        return undefined;
      default:
        return undefined;
    }
  }
}
