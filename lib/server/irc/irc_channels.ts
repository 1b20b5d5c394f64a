/**
 * Channel commands of IRC clients: JOIN, PART, TOPIC, NAMES, LIST, MODE, KICK, INVITE. `#lab`
 * and `&room-N` are shown by the gateway (the broadcast stream and the rooms are not channels in
 * labchat); every other channel is labchat's, through the shared requests.
 * @module
 */

import { sendFailure } from "./irc_errors.ts";
import { membersOf, onlineByNick } from "./irc_info.ts";
import type { IrcMessage } from "./irc_message.ts";
import { nameOfNick, nickOf } from "../../protocol/nicks.ts";
import type { RegisteredSession } from "./irc_session.ts";
import {
  isLab,
  LAB_TOPIC,
  labNames,
  roomIdOf,
  sendNames,
  sendTopic,
  showJoined,
  showLabJoined,
  showRoomJoined,
} from "./irc_views.ts";
import { Numeric } from "./numerics.ts";

/** JOIN #a,#b key1,key2 — and JOIN 0 leaves every channel. */
export async function join(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [names, keys = ""] = message.params;
  if (names === "0") {
    for (const channel of session.ctx.channels.channelsOf(session.me)) {
      await part(session, { ...message, command: "PART", params: [channel, "Left all channels"] });
    }
    return;
  }
  const keyList = keys.split(",");
  for (const [i, channel] of names.split(",").entries()) {
    if (channel === "") continue;
    if (isLab(channel)) {
      if (!session.inLab) showLabJoined(session);
      continue;
    }
    const room = roomIdOf(channel);
    if (room !== undefined || channel.startsWith("&")) {
      if (room === undefined || !showRoomJoined(session, room)) {
        session.numeric(Numeric.ERR_NOSUCHCHANNEL, channel, "No such channel");
      }
      continue;
    }
    if (!channel.startsWith("#")) {
      session.numeric(Numeric.ERR_NOSUCHCHANNEL, channel, "No such channel");
      continue;
    }
    const key = keyList[i];
    await session.request("JOIN", key ? [channel, key] : [channel], (reply) => {
      const data = reply.detail?.data;
      if (reply.code !== 200 || data?.kind !== "joined") {
        sendFailure(session, reply, { command: "JOIN", channel });
        return;
      }
      if (!data.already) showJoined(session, data.channel);
    });
  }
}

/** PART #a,#b [reason]. */
export async function part(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [names, reason] = message.params;
  const me = session.me;
  for (const channel of names.split(",")) {
    if (channel === "") continue;
    const partLine = (name: string) =>
      session.send({
        source: session.maskOf(me),
        command: "PART",
        params: reason ? [name, reason] : [name],
      });
    if (isLab(channel)) {
      if (!session.inLab) {
        session.numeric(Numeric.ERR_NOTONCHANNEL, channel, "You're not on that channel");
      } else {
        session.inLab = false;
        partLine("#lab");
      }
      continue;
    }
    const room = roomIdOf(channel);
    if (room !== undefined) {
      if (!session.rooms.delete(room)) {
        session.numeric(Numeric.ERR_NOTONCHANNEL, channel, "You're not on that channel");
      } else partLine(channel);
      continue;
    }
    const args = reason ? [channel, reason] : [channel];
    await session.request("PART", args, (reply) => {
      const data = reply.detail?.data;
      if (reply.code !== 200 || data?.kind !== "channel") {
        sendFailure(session, reply, { command: "PART", channel });
        return;
      }
      partLine(data.channel.name);
    });
  }
}

/** TOPIC #chan [topic]. */
export async function topic(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [channel, text] = message.params;
  if (isLab(channel) || roomIdOf(channel) !== undefined) {
    if (text !== undefined) {
      session.numeric(Numeric.ERR_CHANOPRIVSNEEDED, channel, "This topic cannot be changed");
    } else {
      session.numeric(
        Numeric.RPL_TOPIC,
        channel,
        isLab(channel) ? LAB_TOPIC : `labchat room ${roomIdOf(channel)}`,
      );
    }
    return;
  }
  if (text === undefined) {
    await session.request("TOPIC", [channel], (reply) => {
      const data = reply.detail?.data;
      if (reply.code !== 200 || data?.kind !== "topic") {
        sendFailure(session, reply, { command: "TOPIC", channel });
      } else if (data.topic === "") {
        session.numeric(Numeric.RPL_NOTOPIC, data.channel, "No topic is set");
      } else sendTopic(session, data.channel, data.topic, data.by, data.at);
    });
    return;
  }
  const [command, args] = text === ""
    ? ["TOPIC CLEAR" as const, [channel]]
    : ["TOPIC" as const, [channel, text]];
  await session.request(command, args, (reply) => {
    const data = reply.detail?.data;
    if (reply.code !== 200 || data?.kind !== "topic") {
      sendFailure(session, reply, { command: "TOPIC", channel });
      return;
    }
    session.send({
      source: session.maskOf(session.me),
      command: "TOPIC",
      params: [data.channel, data.topic],
    });
  });
}

