/**
 * From a request line to exactly one reply: parse, check access, run the handler, report errors.
 * @module
 */

import { Reply, Text } from "../protocol/codes.ts";
import { formatReply } from "../protocol/reply.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { bindRequestArgs, resolveCommand } from "../protocol/request.ts";
import type { HandlerTable, Outcome, ServerContext } from "./context.ts";
import { accountHandlers } from "./handlers/account.ts";
import { adminHandlers } from "./handlers/admin.ts";
import { forumHandlers } from "./handlers/forum.ts";
import { peerHandlers } from "./handlers/peers.ts";
import { messagingHandlers } from "./handlers/messaging.ts";
import { motdHandlers } from "./handlers/motd.ts";
import { presenceHandlers } from "./handlers/presence.ts";
import { roomHandlers } from "./handlers/rooms.ts";
import type { Session } from "./session.ts";

/** Every handler by canonical command name; a test checks it covers the command table. */
export const HANDLERS: HandlerTable = {
  ...accountHandlers,
  ...presenceHandlers,
  ...messagingHandlers,
  ...roomHandlers,
  ...motdHandlers,
  ...forumHandlers,
  ...peerHandlers,
  ...adminHandlers,
};

/** Handles one request line from a session; every outcome, errors included, is one reply. */
export async function dispatch(ctx: ServerContext, session: Session, line: string): Promise<void> {
  session.lastActivity = Date.now();
  let outcome: Outcome;
  try {
    const resolved = resolveCommand(line);
    const command = resolved.command;
    ctx.log.info(`${session.label} issued ${command.name} command`);
    if (command.clientOnly) {
      throw new ProtocolError(
        Reply.UNKNOWN_COMMAND,
        `${command.name} is done by chat-client itself, peer to peer; the server only introduces peers (PEER)`,
      );
    }
    const handler = HANDLERS[command.name];
    if (!handler) throw new ProtocolError(Reply.UNKNOWN_COMMAND, Text.INVALID_COMMAND);
    // Like IRC: a client that is not logged in learns that before any complaint about arguments.
    if (command.access === "user" && session.user === undefined) {
      throw new ProtocolError(Reply.NOT_LOGGED_IN, Text.NOT_LOGGED_IN);
    }
    const { args } = bindRequestArgs(resolved);
    outcome = await handler(ctx, session, args);
  } catch (error) {
    outcome = failure(ctx, session, error);
  }
  if (outcome.stream) {
    await session.repliesSent(); // raw bytes must not overtake earlier replies
    await streamReply(ctx, session, outcome.code, outcome.text, outcome.stream);
    return;
  }
  const { code, text, durable, after } = outcome;
  session.inTurn(async () => {
    if (durable) {
      try {
        await durable;
      } catch (error) {
        ctx.log.error(`${session.label}: cannot store`, error);
        session.reply(Reply.SERVER_ERROR, "Cannot store the message; it was not acknowledged");
        return;
      }
    }
    session.reply(code, text);
    if (after) await runAfter(ctx, session, after);
  });
}

/** The reply for a failed request: the user's error, or a 500 that is logged. */
function failure(ctx: ServerContext, session: Session, error: unknown): Outcome {
  if (error instanceof ProtocolError) return { code: error.code, text: error.message };
  ctx.log.error(`${session.label}: request failed`, error);
  return { code: Reply.SERVER_ERROR, text: "Internal server error; the request was not completed" };
}

/** Work after the reply: its failure is logged, never a second reply. */
async function runAfter(
  ctx: ServerContext,
  session: Session,
  after: () => void | Promise<void>,
): Promise<void> {
  try {
    await after();
  } catch (error) {
    ctx.log.error(`${session.label}: follow-up work failed`, error);
  }
}

/** A reply followed by raw bytes. If the bytes cannot all be sent the stream is broken: disconnect. */
async function streamReply(
  ctx: ServerContext,
  session: Session,
  code: number,
  text: string | readonly string[],
  stream: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  try {
    await session.sendExclusive(new TextEncoder().encode(formatReply(code, text)), stream);
  } catch (error) {
    ctx.log.error(`${session.label}: transfer failed, disconnecting`, error);
    await session.close();
  }
}
