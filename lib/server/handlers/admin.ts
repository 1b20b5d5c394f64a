/**
 * Server administration and help: SHUTDOWN, HELP.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { helpLines } from "../../protocol/commands.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { ok, type PartialHandlers } from "../context.ts";

/** Handlers of the admin and help commands. */
export const adminHandlers: PartialHandlers<"SHUTDOWN" | "HELP"> = {
  SHUTDOWN(ctx, { identity }) {
    // dispatch has checked the admin role or the admin password.
    ctx.log.info(`${identity.name} issued SHUTDOWN: server shutting down`);
    return Promise.resolve(ok("OK", () => ctx.requestShutdown(`SHUTDOWN by ${identity.name}`)));
  },

  HELP(_ctx, { client }, [topic]) {
    // IRC users ask through the service nick: they get help for IRC, not the wire protocol.
    const lines = helpLines(topic, client.transport === "irc" ? "irc" : "wire");
    if (!lines) {
      throw new ProtocolError(Reply.NOT_FOUND, `No such command "${topic.slice(0, 32)}"; try HELP`);
    }
    return Promise.resolve(ok(lines));
  },
};
