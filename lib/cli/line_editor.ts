/**
 * The state of the line being typed: buffer, cursor, history, completion. Pure: the terminal
 * feeds keys in and draws what `view` returns.
 * @module
 */

import type { Key } from "./keys.ts";

/** What a key press asks the caller to do. */
export type EditResult =
  | { readonly type: "edit" }
  | { readonly type: "submit"; readonly line: string }
  | { readonly type: "eof" }
  | { readonly type: "interrupt" }
  | { readonly type: "clear-screen" }
  | { readonly type: "bell" }
  | { readonly type: "candidates"; readonly candidates: readonly string[] };

/** Suggests completions for the word under the cursor. */
export type Completer = (line: string, wordStart: number) => readonly string[];

/** Options of one prompt. */
export interface EditOptions {
  /** Show `*` instead of the characters (passwords); not kept in history. */
  readonly mask?: boolean;
  /** Whether a submitted line may be kept in the history (lines with passwords may not). */
  readonly keepInHistory?: (line: string) => boolean;
  readonly completer?: Completer;
}

/** What to draw: the visible text of the input and the cursor column within it. */
export interface EditorView {
  readonly text: string;
  readonly cursor: number;
}

const MAX_HISTORY = 500;

/** Longest common prefix of some strings. */
function commonPrefix(words: readonly string[]): string {
  let prefix = words[0] ?? "";
  for (const word of words) {
    while (!word.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}

/** A line being typed, put aside while another prompt asks something (see `suspend`). */
export interface SuspendedLine {
  readonly chars: readonly string[];
  readonly cursor: number;
  readonly options: EditOptions;
}

/** A line editor with history shared across prompts. */
export class LineEditor {
  #chars: string[] = [];
  #cursor = 0;
  #options: EditOptions = {};
  readonly #history: string[] = [];
  #historyIndex = 0;
  #draft: string[] = [];

  /** Starts a new, empty line with these options. */
  start(options: EditOptions = {}): void {
    this.#chars = [];
    this.#cursor = 0;
    this.#options = options;
    this.#historyIndex = this.#history.length;
    this.#draft = [];
  }

  /** Puts the line being typed aside (a question comes in between); `resume` brings it back. */
  suspend(): SuspendedLine {
    return { chars: [...this.#chars], cursor: this.#cursor, options: this.#options };
  }

  /** Takes up a line put aside by `suspend`, as it was. */
  resume(line: SuspendedLine): void {
    this.start(line.options);
    this.#chars = [...line.chars];
    this.#cursor = line.cursor;
  }

  /** The text typed so far. */
  get line(): string {
    return this.#chars.join("");
  }

  /** Entries of the history, oldest first. */
  get history(): readonly string[] {
    return this.#history;
  }

  /** The input as it should appear (masked if asked) and the cursor's column in it. */
  view(): EditorView {
    if (this.#options.mask) return { text: "*".repeat(this.#chars.length), cursor: this.#cursor };
    return { text: this.line, cursor: this.#cursor };
  }

  /** Applies one key. */
  feed(key: Key): EditResult {
    switch (key.name) {
      case "text":
        this.#insert([...key.text.replace(/[\r\n]/g, "")]);
        return { type: "edit" };
      case "enter":
        return this.#submit();
      case "backspace":
        if (this.#cursor === 0) return { type: "bell" };
        this.#chars.splice(--this.#cursor, 1);
        return { type: "edit" };
      case "delete":
        if (this.#cursor === this.#chars.length) return { type: "bell" };
        this.#chars.splice(this.#cursor, 1);
        return { type: "edit" };
      case "left":
        this.#cursor = Math.max(0, this.#cursor - 1);
        return { type: "edit" };
      case "right":
        this.#cursor = Math.min(this.#chars.length, this.#cursor + 1);
        return { type: "edit" };
      case "home":
        this.#cursor = 0;
        return { type: "edit" };
      case "end":
        this.#cursor = this.#chars.length;
        return { type: "edit" };
      case "up":
        return this.#browse(-1);
      case "down":
        return this.#browse(1);
      case "ctrl-u":
        this.#chars.splice(0, this.#cursor);
        this.#cursor = 0;
        return { type: "edit" };
      case "ctrl-k":
        this.#chars.splice(this.#cursor);
        return { type: "edit" };
      case "ctrl-w":
        return this.#deleteWord();
      case "tab":
        return this.#complete();
      case "ctrl-c":
        // As in a shell: Ctrl+C drops a half-typed line; on an empty one it leaves.
        if (this.#chars.length === 0) return { type: "interrupt" };
        this.#chars = [];
        this.#cursor = 0;
        return { type: "edit" };
      case "ctrl-d":
        if (this.#chars.length === 0) return { type: "eof" };
        return this.feed({ name: "delete" });
      case "ctrl-l":
        return { type: "clear-screen" };
      case "unknown":
        return { type: "bell" };
    }
  }

  #insert(chars: string[]): void {
    this.#chars.splice(this.#cursor, 0, ...chars);
    this.#cursor += chars.length;
  }

  #submit(): EditResult {
    const line = this.line;
    const keep = this.#options.keepInHistory?.(line) ?? true;
    if (!this.#options.mask && keep && line.trim() !== "" && this.#history.at(-1) !== line) {
      this.#history.push(line);
      if (this.#history.length > MAX_HISTORY) this.#history.shift();
    }
    this.#chars = [];
    this.#cursor = 0;
    this.#historyIndex = this.#history.length;
    return { type: "submit", line };
  }

  #browse(step: -1 | 1): EditResult {
    if (this.#options.mask) return { type: "bell" };
    const next = this.#historyIndex + step;
    if (next < 0 || next > this.#history.length) return { type: "bell" };
    if (this.#historyIndex === this.#history.length) this.#draft = this.#chars;
    this.#historyIndex = next;
    this.#chars = next === this.#history.length ? this.#draft : [...this.#history[next]];
    this.#cursor = this.#chars.length;
    return { type: "edit" };
  }

  #deleteWord(): EditResult {
    let start = this.#cursor;
    while (start > 0 && this.#chars[start - 1] === " ") start--;
    while (start > 0 && this.#chars[start - 1] !== " ") start--;
    this.#chars.splice(start, this.#cursor - start);
    this.#cursor = start;
    return { type: "edit" };
  }

  #complete(): EditResult {
    const completer = this.#options.completer;
    if (!completer || this.#options.mask) return { type: "bell" };
    const before = this.#chars.slice(0, this.#cursor).join("");
    const wordStart = before.lastIndexOf(" ") + 1;
    const word = before.slice(wordStart);
    const candidates = completer(before, wordStart).filter((c) =>
      c.toLowerCase().startsWith(word.toLowerCase())
    );
    if (candidates.length === 0) return { type: "bell" };
    if (candidates.length === 1) {
      this.#replaceWord(wordStart, candidates[0] + " ");
      return { type: "edit" };
    }
    const prefix = commonPrefix(candidates.map((c) => c.toLowerCase()));
    if (prefix.length > word.length) {
      // Keep the candidates' case for the shared part.
      this.#replaceWord(wordStart, candidates[0].slice(0, prefix.length));
      return { type: "edit" };
    }
    return { type: "candidates", candidates };
  }

  #replaceWord(wordStart: number, replacement: string): void {
    this.#chars.splice(wordStart, this.#cursor - wordStart, ...replacement);
    this.#cursor = wordStart + [...replacement].length;
  }
}
