/**
 * What the web client knows, without any DOM: conversations (the broadcast stream, private chats,
 * rooms) with their messages and unread counts, who is online, whom the user blocked. Fed by
 * replies and events; the view reads it. Pure, so it is tested in Deno.
 * @module
 */

import type { ChatEvent } from "../lib/protocol/events.ts";
import { mentionsMe } from "./rich_text.ts";
import type {
  ChannelView,
  HistoryEntry,
  MemberView,
  UserView,
} from "../lib/protocol/reply_data.ts";

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
  /** Not said by anyone: something that happened (a join, a topic), shown quietly. */
  readonly system?: boolean;
}

/** The kinds of conversation. */
export type ConversationKind = "broadcast" | "private" | "room" | "channel";

/** A conversation and what the page has of it. */
export interface Conversation {
  /** `b`, `@user` or `room:N`. */
  readonly id: string;
  readonly kind: ConversationKind;
  /** The other user of a private chat, the room number of a room, a channel's name. */
  readonly target: string;
  title: string;
  messages: Message[];
  unread: number;
  /** Of the unread, how many mention the user (`@name`). */
  mentions: number;
  /** Its history has been read from the server. */
  loaded: boolean;
  /** A channel's topic and members, once known. */
  topic?: string;
  members?: MemberView[];
}

/** The id of the broadcast stream. */
export const BROADCAST_ID = "b";

/** A conversation's id from what it is about. */
export function conversationId(kind: ConversationKind, target: string): string {
  switch (kind) {
    case "broadcast":
      return BROADCAST_ID;
    case "private":
      return `@${target}`;
    case "room":
      return `room:${target}`;
    case "channel":
      return target.toLowerCase(); // `#networks`: channel names are not case-sensitive
  }
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
      const title = kind === "broadcast" ? "Everyone" : kind === "room" ? `Room ${target}` : target;
      conversation = {
        id,
        kind,
        target,
        title,
        messages: [],
        unread: 0,
        mentions: 0,
        loaded: false,
      };
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

  /** Adds a channel the user is in, with its topic and members when known. */
  addChannel(name: string, view?: ChannelView): Conversation {
    const channel = this.conversation("channel", name);
    if (view) {
      channel.topic = view.topic;
      channel.members = [...view.members];
    }
    return channel;
  }

  /** Closes a conversation (a channel left); the broadcast stream stays. */
  remove(id: string): void {
    if (id !== BROADCAST_ID) this.conversations.delete(id);
  }

  /** Notes something that happened in a channel the user is in. */
  #channelNote(name: string, text: string, at: number, shown: string | undefined) {
    const channel = this.conversations.get(conversationId("channel", name));
    if (!channel) return undefined;
    return this.addMessage(channel, { from: "", text, at, system: true }, shown);
  }

  /** A channel's members after `change`, when they are known. */
  #members(name: string, change: (members: MemberView[]) => MemberView[]): void {
    const channel = this.conversations.get(conversationId("channel", name));
    if (channel?.members) channel.members = change(channel.members);
  }

  /** Someone logged out: leaving the server is leaving its channels. */
  #loggedOut(user: string): void {
    this.online.delete(user);
    for (const c of this.conversations.values()) {
      if (c.members) c.members = c.members.filter((m) => m.name !== user);
    }
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
    if (conversation.id !== shown && message.from !== this.me && !message.system) {
      conversation.unread++;
      if (mentionsMe(message.text, this.me)) conversation.mentions++;
    }
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
      case "channel_message":
        return this.addMessage(
          this.conversation("channel", event.channel),
          { number: event.number, from: event.from, text: event.text, at },
          shown,
        );
      case "channel_join":
        if (event.user === this.me) {
          this.addChannel(event.channel); // joined from another session
          return undefined;
        }
        this.#members(event.channel, (members) => [
          ...members.filter((m) => m.name !== event.user),
          { name: event.user, op: false, voice: false },
        ]);
        return this.#channelNote(event.channel, `${event.user} joined`, at, shown);
      case "channel_part":
      case "channel_kick": {
        const gone = event.user;
        if (gone === this.me) {
          this.remove(conversationId("channel", event.channel));
          return undefined;
        }
        this.#members(event.channel, (members) => members.filter((m) => m.name !== gone));
        const why = event.reason ? `: ${event.reason}` : "";
        const what = event.type === "channel_kick" ? `was removed by ${event.by}` : "left";
        return this.#channelNote(event.channel, `${gone} ${what}${why}`, at, shown);
      }
      case "channel_topic": {
        const channel = this.conversations.get(conversationId("channel", event.channel));
        if (channel) channel.topic = event.topic;
        const said = event.topic === "" ? "cleared the topic" : `set the topic: ${event.topic}`;
        return this.#channelNote(event.channel, `${event.by} ${said}`, at, shown);
      }
      case "room_created":
        this.addRoom(event.room, event.members);
        return undefined;
      case "login":
        this.online.set(event.user, { since: at });
        return undefined;
      case "logout":
        this.#loggedOut(event.user);
        return undefined;
      case "nick": {
        // A guest took another name: the same person, wherever they are listed.
        const since = this.online.get(event.user);
        this.online.delete(event.user);
        this.online.set(event.name, since ?? { since: at });
        for (const c of this.conversations.values()) {
          c.members = c.members?.map((m) => m.name === event.user ? { ...m, name: event.name } : m);
        }
        return undefined;
      }
      case "presence":
        for (const user of event.logins) this.online.set(user, { since: at });
        for (const user of event.logouts) this.#loggedOut(user);
        return undefined;
      default:
        return undefined;
    }
  }
}
