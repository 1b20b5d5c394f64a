/**
 * Incremental, bounded splitting of a byte stream into UTF-8 text lines.
 * @module
 */

import { concatBytes } from "./bytes.ts";

/** Why a line was rejected. */
export type LineErrorReason = "too_long" | "invalid_utf8" | "nul_byte" | "control_char";

/** One result of splitting: a text line, or the reason a line was rejected. */
export type Frame =
  | { readonly line: string }
  | { readonly error: LineErrorReason };

const LF = 0x0a;
/** Decodes whole lines only (never a stream), so every splitter can share it. */
const DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const CR = 0x0d;
// C0 controls but TAB, DEL and C1 controls: what could act on a terminal that shows the text.
// deno-lint-ignore no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** Options of a {@linkcode LineSplitter}. */
export interface LineSplitterOptions {
  /** Refuse lines holding control characters other than TAB (a server reading requests). */
  readonly refuseControl?: boolean;
}

/**
 * Splits bytes into lines ending in LF (an optional CR before it is dropped). A line longer than
 * `maxLineBytes` is never buffered whole: its bytes are discarded up to the next LF and one
 * `too_long` frame is reported, so a hostile client cannot make the splitter grow.
 *
 * @example Usage
 * ```ts
 * import { LineSplitter } from "./line_splitter.ts";
 * const splitter = new LineSplitter(16);
 * splitter.push(new TextEncoder().encode("WHO\r\nMOTD")); // [{ line: "WHO" }]
 * splitter.push(new TextEncoder().encode("\n")); // [{ line: "MOTD" }]
 * ```
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  readonly #refuseControl: boolean;
  /** Received chunks not yet scanned, and the scan position in the first. */
  #input: Uint8Array[] = [];
  #offset = 0;
  /** The unfinished line. */
  #parts: Uint8Array[] = [];
  #size = 0;
  #discarding = false;

  /** @param maxLineBytes longest accepted line, line ending excluded */
  constructor(maxLineBytes: number, options: LineSplitterOptions = {}) {
    this.#maxLineBytes = maxLineBytes;
    this.#refuseControl = options.refuseControl ?? false;
  }

  /** Bytes received and not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.#size + this.#input.reduce((n, c) => n + c.length, 0) - this.#offset;
  }

  /** Adds a chunk; frames come out of {@linkcode next}. The chunk is copied. */
  feed(chunk: Uint8Array): void {
    if (chunk.length > 0) this.#input.push(chunk.slice());
  }

  /**
   * The next complete frame, or `undefined` until more bytes arrive. Taking frames one at a time
   * lets the reader switch to raw bytes (an upload) right after a line.
   */
  next(): Frame | undefined {
    while (this.#input.length > 0) {
      const chunk = this.#input[0];
      const start = this.#offset;
      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf;
      let frame: Frame | undefined;
      if (this.#discarding) {
        if (lf !== -1) this.#discarding = false;
      } else if (this.#size + (end - start) > this.#maxLineBytes + 1) {
        // +1 leaves room for the CR of a CRLF ending that arrives before its LF.
        this.#reset();
        frame = { error: "too_long" };
        this.#discarding = lf === -1;
      } else {
        if (end > start) this.#append(chunk.subarray(start, end));
        if (lf !== -1) frame = this.#finishLine();
      }
      if (lf === -1 || lf + 1 >= chunk.length) {
        this.#input.shift();
        this.#offset = 0;
      } else {
        this.#offset = lf + 1;
      }
      if (frame) return frame;
    }
    return undefined;
  }

  /** Feeds a chunk and returns every frame now complete, in order. */
  push(chunk: Uint8Array): Frame[] {
    this.feed(chunk);
    const frames: Frame[] = [];
    for (let frame = this.next(); frame; frame = this.next()) frames.push(frame);
    return frames;
  }

  /**
   * Hands back every byte received and not yet framed, and empties the buffer. Used when the
   * stream switches from lines to raw bytes (uploads, downloads).
   */
  takeBuffered(): Uint8Array {
    const rest = this.#input.map((c, i) => i === 0 ? c.subarray(this.#offset) : c);
    const parts = this.#discarding ? rest : [...this.#parts, ...rest];
    this.#reset();
    this.#input = [];
    this.#offset = 0;
    this.#discarding = false;
    return concatBytes(parts);
  }

  #append(bytes: Uint8Array): void {
    this.#parts.push(bytes); // input chunks are private copies already
    this.#size += bytes.length;
  }

  #finishLine(): Frame {
    let bytes = concatBytes(this.#parts);
    this.#reset();
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    if (bytes.length > this.#maxLineBytes) return { error: "too_long" };
    if (bytes.includes(0)) return { error: "nul_byte" };
    let line: string;
    try {
      line = DECODER.decode(bytes);
    } catch {
      return { error: "invalid_utf8" };
    }
    if (this.#refuseControl && CONTROL.test(line)) return { error: "control_char" };
    return { line };
  }

  #reset(): void {
    this.#parts = [];
    this.#size = 0;
  }
}

/** A user-facing description of a rejected line. */
export function describeLineError(reason: LineErrorReason, maxLineBytes: number): string {
  switch (reason) {
    case "too_long":
      return `Cannot read request: line is longer than ${maxLineBytes} bytes`;
    case "invalid_utf8":
      return "Cannot read request: line is not valid UTF-8";
    case "nul_byte":
      return "Cannot read request: line contains a NUL byte";
    case "control_char":
      return "Cannot read request: line contains control characters (only TAB is allowed)";
  }
}
