/**
 * Incremental, bounded splitting of a byte stream into UTF-8 text lines.
 * @module
 */

/** Why a line was rejected. */
export type LineErrorReason = "too_long" | "invalid_utf8" | "nul_byte";

/** One result of splitting: a text line, or the reason a line was rejected. */
export type Frame =
  | { readonly line: string }
  | { readonly error: LineErrorReason };

const LF = 0x0a;
const CR = 0x0d;

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
  readonly #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  #parts: Uint8Array[] = [];
  #size = 0;
  #discarding = false;

  /** @param maxLineBytes longest accepted line, line ending excluded */
  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes held for an unfinished line. */
  get bufferedBytes(): number {
    return this.#size;
  }

  /** Feeds a chunk and returns the frames it completes, in order. */
  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf;
      if (this.#discarding) {
        if (lf !== -1) this.#discarding = false;
      } else if (this.#size + (end - start) > this.#maxLineBytes + 1) {
        // +1 leaves room for the CR of a CRLF ending that arrives before its LF.
        this.#reset();
        frames.push({ error: "too_long" });
        this.#discarding = lf === -1;
      } else {
        if (end > start) this.#append(chunk.subarray(start, end));
        if (lf !== -1) frames.push(this.#finishLine());
      }
      if (lf === -1) break;
      start = lf + 1;
    }
    return frames;
  }

  /**
   * Hands back the bytes received after the last complete line and empties the buffer. Used when
   * the stream switches from lines to raw bytes (uploads).
   */
  takeBuffered(): Uint8Array {
    const bytes = this.#concat();
    this.#reset();
    return bytes;
  }

  #append(bytes: Uint8Array): void {
    // Copy: the caller may reuse the chunk's buffer.
    this.#parts.push(bytes.slice());
    this.#size += bytes.length;
  }

  #finishLine(): Frame {
    let bytes = this.#concat();
    this.#reset();
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, -1);
    if (bytes.length > this.#maxLineBytes) return { error: "too_long" };
    if (bytes.includes(0)) return { error: "nul_byte" };
    try {
      return { line: this.#decoder.decode(bytes) };
    } catch {
      return { error: "invalid_utf8" };
    }
  }

  #concat(): Uint8Array {
    if (this.#parts.length === 1) return this.#parts[0];
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
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
  }
}
