/**
 * Connection registration: CAP negotiation, SASL PLAIN, PASS, NICK and USER, and the welcome
 * burst. Who may log in, with what password, at what rate and with what lockout is decided by
 * the same LOGIN, REGISTER and GUEST requests every front end uses.
 *
 * - SASL PLAIN or PASS with an account's name: LOGIN.
 * - PASS with a name that is no account: REGISTER (when registration is open).
 * - No password: a guest under that nick, for this connection only (when registration is open
 *   and `--no-irc-guests` is not given); a nick that is an account needs its password (433).
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { foldName } from "../../protocol/names.ts";
import type { IrcMessage } from "./irc_message.ts";
import { nameOfNick, nickOf } from "../../protocol/nicks.ts";
import { type CoreReply, type IrcSession, isRegistered } from "./irc_session.ts";
import { identOf } from "../../protocol/nicks.ts";
import { IRC_VERSION, SERVICE_NICK } from "./irc_common.ts";
import { sendLusers, sendMotd, supportTokens } from "./irc_info.ts";
import { showJoined, showLabJoined, showRoomJoined } from "./irc_views.ts";
import { Numeric } from "./numerics.ts";

/** The version string IRC clients see. */

/** Capabilities offered, with their CAP LS 302 values. */
export function offeredCaps(session: IrcSession): Map<string, string> {
  const caps = new Map<string, string>([
    ["account-tag", ""],
    ["away-notify", ""],
    ["batch", ""],
    ["cap-notify", ""],
    ["draft/chathistory", ""],
    ["echo-message", ""],
    ["extended-join", ""],
    ["message-tags", ""],
    ["multi-prefix", ""],
    ["sasl", "PLAIN"],
    ["server-time", ""],
    ["userhost-in-names", ""],
  ]);
  if (session.registered && session.me !== undefined) caps.delete("sasl");
  return caps;
}

/**
 * Longest SASL response, base64, before it is refused: room for a 1024-character password (a
 * password manager's, up to 4 bytes a character) with the names, in AUTHENTICATE's 400-byte
 * chunks.
 */
const MAX_SASL_BYTES = 8192;

/** CAP LS, LIST, REQ, END. */
export function cap(session: IrcSession, message: IrcMessage): void {
  const [sub = "", arg = ""] = message.params;
  const target = session.target;
  const reply = (...params: string[]) =>
    session.send({ source: session.serverName, command: "CAP", params: [target, ...params] });
  switch (sub.toUpperCase()) {
    case "LS": {
      if (!session.registered) session.negotiating = true;
      if (Number(arg) >= 302) {
        session.capVersion = 302;
        session.setCap("cap-notify", true);
      }
      const offered = offeredCaps(session);
      const list = [...offered].map(([name, value]) =>
        session.capVersion >= 302 && value !== "" ? `${name}=${value}` : name
      );
      reply("LS", list.join(" "));
      return;
    }
    case "LIST":
      reply("LIST", [...session.caps].join(" "));
      return;
    case "REQ": {
      if (!session.registered) session.negotiating = true;
      const offered = offeredCaps(session);
      const wanted = arg.split(" ").filter((c) => c !== "");
      const known = wanted.every((c) => offered.has(c.replace(/^-/, "")));
      if (!known || wanted.length === 0) {
        reply("NAK", arg);
        return;
      }
      for (const c of wanted) {
        session.setCap(c.replace(/^-/, ""), !c.startsWith("-"));
      }
      reply("ACK", arg);
      return;
    }
    case "END":
      if (session.registered) return;
      session.negotiating = false;
      return;
    case "":
      session.numeric(Numeric.ERR_NEEDMOREPARAMS, "CAP", "Not enough parameters");
      return;
    default:
      session.numeric(Numeric.ERR_INVALIDCAPCMD, sub, "Invalid CAP command");
  }
}

