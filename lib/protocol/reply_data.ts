/**
 * What a reply means: the data behind its text. Front ends that render replies their own way
 * (IRC) read it, and the WebSocket's JSON frames carry it (see lib/protocol/frames.ts); the line
 * protocol sends only code and text.
 * @module
 */

import type { ErrorReason } from "./protocol_error.ts";

/** What one session shows of itself in SESSIONS. */
export interface SessionInfo {
  /** Unique on the server (in a cluster, across nodes). */
  readonly id: string;
  /** `tcp`, `ws` (the web page), `irc`. */
  readonly client: string;
  readonly ip: string;
  /** Login time, epoch ms. */
  readonly since: number;
  /** The node it is on, in a cluster. */
  readonly node?: string;
  /** The UDP port it reported for peer transfers. */
  readonly udpPort?: number;
  /** When it last sent a request, epoch ms (as of when its node last said, on another node). */
  readonly activeAt?: number;
}

/** A message as history gives it. */
export interface HistoryEntry {
  readonly number: number;
  /** Epoch ms when the server accepted it. */
  readonly at: number;
  readonly from: string;
  /** The recipient of a private message. */
  readonly to?: string;
  readonly text: string;
}

/** An online user, as WHO gives it. */
export interface UserView {
  readonly name: string;
  readonly ip: string;
  readonly loginAt: number;
  readonly udpPort?: number;
  /** Away message; empty when present. */
  readonly away: string;
  /** Logged in without an account (an IRC nick). */
  readonly guest: boolean;
  readonly admin: boolean;
  /** What an IRC client called itself (USER's username and real name). */
  readonly ident?: string;
  readonly realname?: string;
  /** Last activity, epoch ms. */
  readonly activeAt: number;
}

/** A channel member with its rank. */
export interface MemberView {
  readonly name: string;
  readonly op: boolean;
  readonly voice: boolean;
}

/** A channel as JOIN and NAMES give it. */
export interface ChannelView {
  readonly name: string;
  readonly createdAt: number;
  readonly topic: string;
  readonly topicBy: string;
  readonly topicAt: number;
  readonly members: readonly MemberView[];
  /** Flag modes and their arguments, `+knt` and `["key"]`. */
  readonly modes: string;
  readonly modeArgs: readonly string[];
  readonly secret: boolean;
}

/** A room, as ROOM LIST and ROOM CREATE give it. */
export interface RoomView {
  readonly id: number;
  /** Sorted names, the creator's among them. */
  readonly members: readonly string[];
  readonly creator: string;
  readonly createdAt: number;
}

/** A forum thread, as THREAD LIST gives it. */
export interface ThreadView {
  readonly name: string;
  readonly creator: string;
  readonly createdAt: number;
}

/** A post or an attached file of a thread, as THREAD READ gives them (in the order they came). */
export type ThreadEntryView =
  | {
    readonly kind: "post";
    /** Its place among the thread's posts (EDIT and DELETE take it). */
    readonly number: number;
    readonly author: string;
    readonly text: string;
    readonly at: number;
  }
  | {
    readonly kind: "file";
    readonly name: string;
    readonly uploader: string;
    readonly size: number;
    /** SHA-256, hex. */
    readonly sha256: string;
    readonly at: number;
  };

/** Where a search hit was said or posted. */
export type HitPlace =
  | { readonly kind: "broadcast"; readonly number: number }
  | { readonly kind: "private"; readonly with: string }
  | { readonly kind: "room"; readonly room: number; readonly number: number }
  | { readonly kind: "channel"; readonly channel: string; readonly number: number }
  | { readonly kind: "post"; readonly thread: string; readonly number: number }
  | { readonly kind: "file"; readonly thread: string; readonly file: string };

/** One result of SEARCH. */
export interface SearchHitView {
  readonly place: HitPlace;
  /** The place in words, as the reply line says it (`broadcast #16`). */
  readonly where: string;
  readonly at: number;
  readonly from: string;
  /** The text around the words found, each found word between `[` and `]`. */
  readonly snippet: string;
}

/** The data of a successful reply, by what was asked. */
export type ReplyData =
  | {
    readonly kind: "sent";
    /** The message's number in its log, when it is kept. */
    readonly number?: number;
    readonly at: number;
    /** The recipient's away message, if away. */
    readonly away?: string;
    /** The id its delivery carries (a private message: IRC's msgid, the same in the echo). */
    readonly msgid?: string;
    /** The recipient is offline: it is kept for their next login. */
    readonly offline?: boolean;
  }
  /** A login: who the session is. */
  | {
    readonly kind: "welcome";
    readonly user: string;
    readonly guest: boolean;
    readonly admin: boolean;
  }
  /** ACTIVE: how long a session may stay idle (0: for ever). */
  | { readonly kind: "idle_timeout"; readonly ms: number }
  | { readonly kind: "rooms"; readonly rooms: readonly RoomView[] }
  | { readonly kind: "room"; readonly room: RoomView }
  | { readonly kind: "threads"; readonly threads: readonly ThreadView[] }
  | {
    readonly kind: "thread";
    readonly name: string;
    /** Who made it (only they may remove it, and any file of it). */
    readonly creator: string;
    /** One page of the thread (the newest, or those before the post asked for). */
    readonly entries: readonly ThreadEntryView[];
    readonly posts: number;
    readonly files: number;
    /** The first post number shown when earlier ones exist (ask `before` it for them). */
    readonly earlierBefore?: number;
  }
  | {
    readonly kind: "search";
    readonly hits: readonly SearchHitView[];
    readonly page: number;
    readonly more: boolean;
  }
  | {
    readonly kind: "history";
    readonly target: string;
    readonly messages: readonly HistoryEntry[];
  }
  | { readonly kind: "users"; readonly users: readonly UserView[] }
  | { readonly kind: "joined"; readonly channel: ChannelView; readonly already: boolean }
  | { readonly kind: "channel"; readonly channel: ChannelView }
  | {
    readonly kind: "channels";
    /** Each channel the asker may see; `joined` when they are in it. */
    readonly channels: readonly { name: string; members: number; topic: string; joined: boolean }[];
  }
  | {
    readonly kind: "topic";
    readonly channel: string;
    readonly topic: string;
    readonly by: string;
    readonly at: number;
  }
  | {
    readonly kind: "modes";
    readonly channel: string;
    /** What changed (`+o-v`) with its arguments; empty for a query. */
    readonly changed: string;
    readonly changedArgs: readonly string[];
    /** The channel's modes now. */
    readonly view: ChannelView;
    /** Ban masks, when asked for the ban list. */
    readonly bans?: readonly { mask: string; by: string; at: number }[];
  }
  | {
    readonly kind: "invited";
    readonly channel: string;
    readonly user: string;
    readonly away?: string;
  }
  | { readonly kind: "names"; readonly names: readonly string[] }
  | { readonly kind: "sessions"; readonly user: string; readonly sessions: readonly SessionInfo[] }
  | { readonly kind: "ended"; readonly id: string };

/** Everything a reply says beyond code and text. */
export interface ReplyDetail {
  readonly reason?: ErrorReason;
  readonly data?: ReplyData;
}
