/**
 * Introductions for peer-to-peer traffic: PEER. The server never carries the data; it tells two
 * logged-in users, who have not blocked each other, where to reach each other and with which
 * one-time token.
 * @module
 */

import { Reply, Text } from "../../protocol/codes.ts";
import type { PeerPurpose } from "../../protocol/events.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { type HandlerTable, ok } from "../context.ts";

const PURPOSES: readonly PeerPurpose[] = ["file", "private"];

/** 16 random bytes as 32 hex digits. */
function newToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Handlers of the peer-to-peer commands. */
export const peerHandlers: HandlerTable = {
  PEER(ctx, session, [user, purposeText]) {
    const me = session.user as string;
    const purpose = purposeText.toLowerCase() as PeerPurpose;
    if (!PURPOSES.includes(purpose)) {
      throw new ProtocolError(
        Reply.INVALID_VALUE,
        `Cannot use "${purposeText}": say file or private`,
      );
    }
    if (user === me) throw new ProtocolError(Reply.INVALID_VALUE, "Cannot connect to yourself");
    const target = ctx.hub.get(user);
    if (!target) throw new ProtocolError(Reply.UNKNOWN_USER, Text.UNKNOWN_RECIPIENT);
    if (ctx.blocks.either(me, user)) {
      throw new ProtocolError(
        Reply.BLOCKED_BY_RECIPIENT,
        `Cannot connect to ${user}: one of you has blocked the other`,
      );
    }
    if (session.udpPort === undefined) {
      throw new ProtocolError(Reply.INVALID_VALUE, "Report your UDP port first: UDP <port>");
    }
    if (target.udpPort === undefined) {
      throw new ProtocolError(Reply.NOT_FOUND, `${user} has no UDP port for peer-to-peer`);
    }
    const token = newToken();
    target.event({
      type: "peer",
      from: me,
      host: session.ip,
      port: session.udpPort,
      token,
      purpose,
    });
    ctx.log.info(`${me} introduced to ${user} for ${purpose}`);
    return Promise.resolve(ok(`${user} ${target.ip} ${target.udpPort} ${token}`));
  },
};
