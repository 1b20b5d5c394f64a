/**
 * Server administration and help: SHUTDOWN, HELP.
 * @module
 */

import { Reply, Text } from "../../protocol/codes.ts";
import { OutboundEvent } from "../../protocol/events.ts";
import { helpLines } from "../../protocol/commands.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { ok, type PartialHandlers } from "../context.ts";
import { operators } from "../audience.ts";

/** Handlers of the admin and help commands. */
export const adminHandlers: PartialHandlers<"SHUTDOWN" | "HELP" | "KILL" | "WALLOPS"> = {
  KILL(ctx, { identity }, [name, given]) {
    const target = ctx.hub.find(name);
    if (!target) {
      throw new ProtocolError(Reply.UNKNOWN_USER, Text.UNKNOWN_RECIPIENT, {
        reason: "no_such_user",
      });
    }
    if (target.name === identity.name) {
      throw new ProtocolError(Reply.INVALID_VALUE, "That is you: QUIT ends your own session");
    }
    const reason = (given ?? "").trim() || "no reason given";
    ctx.log.info(`${identity.name} killed ${target.name}: ${reason}`);
    ctx.endSession(
      target.name,
      `You were disconnected by ${identity.name}: ${reason}`,
      `Killed (${identity.name} (${reason}))`,
    );
    return Promise.resolve(ok(`${target.name} was disconnected`));
  },

  WALLOPS(ctx, { identity }, [text]) {
    const event = new OutboundEvent(
      { type: "wallops", from: identity.name, text },
      ctx.clock.now(),
    );
    ctx.hub.fanout(event, operators(ctx));
    return Promise.resolve(ok("Sent to the admins online"));
  },

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
