/**
 * The hub's events as IRC lines for one client: messages as PRIVMSG and NOTICE, presence as
 * JOIN and QUIT in `#lab`, channel changes as JOIN, PART, KICK, TOPIC, MODE and INVITE.
 * @module
 */

import { labText, messageTags, serviceNotice } from "./irc_common.ts";
import type { ClientTags, OutboundEvent } from "../../protocol/events.ts";
import { BROADCAST_CHANNEL } from "../../protocol/names.ts";
import { formatIrcMessage, type OutgoingMessage } from "./irc_message.ts";
import { nickOf } from "../../protocol/nicks.ts";
import { type IrcSession, isRegistered } from "./irc_session.ts";
import { identOf } from "../../protocol/nicks.ts";
import {
  isLab,
  joinMessage,
  labIsLarge,
  roomChannel,
  showJoined,
  showRoomJoined,
} from "./irc_views.ts";

/** A message's client-only tags, for a client that asked for message-tags. */
function relayedTags(session: IrcSession, tags: ClientTags | undefined): ClientTags | undefined {
  return tags && session.caps.has("message-tags") ? tags : undefined;
}

/**
 * A message from `from` to `target` as IRC shows it: its tags (time, msgid, account, and the
 * client-only tags it came with, for clients that take them) and the sender's mask.
 */
function said(
  session: IrcSession,
  at: number,
  from: string,
  command: "PRIVMSG" | "NOTICE",
  [target, text]: [string, string],
  extra: { tags?: ClientTags; msgid?: string } = {},
): OutgoingMessage {
  return {
    tags: { ...relayedTags(session, extra.tags), ...messageTags(session, at, from, extra.msgid) },
    source: session.maskOf(from),
    command,
    params: [target, text],
  };
}

const encoder = new TextEncoder();

/**
 * Events whose IRC line is the same for every recipient with the same capabilities: encoded once
 * per variant however many clients receive them (a broadcast to a thousand IRC clients is one
 * encoding, as it is for TCP).
 */
const SHARED = new Set([
  "broadcast",
  "channel_message",
  "channel_notice",
  "channel_join",
  "channel_part",
]);

/**
 * A user's QUIT, with the mask its JOIN had (`nick!ident@ip`, where the logout says where it was)
 * and the reason its session ended.
 */
function quitMessage(
  session: IrcSession,
  user: string,
  at: number,
  why: { readonly reason?: string; readonly ident?: string; readonly ip?: string } = {},
): OutgoingMessage {
  const host = why.ip === undefined
    ? `${nickOf(user)}@${session.serverName}`
    : `${identOf(why.ident ?? user)}@${why.ip}`;
  return {
    tags: { time: session.timeTag(at) },
    source: `${nickOf(user)}!${host}`,
    command: "QUIT",
    params: [why.reason ?? "Quit"],
  };
}

/**
 * A presence batch as IRC lines, encoded once per variant: the JOINs and the QUITs, with where
 * each user's line starts (and, last, where they end).
 */
interface PresenceLines {
  readonly joins: Uint8Array;
  readonly joinStarts: readonly number[];
  /** Where each user is among the logins (a client skips its own JOIN). */
  readonly loginIndex: ReadonlyMap<string, number>;
  readonly quits: Uint8Array;
  readonly quitStarts: readonly number[];
}

const presenceLines = new WeakMap<OutboundEvent, Map<string, PresenceLines>>();

/** Messages as one buffer of lines, with where each starts and, last, the end. */
function encodeLines(
  messages: readonly OutgoingMessage[],
): { bytes: Uint8Array; starts: number[] } {
  const parts = messages.map((m) => encoder.encode(formatIrcMessage(m) + "\r\n"));
  const starts = [0];
  for (const part of parts) starts.push(starts[starts.length - 1] + part.length);
  const bytes = new Uint8Array(starts[starts.length - 1]);
  parts.forEach((part, i) => bytes.set(part, starts[i]));
  return { bytes, starts };
}

/**
 * Sends a batch of logins and logouts as one JOIN or QUIT per user (IRC clients keep their member
 * lists from them). The lines are the same for every client of one variant, so they are encoded
 * once, and each client is sent a part of them: from the first change after its NAMES of #lab
 * listed who was online (no second JOIN, no QUIT of someone it never saw), without its own JOIN.
 * A login storm is one batch shared by all, never a batch built again for each client.
 */
