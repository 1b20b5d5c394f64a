/**
 * Server administration and help: SHUTDOWN, HELP.
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { Reply, Text } from "../../protocol/codes.ts";
import { helpLines } from "../../protocol/commands.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { type HandlerTable, ok } from "../context.ts";

const encoder = new TextEncoder();

/** Compares secrets without leaking where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [encoder.encode(given), encoder.encode(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Handlers of the admin and help commands. */
export const adminHandlers: HandlerTable = {
  async SHUTDOWN(ctx, session, [password]) {
    const name = session.user as string;
    const user = await ctx.store.getUser(name);
    const admin = user?.role === "admin" || ctx.config.admins.includes(name);
    if (!admin) {
      if (password === undefined || password === "") {
        throw new ProtocolError(Reply.NOT_ALLOWED, Text.NOT_ALLOWED);
      }
      if (ctx.config.adminPassword === "" || !sameSecret(password, ctx.config.adminPassword)) {
        throw new ProtocolError(Reply.NOT_ALLOWED, "Incorrect password");
      }
    }
    ctx.log.info(`${name} issued SHUTDOWN: server shutting down`);
    return ok("OK", () => ctx.requestShutdown(`SHUTDOWN by ${name}`));
  },

  HELP(_ctx, _session, [topic]) {
    const lines = helpLines(topic);
    if (!lines) throw new ProtocolError(Reply.NOT_FOUND, `No such command "${topic}"; try HELP`);
    return Promise.resolve(ok(lines));
  },
};
