/**
 * Messages between users: MSG, BROADCAST, HISTORY, BLOCK, UNBLOCK.
 * @module
 */

import { HISTORY_LIMIT } from "../../config.ts";
import { Reply, Text } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatTimestamp, parseTimestamp } from "../../protocol/timestamp.ts";
import type { PrivateMessage, StoredMessage } from "../../store/store.ts";
import { type HandlerTable, ok, type ServerContext } from "../context.ts";
import { encodeEvent } from "../session.ts";

/** Throws 420 unless the account exists. */
async function requireUser(ctx: ServerContext, name: string, text: string): Promise<void> {
  if (!(await ctx.store.getUser(name))) throw new ProtocolError(Reply.UNKNOWN_USER, text);
}

function historyLines(messages: readonly StoredMessage[], what: string): string[] {
  const lines = messages.map((m) => {
    const to = "to" in m ? ` -> ${(m as PrivateMessage).to}` : "";
    return `${m.number}; ${formatTimestamp(m.at)}; ${m.from}${to}; ${m.text}`;
  });
  lines.push(`${messages.length} ${what}${messages.length === 1 ? "" : "s"}`);
  return lines;
}

/** Splits HISTORY's arguments into a target and an optional time. */
function historyQuery(args: readonly string[]): { target: string; since?: number } {
  const whole = args.join(" ").trim();
  if (whole === "") return { target: "b" };
  const asTime = parseTimestamp(whole);
  if (asTime !== undefined) return { target: "b", since: asTime };
  const [target, sinceText] = args;
  if (sinceText === undefined || sinceText.trim() === "") return { target };
  const since = parseTimestamp(sinceText);
  if (since === undefined) {
    throw new ProtocolError(
      Reply.INVALID_VALUE,
      `Cannot read time "${sinceText}": use "03 Aug 2022 23:25:03" or ISO 8601`,
    );
  }
  return { target, since };
}

/** Handlers of the messaging commands. */
export const messagingHandlers: HandlerTable = {
  async MSG(ctx, session, [to, text]) {
    const from = session.user as string;
    if (to === from) {
      throw new ProtocolError(Reply.INVALID_VALUE, "The receiver can not be yourself.");
    }
    await requireUser(ctx, to, Text.UNKNOWN_RECIPIENT);
    if (ctx.blocks.has(to, from)) {
      throw new ProtocolError(Reply.BLOCKED_BY_RECIPIENT, Text.BLOCKED_BY_RECIPIENT);
    }
    const online = ctx.hub.isOnline(to);
    const stored = ctx.store.appendPrivate(from, to, text, Date.now(), !online);
    if (online) {
      ctx.hub.sendTo(to, encodeEvent({ type: "private", from, text }));
      return { ...ok(`Message sent to ${to}`), durable: stored.committed };
    }
    return {
      ...ok(`${to} is offline; the message will be delivered at next login`),
      durable: stored.committed,
    };
  },

  BROADCAST(ctx, session, [text]) {
    const from = session.user as string;
    // Delivered at once; acknowledged to the sender only once stored (the reply waits for it).
    const { value: message, committed } = ctx.store.appendBroadcast(from, text, Date.now());
    const when = formatTimestamp(message.at);
    ctx.log.info(`${from} broadcasted BCM #${message.number} "${text}" at ${when}.`);
    const bytes = encodeEvent({ type: "broadcast", from, number: message.number, text });
    let refused = false;
    ctx.hub.fanout(bytes, (user) => {
      if (user === from) return false;
      if (ctx.blocks.has(user, from)) return (refused = true, false);
      return true;
    });
    const summary = `Broadcast message, #${message.number} broadcast at ${when}.`;
    if (refused) {
      const partial = `${summary} ${Text.PARTIAL_BROADCAST}`;
      return Promise.resolve({ code: Reply.PARTIAL, text: partial, durable: committed });
    }
    return Promise.resolve({ ...ok(summary), durable: committed });
  },

  async HISTORY(ctx, session, args) {
    const me = session.user as string;
    const { target, since } = historyQuery(args);
    const query = { since, limit: HISTORY_LIMIT };
    if (target.toLowerCase() === "b") {
      return ok(historyLines(await ctx.store.listBroadcasts(query), "broadcast"));
    }
    if (target.toLowerCase() === "p") {
      return ok(historyLines(await ctx.store.listPrivate(me, query), "private message"));
    }
    if (target.toLowerCase() === "s") {
      // Every room of mine, merged by time: toom's `RDM s <time>`.
      const mine = [...ctx.rooms.values()].filter((r) => r.members.includes(me));
      const perRoom = await Promise.all(mine.map(async (room) => {
        const messages = await ctx.store.listRoomMessages(room.id, query);
        return messages.map((m) => ({ room: room.id, m }));
      }));
      const merged = perRoom.flat().sort((a, b) => a.m.at - b.m.at).slice(-HISTORY_LIMIT);
      const lines = merged.map(({ room, m }) =>
        `room ${room}: ${m.number}; ${formatTimestamp(m.at)}; ${m.from}; ${m.text}`
      );
      lines.push(`${merged.length} room message${merged.length === 1 ? "" : "s"}`);
      return ok(lines);
    }
    if (/^\d+$/.test(target)) {
      const room = ctx.rooms.get(Number(target));
      if (!room) throw new ProtocolError(Reply.NOT_FOUND, `Cannot find room ${target}`);
      if (!room.members.includes(me)) {
        throw new ProtocolError(Reply.NOT_ALLOWED, `You are not a member of room ${target}`);
      }
      return ok(historyLines(await ctx.store.listRoomMessages(room.id, query), "message"));
    }
    await requireUser(ctx, target, `Cannot find user "${target}"`);
    return ok(historyLines(await ctx.store.listPrivate(me, query, target), "private message"));
  },

  async BLOCK(ctx, session, [user]) {
    const me = session.user as string;
    if (user === me) throw new ProtocolError(Reply.INVALID_VALUE, "Error. Cannot block self");
    await requireUser(ctx, user, "Error. Cannot find the person");
    if (ctx.blocks.has(me, user)) {
      throw new ProtocolError(Reply.ALREADY_EXISTS, `${user} is already blocked`);
    }
    await ctx.store.setBlocked(me, user, true);
    ctx.blocks.add(me, user);
    return ok(`${user} has been blocked`);
  },

  async UNBLOCK(ctx, session, [user]) {
    const me = session.user as string;
    if (user === me) throw new ProtocolError(Reply.INVALID_VALUE, "Error. Cannot unblock self");
    await requireUser(ctx, user, "Error. Cannot find this user");
    if (!ctx.blocks.has(me, user)) {
      throw new ProtocolError(Reply.NOT_FOUND, "Error. This user was not already blocked");
    }
    await ctx.store.setBlocked(me, user, false);
    ctx.blocks.delete(me, user);
    return ok(`Has unblocked ${user}`);
  },
};
