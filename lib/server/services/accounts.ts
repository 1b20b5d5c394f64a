/**
 * Accounts: finding them by any spelling, signing in under the lockout policy, registering,
 * changing passwords, and who holds the admin role.
 * @module
 */

import type { ShareChange } from "../shared_changes.ts";
import { type HashQueue, HashQueueFullError } from "../../auth/hash_queue.ts";
import { isLockedOut, type LockoutState, NO_FAILURES, recordFailure } from "../../auth/lockout.ts";
import {
  hashPassword,
  type PasswordHash,
  passwordProblem,
  verifyPassword,
} from "../../auth/password.ts";
import { Reply, Text } from "../../protocol/codes.ts";
import { foldName } from "../../protocol/names.ts";
import { formatDuration } from "../../protocol/timestamp.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import type { AccountStore, UserRecord } from "../../store/store.ts";
import type { Clock } from "./clock.ts";

/** The account rules of a server. */
export interface AccountPolicy {
  readonly maxFailures: number;
  readonly lockoutMs: number;
  /** scrypt N for new hashes. */
  readonly scryptCost: number;
  readonly registration: boolean;
  /** Shortest password REGISTER and PASSWD accept. */
  readonly minPasswordLength: number;
}

/** An address is blocked after this many times the per-account failures, over any accounts. */
const ADDRESS_FAILURES_FACTOR = 5;

/** The failures of an address over all accounts (no user name has a space). */
const addressKey = (source: string): string => `* ${source}`;

/** How long a block has left, in words. */
function seconds(state: LockoutState, now: number): string {
  return formatDuration(Math.max(1000, Math.ceil((state.blockedUntil - now) / 1000) * 1000));
}

/** How long an account found stays cached for existence checks (the operator tool may delete it). */
const CACHE_MS = 30_000;

const busy = () =>
  new ProtocolError(Reply.SERVER_BUSY, "Server busy: too many sign-ins at once; try again shortly");

/** Accounts of one server. */
export class AccountService {
  readonly #store: AccountStore;
  readonly #hashes: HashQueue;
  readonly #policy: AccountPolicy;
  readonly #clock: Clock;
  /** Folded name → creation time of the accounts `--admin` named that existed at start. */
  readonly #configAdmins: ReadonlyMap<string, number>;
  /** Folded names `--admin` reserves: nobody may register them. */
  readonly #reserved: ReadonlySet<string>;
  readonly #dummy: PasswordHash;
  readonly #cache = new Map<string, { user: UserRecord; until: number }>();
  /** Tells the other nodes of a cluster what changed. */
  share: ShareChange = () => {};

  private constructor(
    store: AccountStore,
    hashes: HashQueue,
    policy: AccountPolicy,
    clock: Clock,
    configAdmins: ReadonlyMap<string, number>,
    reserved: ReadonlySet<string>,
    dummy: PasswordHash,
  ) {
    this.#store = store;
    this.#hashes = hashes;
    this.#policy = policy;
    this.#clock = clock;
    this.#configAdmins = configAdmins;
    this.#reserved = reserved;
    this.#dummy = dummy;
  }

  /**
   * Sets up accounts. `admins` (the `--admin` flag) counts only for accounts that exist now,
   * whose passwords the operator chose; the others are reported in `warnings` and reserved.
   */
  static async open(
    store: AccountStore,
    hashes: HashQueue,
    policy: AccountPolicy,
    clock: Clock,
    admins: readonly string[],
  ): Promise<{ accounts: AccountService; warnings: string[] }> {
    const warnings: string[] = [];
    const configAdmins = new Map<string, number>();
    for (const name of admins) {
      const user = await store.getUser(name);
      if (user) configAdmins.set(foldName(name), user.createdAt);
      else {
        warnings.push(
          `--admin ${name}: there is no account ${name}, so nobody gets the role; create it with: deno task admin user add ${name} --admin`,
        );
      }
    }
    // Verifying against this hash takes as long as against a real one, so an unknown name is not
    // answered any faster than a wrong password.
    const dummy = await hashPassword(crypto.randomUUID(), policy.scryptCost);
    const reserved = new Set(admins.map(foldName));
    const accounts = new AccountService(
      store,
      hashes,
      policy,
      clock,
      configAdmins,
      reserved,
      dummy,
    );
    return { accounts, warnings };
  }

