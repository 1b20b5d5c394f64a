/**
 * Who is around: WHO and WHOELSE.
 * @module
 */

import { Reply, Text } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatWhoEntry } from "../../protocol/replies.ts";
import { ok, type PartialHandlers } from "../context.ts";

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Handlers of the presence commands. */
export const presenceHandlers: PartialHandlers<"WHO" | "WHOELSE"> = {
  async WHO(ctx, _caller, [name]) {
    if (name !== undefined) {
      // yamotd's SEND asks this first: is the user there at all?
      const canonical = await ctx.accounts.canonical(name);
      const user = canonical === undefined ? undefined : ctx.hub.online(canonical);
      if (!user) throw new ProtocolError(Reply.UNKNOWN_USER, Text.UNKNOWN_RECIPIENT);
      return ok(formatWhoEntry(user.name, user.ip, user.udpPort, user.loginAt));
    }
    const lines: string[] = [];
    for (const u of ctx.hub.list()) lines.push(formatWhoEntry(u.name, u.ip, u.udpPort, u.loginAt));
    lines.push(`${plural(lines.length, "user")} online`);
    return ok(lines);
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