function renderPresence(session: IrcSession, outbound: OutboundEvent): void {
  const event = outbound.event;
  if (event.type !== "presence") return;
  let variants = presenceLines.get(outbound);
  if (!variants) presenceLines.set(outbound, variants = new Map());
  let lines = variants.get(session.variant);
  if (!lines) {
    const at = outbound.at;
    const joins = encodeLines(
      event.logins.map((user) => joinMessage(session, user, BROADCAST_CHANNEL, at)),
    );
    const quits = encodeLines(event.logouts.map((user) => quitMessage(session, user, at)));
    lines = {
      joins: joins.bytes,
      joinStarts: joins.starts,
      loginIndex: new Map(event.logins.map((user, i) => [user, i])),
      quits: quits.bytes,
      quitStarts: quits.starts,
    };
    variants.set(session.variant, lines);
  }
  // The changes are numbered in the order they are listed: those after the client's NAMES are
  // the end of each list, found by halving (a storm's batch is read by every client in it).
  const shownAt = session.labShownSeq;
  const firstAfter = (seqs: readonly number[] | undefined, count: number) => {
    if (seqs === undefined) return 0;
    let [low, high] = [0, count];
    while (low < high) {
      const mid = (low + high) >> 1;
      if (seqs[mid] > shownAt) high = mid;
      else low = mid + 1;
    }
    return low;
  };
  if (session.inLab && lines.joins.length > 0 && !labIsLarge(session)) {
    const from = lines.joinStarts[firstAfter(event.loginSeqs, event.logins.length)];
    const own = session.me === undefined ? undefined : lines.loginIndex.get(session.me);
    const [ownStart, ownEnd] = own === undefined
      ? [lines.joins.length, lines.joins.length]
      : [lines.joinStarts[own], lines.joinStarts[own + 1]];
    if (from < ownStart) session.sendBytes(lines.joins.subarray(from, ownStart));
    const rest = Math.max(from, ownEnd);
    if (rest < lines.joins.length) session.sendBytes(lines.joins.subarray(rest));
  }
  const quitsFrom = lines.quitStarts[firstAfter(event.logoutSeqs, event.logouts.length)];
  if (quitsFrom < lines.quits.length) session.sendBytes(lines.quits.subarray(quitsFrom));
}

/** Renders one event for `session`. */
export function renderEvent(session: IrcSession, outbound: OutboundEvent): void {
  const event = outbound.event;
  if (event.type === "presence") {
    renderPresence(session, outbound);
    return;
  }
  if (event.type === "login" && labIsLarge(session)) return; // not a JOIN in a large #lab
  if (SHARED.has(event.type)) {
    if ((event.type === "broadcast" || event.type === "login") && !session.inLab) return;
    if (event.type === "away" && !session.caps.has("away-notify")) return;
    const bytes = outbound.encoded(session.variant, () => {
      let line = "";
      renderOne(session, outbound, (message) => {
        line = formatIrcMessage(message) + "\r\n";
        return true;
      });
      return encoder.encode(line);
    });
    session.sendBytes(bytes);
    return;
  }
  renderOne(session, outbound, (message) => session.send(message));
}

