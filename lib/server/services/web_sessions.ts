/**
 * Browsers' logins: a random token in an HttpOnly, SameSite=Strict cookie, stored only as its
 * SHA-256 with the account's name and an expiry. A session ends at logout, at expiry, or when the
 * account's password changes or the account is deleted.
 * @module
 */

import { createHash } from "node:crypto";
import type { UserRecord, WebSessionStore } from "../../store/store.ts";
import type { AccountService } from "./accounts.ts";
import type { Clock } from "./clock.ts";

/** How long a web session lasts. */
export const WEB_SESSION_MS = 12 * 60 * 60 * 1000;

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** A fingerprint of an account's current password hash. */
const markOf = (user: UserRecord): string => sha256(user.password.hash).slice(0, 16);

/** Web sessions of one server. */
export class WebSessionService {
  readonly #store: WebSessionStore;
  readonly #accounts: AccountService;
  readonly #clock: Clock;

  constructor(store: WebSessionStore, accounts: AccountService, clock: Clock) {
    this.#store = store;
    this.#accounts = accounts;
    this.#clock = clock;
  }

  /** Starts a session for an account that has just proved its password; returns the token. */
  async create(user: UserRecord): Promise<string> {
    const token = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
      .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
    const now = this.#clock.now();
    await this.#store.putWebSession(sha256(token), {
      user: user.name,
      createdAt: now,
      expiresAt: now + WEB_SESSION_MS,
      passwordMark: markOf(user),
    });
    return token;
  }

  /** The account a token logs in, or `undefined` when the session has ended. */
  async resolve(token: string): Promise<UserRecord | undefined> {
    const session = await this.#store.getWebSession(sha256(token));
    if (!session || session.expiresAt <= this.#clock.now()) return undefined;
    this.#accounts.forget(session.user); // read it fresh: a deleted account ends its sessions
    const user = await this.#accounts.find(session.user);
    return user && markOf(user) === session.passwordMark ? user : undefined;
  }

  /** Ends a session. */
  async revoke(token: string): Promise<void> {
    await this.#store.deleteWebSession(sha256(token));
  }
}
