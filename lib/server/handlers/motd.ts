/**
 * Message of the day in rotation: MOTD, MOTD ADD.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { type HandlerTable, ok } from "../context.ts";

/** Handlers of the MOTD commands. */
export const motdHandlers: HandlerTable = {
  async MOTD(ctx) {
    if (ctx.motd.length === 0) {
      throw new ProtocolError(Reply.NOT_FOUND, "No message of the day yet");
    }
    const index = await ctx.store.nextMotdIndex();
    return ok(ctx.motd[index % ctx.motd.length]);
  },

  async "MOTD ADD"(ctx, _session, [text]) {
    await ctx.store.addMotd(text);
    ctx.motd.push(text);
    return ok("OK");
  },
};
