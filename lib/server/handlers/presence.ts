/**
 * Who is around: WHO, WHOELSE and AWAY; ACTIVE, a client's word that its person is there.
 * @module
 */

import { Reply, Text } from "../../protocol/codes.ts";
import { OutboundEvent } from "../../protocol/events.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatWhoEntry } from "../../protocol/replies.ts";
import { ok, okWith, type PartialHandlers, type ServerContext } from "../context.ts";
import { unblockedWith } from "../audience.ts";
import type { OnlineUser } from "../hub.ts";
import type { UserView } from "../../protocol/reply_data.ts";

/** Away messages are cut to this many characters. */
const MAX_AWAY_LENGTH = 300;

/** What WHO tells of an online user. */
function userView(ctx: ServerContext, u: OnlineUser): UserView {
  return {
    name: u.name,
    ip: u.ip,
    loginAt: u.loginAt,
    udpPort: u.udpPort,
    away: u.away ?? "",
    guest: u.guest ?? false,
    admin: u.admin ?? false,
    ident: u.ident,
    realname: u.realname,
    activeAt: ctx.hub.activeAt?.(u.name) ?? u.loginAt,
  };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Handlers of the presence commands. */
export const presenceHandlers: PartialHandlers<"WHO" | "WHOELSE" | "AWAY" | "ACTIVE"> = {
  // Every request counts as activity already (the request pipeline notes it); this one exists
  // for a person who reads and types without sending, and tells the client how often to say so.
  ACTIVE(ctx) {
    const ms = ctx.config.idleTimeoutMs;
    const text = ms > 0 ? `Idle timeout: ${Math.ceil(ms / 1000)} s` : "No idle timeout";
    return Promise.resolve(okWith(text, { kind: "idle_timeout", ms }));
  },

  WHO(ctx, _caller, [name]) {
    if (name !== undefined) {
      // yamotd's SEND asks this first: is the user there at all?
      const user = ctx.hub.find(name);
      if (!user) {
        throw new ProtocolError(Reply.UNKNOWN_USER, Text.UNKNOWN_RECIPIENT, {
          reason: "no_such_user",
        });
      }
      return Promise.resolve(
        okWith(formatWhoEntry(user.name, user.ip, user.udpPort, user.loginAt, user.away), {
          kind: "users",
          users: [userView(ctx, user)],
        }),
      );
    }
    const users = [...ctx.hub.list()];
    const lines = users.map((u) => formatWhoEntry(u.name, u.ip, u.udpPort, u.loginAt, u.away));
    lines.push(`${plural(lines.length, "user")} online`);
    return Promise.resolve(
      okWith(lines, { kind: "users", users: users.map((u) => userView(ctx, u)) }),
    );
  },

  async AWAY(ctx, { identity }, [message]) {
    const me = identity.name;
    const text = (message ?? "").trim().slice(0, MAX_AWAY_LENGTH);
    await ctx.hub.update(me, { away: text });
    const event = new OutboundEvent({ type: "away", user: me, text }, ctx.clock.now());
    ctx.hub.fanout(event, unblockedWith(ctx, me));
    return ok(text === "" ? "You are back" : `You are away: ${text}`);
  },

  WHOELSE(ctx, { identity }, [secsText]) {
    const me = identity.name;
    if (secsText === undefined) {
      const others = [...ctx.hub.list()].map((u) => u.name).filter((u) => u !== me);
      return Promise.resolve(ok(others.length ? others : ["No other users online"]));
    }
    const secs = Number(secsText);
    const since = ctx.clock.now() - secs * 1000;
    const others = [...ctx.seen.all()]
      .filter((r) => r.name !== me && (ctx.hub.online(r.name) || r.lastLogout >= since))
      .map((r) => r.name)
      .sort();
    if (others.length === 0) {
      return Promise.resolve(ok(`No other users have been online in the past ${secs} seconds`));
    }
    return Promise.resolve(ok(others));
  },
};
