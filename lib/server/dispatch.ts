/**
 * From a request line to exactly one reply, in request order: parse, check access and arguments,
 * run the handler, write the outcome. Every front end calls {@linkcode dispatch}; none of them
 * decides anything a handler decides.
 * @module
 */

import { type StoreOutcome, StoreUnavailableError } from "../store/store_unavailable.ts";
import { splitRequestId } from "../protocol/request_id.ts";
import { RequestIdReusedError } from "../store/store.ts";
import { timingSafeEqual } from "node:crypto";
import { Reply, Text } from "../protocol/codes.ts";
import type { CommandSpec, ServerCommandName } from "../protocol/commands.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { bindRequestArgs, resolveCommand } from "../protocol/request.ts";
import type { ClientTags } from "../protocol/events.ts";
import type { Client } from "./client.ts";
import { settleOfflineHandover } from "./presence.ts";
import type { Caller, Deferred, Handler, HandlerTable, Outcome, ServerContext } from "./context.ts";
import { accountHandlers } from "./handlers/account.ts";
import { adminHandlers } from "./handlers/admin.ts";
import { forumHandlers } from "./handlers/forum.ts";
import { messagingHandlers } from "./handlers/messaging.ts";
import { motdHandlers } from "./handlers/motd.ts";
import { peerHandlers } from "./handlers/peers.ts";
import { presenceHandlers } from "./handlers/presence.ts";
import { roomHandlers } from "./handlers/rooms.ts";
import { channelHandlers } from "./handlers/channels.ts";
import { tagmsgHandlers } from "./handlers/tagmsg.ts";
import { sessionHandlers } from "./handlers/sessions.ts";
import { searchHandlers } from "./handlers/search.ts";

/** Every handler by canonical command name; the type makes it cover the command table. */
export const HANDLERS: HandlerTable = {
  ...accountHandlers,
  ...presenceHandlers,
  ...messagingHandlers,
  ...roomHandlers,
  ...channelHandlers,
  ...tagmsgHandlers,
  ...motdHandlers,
  ...forumHandlers,
  ...peerHandlers,
  ...sessionHandlers,
  ...adminHandlers,
  ...searchHandlers,
};

const encoder = new TextEncoder();

/** Compares secrets without leaking where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const [a, b] = [encoder.encode(given), encoder.encode(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks who may run `command`; throws the reply for those who may not. */
function checkAccess(
  ctx: ServerContext,
  client: Client,
  command: CommandSpec,
  args: () => readonly string[],
): void {
  if (command.access === "anyone") return;
  // Like IRC: a client that is not logged in learns that before any complaint about arguments.
  const identity = client.identity;
  if (!identity) throw new ProtocolError(Reply.NOT_LOGGED_IN, Text.NOT_LOGGED_IN);
  if (identity.guest && !command.guests) {
    throw new ProtocolError(
      Reply.NOT_ALLOWED,
      `Guests cannot use ${command.name}: register your name first (REGISTER ${identity.name} <password>)`,
      { reason: "guest" },
    );
  }
  if (command.access !== "admin" || identity.admin) return;
  const password = command.adminPassword ? args()[0] ?? "" : "";
  if (password === "") throw new ProtocolError(Reply.NOT_ALLOWED, Text.NOT_ALLOWED);
  if (ctx.config.adminPassword === "" || !sameSecret(password, ctx.config.adminPassword)) {
    throw new ProtocolError(Reply.NOT_ALLOWED, "Incorrect password");
  }
}

/**
 * Handles one request line from a client; every outcome, errors included, is one reply. `tags`:
 * an IRC client's client-only tags on the message, carried by the events it makes.
 */
export async function dispatch(
  ctx: ServerContext,
  client: Client,
  line: string,
  tags?: ClientTags,
): Promise<void> {
  ctx.counters.requests++;
  settleOfflineHandover(ctx, client);
  let outcome: Outcome | Deferred;
  try {
    const { id: requestId, line: request } = splitRequestId(line);
    const resolved = resolveCommand(request);
    const command = resolved.command;
    ctx.log.info(`${client.label} issued ${command.name} command`);
    if (command.clientOnly) {
      throw new ProtocolError(
        Reply.UNKNOWN_COMMAND,
        `${command.name} is done by chat-client itself, peer to peer; the server only introduces peers (PEER)`,
      );
    }
    let bound: readonly string[] | undefined;
    const args = () => bound ??= bindRequestArgs(resolved).args;
    checkAccess(ctx, client, command, args);
    if (command.raw && !client.output.rawBytes) {
      throw new ProtocolError(
        Reply.UNKNOWN_COMMAND,
        `${command.name} needs a TCP connection (chat-client); the web client moves files over HTTP`,
      );
    }
    const handler = HANDLERS[command.name as ServerCommandName] as Handler<"user">;
    // checkAccess made sure commands that need an identity have one.
    const caller = { client, identity: client.identity, tags, requestId } as Caller<"user">;
    outcome = await handler(ctx, caller, args());
  } catch (error) {
    outcome = failure(ctx, client, error);
  }
  await deliverOutcome(ctx, client, outcome);
}

