/**
 * Accounts and sessions: USER, LOGIN, REGISTER, PASSWD, LOGOUT, QUIT, UDP.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { foldName } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import type { UserRecord } from "../../store/store.ts";
import type { Client } from "../client.ts";
import type { ReplyData } from "../../protocol/reply_data.ts";
import { ok, okWith, type Outcome, type PartialHandlers, type ServerContext } from "../context.ts";
import type { Identity } from "../identity.ts";
import {
  becomeAccount,
  deliverOffline,
  logIn,
  logInGuest,
  logOut,
  renameGuest,
  tooManySessions,
} from "../presence.ts";
import { sessionId } from "../session_group.ts";

function refuseIfLoggedIn(client: Client): void {
  if (client.identity !== undefined) {
    throw new ProtocolError(
      Reply.ALREADY_LOGGED_IN,
      `You are already logged in as ${client.identity.name}; LOGOUT first`,
    );
  }
}

/** USER, LOGIN and REGISTER share a rate per client address: guessing is slow from anywhere. */
function limitAuth(ctx: ServerContext, client: Client): void {
  if (!ctx.authRate.allow(client.ip)) {
    throw new ProtocolError(
      Reply.SERVER_BUSY,
      "Too many sign-in attempts from your address; wait a moment and try again",
    );
  }
}

/** A name a guest uses now cannot be registered by anyone else meanwhile. */
function refuseGuestName(ctx: ServerContext, name: string, client?: Client): void {
  const online = ctx.hub.find(name);
  if (online?.guest && client?.identity?.name !== online.name) {
    throw new ProtocolError(
      Reply.ALREADY_EXISTS,
      `${online.name} is in use by a guest right now; choose another name`,
      { reason: "name_in_use" },
    );
  }
}

/**
 * Runs `take` to give a guest the name `name`, under the lock REGISTER takes too (nobody takes
 * the name meanwhile).
 *
 * @throws {ProtocolError} 409 `name_is_account` when an account has that name.
 */
function asGuestName(
  ctx: ServerContext,
  name: string,
  take: () => Promise<Outcome>,
): Promise<Outcome> {
  return ctx.locks.run(`user:${foldName(name)}`, async () => {
    const account = await ctx.accounts.find(name);
    if (account) {
      throw new ProtocolError(
        Reply.ALREADY_EXISTS,
        `${account.name} is an account: log in with its password (PASS or SASL)`,
        { reason: "name_is_account" },
      );
    }
    return await take();
  });
}

/** Who a session is, for the data of its welcome reply. */
function welcomeData(identity: Identity): ReplyData {
  return { kind: "welcome", user: identity.name, guest: identity.guest, admin: identity.admin };
}

/** Logs the client in and hands over the offline queue once the welcome reply is written. */
async function welcome(ctx: ServerContext, client: Client, user: UserRecord): Promise<Outcome> {
  const { identity, first } = await logIn(ctx, client, user);
  const role = identity.admin ? " (admin)" : "";
  // The offline queue is the person's: handed to the first session; later ones read HISTORY.
  return okWith(
    `Welcome to labchat, ${identity.name}!${role}`,
    welcomeData(identity),
    first ? () => deliverOffline(ctx, client, identity) : undefined,
  );
}

/**
 * A browser's login (`POST /api/session`): the same checks, texts, lockout and rates as LOGIN
 * and REGISTER, but it starts a web session instead of logging a connection in. Returns the
 * session token for the cookie.
 *
 * @throws {ProtocolError} as LOGIN and REGISTER do.
 */
export function signInForWeb(
  ctx: ServerContext,
  ip: string,
  name: string,
  password: string,
  register: boolean,
): Promise<{ user: UserRecord; token: string }> {
  if (!ctx.authRate.allow(ip)) {
    throw new ProtocolError(
      Reply.SERVER_BUSY,
      "Too many sign-in attempts from your address; wait a moment and try again",
    );
  }
  ctx.log.info(`${ip} issued ${register ? "REGISTER" : "LOGIN"} command (web)`);
  return ctx.locks.run(`user:${foldName(name)}`, async () => {
    if (register) refuseGuestName(ctx, name);
    const user = register
      ? await ctx.accounts.register(name, password)
      : await ctx.accounts.authenticate(name, password, ip);
    if (register) ctx.log.info(`${user.name} registered`);
    return { user, token: await ctx.webSessions.create(user) };
  });
}

/** Handlers of the account commands. */
export const accountHandlers: PartialHandlers<
  | "USER"
  | "LOGIN"
  | "REGISTER"
  | "SESSION"
  | "GUEST"
  | "NICK"
  | "PASSWD"
  | "LOGOUT"
  | "QUIT"
  | "UDP"
