/**
 * Every IRC command the gateway understands, before and after registration, and the handling of
 * one line: length limit, parsing, the right handler or the right error numeric.
 * @module
 */

import { die, kill, oper, wallops } from "./irc_oper.ts";
import { foldName } from "../../protocol/names.ts";
import { settleOfflineHandover } from "../presence.ts";
import { maskMatches } from "../services/channel.ts";
import { byteLength } from "../../protocol/names.ts";
import { invite, join, kick, list, mode, names, part, topic } from "./irc_channels.ts";
import { serviceNotice } from "./irc_common.ts";
import {
  ison,
  sendLusers,
  sendMotd,
  serverInfo,
  userhost,
  who,
  whois,
  whowas,
} from "./irc_info.ts";
import { type IrcMessage, parseIrcMessage, withoutTags } from "./irc_message.ts";
import { away, chathistory, cleanText, privmsg, silence } from "./irc_messages.ts";
import { nameOfNick } from "../../protocol/nicks.ts";
import { tagmsg } from "./irc_tagmsg.ts";
import {
  authenticate,
  cap,
  nick,
  nickWanted,
  pass,
  tryRegister,
  user,
} from "./irc_registration.ts";
import {
  type IrcHandler,
  type IrcSession,
  isRegistered,
  type RegisteredHandler,
} from "./irc_session.ts";
import { identOf } from "../../protocol/nicks.ts";
import { sendFailure } from "./irc_errors.ts";
import { Numeric } from "./numerics.ts";

/** Longest line without its tags, CR LF excluded (RFC 1459: 512 with CR LF). */
export const MAX_IRC_LINE_BYTES = 510;
/** Most bytes of a client's tags, the leading '@' and the space after them included (IRCv3). */
const MAX_CLIENT_TAG_BYTES = 4094;
/** Longest tag section a client may send (IRCv3 message-tags), plus the line. */
export const MAX_IRC_FRAME_BYTES = 4096 + MAX_IRC_LINE_BYTES;

function ping(session: IrcSession, message: IrcMessage): void {
  const [token] = message.params;
  if (token === undefined || token === "") {
    session.numeric(Numeric.ERR_NOORIGIN, "No origin specified");
    return;
  }
  session.send({
    source: session.serverName,
    command: "PONG",
    params: [session.serverName, token],
  });
}

async function quit(session: IrcSession, message: IrcMessage): Promise<void> {
  const reason = (message.params[0] ?? "").trim() || "Client quit";
  session.client.quitReason = `Quit: ${reason}`;
  const host = `${identOf(session.client.ident ?? "user")}@${session.client.ip}`;
  await session.closeWith(`Closing link: (${host}) [Quit: ${reason.slice(0, 200)}]`);
}

/**
 * NICK after registration: a guest takes another name (433 when someone has it or it is an
 * account); an account's name is fixed (447), but a change of case only is accepted as is.
 */
async function nickChange(session: IrcSession, message: IrcMessage): Promise<void> {
  const [wanted] = message.params;
  const decoded = nickWanted(session, wanted);
  if (!decoded || wanted === undefined) return;
  const me = session.me ?? "";
  if (foldName(decoded.name) === foldName(me)) {
    // Only the case differs: the same name, so nothing changes, and the client hears so.
    if (wanted !== session.nick) {
      session.send({ source: session.maskOf(me), command: "NICK", params: [wanted] });
      session.nick = wanted;
    }
    return;
  }
  // As the client knows itself: the nick it has (a change of case included).
  const before = session.maskOf(me).replace(/^[^!]*/, session.target);
  await session.request("NICK", [decoded.name], (reply) => {
    const reason = reply.detail?.reason;
    if (reply.code < 400) {
      // The others are told by the core; the client itself hears it here, before what follows.
      session.send({ source: before, command: "NICK", params: [wanted] });
      session.nick = wanted;
    } else if (reason === "name_fixed") {
      session.numeric(
        Numeric.ERR_NONICKCHANGE,
        "Cannot change nickname: an account's name is fixed (a guest's is not); log in as another account to be someone else",
      );
    } else sendFailure(session, reply, { command: "NICK", nick: wanted });
  });
}

function help(session: IrcSession, message: IrcMessage): void {
  const subject = (message.params[0] ?? "*").toUpperCase();
  if (subject !== "*" && COMMANDS[subject]?.after === undefined) {
    session.numeric("524", subject, "No help available on this topic");
    return;
  }
  session.numeric("704", subject, "labchat IRC gateway");
  const lines = subject === "*"
    ? [
      "Commands: " + Object.keys(COMMANDS).sort().join(" "),
      "#lab is the broadcast stream; &room-N are labchat rooms; #others are channels.",
      "Forum, history and the other labchat commands: /msg labchat HELP",
    ]
    : [`${subject}: see RFC 2812 and docs/IRC.md`];
  for (const line of lines) session.numeric("705", subject, line);
  session.numeric("706", subject, "End of /HELP");
}

