/**
 * Request ids: a client may name a request that stores a message (`@id=TOKEN BROADCAST hi`), so
 * that sending it again, after a reply that said the outcome is unknown or after a reconnect,
 * is carried out once: the store remembers the id for a day with what it stored.
 * @module
 */

import { Reply } from "./codes.ts";
import { ProtocolError } from "./protocol_error.ts";

/** What an id may be: 1 to 64 letters, digits, `.`, `_`, `:` and `-`. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** How long the store remembers an id. */
export const REQUEST_ID_TTL_MS = 24 * 3600 * 1000;

/**
 * The request id at the start of a line, and the rest of the line; a line without one is
 * returned as it is.
 *
 * @throws {ProtocolError} 407 for a malformed or unknown tag.
 */
export function splitRequestId(line: string): { readonly id?: string; readonly line: string } {
  if (!line.startsWith("@")) return { line };
  const space = line.indexOf(" ");
  const tag = space < 0 ? line.slice(1) : line.slice(1, space);
  const rest = space < 0 ? "" : line.slice(space + 1).replace(/^ +/, "");
  const m = /^([^=]*)=(.*)$/.exec(tag);
  if (!m || m[1] !== "id") {
    throw new ProtocolError(
      Reply.BAD_LINE,
      `Unknown request tag "${(m?.[1] ?? tag).slice(0, 32)}": the only one is @id=ID`,
    );
  }
  if (!REQUEST_ID.test(m[2])) {
    throw new ProtocolError(
      Reply.BAD_LINE,
      "A request id is 1 to 64 letters, digits, '.', '_', ':' and '-' (@id=ID COMMAND ...)",
    );
  }
  if (rest === "") throw new ProtocolError(Reply.BAD_LINE, "A request id needs a command after it");
  return { id: m[2], line: rest };
}
