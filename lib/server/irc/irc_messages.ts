/**
 * Messages from IRC clients: PRIVMSG and NOTICE to `#lab` (BROADCAST), rooms, channels and nicks
 * (MSG), the service nick that runs any labchat command, AWAY, SILENCE (BLOCK and UNBLOCK) and
 * CHATHISTORY (HISTORY).
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { foldName } from "../../protocol/names.ts";
import { resolveCommand } from "../../protocol/request.ts";
import type { HistoryEntry } from "../../protocol/reply_data.ts";
import { labText, messageTags, SERVICE_NICK, serviceNotice } from "./irc_common.ts";
import { sendFailure } from "./irc_errors.ts";
import { MAX_TARGETS, onlineByNick, refuseTargetsPastLimit } from "./irc_info.ts";
import type { IrcMessage, OutgoingMessage } from "./irc_message.ts";
import { nameOfNick, nickOf } from "../../protocol/nicks.ts";
import type { CoreReply, RegisteredSession } from "./irc_session.ts";
import { isLab, roomChannel, roomIdOf } from "./irc_views.ts";
import { Numeric } from "./numerics.ts";

/**
 * Control characters that are not IRC formatting: removed from what IRC clients send, so no
 * terminal on the other side ever gets an escape sequence. CTCP's \x01 and the formatting codes
 * (bold, colour, reset, monospace, reverse, italics, strike, underline) stay.
 */
// deno-lint-ignore no-control-regex
const UNSAFE_CONTROL = /[\x00\x04-\x08\x0a-\x0e\x10\x12-\x15\x17-\x1c\x7f-\x9f]/g;

/** Text from an IRC client as labchat keeps it. */
export function cleanText(text: string): string {
  return text.replace(UNSAFE_CONTROL, "");
}

/** Commands the service nick does not run: they belong to the IRC connection itself. */
const CONNECTION_COMMANDS = new Set(["USER", "LOGIN", "SESSION", "GUEST", "LOGOUT", "QUIT", "UDP"]);

/** PRIVMSG and NOTICE to each target (at most {@linkcode MAX_TARGETS}). */
export async function privmsg(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const notice = message.command === "NOTICE";
  const [targets, raw] = message.params;
  if (targets === undefined || targets === "") {
    if (!notice) {
      session.numeric(Numeric.ERR_NORECIPIENT, `No recipient given (${message.command})`);
    }
    return;
  }
  if (raw === undefined || raw === "") {
    if (!notice) session.numeric(Numeric.ERR_NOTEXTTOSEND, "No text to send");
    return;
  }
  const text = cleanText(raw);
  const clientTags = clientOnlyTags(session, message);
  const list = targets.split(",").filter((target) => target !== "");
  for (const target of list.slice(0, MAX_TARGETS)) {
    await sendTo(session, notice, target, text, clientTags);
  }
  // The rest are refused by name, so the sender knows who did not get it (never for NOTICE).
  if (!notice) refuseTargetsPastLimit(session, list);
}

/**
 * The client-only (`+`) tags of a message, the others being the server's to set; cleaned like
 * text, since they reach other users' clients (a reaction is shown).
 */
export function clientTagsOf(message: IrcMessage): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of message.tags) {
    if (key.startsWith("+")) tags[cleanText(key)] = cleanText(value);
  }
  return tags;
}

/** `+` tags a client sent, relayed to recipients and in the echo (message-tags). */
function clientOnlyTags(session: RegisteredSession, message: IrcMessage): Record<string, string> {
  return session.caps.has("message-tags") ? clientTagsOf(message) : {};
}