const noPrivileges: IrcHandler = (session) =>
  session.numeric(Numeric.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator");
const alreadyRegistered: IrcHandler = (session) =>
  session.numeric(Numeric.ERR_ALREADYREGISTERED, "You may not reregister");

/**
 * A query that may name a server (`MOTD server`, `LUSERS mask server`): this one, a mask that
 * matches it or a nick on it is answered here; any other is 402, as there are no other servers.
 */
function onThisServer(at: number, handler: IrcHandler): IrcHandler {
  return (session, message) => {
    const target = message.params[at];
    if (target === undefined || target === "" || isThisServer(session, target)) {
      return handler(session, message);
    }
    session.numeric(Numeric.ERR_NOSUCHSERVER, target, "No such server");
  };
}

function isThisServer(session: IrcSession, target: string): boolean {
  if (maskMatches(target, session.serverName)) return true;
  const named = nameOfNick(target);
  return "name" in named && session.ctx.hub.find(named.name) !== undefined;
}

/**
 * One IRC command: what handles it before registration (which it may complete) and once
 * registered, how many non-empty parameters it needs (fewer get 461), and whether a client sends
 * it on its own, on a timer (lag checks, notify-list and away polls): those do not keep a session
 * from idling out.
 */
interface IrcCommand {
  readonly before?: IrcHandler;
  readonly after?: RegisteredHandler;
  readonly params?: number;
  readonly keepalive?: boolean;
}

/** Every command the gateway knows. */
const COMMANDS: Record<string, IrcCommand> = {
  CAP: { before: cap, after: cap, params: 1 },
  AUTHENTICATE: { before: authenticate, after: authenticate },
  PASS: { before: pass, after: alreadyRegistered },
  NICK: { before: nick, after: nickChange },
  USER: { before: user, after: alreadyRegistered },
  PING: { before: ping, after: ping, keepalive: true },
  PONG: { before: () => {}, after: () => {}, keepalive: true },
  QUIT: { before: quit, after: quit },
  PRIVMSG: { after: privmsg },
  TAGMSG: { after: tagmsg, params: 1 },
  NOTICE: { after: privmsg },
  JOIN: { after: join, params: 1 },
  PART: { after: part, params: 1 },
  TOPIC: { after: topic, params: 1 },
  NAMES: { after: names },
  LIST: { after: list },
  MODE: { after: mode, params: 1 },
  KICK: { after: kick, params: 2 },
  INVITE: { after: invite, params: 2 },
  WHO: { after: who, keepalive: true },
  WHOIS: { after: whois },
  WHOWAS: { after: whowas },
  ISON: { after: ison, params: 1, keepalive: true },
  USERHOST: { after: userhost, params: 1, keepalive: true },
  AWAY: { after: away },
  SILENCE: { after: silence },
  CHATHISTORY: { after: chathistory },
  MOTD: { after: onThisServer(0, (session) => sendMotd(session)) },
  LUSERS: { after: onThisServer(1, sendLusers) },
  VERSION: { after: onThisServer(0, serverInfo) },
  TIME: { after: onThisServer(0, serverInfo) },
  ADMIN: { after: onThisServer(0, serverInfo) },
  INFO: { after: onThisServer(0, serverInfo) },
  HELP: { after: help },
  HELPOP: { after: help },
  OPER: { after: oper, params: 2 },
  KILL: { after: kill, params: 1 },
  DIE: { after: die },
  RESTART: { after: noPrivileges },
  REHASH: { after: noPrivileges },
  SQUIT: { after: noPrivileges },
  CONNECT: { after: noPrivileges },
  WALLOPS: { after: wallops, params: 1 },
  USERS: { after: (session) => session.numeric("446", "USERS has been disabled") },
  SUMMON: { after: (session) => session.numeric("445", "SUMMON has been disabled") },
  LINKS: {
    after: (session, message) =>
      session.numeric("365", message.params.at(-1) ?? "*", "End of /LINKS list"),
  },
  STATS: {
    after: (session, message) =>
      session.numeric("219", message.params[0] ?? "*", "End of /STATS report"),
  },
  SETNAME: {
    after: (session) => serviceNotice(session, "Your real name is fixed for the session"),
  },
};

/** Whether `message` has the non-empty parameters `command` needs. */
function hasParams(command: IrcCommand, message: IrcMessage): boolean {
  const wanted = command.params ?? 0;
  return message.params.slice(0, wanted).filter((p) => p.trim() !== "").length >= wanted;
}

/** Handles one line from an IRC client. */
export async function handleIrcLine(session: IrcSession, line: string): Promise<void> {
  const body = withoutTags(line);
  // Client tags are limited on their own (IRCv3 message-tags: 4094 bytes, '@' and space
  // included); past it the message is refused, not relayed.
  const tagBytes = line.startsWith("@") ? byteLength(line) - byteLength(body) : 0;
  if (tagBytes > MAX_CLIENT_TAG_BYTES) {
    session.numeric(Numeric.ERR_INPUTTOOLONG, "Input line was too long (message tags)");
    return;
  }
  if (byteLength(body) > MAX_IRC_LINE_BYTES) {
    session.numeric(Numeric.ERR_INPUTTOOLONG, "Input line was too long");
    return;
  }
  const parsed = parseIrcMessage(line);
  if (!parsed) return;
  // Topics, reasons, real names and away texts reach other users' terminals: no escapes in them.
  const message = { ...parsed, params: parsed.params.map(cleanText) };
  const command = COMMANDS[message.command];
  // What a client sends by itself to keep the link and its lists fresh is not the person's use.
  if (!command?.keepalive) session.client.touch(session.ctx.clock.now());
  settleOfflineHandover(session.ctx, session.client);
  const registered = session.registered && isRegistered(session);
  if (!registered && !command?.before) {
    // A numeric from a confused client is ignored; anything else waits for registration.
    if (command === undefined && /^\d{3}$/.test(message.command)) return;
    session.numeric(Numeric.ERR_NOTREGISTERED, "You have not registered");
    return;
  }
  if (registered && !command?.after) {
    session.numeric(Numeric.ERR_UNKNOWNCOMMAND, message.command, "Unknown command");
    return;
  }
  if (!hasParams(command as IrcCommand, message)) {
    session.numeric(Numeric.ERR_NEEDMOREPARAMS, message.command, "Not enough parameters");
    return;
  }
  if (registered) {
    await command?.after?.(session, message);
    return;
  }
  await command?.before?.(session, message);
  if (!session.isClosed) await tryRegister(session);
}
