/**
 * TAGMSG (IRCv3 message-tags): a message of client-only tags and no text, such as `+typing=active`
 * or a reaction. It goes where a PRIVMSG to the same target would, with the same checks (channel
 * membership, `+n`, `+m`, bans, blocks), but nothing is kept and only IRC clients that asked for
 * `message-tags` are shown it: chat-client and the web client are never sent one.
 * @module
 */

import { OutboundEvent } from "../../protocol/events.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { BROADCAST_CHANNEL, foldName } from "../../protocol/names.ts";
import { messageTags, SERVICE_NICK } from "./irc_events.ts";
import { MAX_TARGETS, onlineByNick, refuseTargetsPastLimit } from "./irc_info.ts";
import { clientTagsOf } from "./irc_messages.ts";
import type { IrcMessage } from "./irc_message.ts";
import { nickOf } from "./irc_nick.ts";
import type { IrcSession } from "./irc_session.ts";
import { isLab, roomChannel, roomIdOf } from "./irc_views.ts";
import { Numeric } from "./numerics.ts";

/** TAGMSG target[,target...]: the sender's client-only tags to each target. */
export function tagmsg(session: IrcSession, message: IrcMessage): void {
  const [targets = ""] = message.params;
  const list = targets.split(",").filter((target) => target !== "");
  if (list.length === 0) {
    session.numeric(Numeric.ERR_NEEDMOREPARAMS, "TAGMSG", "Not enough parameters");
    return;
  }
  const tags = clientTagsOf(message);
  for (const target of list.slice(0, MAX_TARGETS)) tagTo(session, target, tags);
  refuseTargetsPastLimit(session, list);
}

function tagTo(session: IrcSession, target: string, tags: Record<string, string>): void {
  const { ctx } = session;
  const me = session.me as string;
  const reaches = (user: string) => user !== me && !ctx.blocks.has(user, me);
  /** The event for `channel` (none: private), and the sender's echo when it asked for one. */
  const outboundFor = (shownAs: string, channel?: string) => {
    const at = ctx.clock.now();
    const msgid = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    if (session.caps.has("echo-message") && session.caps.has("message-tags")) {
      session.send({
        tags: { ...tags, ...messageTags(session, at, me, msgid) },
        source: session.maskOf(me),
        command: "TAGMSG",
        params: [shownAs],
      });
    }
    return new OutboundEvent({ type: "tag_message", from: me, channel, tags, msgid }, at);
  };
  const deliver = (recipients: Iterable<string>, shownAs: string, channel?: string) => {
    const outbound = outboundFor(shownAs, channel);
    for (const user of recipients) if (reaches(user)) ctx.hub.deliver(user, outbound);
  };
  if (isLab(target)) {
    ctx.hub.fanout(outboundFor(BROADCAST_CHANNEL, BROADCAST_CHANNEL), reaches);
    return;
  }
  const room = roomIdOf(target);
  if (room !== undefined) {
    const members = ctx.rooms.get(room)?.members;
    if (!members?.includes(me)) {
      session.numeric(Numeric.ERR_CANNOTSENDTOCHAN, target, "Cannot send to channel");
      return;
    }
    deliver(members, roomChannel(room), roomChannel(room));
    return;
  }
  if (target.startsWith("#") || target.startsWith("&")) {
    let channel: string;
    try {
      channel = ctx.channels.checkSpeaker(target, me, session.maskOf(me));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (error.reason === "cannot_send") {
        session.numeric(Numeric.ERR_CANNOTSENDTOCHAN, target, "Cannot send to channel");
      } else session.numeric(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
      return;
    }
    deliver(ctx.channels.members(channel), channel, channel);
    return;
  }
  if (foldName(target) === SERVICE_NICK) return;
  const user = onlineByNick(session, target);
  if (!user) {
    session.numeric(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
    return;
  }
  deliver([user.name], nickOf(user.name));
}
