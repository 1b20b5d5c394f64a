/**
 * Logging users in and out: the online set, the login history and presence notices.
 * @module
 */

import { Reply } from "../protocol/codes.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import type { ServerContext } from "./context.ts";
import { encodeEvent, type Session } from "./session.ts";

/** Tells every online user except `user` and those with a block either way. */
function notifyPresence(ctx: ServerContext, user: string, type: "login" | "logout"): void {
  if (ctx.shuttingDown) return;
  const bytes = encodeEvent({ type, user });
  ctx.hub.fanout(bytes, (other) => other !== user && !ctx.blocks.either(user, other));
}

/**
 * Marks the session logged in as `user`, records it and tells the others.
 *
 * @throws {ProtocolError} 409 when the user already has a live session.
 */
export async function logIn(ctx: ServerContext, session: Session, user: string): Promise<void> {
  if (!ctx.hub.add(user, session)) {
    throw new ProtocolError(Reply.ALREADY_LOGGED_IN, `${user} is already logged in elsewhere`);
  }
  const now = Date.now();
  session.user = user;
  session.loginAt = now;
  const record = { name: user, lastLogin: now, lastLogout: ctx.seen.get(user)?.lastLogout ?? 0 };
  ctx.seen.set(user, record);
  notifyPresence(ctx, user, "login");
  try {
    await ctx.store.setSeen(record);
  } catch (error) {
    ctx.log.error(`Cannot record login of ${user}`, error);
  }
}

/** Logs the session's user out (if any), records it and tells the others. Never throws. */
export async function logOut(ctx: ServerContext, session: Session): Promise<void> {
  const user = session.user;
  if (user === undefined) return;
  session.user = undefined;
  ctx.hub.remove(user, session);
  const record = { name: user, lastLogin: session.loginAt, lastLogout: Date.now() };
  ctx.seen.set(user, record);
  notifyPresence(ctx, user, "logout");
  ctx.log.info(`${user} logout`);
  try {
    await ctx.store.setSeen(record);
  } catch (error) {
    ctx.log.error(`Cannot record logout of ${user}`, error);
  }
}
