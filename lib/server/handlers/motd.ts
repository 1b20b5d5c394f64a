/**
 * Message of the day in rotation: MOTD, MOTD ADD.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { ok, type PartialHandlers } from "../context.ts";

/** Handlers of the MOTD commands. */
export const motdHandlers: PartialHandlers<"MOTD" | "MOTD ADD"> = {
  async MOTD(ctx) {
    const text = await ctx.motd.next();
    if (text === undefined) throw new ProtocolError(Reply.NOT_FOUND, "No message of the day yet");
    return ok(text);
  },

  async "MOTD ADD"(ctx, _caller, [text]) {
    await ctx.motd.add(text);
    return ok("OK");
  },
};
