/**
 * Rules for user names and passwords.
 * @module
 */

import { MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH } from "../config.ts";

const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Why a user name is not acceptable, or `undefined` when it is. */
export function usernameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_USERNAME_LENGTH) {
    return `User name must be 1 to ${MAX_USERNAME_LENGTH} characters`;
  }
  if (!USERNAME.test(name)) {
    return `Cannot use "${name}" as a user name: use letters, digits, "_", "." and "-"`;
  }
  return undefined;
}

/** Why a password is not acceptable, or `undefined` when it is. */
export function passwordProblem(password: string): string | undefined {
  if (password.length === 0) return "Password must not be empty";
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `Password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  }
  return undefined;
}
