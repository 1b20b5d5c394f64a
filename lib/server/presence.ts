/**
 * Logging users in and out: the hub's online set, the login history, presence notices, and the
 * offline messages handed over at login.
 * @module
 */

import { Reply } from "../protocol/codes.ts";
import { type ChatEvent, OutboundEvent } from "../protocol/events.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { formatTimestamp } from "../protocol/timestamp.ts";
import type { UserRecord } from "../store/store.ts";
import { Client, type OfflineHandover } from "./client.ts";
import type { ServerContext } from "./context.ts";
import type { HubSession } from "./hub.ts";
import { Identity } from "./identity.ts";
import type { LogoutReason } from "./presence_notices.ts";
import { within } from "./io/within.ts";

/** How long LOGOUT and QUIT wait for a handover's bytes to leave before settling it, ms. */
const SETTLE_WAIT_MS = 2000;

/** Offline messages read from the store per page. */
const OFFLINE_PAGE = 100;

/** Tells every online user except `user` and those with a block either way (see PresenceNotices). */
function notifyPresence(
  ctx: ServerContext,
  user: string,
  type: "login" | "logout",
  why?: LogoutReason,
): void {
  if (ctx.shuttingDown) return;
  ctx.presence.announce(user, type, why);
}

/** Why a session ended when nothing said: its connection went. */
const LOST = "Connection lost";

/** The most a quit reason keeps, in characters (as message text is cleaned, it is cut). */
const MAX_REASON = 200;

/**
 * Logs the client in as `user`, records it and, for the person's first session, tells the
 * others. Whether the user is an admin is decided here, from the account and the server's
 * configuration. `first`: no other session of the person was online (so the offline queue is
 * this session's to hand over).
 *
 * @throws {ProtocolError} 409 when the user has as many sessions as allowed; 500 during shutdown.
 */
export async function logIn(
  ctx: ServerContext,
  client: Client,
  user: UserRecord,
): Promise<{ identity: Identity; first: boolean }> {
  if (ctx.shuttingDown) throw new ProtocolError(Reply.SERVER_ERROR, "Server is shutting down");
  const now = ctx.clock.now();
  const identity = new Identity(user.name, ctx.accounts.isAdmin(user), now);
  const limit = ctx.config.sessionsPerUser;
  const claim = await ctx.hub.claim(onlineEntry(client, identity), client, limit);
  if (claim === "taken" || claim === "full") {
    throw new ProtocolError(Reply.ALREADY_LOGGED_IN, tooManySessions(user.name, claim, limit));
  }
  client.signIn(identity);
  client.holdsOfflineQueue = claim === "first";
  ctx.counters.logins++;
  ctx.peakUsers();
  if (claim === "first") notifyPresence(ctx, user.name, "login");
  await recordLogin(ctx, client, identity);
  return { identity, first: claim === "first" };
}

/** Why a login was refused for the sessions the person has (today's text when the limit is 1). */
export function tooManySessions(name: string, claim: "taken" | "full", limit: number): string {
  if (claim === "taken" || limit <= 1) return `${name} is already logged in elsewhere`;
  return `${name} has ${limit} sessions already, the most this server allows: ` +
    `log out of one (SESSIONS lists them)`;
}

/** What the hub shows of a client logged in as `identity`. */
function onlineEntry(client: Client, identity: Identity) {
  return {
    name: identity.name,
    ip: client.ip,
    loginAt: identity.loginAt,
    udpPort: client.udpPort,
    guest: identity.guest,
    admin: identity.admin,
    ident: client.ident,
    realname: client.realname,
  };
}

async function recordLogin(ctx: ServerContext, client: Client, identity: Identity): Promise<void> {
  try {
    client.loginNumber = await ctx.seen.loggedIn(
      identity.name,
      identity.loginAt,
      client.ip,
      client.udpPort,
      { ident: client.ident, realname: client.realname },
    );
  } catch (error) {
    ctx.log.error(`Cannot record login of ${identity.name}`, error);
  }
}

/**
 * Logs the client in as a guest called `name`: no account, nothing recorded, for this connection
 * only. The caller has made sure no account has that name.
 *
 * @throws {ProtocolError} 409 when someone online has that name; 500 during shutdown.
 */
export async function logInGuest(
  ctx: ServerContext,
  client: Client,
  name: string,
): Promise<Identity> {
  if (ctx.shuttingDown) throw new ProtocolError(Reply.SERVER_ERROR, "Server is shutting down");
  const identity = await claimGuestName(ctx, client, name, ctx.clock.now());
  ctx.counters.logins++;
  ctx.peakUsers();
  notifyPresence(ctx, name, "login");
  return identity;
}

