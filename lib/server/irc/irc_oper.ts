/**
 * Operators as IRC knows them, mapped onto labchat's admin role: an admin account becomes an IRC
 * operator with OPER (user mode +o), and admins may KILL a session, send WALLOPS and stop the
 * server with DIE (labchat's SHUTDOWN). Everyone else gets the usual refusals.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { foldName } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import type { IrcMessage } from "./irc_message.ts";
import { nameOfNick, nickOf } from "../../protocol/nicks.ts";
import type { CoreReply, IrcSession } from "./irc_session.ts";
import { Numeric } from "./numerics.ts";

const NOT_OPERATOR = "Permission Denied- You're not an IRC operator";

/** A refused admin command as IRC says it: 481 for the role, 401 for nobody, else a notice. */
function refusal(session: IrcSession, command: string, reply: CoreReply, nick?: string): void {
  if (reply.code === Reply.NOT_ALLOWED) session.numeric(Numeric.ERR_NOPRIVILEGES, NOT_OPERATOR);
  else if (reply.code === Reply.UNKNOWN_USER && nick !== undefined) {
    session.numeric(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
  } else session.notice(`${command}: ${reply.lines.at(-1) ?? "refused"}`);
}

/**
 * OPER name password: the account the client is logged in as, if it holds the admin role, with
 * its password (a wrong one counts as a failed login). 381 and +o, or 491 / 464.
 */
export async function oper(session: IrcSession, message: IrcMessage): Promise<void> {
  const [name, password] = message.params;
  const me = session.client.identity;
  const decoded = nameOfNick(name);
  if (
    !me || me.guest || !me.admin || !("name" in decoded) ||
    foldName(decoded.name) !== foldName(me.name)
  ) {
    session.numeric(
      Numeric.ERR_NOOPERHOST,
      "Only labchat admins are IRC operators, with their own account's name and password",
    );
    return;
  }
  try {
    await session.ctx.accounts.authenticate(me.name, password, session.client.ip);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    session.numeric(Numeric.ERR_PASSWDMISMATCH, "Password incorrect");
    return;
  }
  if (!session.oper) {
    session.oper = true;
    session.send({
      source: session.maskOf(me.name),
      command: "MODE",
      params: [nickOf(me.name), "+o"],
    });
  }
  session.numeric(Numeric.RPL_YOUREOPER, "You are now an IRC operator");
}

/** KILL nick :reason: labchat's KILL, for admins. */
export async function kill(session: IrcSession, message: IrcMessage): Promise<void> {
  const [nick, reason = ""] = message.params;
  const decoded = nameOfNick(nick);
  if (!("name" in decoded)) {
    session.numeric(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    return;
  }
  const args = reason.trim() === "" ? [decoded.name] : [decoded.name, reason];
  await session.request("KILL", args, (reply) => {
    if (reply.code !== Reply.OK) refusal(session, "KILL", reply, nick);
  });
}

/** WALLOPS :text: to every admin, and users with +w, for admins. */
export async function wallops(session: IrcSession, message: IrcMessage): Promise<void> {
  const [text = ""] = message.params;
  await session.request("WALLOPS", [text], (reply) => {
    if (reply.code !== Reply.OK) refusal(session, "WALLOPS", reply);
  });
}

/** DIE: labchat's SHUTDOWN, for admins. */
export async function die(session: IrcSession): Promise<void> {
  if (!session.client.identity?.admin) {
    session.numeric(Numeric.ERR_NOPRIVILEGES, NOT_OPERATOR);
    return;
  }
  await session.request("SHUTDOWN", [], (reply) => {
    if (reply.code !== Reply.OK) refusal(session, "DIE", reply);
  });
}
