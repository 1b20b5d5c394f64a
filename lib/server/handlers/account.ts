/**
 * Accounts and sessions: USER, LOGIN, REGISTER, PASSWD, LOGOUT, QUIT, UDP.
 * @module
 */

import { isLockedOut, NO_FAILURES, recordFailure } from "../../auth/lockout.ts";
import { passwordProblem, usernameProblem } from "../../auth/names.ts";
import { hashPassword, verifyPassword } from "../../auth/password.ts";
import { Reply, Text } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import type { UserRecord } from "../../store/store.ts";
import { type HandlerTable, ok, type Outcome, type ServerContext } from "../context.ts";
import { logIn, logOut } from "../presence.ts";
import type { Session } from "../session.ts";

function refuseIfLoggedIn(session: Session): void {
  if (session.user !== undefined) {
    throw new ProtocolError(
      Reply.ALREADY_LOGGED_IN,
      `You are already logged in as ${session.user}; LOGOUT first`,
    );
  }
}

function isAdmin(ctx: ServerContext, user: UserRecord): boolean {
  return user.role === "admin" || ctx.config.admins.includes(user.name);
}

/** Logs the session in and delivers the offline queue once the welcome reply is queued. */
async function welcome(ctx: ServerContext, session: Session, user: UserRecord): Promise<Outcome> {
  if (ctx.shuttingDown) throw new ProtocolError(Reply.SERVER_ERROR, "Server is shutting down");
  await logIn(ctx, session, user.name);
  const role = isAdmin(ctx, user) ? " (admin)" : "";
  return ok(`Welcome to labchat, ${user.name}!${role}`, async () => {
    const queued = await ctx.store.takeOffline(user.name);
    for (const m of queued) {
      session.event({
        type: "private_offline",
        from: m.from,
        sentAt: formatTimestamp(m.at),
        text: m.text,
      });
    }
  });
}

/** Checks the password with the lockout policy; returns the account when it may log in. */
async function authenticate(
  ctx: ServerContext,
  name: string,
  password: string,
): Promise<UserRecord> {
  const user = await ctx.store.getUser(name);
  if (!user) throw new ProtocolError(Reply.WRONG_CREDENTIALS, Text.WRONG_CREDENTIALS);
  const lockout = await ctx.store.getLockout(name);
  const now = Date.now();
  if (isLockedOut(lockout, now)) {
    throw new ProtocolError(Reply.ACCOUNT_BLOCKED, Text.ACCOUNT_BLOCKED);
  }
  if (await verifyPassword(password, user.password)) {
    if (lockout.failures !== 0 || lockout.blockedUntil !== 0) {
      await ctx.store.setLockout(name, NO_FAILURES);
    }
    return user;
  }
  const policy = { maxFailures: ctx.config.maxLoginFailures, lockoutMs: ctx.config.lockoutMs };
  const failure = recordFailure(lockout, policy, now);
  await ctx.store.setLockout(name, failure.state);
  if (failure.blocked) {
    ctx.log.info(`${name} blocked for ${ctx.config.lockoutMs / 1000} s after failed logins`);
    throw new ProtocolError(Reply.ACCOUNT_NOW_BLOCKED, Text.ACCOUNT_NOW_BLOCKED);
  }
  throw new ProtocolError(Reply.WRONG_CREDENTIALS, Text.INVALID_PASSWORD);
}

/** Handlers of the account commands. */
export const accountHandlers: HandlerTable = {
  USER(ctx, session, [name]) {
    refuseIfLoggedIn(session);
    return ctx.locks.run(`user:${name}`, async () => {
      const user = await ctx.store.getUser(name);
      if (user) {
        if (isLockedOut(await ctx.store.getLockout(name), Date.now())) {
          throw new ProtocolError(Reply.ACCOUNT_BLOCKED, Text.ACCOUNT_BLOCKED);
        }
        if (ctx.hub.isOnline(name)) {
          throw new ProtocolError(
            Reply.ALREADY_LOGGED_IN,
            `${name} is already logged in elsewhere`,
          );
        }
        return { code: Reply.PASSWORD_REQUIRED, text: `Password required for ${name}` };
      }
      const problem = usernameProblem(name);
      if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
      if (!ctx.config.registration) {
        throw new ProtocolError(Reply.WRONG_CREDENTIALS, "Invalid Username. Please try again");
      }
      return {
        code: Reply.NEW_USER,
        text: `New user ${name}: REGISTER with a password to sign up`,
      };
    });
  },

  LOGIN(ctx, session, [name, password]) {
    refuseIfLoggedIn(session);
    return ctx.locks.run(`user:${name}`, async () => {
      const user = await authenticate(ctx, name, password);
      return welcome(ctx, session, user);
    });
  },

  REGISTER(ctx, session, [name, password]) {
    refuseIfLoggedIn(session);
    if (!ctx.config.registration) {
      throw new ProtocolError(Reply.REGISTRATION_CLOSED, "Registration is closed on this server");
    }
    const problem = usernameProblem(name) ?? passwordProblem(password);
    if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
    return ctx.locks.run(`user:${name}`, async () => {
      const record: UserRecord = {
        name,
        password: await hashPassword(password, ctx.config.scryptCost),
        role: ctx.config.admins.includes(name) ? "admin" : "user",
        createdAt: Date.now(),
      };
      if (!(await ctx.store.createUser(record))) {
        throw new ProtocolError(Reply.ALREADY_EXISTS, `User ${name} already exists`);
      }
      ctx.log.info(`${name} registered`);
      return welcome(ctx, session, record);
    });
  },

  async PASSWD(ctx, session, [oldPassword, newPassword]) {
    const name = session.user as string;
    const problem = passwordProblem(newPassword);
    if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
    const user = await ctx.store.getUser(name);
    if (!user || !(await verifyPassword(oldPassword, user.password))) {
      throw new ProtocolError(Reply.WRONG_CREDENTIALS, Text.INVALID_PASSWORD);
    }
    await ctx.store.setPassword(name, await hashPassword(newPassword, ctx.config.scryptCost));
    return ok("Password changed");
  },

  async LOGOUT(ctx, session) {
    const name = session.user;
    await logOut(ctx, session);
    return ok(`Bye, ${name}!`);
  },

  async QUIT(ctx, session) {
    await logOut(ctx, session);
    return ok("Goodbye", () => session.close(true));
  },

  UDP(_ctx, session, [portText]) {
    const port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
      throw new ProtocolError(
        Reply.INVALID_VALUE,
        `Cannot use "${portText}" as a UDP port: use 1 to 65535`,
      );
    }
    session.udpPort = port;
    return Promise.resolve(ok(`UDP port ${port} registered`));
  },
};
