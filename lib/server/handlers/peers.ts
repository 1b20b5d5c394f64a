/**
 * Introductions for peer-to-peer traffic: PEER. The server never carries the data; it tells two
 * logged-in users, who have not blocked each other, where to reach each other and with which
 * one-time token.
 * @module
 */

import { Reply, Text } from "../../protocol/codes.ts";
import { OutboundEvent, type PeerPurpose } from "../../protocol/events.ts";
import { foldName } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatPeerIntroduction } from "../../protocol/replies.ts";
import { ok, type PartialHandlers } from "../context.ts";
import { unblockedWith } from "../audience.ts";
import { sessionId } from "../session_group.ts";

const PURPOSES: readonly PeerPurpose[] = ["file", "private"];

/** 16 random bytes as 32 hex digits. */
function newToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Handlers of the peer-to-peer commands. */
export const peerHandlers: PartialHandlers<"PEER"> = {
  async PEER(ctx, { client, identity }, [name, purposeText, sessionText]) {
    const me = identity.name;
    const purpose = purposeText.toLowerCase() as PeerPurpose;
    if (!PURPOSES.includes(purpose)) {
      throw new ProtocolError(
        Reply.INVALID_VALUE,
        `Cannot use "${purposeText.slice(0, 32)}": say file or private`,
      );
    }
    if (foldName(name) === foldName(me)) {
      throw new ProtocolError(Reply.INVALID_VALUE, "Cannot connect to yourself");
    }
    const user = await ctx.accounts.canonical(name);
    const target = user === undefined ? undefined : ctx.hub.online(user);
    if (!target) throw new ProtocolError(Reply.UNKNOWN_USER, Text.UNKNOWN_RECIPIENT);
    if (!unblockedWith(ctx, me)(target.name)) {
      throw new ProtocolError(
        Reply.BLOCKED_BY_RECIPIENT,
        `Cannot connect to ${target.name}: one of you has blocked the other`,
      );
    }
    if (client.udpPort === undefined) {
      throw new ProtocolError(Reply.INVALID_VALUE, "Report your UDP port first: UDP <port>");
    }
    // One of the person's sessions by its id, or the one the hub picks (UDP port, most active).
    const chosen = sessionText === undefined ? undefined : ctx.hub.sessionsOf(target.name).find(
      (s) => sessionId(s.recipient, ctx.hub.node) === sessionText,
    );
    if (sessionText !== undefined && !chosen) {
      throw new ProtocolError(
        Reply.NOT_FOUND,
        `${target.name} has no session ${sessionText.slice(0, 40)} on this server`,
      );
    }
    const reach = chosen?.user ?? target;
    if (reach.udpPort === undefined) {
      throw new ProtocolError(Reply.NOT_FOUND, `${target.name} has no UDP port for peer-to-peer`);
    }
    const token = newToken();
    const event = new OutboundEvent(
      { type: "peer", from: me, host: client.ip, port: client.udpPort, token, purpose },
      ctx.clock.now(),
    );
    const delivered = chosen
      ? chosen.recipient.deliver(event)
      : ctx.hub.deliver(target.name, event);
    if (!delivered) throw new ProtocolError(Reply.UNKNOWN_USER, Text.UNKNOWN_RECIPIENT);
    ctx.log.info(`${me} introduced to ${target.name} for ${purpose}`);
    return ok(
      formatPeerIntroduction({ user: target.name, host: reach.ip, port: reach.udpPort, token }),
    );
  },
};