/**
 * Claims `name` for a guest's session, which then is signed in under it.
 *
 * @throws {ProtocolError} 409 `name_in_use` when someone online has that name.
 */
async function claimGuestName(
  ctx: ServerContext,
  client: Client,
  name: string,
  loginAt: number,
): Promise<Identity> {
  const identity = new Identity(name, false, loginAt, true);
  if ((await ctx.hub.claim(onlineEntry(client, identity), client, 1)) !== "first") {
    throw new ProtocolError(Reply.ALREADY_LOGGED_IN, `${name} is in use`, {
      reason: "name_in_use",
    });
  }
  client.signIn(identity);
  return identity;
}

/**
 * A guest takes another name: claimed for this session (refused when someone online has it),
 * the old one let go, its channel places kept under the new one, and everyone told (IRC's NICK).
 * The caller has made sure no account has that name.
 *
 * @throws {ProtocolError} 409 `name_in_use` when someone online has that name.
 */
export async function renameGuest(
  ctx: ServerContext,
  client: Client,
  name: string,
): Promise<Identity> {
  const old = client.identity;
  if (!old?.guest) throw new Error("Only a guest's name changes");
  const identity = await claimGuestName(ctx, client, name, old.loginAt);
  try {
    await ctx.hub.release(old.name, client);
  } catch (error) {
    ctx.log.error(`Cannot let go of the name ${old.name}`, error);
  }
  await ctx.channels.rename(old.name, name).catch((error) =>
    ctx.log.error(`Cannot move ${old.name}'s channels to ${name}`, error)
  );
  ctx.presence.renamed(old.name, name, { ident: client.ident, ip: client.ip });
  return identity;
}

/**
 * A guest has registered its name: the same session goes on as the account's, recorded as a
 * login from now. Nobody else is told; nothing changes for them.
 */
export async function becomeAccount(
  ctx: ServerContext,
  client: Client,
  user: UserRecord,
): Promise<Identity> {
  const guest = client.identity;
  const identity = new Identity(
    user.name,
    ctx.accounts.isAdmin(user),
    guest?.loginAt ?? ctx.clock.now(),
  );
  client.signIn(identity);
  await ctx.hub.update(user.name, { guest: false, admin: identity.admin });
  await recordLogin(ctx, client, identity);
  return identity;
}

/**
 * Logs the client's session out (if any) and records it; when it was the person's last session,
 * the person leaves their channels and the others are told. Never throws.
 */
export async function logOut(
  ctx: ServerContext,
  client: Client,
  onPurpose = false,
): Promise<Identity | undefined> {
  if (onPurpose && client.offlineHandover && !client.output.isClosed) {
    // LOGOUT or QUIT came after the handover: once its bytes are out (a reader that does not
    // read is not waited for long), it was received.
    await within(client.output.flushed(), SETTLE_WAIT_MS);
    // Dropped from the queue before the session ends: a login right after finds it empty.
    await settleOfflineHandover(ctx, client);
  }
  const heldQueue = client.holdsOfflineQueue;
  const identity = client.signOut();
  if (!identity) return undefined;
  const name = identity.name;
  let last = true;
  try {
    last = await ctx.hub.release(name, client);
  } catch (error) {
    ctx.log.error(`Cannot mark ${name} offline`, error);
  }
  if (last) {
    // Leaving the server is leaving its channels; the logout notice says so (IRC's QUIT).
    ctx.channels.leaveAll(name).catch((error) =>
      ctx.log.error(`Cannot take ${name} out of their channels`, error)
    );
    const reason = (client.quitReason ?? LOST).slice(0, MAX_REASON);
    notifyPresence(ctx, name, "logout", { reason, ident: client.ident, ip: client.ip });
  }
  ctx.log.info(last ? `${name} logout` : `${name} logout (other sessions stay)`);
  if (!last && heldQueue) passOfflineQueue(ctx, name);
  if (identity.guest) return identity;
  try {
    await ctx.seen.loggedOut(name, identity.loginAt, ctx.clock.now());
  } catch (error) {
    ctx.log.error(`Cannot record logout of ${name}`, error);
  }
  return identity;
}

/**
 * Sessions of this node the cluster had taken for gone (the node froze, or lost Redis) are online
 * again: the others are told, and what was queued for them meanwhile is handed over.
 */
