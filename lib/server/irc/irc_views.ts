/**
 * How labchat's places look as IRC channels: `#lab` (the broadcast stream, everyone online),
 * `&room-N` (a labchat room, its members), and real channels; NAMES lists and topics for each.
 * @module
 */

import { BROADCAST_CHANNEL, foldChannel } from "../../protocol/names.ts";
import type { ChannelView, MemberView } from "../../protocol/reply_data.ts";
import { nickOf } from "../../protocol/nicks.ts";
import type { IrcSession, RegisteredSession } from "./irc_session.ts";
import { Numeric } from "./numerics.ts";

/** The topic of `#lab`. */
export const LAB_TOPIC =
  "labchat broadcast stream: every message is numbered [#N] and kept; /msg labchat HELP for the rest";

/** Whether an IRC channel name means the broadcast stream. */
export function isLab(channel: string): boolean {
  return foldChannel(channel) === BROADCAST_CHANNEL;
}

/** `&room-7` → 7, or `undefined` for other names. */
export function roomIdOf(channel: string): number | undefined {
  const match = /^&room-([1-9][0-9]{0,8})$/i.exec(channel);
  return match ? Number(match[1]) : undefined;
}

/** The IRC name of labchat room `id`. */
export function roomChannel(id: number): string {
  return `&room-${id}`;
}

/** Members of `#lab`: everyone online; admins shown as operators. */
export function labMembers(session: IrcSession): MemberView[] {
  const members: MemberView[] = [];
  for (const u of session.ctx.hub.list()) {
    members.push({ name: u.name, op: u.admin ?? false, voice: false });
  }
  return members;
}

/**
 * Whether `#lab` has more users than IRC clients are shown one by one (`ircLabLimit`). Then a
 * login is not sent to IRC clients as a JOIN, and NAMES lists operators and yourself only: with
 * everyone in `#lab`, a storm of n logins would otherwise send n² JOIN lines and n NAMES lists of
 * up to n names (5000 IRC logins: about a gigabyte). WHO `#lab` still lists everyone. Large IRC
 * networks do the same for their largest channels (auditorium modes; Twitch above 1000 users).
 */
export function labIsLarge(session: IrcSession): boolean {
  const limit = session.ctx.config.ircLabLimit;
  return limit > 0 && session.ctx.hub.size > limit;
}

/**
 * Members of `#lab` as NAMES shows them: everyone, or operators and yourself when it is large
 * (from the hub's few operators, not a pass over everyone: a storm's NAMES would be n²).
 */
export function labNames(session: IrcSession): MemberView[] {
  if (!labIsLarge(session)) return labMembers(session);
  const members = session.ctx.hub.operators().map((u) => ({
    name: u.name,
    op: true,
    voice: false,
  }));
  const me = session.me === undefined ? undefined : session.ctx.hub.online(session.me);
  if (me !== undefined && !me.admin) members.push({ name: me.name, op: false, voice: false });
  return members;
}

/** Members of a room, as a channel. */
export function roomMembers(session: IrcSession, id: number): MemberView[] | undefined {
  const room = session.ctx.rooms.get(id);
  return room?.members.map((name) => ({ name, op: name === room.creator, voice: false }));
}

/**
 * How a session's NAMES shows a member: `@nick`, `+nick`, `@+nick` (multi-prefix) or
 * `nick!ident@host` (userhost-in-names); the capabilities are looked up once for a whole list.
 */
function memberNamer(session: IrcSession): (member: MemberView) => string {
  const multi = session.caps.has("multi-prefix");
  const masks = session.caps.has("userhost-in-names");
  return (member) => {
    const prefix = member.op ? (multi && member.voice ? "@+" : "@") : member.voice ? "+" : "";
    return prefix + (masks ? session.maskOf(member.name) : nickOf(member.name));
  };
}

/** RPL_NAMREPLY lines (each under 512 bytes) and RPL_ENDOFNAMES. */
export function sendNames(
  session: IrcSession,
  channel: string,
  members: readonly MemberView[],
  secret = false,
): void {
  const symbol = secret ? "@" : "=";
  const base = session.serverName.length + session.target.length + channel.length + 20;
  const nameOf = memberNamer(session);
  let line: string[] = [];
  let size = base;
  for (const member of members) {
    const name = nameOf(member);
    if (line.length > 0 && size + name.length + 1 > 500) {
      session.numeric(Numeric.RPL_NAMREPLY, symbol, channel, line.join(" "));
      line = [];
      size = base;
    }
    line.push(name);
    size += name.length + 1;
  }
  if (line.length > 0) session.numeric(Numeric.RPL_NAMREPLY, symbol, channel, line.join(" "));
  session.numeric(Numeric.RPL_ENDOFNAMES, channel, "End of /NAMES list");
}

/** The JOIN line of `name` joining `channel`, extended-join aware. */
export function joinMessage(session: IrcSession, name: string, channel: string, at?: number) {
  const online = session.ctx.hub.online(name);
  const params = session.caps.has("extended-join")
    ? [channel, online?.guest ? "*" : nickOf(name), online?.realname ?? name]
    : [channel];
  return {
    tags: at === undefined ? undefined : { time: session.timeTag(at) },
    source: session.maskOf(name),
    command: "JOIN",
    params,
  };
}

/** Shows `#lab` joined: JOIN, topic, names. */
export function showLabJoined(session: RegisteredSession): void {
  const me = session.me;
  session.inLab = true;
  // Who is online now: a presence batch still to come tells only what changes after this.
  session.labShownSeq = session.ctx.presence.sequence;
  session.send(joinMessage(session, me, BROADCAST_CHANNEL));
  session.numeric(Numeric.RPL_TOPIC, BROADCAST_CHANNEL, LAB_TOPIC);
  sendNames(session, BROADCAST_CHANNEL, labNames(session));
  if (labIsLarge(session)) {
    session.send({
      source: session.serverName,
      command: "NOTICE",
      params: [
        session.target,
        `${session.ctx.hub.size} users are online, more than ${session.ctx.config.ircLabLimit}: ` +
        "#lab lists operators only and does not show logins as JOINs; WHO #lab lists everyone",
      ],
    });
  }
}

/** Shows a room joined: JOIN and names. False when there is no such room of the user's. */
export function showRoomJoined(session: RegisteredSession, id: number): boolean {
  const me = session.me;
  const members = roomMembers(session, id);
  if (!members?.some((m) => m.name === me)) return false;
  session.rooms.add(id);
  const channel = roomChannel(id);
  session.send(joinMessage(session, me, channel));
  session.numeric(
    Numeric.RPL_TOPIC,
    channel,
    `labchat room ${id}: its members are fixed; what is said here is kept (HISTORY ${id})`,
  );
  sendNames(session, channel, members, true);
  return true;
}

/** RPL_TOPIC and RPL_TOPICWHOTIME. */
export function sendTopic(
  session: RegisteredSession,
  channel: string,
  topic: string,
  by: string,
  at: number,
) {
  session.numeric(Numeric.RPL_TOPIC, channel, topic);
  session.numeric(Numeric.RPL_TOPICWHOTIME, channel, nickOf(by), String(Math.floor(at / 1000)));
}

/** Topic, topic setter and names of a channel just joined. */
export function showJoined(session: RegisteredSession, view: ChannelView): void {
  session.send(joinMessage(session, session.me, view.name));
  if (view.topic !== "") sendTopic(session, view.name, view.topic, view.topicBy, view.topicAt);
  sendNames(session, view.name, view.members, view.secret);
}
