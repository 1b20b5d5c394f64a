/**
 * The frames a WebSocket sends at a flush: everything that waited, one text frame (lines joined
 * by newlines, or one JSON array). In a fan-out every socket usually has the same events waiting,
 * so a batch of events only is framed once and the same bytes go to each socket; a batch with a
 * reply in it is the client's own.
 * @module
 */

import type { OutboundEvent } from "../../protocol/events.ts";
import { textFrame } from "./http1/ws_frames.ts";

/** What waits for a socket's next frame: events, or the text of a reply. */
export type Pending = OutboundEvent | string;

/** Batches remembered before the memory of them starts afresh (a WeakMap keeps its size). */
const MAX_KEPT = 4096;

/** Frames of recent batches, by their first event; one instance per wire form. */
export class SharedFrames {
  readonly #json: boolean;
  #byFirst = new WeakMap<OutboundEvent, { events: Pending[]; frame: Uint8Array }[]>();
  #kept = 0;

  /** @param json JSON arrays of typed frames, or lines */
  constructor(json: boolean) {
    this.#json = json;
  }

  /** The frame for `pending`, made once for the same events in the same order. */
  frame(pending: Pending[]): Uint8Array {
    const first = pending[0];
    if (typeof first === "string" || pending.some((item) => typeof item === "string")) {
      return this.#make(pending);
    }
    const recent = this.#byFirst.get(first);
    const found = recent?.find((batch) =>
      batch.events.length === pending.length && batch.events.every((e, i) => e === pending[i])
    );
    if (found) return found.frame;
    const frame = this.#make(pending);
    if (recent) {
      recent.push({ events: pending, frame });
      if (recent.length > 4) recent.shift();
    } else {
      if (++this.#kept > MAX_KEPT) {
        this.#byFirst = new WeakMap();
        this.#kept = 1;
      }
      this.#byFirst.set(first, [{ events: pending, frame }]);
    }
    return frame;
  }

  #make(pending: Pending[]): Uint8Array {
    const texts = pending.map((item) =>
      typeof item === "string" ? item : this.#json ? item.json : item.text
    );
    return textFrame(this.#json ? `[${texts.join(",")}]` : texts.join("\n"));
  }
}