  /** The account with this name in any case, or `undefined`. Cached briefly. */
  async find(name: string): Promise<UserRecord | undefined> {
    const key = foldName(name);
    const cached = this.#cache.get(key);
    const now = this.#clock.now();
    if (cached && cached.until > now) return cached.user;
    const user = await this.#store.getUser(name);
    if (user) this.#cache.set(key, { user, until: now + CACHE_MS });
    else this.#cache.delete(key);
    return user;
  }

  /** The canonical spelling of an existing account's name, or `undefined`. */
  async canonical(name: string): Promise<string | undefined> {
    return (await this.find(name))?.name;
  }

  /** Forgets what is cached about an account (it changed elsewhere). */
  forget(name: string): void {
    this.#cache.delete(foldName(name));
  }

  /** Whether the account holds the admin role: granted by the operator, or named by `--admin`. */
  isAdmin(user: UserRecord): boolean {
    return user.role === "admin" ||
      this.#configAdmins.get(foldName(user.name)) === user.createdAt;
  }

  /**
   * Refuses a login from `source` while the account is blocked for it, or the address itself
   * is, saying for how long.
   *
   * @throws {ProtocolError} 412
   */
  async checkNotBlocked(name: string, source: string, exists = true): Promise<void> {
    const now = this.#clock.now();
    const address = await this.#store.getGhostLockout(addressKey(source));
    if (isLockedOut(address, now)) {
      throw new ProtocolError(
        Reply.ACCOUNT_BLOCKED,
        `Too many failed logins from your address; try again in ${seconds(address, now)}`,
      );
    }
    const lockout = await this.#lockoutOf(name, source, exists);
    if (isLockedOut(lockout, now)) {
      throw new ProtocolError(Reply.ACCOUNT_BLOCKED, Text.ACCOUNT_BLOCKED, {
        before: [`Still blocked for ${seconds(lockout, now)}`],
      });
    }
  }

  /**
   * Checks a password under the lockout policy and returns the account. An unknown name gets the
   * same answer, after the same work, as a wrong password.
   *
   * @throws {ProtocolError} 410 wrong, 411 now blocked, 412 blocked, 421 busy.
   */
  async authenticate(name: string, password: string, source: string): Promise<UserRecord> {
    const user = await this.#store.getUser(name);
    await this.checkNotBlocked(name, source, user !== undefined);
    const matches = await this.#verify(password, user?.password ?? this.#dummy);
    if (user && matches) {
      const lockout = await this.#store.getLockout(user.name, source);
      if (lockout.failures !== 0 || lockout.blockedUntil !== 0) {
        await this.#store.updateLockout(user.name, source, () => NO_FAILURES);
      }
      this.#cache.set(foldName(user.name), { user, until: this.#clock.now() + CACHE_MS });
      return user;
    }
    return await this.#fail(name, source, user !== undefined);
  }

