/**
 * The WebSocket's typed protocol: a client that asks for the subprotocol
 * {@linkcode JSON_SUBPROTOCOL} gets replies and events as JSON instead of lines, each with its
 * code, its text and the data behind them, so it never has to read the English texts. Requests
 * stay what they are everywhere: one request line per text frame. A client that asks for no
 * subprotocol gets lines, as `nc` would.
 *
 * Each text frame from the server is a JSON array of {@linkcode ServerFrame}s, in order.
 * @module
 */

import type { ChatEvent } from "./events.ts";
import type { ErrorReason } from "./protocol_error.ts";
import type { ReplyData } from "./reply_data.ts";

/** The WebSocket subprotocol that selects JSON frames. */
export const JSON_SUBPROTOCOL = "labchat.v1.json";

/** The reply to a request (one per request, in request order). */
export interface ReplyFrame {
  /** Always `reply`. */
  readonly kind: "reply";
  /** The reply code, as on the line (`200`, `420`…). */
  readonly code: number;
  /** The reply's lines as the line protocol would show them; the last is its summary. */
  readonly lines: readonly string[];
  /** Why a request was refused, when the server says (a stable word, not a sentence). */
  readonly reason?: ErrorReason;
  /** What a successful reply carries, by what was asked. */
  readonly data?: ReplyData;
}

/** Something that happened, pushed between replies. */
export interface EventFrame {
  /** Always `event`. */
  readonly kind: "event";
  /** The event code, as on the line (`601`…). */
  readonly code: number;
  /** The event's text as the line protocol shows it after the code. */
  readonly text: string;
  /** When it happened, epoch ms (a message kept for an offline user: when it was sent). */
  readonly at: number;
  /** The event, with the fields of its type. */
  readonly event: ChatEvent;
}

/** One thing the server says. */
export type ServerFrame = ReplyFrame | EventFrame;

/** Thrown for a frame that is not what this protocol sends. */
export class FrameError extends Error {
  /** A frame error saying what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Reads one text frame of the server's: its replies and events, checked for the fields every
 * frame has (the data inside is the server's to get right).
 *
 * @throws {FrameError} when the frame is not a JSON array of replies and events.
 */
export function parseServerFrames(text: string): ServerFrame[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FrameError("A frame that is not JSON");
  }
  if (!Array.isArray(parsed)) throw new FrameError("A frame that is not a JSON array");
  return parsed.map((item): ServerFrame => {
    if (!isObject(item) || typeof item.code !== "number") {
      throw new FrameError("A frame item without a code");
    }
    if (item.kind === "reply" && Array.isArray(item.lines)) {
      if (!item.lines.every((line) => typeof line === "string")) {
        throw new FrameError("A reply whose lines are not text");
      }
      return item as unknown as ReplyFrame;
    }
    if (
      item.kind === "event" && typeof item.text === "string" && typeof item.at === "number" &&
      isObject(item.event) && typeof item.event.type === "string"
    ) {
      return item as unknown as EventFrame;
    }
    throw new FrameError(`A frame item of unknown kind ${JSON.stringify(item.kind)}`);
  });
}