async function sendTo(
  session: RegisteredSession,
  notice: boolean,
  target: string,
  text: string,
  clientTags: Record<string, string>,
): Promise<void> {
  const me = session.me;
  const command = notice ? "NOTICE" : "PRIVMSG";
  const echo = (to: string, shown: string, at: number, msgid?: string) => {
    if (!session.caps.has("echo-message")) return;
    session.send({
      tags: { ...clientTags, ...messageTags(session, at, me, msgid) },
      source: session.maskOf(me),
      command,
      params: [to, shown],
    });
  };
  const fail = (reply: CoreReply, about: { channel?: string; nick?: string }) => {
    if (notice) return;
    if (reply.detail?.reason === "not_on_channel") {
      session.numeric(Numeric.ERR_CANNOTSENDTOCHAN, target, "Cannot send to channel");
    } else sendFailure(session, reply, { command, ...about });
  };
  if (isLab(target)) {
    if (notice) return; // labchat keeps every broadcast; a notice is not one
    await session.request("BROADCAST", [text], (reply) => {
      const data = reply.detail?.data;
      if (data?.kind !== "sent" || reply.code >= 300) return fail(reply, { channel: target });
      const number = data.number ?? 0;
      echo("#lab", labText(number, text), data.at, `b${number}`);
    }, clientTags);
    return;
  }
  const room = roomIdOf(target);
  if (room !== undefined) {
    if (notice) return;
    await session.request("ROOM SAY", [String(room), text], (reply) => {
      if (reply.code !== Reply.OK) {
        session.numeric(Numeric.ERR_CANNOTSENDTOCHAN, target, reply.lines[0] ?? "Cannot send");
        return;
      }
      const data = reply.detail?.data;
      echo(roomChannel(room), text, data?.kind === "sent" ? data.at : Date.now());
    }, clientTags);
    return;
  }
  if (target.startsWith("#") || target.startsWith("&")) {
    const channel = target;
    await session.request(notice ? "NOTICE" : "SAY", [channel, text], (reply) => {
      const data = reply.detail?.data;
      if (reply.code !== Reply.OK) return fail(reply, { channel });
      const number = data?.kind === "sent" ? data.number : undefined;
      echo(
        channel,
        text,
        data?.kind === "sent" ? data.at : Date.now(),
        number ? `c${number}` : undefined,
      );
    }, clientTags);
    return;
  }
  if (foldName(target) === SERVICE_NICK) {
    if (!notice) await service(session, text);
    return;
  }
  const decoded = nameOfNick(target);
  if (!("name" in decoded)) {
    if (!notice) session.numeric(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
    return;
  }
  const name = decoded.name;
  if (foldName(name) === foldName(me)) {
    // IRC clients message themselves (notes, tests); labchat's MSG refuses it, so it is shown
    // here, once, and not kept.
    session.send({
      tags: { ...clientTags, ...messageTags(session, session.ctx.clock.now(), me) },
      source: session.maskOf(me),
      command,
      params: [nickOf(me), text],
    });
    return;
  }
  await session.request(notice ? "NOTICE" : "MSG", [name, text], (reply) => {
    const data = reply.detail?.data;
    if (reply.code !== Reply.OK) {
      if (notice) return;
      if (reply.detail?.reason === "no_such_user" || reply.code === Reply.UNKNOWN_USER) {
        session.numeric(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
      } else session.notice(`${command} ${target}: ${reply.lines[0] ?? "refused"}`);
      return;
    }
    const to = nickOf(session.ctx.hub.find(name)?.name ?? name);
    const sent = data?.kind === "sent" ? data : undefined;
    echo(to, text, sent?.at ?? Date.now(), sent?.msgid);
    if (notice) return;
    if (data?.kind === "sent" && data.away) session.numeric(Numeric.RPL_AWAY, to, data.away);
    if (/offline/.test(reply.lines[0] ?? "")) serviceNotice(session, reply.lines[0]);
  }, clientTags);
}

/** `/msg labchat <command>`: any labchat command; its reply comes back as notices. */
export async function service(session: RegisteredSession, line: string): Promise<void> {
  const trimmed = line.trim();
  let name: string;
  try {
    name = resolveCommand(trimmed).command.name;
  } catch {
    name = "";
  }
  if (CONNECTION_COMMANDS.has(name)) {
    serviceNotice(session, `${name} is not for IRC: your IRC connection does that itself`);
    return;
  }
  const words = trimmed.split(/\s+/);
  let request = trimmed;
  if (name === "REGISTER" && words.length === 2) request = `REGISTER ${session.me} ${words[1]}`;
  await session.requestLine(request, (reply) => {
    for (const text of reply.lines) {
      for (const piece of splitText(text, 400)) serviceNotice(session, piece);
    }
    if (reply.code >= 400 && reply.lines.length === 0) {
      serviceNotice(session, `Error ${reply.code}`);
    }
  });
}

/** Cuts text into pieces of at most `size` characters (a notice must fit an IRC line). */
function splitText(text: string, size: number): string[] {
  if (text.length <= size) return [text];
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

/** AWAY [message]. */
export async function away(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const text = cleanText(message.params[0] ?? "");
  await session.request("AWAY", text === "" ? [] : [text], (reply) => {
    if (reply.code !== Reply.OK) {
      session.notice(`AWAY: ${reply.lines[0] ?? "refused"}`);
    } else if (text === "") {
      session.numeric(Numeric.RPL_UNAWAY, "You are no longer marked as being away");
    } else session.numeric(Numeric.RPL_NOWAWAY, "You have been marked as being away");
  });
}

/** SILENCE: the block list; `+nick` blocks, `-nick` unblocks. */
export async function silence(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [change] = message.params;
  if (change === undefined || change === "") {
    await session.request("BLOCKED", [], (reply) => {
      if (reply.code === Reply.OK) {
        // The names, one per line, then a summary.
        for (const name of reply.lines.slice(0, -1)) {
          session.numeric(Numeric.RPL_SILELIST, `${nickOf(name)}!*@*`);
        }
      }
      session.numeric(Numeric.RPL_ENDOFSILELIST, "End of Silence List");
    });
    return;
  }
  const unblock = change.startsWith("-");
  const nick = change.replace(/^[+-]/, "").replace(/!.*$/, "");
  const decoded = nameOfNick(nick);
  if (!("name" in decoded)) {
    session.numeric(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    return;
  }
  await session.request(unblock ? "UNBLOCK" : "BLOCK", [decoded.name], (reply) => {
    if (reply.code !== Reply.OK) {
      session.notice(`SILENCE: ${reply.lines[0] ?? "refused"}`);
      return;
    }
    session.send({
      source: session.maskOf(session.me),
      command: "SILENCE",
      params: [`${unblock ? "-" : "+"}${nickOf(decoded.name)}`],
    });
  });
}

/** CHATHISTORY LATEST|BEFORE|AFTER|BETWEEN target reference [reference] limit. */
export async function chathistory(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [sub = "", target = "", ref1 = "", ref2 = "", ref3 = ""] = message.params;
  const subcommand = sub.toUpperCase();
  const failWith = (code: string, text: string) =>
    session.send({
      source: session.serverName,
      command: "FAIL",
      params: ["CHATHISTORY", code, ...(subcommand ? [subcommand] : []), text],
    });
  if (subcommand === "TARGETS") {
    sendBatch(session, "draft/chathistory-targets", [], []);
    return;
  }
  if (!["LATEST", "BEFORE", "AFTER", "BETWEEN"].includes(subcommand) || target === "") {
    failWith("INVALID_PARAMS", "Use LATEST, BEFORE, AFTER or BETWEEN with a target");
    return;
  }
  const limitText = subcommand === "BETWEEN" ? ref3 : ref2;
  const limit = Math.min(100, Math.max(1, Number(limitText) || 50));
  const historyTarget = historyTargetOf(session, target);
  if (historyTarget === undefined) {
    failWith("INVALID_TARGET", "No history of that target");
    return;
  }
  const words: string[] = [`limit ${limit}`];
  const bound = (ref: string, direction: "before" | "after") => {
    const msgid = /^msgid=[a-z]?(\d{1,9})$/.exec(ref);
    if (msgid) return `${direction} ${msgid[1]}`;
    const time = /^timestamp=(.+)$/.exec(ref);
    if (time) return direction === "before" ? `until ${time[1]}` : time[1];
    return undefined;
  };
  const parts = subcommand === "LATEST"
    ? [ref1 === "*" ? undefined : bound(ref1, "after")]
    : subcommand === "BEFORE"
    ? [bound(ref1, "before")]
    : subcommand === "AFTER"
    ? [bound(ref1, "after")]
    : [bound(ref1, "after"), bound(ref2, "before")];
  if (subcommand !== "LATEST" && parts.some((p) => p === undefined)) {
    failWith("INVALID_PARAMS", "A reference is msgid=<id> or timestamp=<ISO time>");
    return;
  }
  // A time (strictly after it) must come last in HISTORY's arguments.
  const defined = parts.filter((p) => p !== undefined) as string[];
  const ordered = [...defined.filter((p) => /^(before|after|until) /.test(p)), ...words];
  const time = defined.find((p) => !/^(before|after|until) /.test(p));
  if (time) ordered.push(time);
  await session.request("HISTORY", [historyTarget, ordered.join(" ")], (reply) => {
    const data = reply.detail?.data;
    if (reply.code !== Reply.OK || data?.kind !== "history") {
      failWith("MESSAGE_ERROR", reply.lines[0] ?? "Cannot read history");
      return;
    }
    const lines = data.messages.map((m) => historyLine(session, target, historyTarget, m));
    sendBatch(session, "chathistory", [target], lines);
  });
}

/** HISTORY's target for an IRC target, or `undefined`. */
function historyTargetOf(session: RegisteredSession, target: string): string | undefined {
  if (isLab(target)) return "b";
  const room = roomIdOf(target);
  if (room !== undefined) return String(room);
  if (target.startsWith("#")) return target;
  const decoded = nameOfNick(target);
  if (!("name" in decoded)) return undefined;
  return onlineByNick(session, target)?.name ?? decoded.name;
}

function historyLine(
  session: RegisteredSession,
  target: string,
  historyTarget: string,
  m: HistoryEntry,
): OutgoingMessage {
  const prefix = historyTarget === "b" ? "b" : historyTarget.startsWith("#") ? "c" : "p";
  const isPrivate = prefix === "p" && !/^\d+$/.test(historyTarget);
  const to = isPrivate ? nickOf(m.to ?? session.me ?? "") : target;
  return {
    tags: {
      time: new Date(m.at).toISOString(),
      msgid: session.caps.has("message-tags") ? `${prefix}${m.number}` : undefined,
    },
    source: session.maskOf(m.from),
    command: "PRIVMSG",
    params: [to, prefix === "b" ? labText(m.number, m.text) : m.text],
  };
}

/** Lines in a BATCH when the client has `batch`, or as they are. */
function sendBatch(
  session: RegisteredSession,
  type: string,
  params: string[],
  lines: readonly OutgoingMessage[],
): void {
  const batched = session.caps.has("batch");
  const id = session.nextBatch();
  if (batched) {
    session.send({
      source: session.serverName,
      command: "BATCH",
      params: [`+${id}`, type, ...params],
    });
  }
  for (const line of lines) {
    const tags: Record<string, string | undefined> = {
      ...line.tags,
      batch: batched ? id : undefined,
    };
    if (!session.caps.has("server-time")) tags.time = undefined;
    session.send({ ...line, tags });
  }
  if (batched) session.send({ source: session.serverName, command: "BATCH", params: [`-${id}`] });
}
