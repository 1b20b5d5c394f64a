/**
 * What a reply means, for front ends that render replies their own way (IRC): the data behind
 * the text. The line protocol sends only code and text; nothing here goes on its wire.
 * @module
 */

import type { ErrorReason } from "../protocol/protocol_error.ts";
import type { SessionInfo } from "./session_group.ts";

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
    readonly channels: readonly { name: string; members: number; topic: string }[];
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
