/**
 * TAGMSG from IRC clients: each target in the core's terms (`#lab`, a room's number, a channel,
 * a user), sent as the core's TAGMSG with the client-only tags; the echo (echo-message) once it
 * is done, the numerics of a refusal otherwise.
 * @module
 */

import { foldName } from "../../protocol/names.ts";
import { nameOfNick } from "../../protocol/nicks.ts";
import { messageTags, SERVICE_NICK } from "./irc_common.ts";
import { MAX_TARGETS, refuseTargetsPastLimit } from "./irc_info.ts";
import { clientTagsOf } from "./irc_messages.ts";
import type { IrcMessage } from "./irc_message.ts";
import type { CoreReply, RegisteredSession } from "./irc_session.ts";
import { isLab, roomIdOf } from "./irc_views.ts";
import { Numeric } from "./numerics.ts";

/** TAGMSG target[,target...]: the sender's client-only tags to each target. */
export async function tagmsg(session: RegisteredSession, message: IrcMessage): Promise<void> {
  const [targets = ""] = message.params;
  const list = targets.split(",").filter((target) => target !== "");
  const tags = clientTagsOf(message);
  for (const target of list.slice(0, MAX_TARGETS)) await tagTo(session, target, tags);
  refuseTargetsPastLimit(session, list);
}

/** The core's name of an IRC target, or `undefined` when there is nobody to send to. */
function coreTarget(target: string): string | undefined {
  if (isLab(target)) return target;
  const room = roomIdOf(target);
  if (room !== undefined) return String(room);
  if (target.startsWith("#") || target.startsWith("&")) return target;
  if (foldName(target) === SERVICE_NICK) return undefined;
  const decoded = nameOfNick(target);
  return "name" in decoded ? decoded.name : "";
}

async function tagTo(
  session: RegisteredSession,
  target: string,
  tags: Record<string, string>,
): Promise<void> {
  const core = coreTarget(target);
  if (core === undefined) return;
  if (core === "") {
    session.numeric(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
    return;
  }
  const channel = target.startsWith("#") || target.startsWith("&");
  await session.request("TAGMSG", [core], (reply: CoreReply) => {
    const data = reply.detail?.data;
    if (data?.kind === "sent") {
      if (session.caps.has("echo-message") && session.caps.has("message-tags")) {
        const me = session.me;
        session.send({
          tags: { ...tags, ...messageTags(session, data.at, me, data.msgid) },
          source: session.maskOf(me),
          command: "TAGMSG",
          params: [target],
        });
      }
      return;
    }
    const reason = reply.detail?.reason;
    if (!channel) session.numeric(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
    else if (reason === "cannot_send" || reason === "not_on_channel") {
      session.numeric(Numeric.ERR_CANNOTSENDTOCHAN, target, "Cannot send to channel");
    } else session.numeric(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
  }, tags);
}
