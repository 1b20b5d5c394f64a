/**
 * What the operator does to accounts, over the account store: add (optionally as admin), change a
 * password, delete, list, unlock, and import the seeds' credential files. The only way to grant
 * the admin role.
 * @module
 */

import { hashPassword, passwordProblem } from "../auth/password.ts";
import { usernameProblem } from "../protocol/names.ts";
import type { AccountStore, UserRecord } from "../store/store.ts";

/** A refusal of an operator command, with the text to show. */
export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminError";
  }
}

/** Settings of account changes. */
export interface AccountOptions {
  /** scrypt N of new hashes. */
  readonly scryptCost: number;
  readonly now?: () => number;
}

/**
 * Creates an account whose password the operator chose.
 *
 * @throws {AdminError} for a bad name or password, or a name taken in any case.
 */
export async function addUser(
  store: AccountStore,
  name: string,
  password: string,
  admin: boolean,
  options: AccountOptions,
): Promise<UserRecord> {
  const problem = usernameProblem(name) ?? passwordProblem(password);
  if (problem) throw new AdminError(problem);
  const user: UserRecord = {
    name,
    password: await hashPassword(password, options.scryptCost),
    role: admin ? "admin" : "user",
    createdAt: (options.now ?? Date.now)(),
  };
  if (!(await store.createUser(user))) {
    const existing = await store.getUser(name);
    throw new AdminError(`User ${existing?.name ?? name} already exists`);
  }
  return user;
}

/** Sets a new password (and the role, when given). @throws {AdminError} for an unknown user. */
export async function setPassword(
  store: AccountStore,
  name: string,
  password: string,
  options: AccountOptions,
  role?: UserRecord["role"],
): Promise<void> {
  const problem = passwordProblem(password);
  if (problem) throw new AdminError(problem);
  const hash = await hashPassword(password, options.scryptCost);
  const change = role === undefined ? { password: hash } : { password: hash, role };
  if (!(await store.updateUser(name, change))) throw new AdminError(`No such user: ${name}`);
}

/** Deletes an account. @throws {AdminError} for an unknown user. */
export async function deleteUser(store: AccountStore, name: string): Promise<void> {
  if (!(await store.deleteUser(name))) throw new AdminError(`No such user: ${name}`);
}

/** Lifts a lockout, from every address. @throws {AdminError} for an unknown user. */
export async function unlockUser(store: AccountStore, name: string): Promise<void> {
  if (!(await store.getUser(name))) throw new AdminError(`No such user: ${name}`);
  await store.clearLockouts(name);
}
