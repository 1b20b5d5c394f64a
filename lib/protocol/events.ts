/**
 * Events the server pushes between replies: their wire form and parsing. Each event is one line
 * `CODE text`, readable as is with `nc`.
 * @module
 */

import { Event, Text } from "./codes.ts";

/** Why two clients are introduced. */
export type PeerPurpose = "file" | "private";

/**
 * IRC client-only tags (`+draft/reply=...`) a message was sent with: relayed to IRC clients that
 * asked for message-tags, never shown on the line protocol, never kept.
 */
export type ClientTags = Readonly<Record<string, string>>;

/** Everything a client can be told without asking. */
export type ChatEvent =
  | {
    readonly type: "private";
    readonly from: string;
    readonly text: string;
    readonly tags?: ClientTags;
    /** An id for IRC's msgid, the same in the sender's echo (private messages have no number). */
    readonly msgid?: string;
  }
  | {
    /** Sent by this person from another of their sessions. */
    readonly type: "private_sent";
    readonly to: string;
    readonly text: string;
    /** A notice (not kept), not a message. */
    readonly notice?: boolean;
    readonly msgid?: string;
  }
  | {
    readonly type: "private_offline";
    readonly from: string;
    readonly sentAt: string;
    readonly text: string;
  }
  | {
    readonly type: "broadcast";
    readonly from: string;
    readonly number: number;
    readonly text: string;
    readonly tags?: ClientTags;
  }
  | {
    readonly type: "room";
    readonly room: number;
    readonly from: string;
    /** The message's number in the room, when known (not on the wire: it finds repeats). */
    readonly number?: number;
    readonly text: string;
    readonly tags?: ClientTags;
  }
  | {
    readonly type: "room_created";
    readonly room: number;
    readonly by: string;
    readonly members: readonly string[];
  }
  | {
    readonly type: "peer";
    readonly from: string;
    readonly host: string;
    readonly port: number;
    /** One-time token (32 hex digits) both peers put in every datagram. */
    readonly token: string;
    readonly purpose: PeerPurpose;
  }
  | {
    readonly type: "private_notice";
    readonly from: string;
    readonly text: string;
    readonly tags?: ClientTags;
  }
  | {
    readonly type: "channel_message";
    readonly channel: string;
    readonly from: string;
    /** Its number in the channel's history. */
    readonly number: number;
    readonly text: string;
    readonly tags?: ClientTags;
  }
  | {
    readonly type: "channel_notice";
    readonly channel: string;
    readonly from: string;
    readonly text: string;
    readonly tags?: ClientTags;
  }
  | { readonly type: "channel_join"; readonly channel: string; readonly user: string }
  | {
    readonly type: "channel_part";
    readonly channel: string;
    readonly user: string;
    readonly reason: string;
  }
  | {
    readonly type: "channel_kick";
    readonly channel: string;
    readonly by: string;
    readonly user: string;
    readonly reason: string;
  }
  | {
    readonly type: "channel_topic";
    readonly channel: string;
    readonly by: string;
    readonly topic: string;
  }
  | {
    readonly type: "channel_mode";
    readonly channel: string;
    readonly by: string;
    /** The changes as applied, `+o-v`, and their arguments in order. */
    readonly modes: string;
    readonly args: readonly string[];
  }
  | {
    readonly type: "channel_invite";
    readonly channel: string;
    readonly by: string;
    readonly user: string;
  }
  /** `text` empty: the user is back. */
  | { readonly type: "away"; readonly user: string; readonly text: string }
  | { readonly type: "login"; readonly user: string }
  /**
   * `reason` (why the session ended, as IRC's QUIT shows it), `ident` and `ip` (so the QUIT has
   * the mask the user's JOIN had) are for front ends that show them; the line shows none.
   */
  | {
    readonly type: "logout";
    readonly user: string;
    readonly reason?: string;
    readonly ident?: string;
    readonly ip?: string;
  }
  /**
   * A guest took another name. `ident` and `ip` (the mask the old name had, for IRC's NICK) are
   * for front ends that show them; the line shows neither.
   */
  | {
    readonly type: "nick";
    readonly user: string;
    readonly name: string;
    readonly ident?: string;
    readonly ip?: string;
  }
  /** Many logins and logouts at once (a storm), in place of one event each. */
  | {
    readonly type: "presence";
    readonly logins: readonly string[];
    readonly logouts: readonly string[];
    /**
     * When each change was noted, in the order of the server's presence changes (parallel to
     * `logins` and `logouts`): a client shown who is online in the middle of a batch (IRC's
     * NAMES) is sent only what changed after it. Not on the line.
     */
    readonly loginSeqs?: readonly number[];
    readonly logoutSeqs?: readonly number[];
  }
  /**
   * IRC's TAGMSG: client-only tags (`+typing=active`) from `from` to a channel or, without one,
   * to the recipient. Only IRC clients that asked for message-tags are shown it.
   */
  | {
    readonly type: "tag_message";
    readonly from: string;
    /** Where it was sent: a channel (`#lab` for everyone), or a room; neither for one user. */
    readonly channel?: string;
    readonly room?: number;
    readonly tags: ClientTags;
    /** Its IRC msgid, the same for every recipient and the sender's echo. */
    readonly msgid?: string;
  }
  /** A message to the admins online (IRC's WALLOPS). */
  | { readonly type: "wallops"; readonly from: string; readonly text: string }
  | { readonly type: "idle"; readonly text: string }
  | { readonly type: "disconnect"; readonly text: string }
  | { readonly type: "shutdown"; readonly text: string }
  | { readonly type: "unknown"; readonly code: number; readonly text: string };

