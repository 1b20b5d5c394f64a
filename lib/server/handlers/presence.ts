/**
 * Who is around: WHO and WHOELSE.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import { type HandlerTable, ok } from "../context.ts";

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Handlers of the presence commands. */
export const presenceHandlers: HandlerTable = {
  WHO(ctx) {
    const lines: string[] = [];
    for (const [user, s] of ctx.hub.entries()) {
      const udp = s.udpPort === undefined ? "-" : String(s.udpPort);
      lines.push(`${user}, ${s.ip}, ${udp}, active since ${formatTimestamp(s.loginAt)}`);
    }
    lines.push(`${plural(lines.length, "user")} online`);
    return Promise.resolve(ok(lines));
  },

  WHOELSE(ctx, session, [secsText]) {
    const me = session.user as string;
    if (secsText === undefined) {
      const others = [...ctx.hub.entries()].map(([user]) => user).filter((u) => u !== me);
      return Promise.resolve(ok(others.length ? others : ["No other users online"]));
    }
    const secs = Number(secsText);
    if (!/^\d{1,9}$/.test(secsText)) {
      throw new ProtocolError(
        Reply.INVALID_VALUE,
        `Cannot use "${secsText}" as seconds: use a whole number`,
      );
    }
    const since = Date.now() - secs * 1000;
    const others = [...ctx.seen.values()]
      .filter((r) => r.name !== me && (ctx.hub.isOnline(r.name) || r.lastLogout >= since))
      .map((r) => r.name)
      .sort();
    if (others.length === 0) {
      return Promise.resolve(ok(`No other users have been online in the past ${secs} seconds`));
    }
    return Promise.resolve(ok(others));
  },
};