/** Renders one event as messages handed to `send`. */
function renderOne(
  session: IrcSession,
  outbound: OutboundEvent,
  send: (message: OutgoingMessage) => boolean,
): void {
  const event = outbound.event;
  const at = outbound.at;
  const me = nickOf(session.me ?? "");
  switch (event.type) {
    case "private":
      send(said(session, at, event.from, "PRIVMSG", [me, event.text], event));
      return;
    case "private_sent":
      // Sent from another session of this account (ergo's multiclient does the same).
      send(said(session, at, session.me ?? "", event.notice ? "NOTICE" : "PRIVMSG", [
        nickOf(event.to),
        event.text,
      ], { msgid: event.msgid }));
      return;
    case "private_offline": {
      const text = session.caps.has("server-time") ? event.text : `[${event.sentAt}] ${event.text}`;
      send(said(session, at, event.from, "PRIVMSG", [me, text]));
      return;
    }
    case "private_notice":
      send(said(session, at, event.from, "NOTICE", [me, event.text], event));
      return;
    case "broadcast":
      if (!session.inLab) return;
      send(said(session, at, event.from, "PRIVMSG", [
        BROADCAST_CHANNEL,
        labText(event.number, event.text),
      ], { tags: event.tags, msgid: `b${event.number}` }));
      return;
    case "room":
      if (!isRegistered(session)) return;
      if (!session.rooms.has(event.room) && !showRoomJoined(session, event.room)) return;
      send(said(session, at, event.from, "PRIVMSG", [roomChannel(event.room), event.text], event));
      return;
    case "room_created":
      if (isRegistered(session)) showRoomJoined(session, event.room);
      return;
    case "channel_message":
      send(said(session, at, event.from, "PRIVMSG", [event.channel, event.text], {
        tags: event.tags,
        msgid: `c${event.number}`,
      }));
      return;
    case "channel_notice":
      send(said(session, at, event.from, "NOTICE", [event.channel, event.text], event));
      return;
    case "channel_join": {
      // This account joined from another of its sessions: shown as joined here too.
      const view = event.user === session.me && isRegistered(session)
        ? session.ctx.channels.view(event.channel)
        : undefined;
      if (view && isRegistered(session)) showJoined(session, view);
      else send(joinMessage(session, event.user, event.channel, at));
      return;
    }
    case "wallops":
      send({
        tags: { time: session.timeTag(at) },
        source: session.maskOf(event.from),
        command: "WALLOPS",
        params: [event.text],
      });
      return;
    case "tag_message":
      if (!session.caps.has("message-tags")) return;
      if (event.channel !== undefined && isLab(event.channel) && !session.inLab) return;
      send({
        tags: { ...event.tags, ...messageTags(session, at, event.from, event.msgid) },
        source: session.maskOf(event.from),
        command: "TAGMSG",
        params: [
          event.room !== undefined ? roomChannel(event.room) : event.channel ?? me,
        ],
      });
      return;
    case "channel_part":
      send({
        tags: { time: session.timeTag(at) },
        source: session.maskOf(event.user),
        command: "PART",
        params: event.reason === "" ? [event.channel] : [event.channel, event.reason],
      });
      return;
    case "channel_kick":
      send({
        tags: { time: session.timeTag(at) },
        source: session.maskOf(event.by),
        command: "KICK",
        params: [event.channel, nickOf(event.user), event.reason],
      });
      return;
    case "channel_topic":
      send({
        tags: { time: session.timeTag(at) },
        source: session.maskOf(event.by),
        command: "TOPIC",
        params: [event.channel, event.topic],
      });
      return;
    case "channel_mode":
      send({
        tags: { time: session.timeTag(at) },
        source: session.maskOf(event.by),
        command: "MODE",
        params: [event.channel, event.modes, ...event.args.map(modeArg)],
      });
      return;
    case "channel_invite":
      send({
        source: session.maskOf(event.by),
        command: "INVITE",
        params: [nickOf(event.user), event.channel],
      });
      return;
    case "away":
      if (!session.caps.has("away-notify")) return;
      send({
        source: session.maskOf(event.user),
        command: "AWAY",
        params: event.text === "" ? [] : [event.text],
      });
      return;
    case "login":
      if (session.inLab) send(joinMessage(session, event.user, BROADCAST_CHANNEL, at));
      return;
    case "logout":
      send(quitMessage(session, event.user, at, event));
      return;
    case "nick": {
      // Only to those shown the user: in #lab (while it lists everyone) or a shared channel
      // (under the new name, or still the old one: another node may not have moved it yet).
      const me = session.me;
      const channels = session.ctx.channels;
      const shown = (session.inLab && !labIsLarge(session)) ||
        (me !== undefined &&
          [...channels.channelsOf(event.name), ...channels.channelsOf(event.user)].some((c) =>
            channels.isMember(c, me)
          ));
      if (!shown) return;
      const host = `${identOf(event.ident ?? event.user)}@${event.ip ?? session.serverName}`;
      send({
        tags: { time: session.timeTag(at) },
        source: `${nickOf(event.user)}!${host}`,
        command: "NICK",
        params: [nickOf(event.name)],
      });
      return;
    }
    case "presence":
      return; // renderPresence
    case "peer":
      serviceNotice(
        session,
        `${event.from} wants to ${
          event.purpose === "file" ? "send you a file" : "talk privately"
        } peer to peer; that needs chat-client`,
      );
      return;
    case "idle":
    case "disconnect":
      session.send({ command: "ERROR", params: [event.text] });
      return;
    case "shutdown":
      session.notice(event.text);
      session.send({ command: "ERROR", params: [event.text] });
      return;
    case "unknown":
      session.notice(event.text);
      return;
  }
}

/** A mode argument: a user name becomes its nick; masks and keys stay. */
function modeArg(arg: string): string {
  return /^[^!@*?]+$/.test(arg) && !/^\d+$/.test(arg) ? nickOf(arg) : arg;
}