/** The line (LF-terminated) that carries an event. */
export function formatEvent(event: ChatEvent): string {
  return `${eventCode(event)} ${eventText(event).replace(/\r\n|[\r\n]/g, " ")}\n`;
}

function eventCode(event: ChatEvent): number {
  switch (event.type) {
    case "private":
      return Event.PRIVATE;
    case "private_sent":
      return Event.PRIVATE_SENT;
    case "private_offline":
      return Event.PRIVATE_OFFLINE;
    case "broadcast":
      return Event.BROADCAST;
    case "room":
      return Event.ROOM;
    case "room_created":
      return Event.ROOM_CREATED;
    case "peer":
      return Event.PEER;
    case "private_notice":
      return Event.PRIVATE_NOTICE;
    case "channel_message":
      return Event.CHANNEL_MESSAGE;
    case "channel_notice":
      return Event.CHANNEL_NOTICE;
    case "channel_join":
      return Event.CHANNEL_JOIN;
    case "channel_part":
      return Event.CHANNEL_PART;
    case "channel_kick":
      return Event.CHANNEL_KICK;
    case "channel_topic":
      return Event.CHANNEL_TOPIC;
    case "channel_mode":
      return Event.CHANNEL_MODE;
    case "channel_invite":
      return Event.CHANNEL_INVITE;
    case "away":
      return Event.AWAY;
    case "login":
      return Event.LOGIN;
    case "logout":
      return Event.LOGOUT;
    case "presence":
      return Event.PRESENCE;
    case "nick":
      return Event.NICK;
    case "tag_message":
      return Event.TAG_MESSAGE;
    case "wallops":
      return Event.WALLOPS;
    case "idle":
      return Event.IDLE;
    case "disconnect":
      return Event.DISCONNECT;
    case "shutdown":
      return Event.SHUTDOWN;
    case "unknown":
      return event.code;
  }
}

/** The human-readable part of an event line, after the code. */
export function eventText(event: ChatEvent): string {
  switch (event.type) {
    case "private":
      return `${event.from}: ${event.text}`;
    case "private_sent":
      return `${event.notice ? "notice " : ""}to ${event.to}: ${event.text}`;
    case "private_offline":
      return `${event.from} (${event.sentAt}): ${event.text}`;
    case "broadcast":
      return `#${event.number} ${event.from}: ${event.text}`;
    case "room":
      return `room ${event.room} ${event.from}: ${event.text}`;
    case "room_created":
      return `room ${event.room} created by ${event.by}, members: ${event.members.join(",")}`;
    case "peer":
      return `${event.from} ${event.host} ${event.port} ${event.token} ${event.purpose}`;
    case "private_notice":
      return `${event.from}: ${event.text}`;
    case "channel_message":
      return `${event.channel} #${event.number} ${event.from}: ${event.text}`;
    case "channel_notice":
      return `${event.channel} ${event.from}: ${event.text}`;
    case "channel_join":
      return `${event.user} joined ${event.channel}`;
    case "channel_part":
      return `${event.user} left ${event.channel}: ${event.reason}`;
    case "channel_kick":
      return `${event.user} was kicked from ${event.channel} by ${event.by}: ${event.reason}`;
    case "channel_topic":
      return `${event.by} set the topic of ${event.channel}: ${event.topic}`;
    case "channel_mode":
      return `${event.by} set mode ${[event.modes, ...event.args].join(" ")} on ${event.channel}`;
    case "channel_invite":
      return `${event.by} invited ${event.user} to ${event.channel}`;
    case "away":
      return event.text === "" ? `${event.user} is back` : `${event.user} is away: ${event.text}`;
    case "tag_message": {
      const tags = Object.entries(event.tags).map(([k, v]) => v === "" ? k : `${k}=${v}`);
      return `${event.channel ?? "-"} ${event.from}: ${tags.join(";")}`;
    }
    case "wallops":
      return `${event.from}: ${event.text}`;
    case "login":
      return `${event.user} logged in`;
    case "logout":
      return `${event.user} logged out`;
    case "presence":
      return `logged in: ${event.logins.join(",")}; logged out: ${event.logouts.join(",")}`;
    case "nick":
      return `${event.user} is now known as ${event.name}`;
    case "idle":
    case "disconnect":
    case "shutdown":
    case "unknown":
      return event.text;
  }
}