/** AUTHENTICATE: SASL PLAIN, checked by LOGIN. */
export async function authenticate(session: IrcSession, message: IrcMessage): Promise<void> {
  const [data = ""] = message.params;
  if (session.saslAccount !== undefined) {
    session.numeric(Numeric.ERR_SASLALREADY, "You have already authenticated using SASL");
    return;
  }
  if (session.registered || session.me !== undefined) {
    session.numeric(
      Numeric.ERR_SASLFAIL,
      "SASL authentication failed: you are registered already (reconnect to log in with SASL)",
    );
    return;
  }
  if (!session.caps.has("sasl")) {
    session.numeric(
      Numeric.ERR_SASLFAIL,
      "SASL authentication failed: you must enable SASL with CAP REQ :sasl first",
    );
    return;
  }
  if (data === "*") {
    session.sasl = undefined;
    session.numeric(Numeric.ERR_SASLABORTED, "SASL authentication aborted");
    return;
  }
  if (!session.sasl) {
    if (data.toUpperCase() !== "PLAIN") {
      session.numeric(Numeric.RPL_SASLMECHS, "PLAIN", "are available SASL mechanisms");
      session.numeric(Numeric.ERR_SASLFAIL, "SASL authentication failed");
      return;
    }
    session.sasl = { buffer: "" };
    session.send({ command: "AUTHENTICATE", params: ["+"] });
    return;
  }
  if (data !== "+") session.sasl.buffer += data;
  if (session.sasl.buffer.length > MAX_SASL_BYTES) {
    session.sasl = undefined;
    session.numeric(Numeric.ERR_SASLTOOLONG, "SASL message too long");
    return;
  }
  if (data.length === 400) return; // more chunks follow
  const encoded = session.sasl.buffer;
  session.sasl = undefined;
  const fields = decodePlain(encoded);
  if (!fields) {
    session.numeric(Numeric.ERR_SASLFAIL, "SASL authentication failed: malformed PLAIN response");
    return;
  }
  const reply = await session.ask("LOGIN", [fields.user, fields.password]);
  if (reply.code !== Reply.OK) {
    session.numeric(Numeric.ERR_SASLFAIL, `SASL authentication failed: ${reply.lines[0]}`);
    return;
  }
  // LOGIN signed the client in (the check above was before it).
  const account = session.client.identity?.name ?? fields.user;
  session.saslAccount = account;
  const mask = `${session.nick ?? nickOf(account)}!${
    identOf(session.client.ident ?? account)
  }@${session.client.ip}`;
  session.numeric(
    Numeric.RPL_LOGGEDIN,
    mask,
    nickOf(account),
    `You are now logged in as ${nickOf(account)}`,
  );
  session.numeric(Numeric.RPL_SASLSUCCESS, "SASL authentication successful");
}

/** `authzid NUL authcid NUL password`, base64; the authorization id must be empty or the same. */
function decodePlain(encoded: string): { user: string; password: string } | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
  const parts = text.split("\0");
  if (parts.length !== 3) return undefined;
  const [authz, user, password] = parts;
  if (user === "" || password === "" || (authz !== "" && foldName(authz) !== foldName(user))) {
    return undefined;
  }
  return { user, password };
}

/** PASS before registration. */
export function pass(session: IrcSession, message: IrcMessage): void {
  if (session.registered) {
    session.numeric(Numeric.ERR_ALREADYREGISTERED, "You may not reregister");
    return;
  }
  const [password] = message.params;
  if (password === undefined || password === "") {
    session.numeric(Numeric.ERR_NEEDMOREPARAMS, "PASS", "Not enough parameters");
    return;
  }
  session.password = password;
}

/**
 * The labchat name a NICK asks for; `undefined` (after 431 or 432) for none, one that cannot be a
 * name, or the service's.
 */
export function nickWanted(
  session: IrcSession,
  wanted: string | undefined,
): { name: string } | undefined {
  if (wanted === undefined || wanted === "") {
    session.numeric(Numeric.ERR_NONICKNAMEGIVEN, "No nickname given");
    return undefined;
  }
  const decoded = nameOfNick(wanted);
  if ("problem" in decoded || foldName(decoded.name) === SERVICE_NICK) {
    const why = "problem" in decoded ? decoded.problem : "That nick is the labchat service";
    session.numeric(Numeric.ERR_ERRONEUSNICKNAME, wanted, why);
    return undefined;
  }
  return decoded;
}

/** NICK before registration (after it, see the command table). */
export function nick(session: IrcSession, message: IrcMessage): void {
  const [wanted] = message.params;
  const decoded = nickWanted(session, wanted);
  if (!decoded) return;
  // A nick in use is refused, unless it is an account logging in with its password as another
  // session of the same person (IRC multiclient); LOGIN decides then.
  const online = session.me === undefined ? session.ctx.hub.find(decoded.name) : undefined;
  const anotherSession = online !== undefined && !online.guest &&
    session.password !== undefined && session.ctx.config.sessionsPerUser > 1;
  if (online && !anotherSession) {
    session.numeric(Numeric.ERR_NICKNAMEINUSE, wanted, "Nickname is already in use");
    return;
  }
  session.nick = nickOf(decoded.name);
}