> = {
  NICK(ctx, { client, identity }, [name]) {
    if (foldName(name) === foldName(identity.name)) {
      return Promise.resolve(okWith(`You are ${identity.name} already`, welcomeData(identity)));
    }
    if (!identity.guest) {
      throw new ProtocolError(
        Reply.ALREADY_EXISTS,
        `${identity.name} is an account: its name is what others know it by and stays as it is ` +
          "(a guest may change nick; log in to another account to be someone else)",
        { reason: "name_fixed" },
      );
    }
    return asGuestName(ctx, name, async () => {
      const before = identity.name;
      const renamed = await renameGuest(ctx, client, name);
      ctx.log.info(`${before} is now known as ${renamed.name}`);
      return okWith(`You are now known as ${renamed.name}`, welcomeData(renamed));
    });
  },

  GUEST(ctx, { client }, [name]) {
    refuseIfLoggedIn(client);
    if (client.transport !== "irc") {
      throw new ProtocolError(
        Reply.UNKNOWN_COMMAND,
        "Guest names are for IRC clients; here, REGISTER an account",
      );
    }
    if (!ctx.config.registration || !ctx.config.ircGuests) {
      throw new ProtocolError(
        Reply.REGISTRATION_CLOSED,
        "This server needs an account: give its password (PASS or SASL)",
        { reason: "guest" },
      );
    }
    limitAuth(ctx, client);
    return asGuestName(ctx, name, async () => {
      const identity = await logInGuest(ctx, client, name);
      ctx.log.info(`${identity.name} joined as a guest`);
      return okWith(`Welcome to labchat, ${identity.name}! (guest)`, welcomeData(identity));
    });
  },

  async SESSION(ctx, { client }) {
    refuseIfLoggedIn(client);
    if (client.credential === undefined) {
      throw new ProtocolError(Reply.NOT_LOGGED_IN, "No web session on this connection");
    }
    const user = await ctx.webSessions.resolve(client.credential);
    if (!user) {
      throw new ProtocolError(Reply.NOT_LOGGED_IN, "Your web session has ended; log in again");
    }
    return welcome(ctx, client, user);
  },

  async USER(ctx, { client }, [name]) {
    refuseIfLoggedIn(client);
    limitAuth(ctx, client);
    const user = await ctx.accounts.find(name);
    if (user) {
      await ctx.accounts.checkNotBlocked(user.name, client.ip);
      const online = ctx.hub.online(user.name);
      const limit = ctx.config.sessionsPerUser;
      if (online && (limit <= 1 || online.guest || (online.sessions ?? 1) >= limit)) {
        const claim = limit <= 1 || online.guest ? "taken" : "full";
        throw new ProtocolError(Reply.ALREADY_LOGGED_IN, tooManySessions(user.name, claim, limit));
      }
      return { code: Reply.PASSWORD_REQUIRED, text: `Password required for ${user.name}` };
    }
    if (!ctx.config.registration) {
      throw new ProtocolError(Reply.WRONG_CREDENTIALS, "Invalid Username. Please try again");
    }
    return { code: Reply.NEW_USER, text: `New user ${name}: REGISTER with a password to sign up` };
  },

  LOGIN(ctx, { client }, [name, password]) {
    refuseIfLoggedIn(client);
    limitAuth(ctx, client);
    return ctx.locks.run(`user:${foldName(name)}`, async () => {
      const user = await ctx.accounts.authenticate(name, password, client.ip);
      return welcome(ctx, client, user);
    });
  },

  REGISTER(ctx, { client }, [name, password]) {
    const guest = client.identity?.guest ? client.identity : undefined;
    if (guest && foldName(guest.name) !== foldName(name)) {
      throw new ProtocolError(
        Reply.ALREADY_LOGGED_IN,
        `You are the guest ${guest.name}: register that name, or reconnect under another`,
      );
    }
    if (!guest) refuseIfLoggedIn(client);
    limitAuth(ctx, client);
    return ctx.locks.run(`user:${foldName(name)}`, async () => {
      refuseGuestName(ctx, name, client);
      // A guest's account keeps the spelling everyone has seen.
      const user = await ctx.accounts.register(guest?.name ?? name, password);
      ctx.log.info(`${user.name} registered`);
      if (!guest) return welcome(ctx, client, user);
      // The guest's session goes on as the new account's.
      const identity = await becomeAccount(ctx, client, user);
      return okWith(
        `Welcome to labchat, ${identity.name}! Your name is now your account`,
        welcomeData(identity),
      );
    });
  },

  PASSWD(ctx, { client, identity }, [oldPassword, newPassword]) {
    return ctx.locks.run(`user:${foldName(identity.name)}`, async () => {
      try {
        await ctx.accounts.changePassword(identity.name, oldPassword, newPassword, client.ip);
      } catch (error) {
        // Guessing the password from a session left open blocks the account, and ends the session.
        if (error instanceof ProtocolError && error.code === Reply.ACCOUNT_NOW_BLOCKED) {
          await logOut(ctx, client);
        }
        throw error;
      }
      ctx.log.info(`${identity.name} changed password`);
      // Whoever knew the old password is logged out everywhere else.
      const others = ctx.hub.online(identity.name)?.sessions ?? 1;
      ctx.endSession(
        identity.name,
        "Your password was changed from another session; log in again with the new one",
        "Password changed",
        { except: sessionId(client, ctx.hub.node) },
      );
      return ok(
        others > 1 ? "Password changed; your other sessions were logged out" : "Password changed",
      );
    });
  },

  async LOGOUT(ctx, { client, identity }) {
    client.quitReason = "Logged out";
    await logOut(ctx, client, true);
    client.quitReason = undefined;
    return ok(`Bye, ${identity.name}!`);
  },

  async QUIT(ctx, { client }) {
    client.quitReason = "Quit";
    await logOut(ctx, client, true);
    return ok("Goodbye", () => client.output.close(true));
  },

  async UDP(ctx, { client }, [portText]) {
    const port = Number(portText);
    client.udpPort = port;
    const identity = client.identity;
    if (identity) {
      await ctx.hub.setUdpPort(identity.name, port, client);
      if (client.loginNumber !== undefined) {
        await ctx.seen.udpPortReported(client.loginNumber, port);
      }
    }
    return ok(`UDP port ${port} registered`);
  },
};
