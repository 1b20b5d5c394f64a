/**
 * labchat user names as IRC nicks and back, and the parts of a user's mask (`nick!ident@host`,
 * what channel bans match, on every front end). labchat names may hold `. ! @ # $ % ?`, which IRC
 * nicks cannot; such characters (and a leading digit) travel as `\` and two hex digits, so every
 * labchat name has exactly one nick and every such nick names exactly one user. The other
 * characters IRC allows in nicks (`[ ] ^ { } | \``) are not labchat names.
 * @module
 */

import { MAX_USERNAME_BYTES, usernameProblem } from "./names.ts";

const PLAIN = /[A-Za-z0-9_-]/;
/** A name that is its own nick: no character to escape, no leading digit or hyphen. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The nick IRC clients see for a labchat user name. */
export function nickOf(name: string): string {
  // Most names: a NAMES list of everyone online asks for thousands at a time.
  if (PLAIN_NAME.test(name)) return name;
  let nick = "";
  for (const [i, c] of [...name].entries()) {
    const plain = PLAIN.test(c) && !(i === 0 && /[0-9-]/.test(c));
    nick += plain ? c : `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  }
  return nick;
}

/** The labchat name a nick stands for, or why it cannot be one (for ERR_ERRONEUSNICKNAME). */
export function nameOfNick(nick: string): { name: string } | { problem: string } {
  if (nick === "" || nick.length > MAX_USERNAME_BYTES * 3) {
    return { problem: "Erroneous nickname" };
  }
  const name = nick.replace(
    /\\([0-9a-fA-F]{2})/g,
    (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  );
  if (/[\[\]\\`^{}|]/.test(name)) {
    return {
      problem: "Erroneous nickname: labchat names use letters, digits and _ . - ! @ # $ % ?",
    };
  }
  const problem = usernameProblem(name);
  if (problem !== undefined) return { problem: `Erroneous nickname: ${problem}` };
  return { name };
}

/** A USER name as the ident part of a mask: no spaces or mask syntax, at most 10 characters. */
export function identOf(username: string): string {
  const clean = username.replace(/[^A-Za-z0-9_.\-]/g, "").slice(0, 10);
  return clean === "" ? "user" : clean;
}