/** Writes an outcome in its turn. */
async function deliverOutcome(
  ctx: ServerContext,
  client: Client,
  outcome: Outcome | Deferred,
): Promise<void> {
  if ("deferred" in outcome) {
    const decided = outcome.deferred.catch((error) => failure(ctx, client, error));
    client.inTurn(async () => await replyInTurn(ctx, client, await decided));
    return;
  }
  if (outcome.receive) {
    await receiveUpload(ctx, client, outcome);
    return;
  }
  if (outcome.stream) {
    const stream = outcome.stream;
    await client.repliesSent(); // raw bytes must not overtake earlier replies
    try {
      await client.output.stream(outcome.code, String(outcome.text), stream);
    } catch (error) {
      ctx.log.error(`${client.label}: transfer failed, disconnecting`, error);
      await client.output.close();
    }
    return;
  }
  client.inTurn(() => replyInTurn(ctx, client, outcome));
}

/** The reply of an outcome, once its turn has come: after its write is stored, then its work. */
async function replyInTurn(ctx: ServerContext, client: Client, outcome: Outcome): Promise<void> {
  const { code, text, durable, after, detail } = outcome;
  if (durable) {
    try {
      await durable;
    } catch (error) {
      ctx.log.error(`${client.label}: cannot store`, error);
      await client.output.reply(
        Reply.SERVER_ERROR,
        "Cannot store the message; it was not acknowledged",
      );
      return;
    }
  }
  try {
    await client.output.reply(code, text, detail);
  } catch (error) {
    ctx.log.info(`${client.label}: reply not written: ${error}`);
    return;
  }
  if (after) await runAfter(ctx, client, after);
}

/**
 * An upload: once every earlier reply is out, 350; then the raw bytes (the client's next line
 * is read only after them); then the final reply.
 */
async function receiveUpload(ctx: ServerContext, client: Client, outcome: Outcome): Promise<void> {
  const receive = outcome.receive as NonNullable<Outcome["receive"]>;
  await client.repliesSent();
  await client.output.reply(outcome.code, outcome.text);
  let final: Outcome;
  try {
    await client.output.readRaw(receive.size, (bytes) => receive.write(bytes));
    client.touch(ctx.clock.now());
    final = await receive.finish();
  } catch (error) {
    await receive.abort();
    if (error instanceof Deno.errors.UnexpectedEof) {
      ctx.log.info(`${client.label}: upload interrupted; nothing was stored`);
      return; // the connection is gone: nobody to answer
    }
    final = failure(ctx, client, error);
  }
  await deliverOutcome(ctx, client, final);
}

/** The reply for a failed request: the user's error, or a 500 that is logged. */
/** What the log says of a request the store failed. */
const OUTCOME_LOG: Record<StoreOutcome, string> = {
  not_done: "refused",
  unknown: "cut",
  unreplicated: "stored unreplicated",
};

/** What the user is told of it: the truth about whether it was done. */
const OUTCOME_TEXT: Record<StoreOutcome, string> = {
  not_done: "Storage is unreachable for now; the request was not carried out. Try again shortly",
  unknown:
    "Storage was cut off while this was being carried out: it may or may not have been done (HISTORY tells); check before sending it again",
  unreplicated:
    "Stored, but not yet on the Redis replicas this server waits for: it could be lost if Redis fails over now (HISTORY tells); check before sending it again",
};

function failure(ctx: ServerContext, client: Client, error: unknown): Outcome {
  if (error instanceof ProtocolError) {
    const detail = error.reason === undefined ? undefined : { reason: error.reason };
    const text = error.before.length > 0 ? [...error.before, error.message] : error.message;
    return { code: error.code, text, detail };
  }
  if (error instanceof RequestIdReusedError) {
    return { code: Reply.ALREADY_EXISTS, text: `${error.message}: give each request its own id` };
  }
  if (error instanceof StoreUnavailableError) {
    const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
    ctx.log.warn(`${client.label}: request ${OUTCOME_LOG[error.outcome]}: ${cause}`);
    // Never "not carried out" unless it was not: a command cut on its way may have been stored.
    return { code: Reply.SERVER_ERROR, text: OUTCOME_TEXT[error.outcome] };
  }
  ctx.log.error(`${client.label}: request failed`, error);
  return { code: Reply.SERVER_ERROR, text: "Internal server error; the request was not completed" };
}

/** Work after the reply: its failure is logged, never a second reply. */
async function runAfter(
  ctx: ServerContext,
  client: Client,
  after: () => void | Promise<void>,
): Promise<void> {
  try {
    await after();
  } catch (error) {
    ctx.log.error(`${client.label}: follow-up work failed`, error);
  }
}