/** Reads an event line's code and text back into a {@linkcode ChatEvent}. */
export function parseEvent(code: number, text: string): ChatEvent {
  let m: RegExpExecArray | null;
  switch (code) {
    case Event.PRIVATE:
      if ((m = /^(\S+): (.*)$/s.exec(text))) return { type: "private", from: m[1], text: m[2] };
      break;
    case Event.PRIVATE_SENT:
      if ((m = /^(notice )?to (\S+): (.*)$/s.exec(text))) {
        return { type: "private_sent", to: m[2], text: m[3], ...(m[1] ? { notice: true } : {}) };
      }
      break;
    case Event.PRIVATE_OFFLINE:
      if ((m = /^(\S+) \(([^)]*)\): (.*)$/s.exec(text))) {
        return { type: "private_offline", from: m[1], sentAt: m[2], text: m[3] };
      }
      break;
    case Event.BROADCAST:
      if ((m = /^#(\d+) (\S+): (.*)$/s.exec(text))) {
        return { type: "broadcast", number: Number(m[1]), from: m[2], text: m[3] };
      }
      break;
    case Event.ROOM:
      if ((m = /^room (\d+) (\S+): (.*)$/s.exec(text))) {
        return { type: "room", room: Number(m[1]), from: m[2], text: m[3] };
      }
      break;
    case Event.ROOM_CREATED:
      if ((m = /^room (\d+) created by (\S+), members: (\S*)$/.exec(text))) {
        return { type: "room_created", room: Number(m[1]), by: m[2], members: m[3].split(",") };
      }
      break;
    case Event.PEER:
      if ((m = /^(\S+) (\S+) (\d{1,5}) ([0-9a-f]{32}) (file|private)$/.exec(text))) {
        const purpose = m[5] as PeerPurpose;
        return { type: "peer", from: m[1], host: m[2], port: Number(m[3]), token: m[4], purpose };
      }
      break;
    case Event.PRIVATE_NOTICE:
      if ((m = /^(\S+): (.*)$/s.exec(text))) {
        return { type: "private_notice", from: m[1], text: m[2] };
      }
      break;
    case Event.CHANNEL_MESSAGE:
      if ((m = /^(#\S+) #(\d+) (\S+): (.*)$/s.exec(text))) {
        return {
          type: "channel_message",
          channel: m[1],
          number: Number(m[2]),
          from: m[3],
          text: m[4],
        };
      }
      break;
    case Event.CHANNEL_NOTICE:
      if ((m = /^(#\S+) (\S+): (.*)$/s.exec(text))) {
        return { type: "channel_notice", channel: m[1], from: m[2], text: m[3] };
      }
      break;
    case Event.CHANNEL_JOIN:
      if ((m = /^(\S+) joined (#\S+)$/.exec(text))) {
        return { type: "channel_join", user: m[1], channel: m[2] };
      }
      break;
    case Event.CHANNEL_PART:
      if ((m = /^(\S+) left (#\S+): (.*)$/s.exec(text))) {
        return { type: "channel_part", user: m[1], channel: m[2], reason: m[3] };
      }
      break;
    case Event.CHANNEL_KICK:
      if ((m = /^(\S+) was kicked from (#\S+) by (\S+): (.*)$/s.exec(text))) {
        return { type: "channel_kick", user: m[1], channel: m[2], by: m[3], reason: m[4] };
      }
      break;
    case Event.CHANNEL_TOPIC:
      if ((m = /^(\S+) set the topic of (#\S+): (.*)$/s.exec(text))) {
        return { type: "channel_topic", by: m[1], channel: m[2], topic: m[3] };
      }
      break;
    case Event.CHANNEL_MODE:
      if ((m = /^(\S+) set mode (\S+)((?: \S+)*) on (#\S+)$/.exec(text))) {
        const args = m[3].split(" ").filter((a) => a !== "");
        return { type: "channel_mode", by: m[1], modes: m[2], args, channel: m[4] };
      }
      break;
    case Event.CHANNEL_INVITE:
      if ((m = /^(\S+) invited (\S+) to (#\S+)$/.exec(text))) {
        return { type: "channel_invite", by: m[1], user: m[2], channel: m[3] };
      }
      break;
    case Event.AWAY:
      if ((m = /^(\S+) is back$/.exec(text))) return { type: "away", user: m[1], text: "" };
      if ((m = /^(\S+) is away: (.*)$/s.exec(text))) {
        return { type: "away", user: m[1], text: m[2] };
      }
      break;
    case Event.LOGIN:
      if ((m = /^(\S+) logged in$/.exec(text))) return { type: "login", user: m[1] };
      break;
    case Event.WALLOPS:
      if ((m = /^(\S+): (.*)$/s.exec(text))) return { type: "wallops", from: m[1], text: m[2] };
      break;
    case Event.LOGOUT:
      if ((m = /^(\S+) logged out$/.exec(text))) return { type: "logout", user: m[1] };
      break;
    case Event.PRESENCE:
      if ((m = /^logged in: (\S*); logged out: (\S*)$/.exec(text))) {
        const names = (list: string) => list === "" ? [] : list.split(",");
        return { type: "presence", logins: names(m[1]), logouts: names(m[2]) };
      }
      break;
    case Event.NICK:
      if ((m = /^(\S+) is now known as (\S+)$/.exec(text))) {
        return { type: "nick", user: m[1], name: m[2] };
      }
      break;
    case Event.IDLE:
      return { type: "idle", text };
    case Event.DISCONNECT:
      return { type: "disconnect", text };
    case Event.SHUTDOWN:
      return { type: "shutdown", text };
  }
  return { type: "unknown", code, text };
}

/** `{ tags }` when there are any, to spread into an event; `{}` otherwise. */
export function withTags(tags: ClientTags | undefined): { tags?: ClientTags } {
  return tags && Object.keys(tags).length > 0 ? { tags } : {};
}

/** The shutdown notice every client gets. */
export const SHUTDOWN_EVENT: ChatEvent = { type: "shutdown", text: Text.SHUTDOWN };

const encoder = new TextEncoder();

/**
 * What of an event a JSON frame carries: the fields only the server uses (presence order
 * numbers, a logout's IRC mask, IRC client-only tags) are left out.
 */
export function clientEvent(event: ChatEvent): ChatEvent {
  switch (event.type) {
    case "presence":
      return { type: "presence", logins: event.logins, logouts: event.logouts };
    case "logout":
      return { type: "logout", user: event.user };
    case "nick":
      return { type: "nick", user: event.user, name: event.name };
    case "tag_message":
      return event;
  }
  if (!("tags" in event)) return event;
  const { tags: _tags, ...rest } = event;
  return rest;
}

/** The wire bytes of an event line. */
export function encodeEvent(event: ChatEvent): Uint8Array {
  return encoder.encode(formatEvent(event));
}

/**
 * An event on its way to any number of recipients. Each wire format encodes it once, however
 * many connections of that format receive it.
 */
export class OutboundEvent {
  readonly event: ChatEvent;
  /** When it happened, epoch ms (for a message kept offline: when it was sent). */
  readonly at: number;
  #line: Uint8Array | undefined;
  #text: string | undefined;
  #other: Map<string, Uint8Array> | undefined;
  #json: string | undefined;

  constructor(event: ChatEvent, at: number = Date.now()) {
    this.event = event;
    this.at = at;
  }

  /** The line protocol's bytes (TCP), encoded on first use. */
  get line(): Uint8Array {
    return this.#line ??= encoder.encode(this.text + "\n");
  }

  /** The event's line without its ending (a WebSocket frame carries it as text). */
  get text(): string {
    return this.#text ??= formatEvent(this.event).slice(0, -1);
  }

  /** The event as a JSON frame item (lib/protocol/frames.ts), made on first use. */
  get json(): string {
    return this.#json ??= JSON.stringify({
      kind: "event",
      code: eventCode(this.event),
      text: eventText(this.event).replace(/\r\n|[\r\n]/g, " "),
      at: this.at,
      event: clientEvent(this.event),
    });
  }

  /** Bytes in another format (`irc`, `irc+time`), made by `encode` on first use of that key. */
  encoded(format: string, encode: (outbound: OutboundEvent) => Uint8Array): Uint8Array {
    this.#other ??= new Map();
    let bytes = this.#other.get(format);
    if (!bytes) this.#other.set(format, bytes = encode(this));
    return bytes;
  }
}
