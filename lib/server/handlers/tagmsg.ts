/**
 * TAGMSG (IRCv3 message-tags): a message of client-only tags and no text, such as
 * `+typing=active` or a reaction. It goes where a message to the same target would, with the
 * same checks (room membership, a channel's `+n`, `+m` and bans, blocks), but nothing is kept,
 * and only outputs that show client-only tags (IRC clients that asked for message-tags) are given
 * one. Targets: `#lab` (everyone), a room's number, a `#channel`, a user.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { OutboundEvent } from "../../protocol/events.ts";
import { BROADCAST_CHANNEL, foldChannel } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { everyoneHearing, hears, maskOf, membersHearing, tell } from "../audience.ts";
import { okWith, type PartialHandlers } from "../context.ts";

/** The handler of TAGMSG. */
export const tagmsgHandlers: PartialHandlers<"TAGMSG"> = {
  TAGMSG(ctx, { identity, tags }, [target]) {
    const me = identity.name;
    const at = ctx.clock.now();
    const msgid = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const event = (where: { channel?: string; room?: number }) =>
      new OutboundEvent({ type: "tag_message", from: me, ...where, tags: tags ?? {}, msgid }, at);
    const sent = okWith("Tags sent", { kind: "sent", at, msgid });
    if (foldChannel(target) === BROADCAST_CHANNEL) {
      ctx.hub.fanout(event({ channel: BROADCAST_CHANNEL }), everyoneHearing(ctx, me));
      return Promise.resolve(sent);
    }
    if (/^[0-9]+$/.test(target)) {
      const room = ctx.rooms.get(Number(target));
      if (!room?.members.includes(me)) {
        throw new ProtocolError(Reply.NOT_ALLOWED, `You are not a member of room ${target}`, {
          reason: "not_on_channel",
        });
      }
      tell(ctx.hub, membersHearing(ctx, room.members, me), event({ room: room.id }));
      return Promise.resolve(sent);
    }
    if (target.startsWith("#") || target.startsWith("&")) {
      const channel = ctx.channels.checkSpeaker(target, me, maskOf(ctx, me));
      tell(ctx.hub, membersHearing(ctx, ctx.channels.members(channel), me), event({ channel }));
      return Promise.resolve(sent);
    }
    const user = ctx.hub.find(target);
    if (!user) {
      throw new ProtocolError(Reply.UNKNOWN_USER, `${target.slice(0, 32)} is not online`, {
        reason: "no_such_user",
      });
    }
    if (user.name !== me && hears(ctx, user.name, me)) ctx.hub.deliver(user.name, event({}));
    return Promise.resolve(sent);
  },
};
