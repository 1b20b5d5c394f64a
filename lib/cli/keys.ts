/**
 * Decoding raw terminal input into key presses.
 * @module
 */

/** Keys other than printable text. */
export type KeyName =
  | "enter"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "tab"
  | "ctrl-c"
  | "ctrl-d"
  | "ctrl-u"
  | "ctrl-w"
  | "ctrl-k"
  | "ctrl-l"
  | "unknown";

/** One key press. `text` carries printable input (one or more characters). */
export type Key =
  | { readonly name: "text"; readonly text: string }
  | { readonly name: KeyName };

const SEQUENCES: Record<string, KeyName> = {
  "[A": "up",
  "[B": "down",
  "[C": "right",
  "[D": "left",
  "[H": "home",
  "[F": "end",
  "OH": "home",
  "OF": "end",
  "[1~": "home",
  "[4~": "end",
  "[7~": "home",
  "[8~": "end",
  "[3~": "delete",
};

const CONTROLS: Record<number, KeyName> = {
  0x01: "home",
  0x02: "left",
  0x03: "ctrl-c",
  0x04: "ctrl-d",
  0x05: "end",
  0x06: "right",
  0x08: "backspace",
  0x09: "tab",
  0x0a: "enter",
  0x0b: "ctrl-k",
  0x0c: "ctrl-l",
  0x0d: "enter",
  0x0e: "down",
  0x10: "up",
  0x15: "ctrl-u",
  0x17: "ctrl-w",
  0x7f: "backspace",
};

/**
 * Splits decoded terminal input into keys. Escape sequences are recognised whole; printable runs
 * become one `text` key; CR LF counts as one enter.
 */
export function parseKeys(input: string): Key[] {
  const keys: Key[] = [];
  let text = "";
  const flush = () => {
    if (text) keys.push({ name: "text", text });
    text = "";
  };
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    if (code === 0x1b) {
      flush();
      // deno-lint-ignore no-control-regex -- escape sequences start with ESC
      const match = /^\u001b(\[[0-9;]*[~A-Za-z]|O[A-Za-z])/.exec(input.slice(i));
      if (match) {
        const body = match[1].replace(/^\[1;\d+([A-Z])$/, "[$1"); // modifiers: treat as plain
        keys.push({ name: SEQUENCES[body] ?? "unknown" });
        i += match[0].length - 1;
      } else {
        keys.push({ name: "unknown" });
      }
    } else if (code < 0x20 || code === 0x7f) {
      flush();
      if (code === 0x0a && input.charCodeAt(i - 1) === 0x0d) continue;
      keys.push({ name: CONTROLS[code] ?? "unknown" });
    } else {
      text += input[i];
    }
  }
  flush();
  return keys;
}
