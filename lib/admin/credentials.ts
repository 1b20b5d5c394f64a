/**
 * The seeds' credential files: `username password` per line (forum's and toom's
 * `credentials.txt`), optionally with a third word, `admin` or `user`. Blank lines and lines
 * starting with `#` are skipped.
 * @module
 */

import { passwordProblem } from "../auth/password.ts";
import { usernameProblem } from "../protocol/names.ts";

/** One account to create. */
export interface CredentialEntry {
  readonly line: number;
  readonly name: string;
  readonly password: string;
  readonly admin: boolean;
}

/** A line that could not be read, by number (1-based). */
export interface CredentialProblem {
  readonly line: number;
  readonly message: string;
}

/** Reads a credentials file; bad lines are reported, not guessed at. */
export function parseCredentials(
  text: string,
): { entries: CredentialEntry[]; problems: CredentialProblem[] } {
  const entries: CredentialEntry[] = [];
  const problems: CredentialProblem[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const words = trimmed.split(/\s+/);
    if (words.length < 2 || words.length > 3) {
      problems.push({ line, message: 'expected "username password" (and optionally "admin")' });
      return;
    }
    const [name, password, role] = words;
    if (role !== undefined && role !== "admin" && role !== "user") {
      problems.push({ line, message: `the third word must be "admin" or "user", not "${role}"` });
      return;
    }
    const problem = usernameProblem(name) ?? passwordProblem(password);
    if (problem) {
      problems.push({ line, message: problem });
      return;
    }
    const key = name.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push({ line, message: `${name} is already on line ${earlier}` });
      return;
    }
    seen.set(key, line);
    entries.push({ line, name, password, admin: role === "admin" });
  });
  return { entries, problems };
}
