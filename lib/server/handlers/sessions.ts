/**
 * A person's sessions: SESSIONS lists where they are logged in (terminal, web page, IRC, on any
 * node), SESSIONS END ends one. Admins may list and end anyone's.
 * @module
 */

import { Reply, Text } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import { okWith, type PartialHandlers, type ServerContext } from "../context.ts";
import type { Identity } from "../identity.ts";
import { sessionId, type SessionInfo } from "../session_group.ts";

/** What the client shows for a transport. */
const CLIENT_NAMES: Readonly<Record<string, string>> = {
  tcp: "terminal",
  ws: "web",
  irc: "IRC",
  http: "web",
};

/** The user whose sessions `identity` may see: their own, or anyone's for an admin. */
function whose(ctx: ServerContext, identity: Identity, name: string | undefined): string {
  if (name === undefined || name.toLowerCase() === identity.name.toLowerCase()) {
    return identity.name;
  }
  if (!identity.admin) {
    throw new ProtocolError(Reply.NOT_ALLOWED, "Only admins may see other users' sessions");
  }
  const user = ctx.hub.find(name);
  if (!user) {
    throw new ProtocolError(Reply.UNKNOWN_USER, Text.UNKNOWN_RECIPIENT, { reason: "no_such_user" });
  }
  return user.name;
}

/** `12 web 10.0.0.5 since 2026-12-05 14:02:11 idle 40s (this one)`. */
function sessionLine(ctx: ServerContext, info: SessionInfo, mine: string): string {
  const idle = info.activeAt === undefined
    ? ""
    : ` idle ${Math.max(0, Math.floor((ctx.clock.now() - info.activeAt) / 1000))}s`;
  const udp = info.udpPort === undefined ? "" : ` udp ${info.udpPort}`;
  const node = info.node === undefined ? "" : ` on ${info.node}`;
  const kind = CLIENT_NAMES[info.client] ?? info.client;
  return `${info.id} ${kind} ${info.ip}${udp}${node} since ${formatTimestamp(info.since)}${idle}` +
    (info.id === mine ? " (this one)" : "");
}

/** Handlers of the session commands. */
export const sessionHandlers: PartialHandlers<"SESSIONS" | "SESSIONS END"> = {
  SESSIONS(ctx, { client, identity }, [name]) {
    const user = whose(ctx, identity, name);
    const sessions = ctx.hub.sessionInfo(user);
    const mine = sessionId(client, ctx.hub.node);
    const lines = sessions.map((info) => sessionLine(ctx, info, mine));
    lines.push(
      `${sessions.length} session${sessions.length === 1 ? "" : "s"} of ${user}` +
        (user === identity.name ? "; SESSIONS END <id> ends one" : ""),
    );
    return Promise.resolve(okWith(lines, { kind: "sessions", user, sessions }));
  },

  "SESSIONS END"(ctx, { client, identity }, [id]) {
    const mine = sessionId(client, ctx.hub.node);
    if (id === mine) {
      throw new ProtocolError(Reply.INVALID_VALUE, "That is this session: LOGOUT or QUIT ends it");
    }
    // Whose session it is: the caller's own, or (for an admin) anyone's.
    const owners = identity.admin ? [...ctx.hub.list()].map((u) => u.name) : [identity.name];
    const owner = owners.find((name) => ctx.hub.sessionInfo(name).some((s) => s.id === id));
    if (owner === undefined) {
      throw new ProtocolError(
        Reply.NOT_FOUND,
        `No session ${id.slice(0, 40)} of yours; SESSIONS lists them`,
      );
    }
    const by = owner === identity.name ? "from another of your sessions" : `by ${identity.name}`;
    ctx.log.info(`${identity.name} ended session ${id} of ${owner}`);
    ctx.endSession(owner, `This session was ended ${by}`, "Session ended", { only: id });
    return Promise.resolve(okWith(`Session ${id} of ${owner} ended`, { kind: "ended", id }));
  },
};
