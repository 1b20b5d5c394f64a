/**
 * What the web client knows, without any DOM: conversations (the broadcast stream, private chats,
 * rooms) with their messages and unread counts, who is online, whom the user blocked. Fed by
 * replies and events; the view reads it. Pure, so it is tested in Deno.
 * @module
 */

import type { ChatEvent } from "../lib/protocol/events.ts";
import type { HistoryEntry, UserView } from "../lib/protocol/reply_data.ts";

/** One message as the page shows it. */
export interface Message {
  /** Its number in its log (broadcast or room number), when known. */
  readonly number?: number;
  readonly from: string;
  readonly text: string;
  /** When the server took it, epoch ms. */
  readonly at: number;
  /** Kept while the user was offline. */
  readonly offline?: boolean;
}

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

/** A message of the history as the page keeps it. */
function messageOf(entry: HistoryEntry): Message {
  return { number: entry.number, from: entry.from, text: entry.text, at: entry.at };
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
  /** Who is online, and since when (epoch ms). */
  readonly online = new Map<string, { since: number }>();
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

  /** Fills the online list from WHO's users. */
  setOnline(users: readonly UserView[]): void {
    this.online.clear();
    for (const user of users) this.online.set(user.name, { since: user.loginAt });
  }

  /** Lists the private chats that `HISTORY p` shows (their messages load when opened). */
  addPrivateChats(entries: readonly HistoryEntry[]): void {
    for (const entry of entries) {
      if (entry.to === undefined) continue;
      this.conversation("private", entry.from === this.me ? entry.to : entry.from);
    }
  }

  /**
   * Puts a conversation's history before the messages that arrived while it was loading, leaving
   * out those the history already has.
   */
  setHistory(conversation: Conversation, entries: readonly HistoryEntry[]): void {
    const history = entries.map(messageOf);
    const recent = history.slice(-20);
    const live = conversation.messages.filter((m) => !recent.some((h) => sameMessage(h, m)));
    conversation.messages = [...history, ...live];
    conversation.loaded = true;
  }

  /** Puts older history (read around a search hit) before what the conversation has. */
  addOlder(conversation: Conversation, entries: readonly HistoryEntry[]): void {
    const have = conversation.messages;
    const older = entries.map(messageOf).filter((m) => !have.some((h) => sameMessage(h, m)));
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
   * Applies an event that happened at `at` (epoch ms); returns the conversation it added to, if
   * any. Presence and rooms update the model; notices (shutdown, idle) are the view's to show.
   */
  apply(event: ChatEvent, shown: string | undefined, at: number): Conversation | undefined {
    switch (event.type) {
      case "broadcast":
        return this.addMessage(
          this.conversation("broadcast", ""),
          { number: event.number, from: event.from, text: event.text, at },
          shown,
        );
      case "private":
        return this.addMessage(
          this.conversation("private", event.from),
          { from: event.from, text: event.text, at },
          shown,
        );
      case "private_sent": // from another of this person's sessions
        if (event.notice) return undefined;
        return this.addMessage(
          this.conversation("private", event.to),
          { from: this.me, text: event.text, at },
          shown,
        );
      case "private_offline":
        return this.addMessage(
          this.conversation("private", event.from),
          { from: event.from, text: event.text, at, offline: true },
          shown,
        );
      case "room":
        return this.addMessage(
          this.conversation("room", String(event.room)),
          { from: event.from, text: event.text, at },
          shown,
        );
      case "room_created":
        this.addRoom(event.room, event.members);
        return undefined;
      case "login":
        this.online.set(event.user, { since: at });
        return undefined;
      case "logout":
        this.online.delete(event.user);
        return undefined;
      case "presence":
        for (const user of event.logins) this.online.set(user, { since: at });
        for (const user of event.logouts) this.online.delete(user);
        return undefined;
      default:
        return undefined;
    }
  }
}
