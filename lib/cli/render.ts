/**
 * How replies and events look in the terminal. Everything that came from the network passes
 * through {@linkcode sanitize} before it is printed.
 * @module
 */

import type { ChatReply } from "../client/chat_connection.ts";
import { type ChatEvent, eventText } from "../protocol/events.ts";
import { sanitize } from "./sanitize.ts";

/** ANSI colours used; empty strings when colour is off. */
export interface Palette {
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly blue: (s: string) => string;
  readonly magenta: (s: string) => string;
  readonly cyan: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const plain = (s: string) => s;

/** Colours, or none: off when NO_COLOR is set (to anything) or the output is not a terminal. */
export function palette(useColor: boolean): Palette {
  if (!useColor) {
    return {
      red: plain,
      green: plain,
      yellow: plain,
      blue: plain,
      magenta: plain,
      cyan: plain,
      dim: plain,
      bold: plain,
    };
  }
  return {
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    blue: wrap(34, 39),
    magenta: wrap(35, 39),
    cyan: wrap(36, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}

/** Whether to colour: a terminal, and NO_COLOR unset or empty (https://no-color.org). */
export function wantsColor(isTerminal: boolean, noColor: string | undefined): boolean {
  return isTerminal && (noColor === undefined || noColor === "");
}

/** The lines to print for a reply. */
export function renderReply(reply: ChatReply, showCodes: boolean, colors: Palette): string[] {
  const lines = reply.lines.map((l) => sanitize(l));
  if (showCodes) {
    // yamotd's users read "200 OK" and then the payload.
    const body = lines.map((l) => reply.ok ? l : colors.red(l));
    if (reply.ok && !(lines.length === 1 && lines[0] === "OK")) {
      return [`${reply.code} OK`, ...body];
    }
    return [`${reply.code} ${body.join("\n")}`];
  }
  if (!reply.ok) return lines.map((l) => colors.red(l));
  return lines;
}

/** Most names a presence summary lists before "and N more". */
const SUMMARY_NAMES = 8;

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, SUMMARY_NAMES).join(", ");
  return names.length > SUMMARY_NAMES ? `${shown} and ${names.length - SUMMARY_NAMES} more` : shown;
}

/** `12 logged in: a, b, … and 4 more; 3 logged out: x, y, z` for a storm's coalesced notice. */
export function presenceSummary(logins: readonly string[], logouts: readonly string[]): string {
  const parts: string[] = [];
  if (logins.length > 0) parts.push(`${logins.length} logged in: ${listNames(logins)}`);
  if (logouts.length > 0) parts.push(`${logouts.length} logged out: ${listNames(logouts)}`);
  return parts.join("; ");
}

/** The line to print for an event. */
export function renderEvent(event: ChatEvent, colors: Palette): string {
  const text = sanitize(eventText(event));
  switch (event.type) {
    case "private":
    case "private_offline":
    case "private_notice":
      return colors.magenta(text);
    case "private_sent": // from your other session
      return colors.magenta(sanitize(`(you) → ${event.to}: ${event.text}`));
    case "broadcast":
      return colors.cyan(text);
    case "room":
    case "room_created":
    case "channel_message":
    case "channel_notice":
      return colors.blue(text);
    case "channel_join":
    case "channel_part":
    case "channel_kick":
    case "channel_topic":
    case "channel_mode":
    case "channel_invite":
    case "away":
    case "login":
    case "logout":
    case "nick":
      return colors.dim(text);
    case "presence":
      return colors.dim(sanitize(presenceSummary(event.logins, event.logouts)));
    case "peer":
      return colors.dim(`${event.from} asked to reach you directly (${event.purpose})`);
    case "shutdown":
      // labchat's own words; yamotd keeps its `210 …` line (its dialect says so).
      return colors.yellow("The server is shutting down; your session has ended");
    case "idle":
    case "disconnect":
      return colors.yellow(text);
    case "wallops":
      return colors.yellow(`WALLOPS ${text}`);
    case "tag_message": // never sent to chat-client; shown plainly if ever it is
      return colors.dim(text);
    case "unknown":
      return `${event.code} ${text}`;
  }
}

/**
 * Cuts a line into lines of at most `columns` characters at spaces, never inside a word; the
 * lines after the first start with `indent` spaces (help's second column). Without `columns`
 * (not a terminal) the line stays whole.
 */
export function wrapWords(line: string, columns: number | undefined, indent = 0): string[] {
  if (columns === undefined || [...line].length <= columns) return [line];
  const pad = " ".repeat(Math.max(0, Math.min(indent, columns - 20)));
  const lines: string[] = [];
  let current = "";
  for (const word of line.split(/(?<=\S) (?=\S)/)) {
    const next = current === "" ? word : `${current} ${word}`;
    if ([...next].length <= columns || current.trim() === "") current = next;
    else {
      lines.push(current);
      current = `${pad}${word.trimStart()}`;
    }
  }
  lines.push(current);
  return lines;
}