  /**
   * Creates an account with the given password.
   *
   * @throws {ProtocolError} 413 closed or reserved, 414 bad password, 406 taken, 421 busy.
   */
  async register(name: string, password: string): Promise<UserRecord> {
    if (!this.#policy.registration) {
      throw new ProtocolError(Reply.REGISTRATION_CLOSED, "Registration is closed on this server");
    }
    if (this.#reserved.has(foldName(name))) {
      throw new ProtocolError(
        Reply.REGISTRATION_CLOSED,
        `Cannot register ${name}: the name is reserved for the operator`,
      );
    }
    // A taken name is said before anything about the password.
    const taken = () => new ProtocolError(Reply.ALREADY_EXISTS, `User ${name} already exists`);
    if (await this.#store.getUser(name)) throw taken();
    const problem = passwordProblem(password, this.#policy.minPasswordLength);
    if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
    const record: UserRecord = {
      name,
      password: await this.#hash("create", password),
      role: "user",
      createdAt: this.#clock.now(),
    };
    if (!(await this.#store.createUser(record))) throw taken();
    return record;
  }

  /**
   * Changes a logged-in user's password. A wrong old password counts as a failed login.
   *
   * @throws {ProtocolError} 410, 411 (the account is now blocked), 412, 414, 421.
   */
  async changePassword(
    name: string,
    oldPassword: string,
    newPassword: string,
    source: string,
  ): Promise<void> {
    // The old password first: a guess counts as a failed login whatever the new one is.
    await this.authenticate(name, oldPassword, source);
    const problem = passwordProblem(newPassword, this.#policy.minPasswordLength);
    if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
    const hash = await this.#hash("create", newPassword);
    if (!(await this.#store.updateUser(name, { password: hash }))) {
      throw new ProtocolError(Reply.NOT_FOUND, `Cannot find account ${name}`);
    }
    this.forget(name);
    this.share({ kind: "account", name });
  }

  async #verify(password: string, hash: PasswordHash): Promise<boolean> {
    try {
      return await this.#hashes.run("verify", () => verifyPassword(password, hash));
    } catch (error) {
      if (error instanceof HashQueueFullError) throw busy();
      throw error;
    }
  }

  async #hash(lane: "create", password: string): Promise<PasswordHash> {
    try {
      return await this.#hashes.run(lane, () => hashPassword(password, this.#policy.scryptCost));
    } catch (error) {
      if (error instanceof HashQueueFullError) throw busy();
      throw error;
    }
  }

  /** The lockout state: stored for accounts, transient for names that do not exist. */
  async #lockoutOf(name: string, source: string, exists: boolean): Promise<LockoutState> {
    if (exists) return await this.#store.getLockout(name, source);
    return await this.#store.getGhostLockout(`${name} ${source}`);
  }

  /** Counts a failed login of `name` from `source`, and of `source` itself; throws the reply. */
  async #fail(name: string, source: string, exists: boolean): Promise<never> {
    const { maxFailures, lockoutMs } = this.#policy;
    const now = this.#clock.now();
    let failure = recordFailure(NO_FAILURES, { maxFailures, lockoutMs }, now);
    // Counted atomically on the stored state: other nodes may be counting failures too.
    let countedAt = now;
    const count = (current: LockoutState) => {
      countedAt = this.#clock.now();
      failure = recordFailure(current, { maxFailures, lockoutMs }, countedAt);
      return failure.state;
    };
    // A name without an account is remembered as long as a block of it lasts, and a while more.
    const ghostTtl = 2 * lockoutMs + 60_000;
    if (exists) await this.#store.updateLockout(name, source, count);
    else await this.#store.updateGhostLockout(`${name} ${source}`, count, ghostTtl);
    // One address guessing many accounts is slowed down too, after more failures.
    const addressPolicy = { maxFailures: maxFailures * ADDRESS_FAILURES_FACTOR, lockoutMs };
    await this.#store.updateGhostLockout(
      addressKey(source),
      (current) => recordFailure(current, addressPolicy, this.#clock.now()).state,
      ghostTtl,
    );
    if (failure.blocked) {
      throw new ProtocolError(Reply.ACCOUNT_NOW_BLOCKED, Text.ACCOUNT_NOW_BLOCKED, {
        // Counted from when the block began: "Blocked for 10 seconds", not 11.
        before: [`Blocked for ${seconds(failure.state, countedAt)}`],
      });
    }
    throw new ProtocolError(Reply.WRONG_CREDENTIALS, Text.INVALID_PASSWORD);
  }
}
