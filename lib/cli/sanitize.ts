/**
 * Making text that did not come from the local user safe to print on a terminal: no escape
 * sequences (cursor moves, colours, window titles, clipboard writes, screen clears), no control
 * characters, and no bidirectional overrides or isolates that could make a name display reversed.
 * @module
 */

// Matching control characters is the point here.
// CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC (ESC P/X/^/_ … ST), other two-byte
// ESC sequences, and the C1 forms of CSI and OSC.
const ESCAPE_SEQUENCE = new RegExp(
  [
    "\\u001b\\[[0-?]*[ -/]*[@-~]",
    "\\u001b\\][^\\u0007\\u001b\\u009c]*(?:\\u0007|\\u001b\\\\|\\u009c)?",
    "\\u001b[PX^_][^\\u001b\\u009c]*(?:\\u001b\\\\|\\u009c)?",
    "\\u001b[ -/]*[0-~]?",
    "\\u009b[0-?]*[ -/]*[@-~]",
    "\\u009d[^\\u0007\\u001b\\u009c]*(?:\\u0007|\\u001b\\\\|\\u009c)?",
  ].join("|"),
  "g",
);
// C0 controls but TAB, DEL, C1 controls, and the bidirectional embeddings, overrides and isolates.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** The colour sequences the client's own palette writes. */
// deno-lint-ignore no-control-regex
const OWN_COLOUR = /(\u001b\[[0-9;]*m)/;

/**
 * Removes terminal control sequences, control characters and bidirectional controls.
 *
 * @example Usage
 * ```ts
 * import { sanitize } from "./sanitize.ts";
 * sanitize("hi\u001b[2J\u001b]0;pwned\u0007 there"); // "hi there"
 * sanitize("file\u202Etxt.exe"); // "filetxt.exe"
 * ```
 */
export function sanitize(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, "").replace(UNSAFE, "");
}

/**
 * The last line of defence before a line reaches the terminal: everything is sanitised except
 * plain colour sequences, which only the client's own palette puts there (remote text has been
 * through {@linkcode sanitize} before it was coloured).
 */
export function sanitizeLine(line: string): string {
  return line.split("\n").map((part) =>
    part.split(OWN_COLOUR).map((piece, i) => i % 2 === 1 ? piece : sanitize(piece)).join("")
  ).join("\n");
}
