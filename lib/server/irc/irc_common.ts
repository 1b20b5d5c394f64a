/**
 * What every part of the IRC gateway says alike: the service nick and its notices, the tags of a
 * message, the text of a broadcast in `#lab`, the gateway's version. Imported by the handlers and
 * the renderer, it imports only the session.
 * @module
 */

import { nickOf } from "../../protocol/nicks.ts";
import type { IrcSession } from "./irc_session.ts";

/** The gateway's version, as RPL_MYINFO and VERSION show it. */
export const IRC_VERSION = "labchat-0.1.0";

/** The nick of the service that answers labchat commands. */
export const SERVICE_NICK = "labchat";

/** Tags of a message event: time, msgid and account, as the client's capabilities allow. */
export function messageTags(
  session: IrcSession,
  at: number,
  from: string,
  msgid?: string,
): Record<string, string | undefined> {
  const tags: Record<string, string | undefined> = { time: session.timeTag(at) };
  if (session.caps.has("message-tags") && msgid !== undefined) tags.msgid = msgid;
  if (session.caps.has("account-tag") && !session.ctx.hub.online(from)?.guest) {
    tags.account = nickOf(from);
  }
  return tags;
}

/** The text of a broadcast as `#lab` shows it: its number first. */
export function labText(number: number, text: string): string {
  return `[#${number}] ${text}`;
}

/** A notice from the service nick. */
export function serviceNotice(session: IrcSession, text: string): void {
  session.send({
    source: `${SERVICE_NICK}!${SERVICE_NICK}@${session.serverName}`,
    command: "NOTICE",
    params: [session.target, text],
  });
}