/** NAMES #chan — without a channel, the end of the list only (as many servers do). */
export function names(session: RegisteredSession, message: IrcMessage): void {
  const [list] = message.params;
  if (list === undefined || list === "") {
    session.numeric(Numeric.RPL_ENDOFNAMES, "*", "End of /NAMES list");
    return;
  }
  for (const channel of list.split(",")) {
    const members = isLab(channel) ? labNames(session) : membersOf(session, channel);
    if (!members) {
      session.numeric(Numeric.RPL_ENDOFNAMES, channel, "End of /NAMES list");
      continue;
    }
    const view = channel.startsWith("#") && !isLab(channel)
      ? session.ctx.channels.view(channel)
      : undefined;
    sendNames(session, view?.name ?? channel, members, view?.secret ?? !isLab(channel));
  }
}

/** LIST [#a,#b]: `#lab`, the user's rooms and the channels the user may see. */
export function list(session: RegisteredSession, message: IrcMessage): void {
  const [filter] = message.params;
  const wanted = filter && !filter.startsWith(">") && !filter.startsWith("<")
    ? new Set(filter.split(",").map((c) => c.toLowerCase()))
    : undefined;
  const me = session.me;
  session.numeric(Numeric.RPL_LISTSTART, "Channel", "Users  Name");
  const rows: [string, number, string][] = [["#lab", session.ctx.hub.size, LAB_TOPIC]];
  for (const room of session.ctx.rooms.forMember(me)) {
    rows.push([`&room-${room.id}`, room.members.length, `labchat room ${room.id}`]);
  }
  for (const view of session.ctx.channels.list(me)) {
    rows.push([view.name, view.members.length, view.topic]);
  }
  for (const [name, count, text] of rows) {
    if (wanted && !wanted.has(name.toLowerCase())) continue;
    session.numeric(Numeric.RPL_LIST, name, String(count), text);
  }
  session.numeric(Numeric.RPL_LISTEND, "End of /LIST");
}

/** The user's modes: +i always, o when an operator (OPER), w when taking WALLOPS. */
function userModeString(session: RegisteredSession): string {
  const me = session.ctx.hub.online(session.me ?? "");
  return `+i${session.oper ? "o" : ""}${me?.wallops ? "w" : ""}`;
}

/**
 * Changes the user's own modes: w (WALLOPS) on or off, o only off (OPER gives it), i stays.
 * What changed is echoed as a MODE line; an unknown letter is 501.
 */
