/**
 * Formatting and parsing of reply lines: `NNN text`, or SMTP-style `NNN-line` … `NNN text`.
 * @module
 */

/** A whole reply: its code and its lines (one for a single-line reply). */
export interface ReplyMessage {
  readonly code: number;
  readonly lines: readonly string[];
}

/** One line as read off the wire. */
export interface ReplyLine {
  readonly code: number;
  /** True for `NNN-text`: more lines of the same reply follow. */
  readonly more: boolean;
  readonly text: string;
}

/** Line breaks inside a reply would split it; they become spaces. */
function oneLine(text: string): string {
  return text.replace(/\r\n|[\r\n]/g, " ");
}

/**
 * Formats a reply as wire text ending in LF. Several lines become `NNN-a\nNNN-b\nNNN c\n`.
 *
 * @example Usage
 * ```ts
 * import { formatReply } from "./reply.ts";
 * formatReply(200, "OK"); // "200 OK\n"
 * formatReply(200, ["yoda", "2 users"]); // "200-yoda\n200 2 users\n"
 * ```
 */
export function formatReply(code: number, text: string | readonly string[]): string {
  if (typeof text === "string") return `${code} ${oneLine(text)}\n`;
  if (text.length === 0) return `${code} \n`;
  let out = "";
  for (let i = 0; i < text.length - 1; i++) out += `${code}-${oneLine(text[i])}\n`;
  return out + `${code} ${oneLine(text[text.length - 1])}\n`;
}

/** Parses one line of a reply or event; `undefined` when it does not start with a code. */
export function parseReplyLine(line: string): ReplyLine | undefined {
  const match = /^(\d{3})([ -])?(.*)$/s.exec(line);
  if (!match) return undefined;
  return { code: Number(match[1]), more: match[2] === "-", text: match[3] };
}
