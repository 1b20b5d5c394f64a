/**
 * Making text from other users safe to print on a terminal.
 * @module
 */

// Matching control characters is the point here.
// CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte ESC sequences, and C1 CSI.
const ESCAPE_SEQUENCE =
  // deno-lint-ignore no-control-regex
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]/g;
// Remaining C0 controls except TAB, DEL, and C1 controls.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/**
 * Removes terminal control sequences and control characters, so a message cannot move the
 * cursor, change colours, set the window title or clear the screen.
 *
 * @example Usage
 * ```ts
 * import { stripControl } from "./sanitize.ts";
 * stripControl("hi\u001b[2J\u001b]0;pwned\u0007 there"); // "hi there"
 * ```
 */
export function stripControl(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, "").replace(CONTROL, "");
}