async function userModes(session: RegisteredSession, change: string): Promise<void> {
  const me = session.me;
  let sign = "+";
  const applied: string[] = [];
  for (const letter of change) {
    if (letter === "+" || letter === "-") sign = letter;
    else if (letter === "w") {
      const on = sign === "+";
      if ((session.ctx.hub.online(me)?.wallops === true) !== on) {
        await session.ctx.hub.update(me, { wallops: on });
        applied.push(`${sign}w`);
      }
    } else if (letter === "o") {
      if (sign === "-" && session.oper) {
        session.oper = false;
        applied.push("-o");
      }
    } else if (letter !== "i") {
      session.numeric(Numeric.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag");
      return;
    }
  }
  if (applied.length === 0) return;
  session.send({
    source: session.maskOf(me),
    command: "MODE",
    params: [nickOf(me), applied.join("")],
  });
}

/** MODE: a channel's modes (see or change), or the user's own (i always; o, w). */
export async function mode(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [target, ...rest] = message.params;
  if (!target.startsWith("#") && !target.startsWith("&")) {
    const user = onlineByNick(session, target);
    if (!user) {
      session.numeric(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
    } else if (user.name !== session.me) {
      session.numeric(Numeric.ERR_USERSDONTMATCH, "Can't change mode for other users");
    } else if (rest.length > 0) {
      await userModes(session, rest[0]);
    } else {
      session.numeric(Numeric.RPL_UMODEIS, userModeString(session));
    }
    return;
  }
  if (isLab(target) || roomIdOf(target) !== undefined) {
    if (rest.length === 0) {
      session.numeric(Numeric.RPL_CHANNELMODEIS, target, isLab(target) ? "+nt" : "+nst");
    } else if (/^[+-]?b$/.test(rest[0]) && rest.length === 1) {
      session.numeric(Numeric.RPL_ENDOFBANLIST, target, "End of channel ban list");
    } else {
      session.numeric(Numeric.ERR_CHANOPRIVSNEEDED, target, "This channel's modes are fixed");
    }
    return;
  }
  const args = rest.length === 0 ? [target] : [target, rest.map(modeArgument).join(" ")];
  await session.request("MODE", args, (reply) => {
    const data = reply.detail?.data;
    if (reply.code !== 200 || data?.kind !== "modes") {
      // The nick the refusal is about: the first argument that is not online, or not in it.
      const members = new Set(session.ctx.channels.members(target));
      const nick = rest.find((a, i) => {
        if (i === 0) return false;
        const user = onlineByNick(session, a);
        return user === undefined || !members.has(user.name);
      });
      sendFailure(session, reply, { command: "MODE", channel: target, nick });
      return;
    }
    if (data.bans) {
      for (const ban of data.bans) {
        session.numeric(
          Numeric.RPL_BANLIST,
          data.channel,
          ban.mask,
          nickOf(ban.by),
          String(Math.floor(ban.at / 1000)),
        );
      }
      session.numeric(Numeric.RPL_ENDOFBANLIST, data.channel, "End of channel ban list");
      return;
    }
    if (rest.length === 0) {
      session.numeric(
        Numeric.RPL_CHANNELMODEIS,
        data.channel,
        data.view.modes,
        ...data.view.modeArgs,
      );
      session.numeric(
        Numeric.RPL_CREATIONTIME,
        data.channel,
        String(Math.floor(data.view.createdAt / 1000)),
      );
      return;
    }
    if (data.changed !== "") {
      session.send({
        source: session.maskOf(session.me),
        command: "MODE",
        params: [data.channel, data.changed, ...data.changedArgs.map(nickArg)],
      });
    }
  });
}

/** A nick among MODE's arguments becomes the labchat name it stands for. */
function modeArgument(arg: string): string {
  const decoded = nameOfNick(arg);
  return "name" in decoded && arg.includes("\\") ? decoded.name : arg;
}

function nickArg(arg: string): string {
  return /^[^!@*?]+$/.test(arg) && !/^\d+$/.test(arg) ? nickOf(arg) : arg;
}

/** KICK #chan nick[,nick] [reason]. */
export async function kick(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [channel, nicks, reason] = message.params;
  const me = session.me;
  for (const nick of nicks.split(",")) {
    const decoded = nameOfNick(nick);
    const user = "name" in decoded
      ? session.ctx.hub.find(decoded.name)?.name ?? decoded.name
      : nick;
    const args = reason ? [channel, user, reason] : [channel, user];
    await session.request("KICK", args, (reply) => {
      if (reply.code !== 200) {
        sendFailure(session, reply, { command: "KICK", channel, nick });
        return;
      }
      session.send({
        source: session.maskOf(me),
        command: "KICK",
        params: [channel, nickOf(user), reason ?? nickOf(me)],
      });
    });
  }
}

/** INVITE nick #chan. */
export async function invite(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [nick, channel] = message.params;
  const user = onlineByNick(session, nick);
  if (!user) {
    session.numeric(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    return;
  }
  await session.request("INVITE", [user.name, channel], (reply) => {
    const data = reply.detail?.data;
    if (reply.code !== 200 || data?.kind !== "invited") {
      sendFailure(session, reply, { command: "INVITE", channel, nick });
      return;
    }
    session.numeric(Numeric.RPL_INVITING, nickOf(data.user), data.channel);
    if (data.away) session.numeric(Numeric.RPL_AWAY, nickOf(data.user), data.away);
  });
}