export function sessionsBack(ctx: ServerContext, sessions: readonly HubSession[]): void {
  const announced = new Set<string>();
  for (const { recipient } of sessions) {
    if (!(recipient instanceof Client)) continue;
    const identity = recipient.identity;
    // A person is announced once, and one session of theirs takes the queue.
    if (!identity || announced.has(identity.name)) continue;
    announced.add(identity.name);
    notifyPresence(ctx, identity.name, "login");
    ctx.channels.back(identity.name);
    if (identity.guest) continue;
    recipient.holdsOfflineQueue = true;
    deliverOffline(ctx, recipient, identity).catch((error) =>
      ctx.log.error(`Cannot hand ${identity.name} the messages kept meanwhile`, error)
    );
  }
}

/**
 * Sessions of this node that cannot be online any more (their user logged in elsewhere while
 * this node was cut off): each is told why and closed, and nobody is told of a logout (the user
 * is online, elsewhere).
 */
export function sessionsLost(
  ctx: ServerContext,
  sessions: readonly HubSession[],
  reason: string,
): void {
  for (const { recipient } of sessions) {
    if (!(recipient instanceof Client)) continue;
    const identity = recipient.signOut();
    ctx.log.info(`${identity?.name ?? recipient.label}: session ended: ${reason}`);
    recipient.output.event(new OutboundEvent({ type: "disconnect", text: reason }));
    void recipient.output.close(true, 1000);
  }
}

/**
 * Hands the user's offline messages to the client, a page at a time at the client's pace. They
 * stay queued until the client sends a request after they were written (see dispatch): at least
 * once, never zero times. Each page counts as written once its bytes are out, before the next
 * page is read: a client that answers the first page while the store reads the next (a PING, for
 * an IRC client) has acknowledged that page.
 */
export async function deliverOffline(
  ctx: ServerContext,
  client: Client,
  identity: Identity,
): Promise<void> {
  const handover: OfflineHandover = { written: 0, settled: 0, complete: false };
  client.offlineHandover = handover;
  let after = 0;
  while (true) {
    const page = await ctx.messages.offline(identity.name, after, OFFLINE_PAGE);
    if (page.length === 0) break;
    // What came live meanwhile (kept here until handed over) is not handed over again.
    const events = page.filter((m) => client.privateOnce(m.number)).map((m) => {
      const event: ChatEvent = {
        type: "private_offline",
        from: m.from,
        sentAt: formatTimestamp(m.at),
        text: m.text,
      };
      return new OutboundEvent(event, m.at);
    });
    await client.output.eventsPaced(events);
    after = page[page.length - 1].number;
    if (client.identity !== identity || client.output.isClosed) return;
    await client.output.flushed();
    if (client.offlineHandover !== handover || client.output.isClosed) return;
    handover.written = after;
  }
  if (client.offlineHandover !== handover) return; // signed out meanwhile
  handover.complete = true;
  // Nothing waited, or a request after the last page settled it while the store said no more.
  if (handover.settled === after) {
    client.offlineHandover = undefined;
    client.holdsOfflineQueue = false;
  }
}

/**
 * The session that was handing over a person's offline queue ended before the handover was
 * settled: another of their sessions here takes it over, so nothing waits for the next login.
 */
export function passOfflineQueue(ctx: ServerContext, name: string): void {
  const clients = ctx.hub.sessionsOf(name).flatMap((s) =>
    s.recipient instanceof Client ? [s.recipient] : []
  );
  if (clients.some((c) => c.holdsOfflineQueue)) return; // one here has it already
  const client = clients[0];
  const identity = client?.identity;
  if (!client || !identity || identity.guest) return;
  client.holdsOfflineQueue = true;
  deliverOffline(ctx, client, identity).catch((error) =>
    ctx.log.error(`Cannot hand ${name} the messages kept meanwhile`, error)
  );
}

/**
 * Offline messages handed over at login reached the client once it sends a request after them
 * (for IRC, any line: a PING counts).
 */
export function settleOfflineHandover(ctx: ServerContext, client: Client): Promise<void> {
  const handover = client.offlineHandover;
  const user = client.identity?.name;
  if (!handover || handover.written <= handover.settled || user === undefined) {
    return Promise.resolve();
  }
  const upTo = handover.settled = handover.written;
  // Once every page is out this ends the handover; before, this session still holds the queue.
  if (handover.complete) {
    client.offlineHandover = undefined;
    client.holdsOfflineQueue = false;
  }
  return ctx.messages.delivered(user, upTo).catch((error) =>
    ctx.log.error(`Cannot drop delivered offline messages of ${user}`, error)
  );
}