/** USER before registration. */
export function user(session: IrcSession, message: IrcMessage): void {
  if (session.registered) {
    session.numeric(Numeric.ERR_ALREADYREGISTERED, "You may not reregister");
    return;
  }
  const [username = "", , , realname = ""] = message.params;
  if (message.params.length < 4 || username === "" || realname === "") {
    session.numeric(Numeric.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters");
    return;
  }
  session.client.ident = identOf(username);
  // No formatting either: the real name shows in WHO and WHOIS of every client type.
  // deno-lint-ignore no-control-regex
  session.client.realname = realname.replace(/[\x00-\x1f\x7f-\x9f]/g, "").slice(0, 100);
  session.userGiven = true;
}

/** Completes registration once NICK and USER are in and CAP negotiation (if any) has ended. */
export async function tryRegister(session: IrcSession): Promise<void> {
  if (session.registered || session.negotiating) return;
  if (session.nick === undefined || !session.userGiven) return;
  if (session.sasl) {
    // Registration completed while SASL was under way (a client whose SASL timed out): SASL
    // is abandoned, and the client registers as it would have without it (IRCv3 sasl-3.1).
    session.sasl = undefined;
    session.numeric(Numeric.ERR_SASLABORTED, "SASL authentication aborted");
  }
  if (session.me === undefined) {
    const name = (nameOfNick(session.nick) as { name: string }).name;
    const refused = await logIn(session, name);
    if (refused) return;
  }
  await welcome(session);
}

/** Logs in as `name` by PASS, or as a guest; true when refused (and told why). */
async function logIn(session: IrcSession, name: string): Promise<boolean> {
  const password = session.password;
  let reply: CoreReply;
  if (password !== undefined) {
    const known = await session.ask("USER", [name]);
    if (known.code === Reply.NEW_USER) reply = await session.ask("REGISTER", [name, password]);
    else if (known.code === Reply.PASSWORD_REQUIRED) {
      reply = await session.ask("LOGIN", [name, password]);
    } else reply = known;
  } else {
    reply = await session.ask("GUEST", [name]);
  }
  if (reply.code === Reply.OK) return false;
  const text = reply.lines[0] ?? "Cannot log in";
  if (
    reply.code === Reply.ALREADY_LOGGED_IN ||
    reply.detail?.reason === "name_is_account" ||
    reply.detail?.reason === "name_in_use"
  ) {
    // Clients retry with another nick at once (irssi: yoda_), and come in as a guest: say why
    // first, in a notice they show, with the command that logs in.
    if (reply.detail?.reason === "name_is_account") session.notice(howToLogIn(session, name));
    session.numeric(Numeric.ERR_NICKNAMEINUSE, session.nick ?? name, text);
    session.nick = undefined;
    return true;
  }
  session.numeric(Numeric.ERR_PASSWDMISMATCH, text);
  await session.closeWith(`Closing link: ${text}`);
  return true;
}

/** Tells someone who used an account's nick without its password how to log in. */
export function howToLogIn(session: IrcSession, name: string): string {
  const at = session.dialled;
  const where = at
    ? `${at.hostname.includes(":") ? `[${at.hostname}]` : at.hostname} ${at.port}`
    : "SERVER PORT";
  return `${name} is a labchat account and needs its password. Reconnect with it: /connect ${where} YOUR-PASSWORD ${name} (irssi), or set it as the server password or for SASL in your client`;
}

/**
 * 001–005, LUSERS, MOTD, then `#lab` and the user's rooms, all written before anything the
 * client sends next is answered (clients and bots synchronise on the reply to a PING).
 */
export async function welcome(session: IrcSession): Promise<void> {
  const me = session.me as string;
  session.nick = nickOf(me);
  session.password = undefined;
  const { serverName } = session;
  session.numeric(
    Numeric.RPL_WELCOME,
    `Welcome to the labchat IRC gateway, ${session.maskOf(me)}`,
  );
  session.numeric(
    Numeric.RPL_YOURHOST,
    `Your host is ${serverName}, running version ${IRC_VERSION}`,
  );
  session.numeric(
    Numeric.RPL_CREATED,
    `This server was created ${new Date(session.startedAt).toUTCString()}`,
  );
  session.send({
    source: serverName,
    command: Numeric.RPL_MYINFO,
    params: [session.target, serverName, IRC_VERSION, "i", "biklmnostv", "bklov"],
  });
  const tokens = supportTokens(session);
  for (let i = 0; i < tokens.length; i += 12) {
    session.numeric(
      Numeric.RPL_ISUPPORT,
      ...tokens.slice(i, i + 12),
      "are supported by this server",
    );
  }
  sendLusers(session);
  session.welcomed();
  await sendMotd(session, () => {
    if (session.isClosed || !isRegistered(session)) return;
    if (!session.inLab) showLabJoined(session);
    if (!session.client.identity?.guest) {
      for (const room of session.ctx.rooms.forMember(me)) {
        if (!session.rooms.has(room.id)) showRoomJoined(session, room.id);
      }
    }
    // The channels this account is in from its other sessions (multiclient, as ergo's).
    for (const name of session.ctx.channels.channelsOf(me)) {
      const view = session.ctx.channels.view(name);
      if (view) showJoined(session, view);
    }
  });
}
