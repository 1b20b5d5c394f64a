/**
 * Terminal input and output for the client: a raw-mode line editor on a TTY, plain lines from a
 * pipe or from --exec otherwise. Output printed while a prompt is showing appears above it.
 * @module
 */

import { LineSplitter } from "../protocol/line_splitter.ts";
import { type Key, parseKeys } from "./keys.ts";
import { type EditOptions, LineEditor, type SuspendedLine } from "./line_editor.ts";
import { sanitizeLine } from "./sanitize.ts";

/** Where the client reads what the user types and prints what happens. */
export interface Terminal {
  /** A person types at a TTY (prompts shown, input edited and echoed by us). */
  readonly interactive: boolean;
  /** Asks for one line; `undefined` at end of input or when the user presses Ctrl+C / Ctrl+D. */
  ask(prompt: string, options?: EditOptions): Promise<string | undefined>;
  /** Prints a line (above the prompt if one is showing). */
  print(line: string): void;
  /** Prints an error line. */
  printError(line: string): void;
  /** Shows (or, with `undefined`, clears) a progress line that updates in place; TTY only. */
  progress(line: string | undefined): void;
  /**
   * Ends input for good: the prompt being shown and every later one answer `undefined` (the
   * connection is gone, so nothing typed could be sent).
   */
  cancel(): void;
  /** Takes input again after {@linkcode cancel}: the session is back (it reconnected). */
  resume(): void;
  /** Restores the terminal. Idempotent. */
  close(): void;
  /** Hears the person at the keyboard (TTY only; lines from a pipe are requests anyway). */
  listen(listeners: TerminalListeners): void;
  /** The terminal's width, for wrapping; `undefined` when output is not a terminal. */
  readonly columns: number | undefined;
}

/** What the client hears of the keyboard beyond the lines it asks for. */
export interface TerminalListeners {
  /** A key was pressed: the person is using the client. */
  readonly activity?: () => void;
  /** Ctrl+C while no prompt is up: a command is running (a transfer, a request that hangs). */
  readonly interrupt?: () => void;
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/** Visible length, ignoring ANSI colour sequences. */
function visibleLength(text: string): number {
  // deno-lint-ignore no-control-regex -- colour sequences start with ESC
  return [...text.replace(/\u001b\[[0-9;]*m/g, "")].length;
}

interface PendingAsk {
  readonly prompt: string;
  readonly resolve: (line: string | undefined) => void;
}

/** A raw-mode TTY with our own line editor. */
export class TtyTerminal implements Terminal {
  readonly interactive = true;
  readonly #editor = new LineEditor();
  readonly #decoder = new TextDecoder();
  #pending: PendingAsk | undefined;
  /** Keys typed while no prompt was up (waiting for a reply), for the next prompt. */
  #typeAhead: Key[] = [];
  #closed = false;
  #reading = false;
  #progress: string | undefined;
  /** A progress line is drawn just above the prompt (a transfer running while the user types). */
  #progressAbove = false;
  #cancelled = false;
  #listeners: TerminalListeners = {};
  /** Prompts a question interrupted (an offer to accept while a command was half typed). */
  readonly #suspended: { pending: PendingAsk; line: SuspendedLine }[] = [];

  constructor() {
    Deno.stdin.setRaw(true);
    // Keys are read even while no prompt is up, so Ctrl+C always reaches the client.
    void this.#readLoop();
  }

  listen(listeners: TerminalListeners): void {
    this.#listeners = listeners;
  }

  get columns(): number | undefined {
    try {
      return Deno.consoleSize().columns;
    } catch {
      return undefined;
    }
  }

  ask(prompt: string, options: EditOptions = {}): Promise<string | undefined> {
    if (this.#closed || this.#cancelled) return Promise.resolve(undefined);
    if (this.#pending) {
      // A question in the middle of typing: the line waits, and comes back after the answer.
      this.#suspended.push({ pending: this.#pending, line: this.#editor.suspend() });
      writeAll(Deno.stdout, "\r\u001b[2K");
    }
    this.#editor.start(options);
    const answer = new Promise<string | undefined>((resolve) => {
      this.#pending = { prompt, resolve };
    });
    this.#redraw();
    if (this.#typeAhead.length > 0) {
      const keys = this.#typeAhead;
      this.#typeAhead = [];
      this.#onKeys(keys);
    }
    if (!this.#reading) void this.#readLoop();
    return answer;
  }

  print(line: string): void {
    const text = sanitizeLine(line).replace(/\n/g, "\r\n");
    this.#progressAbove = false; // the line printed now sits between the progress and the prompt
    if (this.#pending || this.#progress !== undefined) {
      writeAll(Deno.stdout, `\r\u001b[2K${text}\r\n`);
      if (this.#progress !== undefined) writeAll(Deno.stdout, this.#progress);
      this.#redraw();
    } else {
      writeAll(Deno.stdout, `${text}\r\n`);
    }
  }

  progress(text: string | undefined): void {
    const line = text === undefined ? undefined : sanitizeLine(text);
    if (this.#pending) {
      // Redraw the line above the prompt, or take it away; the prompt stays where it is typed.
      const up = this.#progressAbove ? "\u001b[1A\r\u001b[2K" : "";
      writeAll(Deno.stdout, `\r\u001b[2K${up}${line === undefined ? "" : `${line}\r\n`}`);
      this.#progressAbove = line !== undefined;
      this.#redraw();
      return;
    }
    this.#progress = line;
    writeAll(Deno.stdout, `\r\u001b[2K${line ?? ""}`);
  }

  printError(line: string): void {
    this.print(line);
  }

  resume(): void {
    if (!this.#closed) this.#cancelled = false;
  }

  cancel(): void {
    this.#cancelled = true;
    // The prompt goes away; what comes next (a shutdown notice) takes its line.
    if (this.#pending) writeAll(Deno.stdout, "\r\u001b[2K");
    this.#finish(undefined, false);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.cancel();
    try {
      Deno.stdin.setRaw(false);
    } catch {
      // stdin already gone
    }
  }

  async #readLoop(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    const buffer = new Uint8Array(4096);
    try {
      while (!this.#closed) {
        const n = await Deno.stdin.read(buffer);
        if (n === null) {
          this.#finish(undefined);
          break;
        }
        this.#onInput(this.#decoder.decode(buffer.subarray(0, n), { stream: true }));
      }
    } catch {
      this.#finish(undefined);
    } finally {
      this.#reading = false;
    }
  }

  #onInput(input: string): void {
    this.#onKeys(parseKeys(input));
  }

  #onKeys(keys: readonly Key[]): void {
    if (keys.length > 0) this.#listeners.activity?.();
    for (let i = 0; i < keys.length; i++) {
      if (!this.#pending && keys[i].name === "ctrl-c") {
        // Not type-ahead: it stops what is running now, and what was typed ahead with it.
        this.#typeAhead = [];
        writeAll(Deno.stdout, "^C\r\n");
        this.#listeners.interrupt?.();
        continue;
      }
      if (!this.#pending) {
        // Keys typed while no prompt is up (waiting for a reply) wait for the next prompt, arrow
        // keys and all.
        this.#typeAhead.push(keys[i]);
        continue;
      }
      const typed = this.#editor.view().text;
      const result = this.#editor.feed(keys[i]);
      switch (result.type) {
        case "submit":
          // Leave the whole line (masked for passwords) on screen, unscrolled.
          writeAll(Deno.stdout, `\r\u001b[2K${this.#pending.prompt}${typed}\r\n`);
          this.#finish(result.line, false);
          break;
        case "eof":
        case "interrupt":
          writeAll(Deno.stdout, result.type === "interrupt" ? "^C\r\n" : "\r\n");
          this.#finish(undefined, false);
          break;
        case "clear-screen":
          writeAll(Deno.stdout, "\u001b[2J\u001b[H");
          this.#redraw();
          break;
        case "bell":
          writeAll(Deno.stdout, "\u0007");
          break;
        case "candidates":
          this.print(result.candidates.join("  "));
          break;
        case "edit":
          this.#redraw();
          break;
      }
    }
  }

  #finish(line: string | undefined, newline = true): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    if (newline && line === undefined) writeAll(Deno.stdout, "\r\n");
    pending.resolve(line);
    const outer = this.#suspended.pop();
    if (!outer) return;
    if (this.#cancelled) {
      this.#pending = outer.pending;
      this.#finish(undefined, false);
      return;
    }
    this.#pending = outer.pending;
    this.#editor.resume(outer.line);
    this.#redraw();
  }

  /** Draws the prompt and the visible part of the input, and puts the cursor in place. */
  #redraw(): void {
    if (!this.#pending) return;
    const prompt = this.#pending.prompt;
    const view = this.#editor.view();
    const columns = (() => {
      try {
        return Deno.consoleSize().columns;
      } catch {
        return 80;
      }
    })();
    const room = Math.max(10, columns - visibleLength(prompt) - 1);
    const chars = [...view.text];
    // Scroll horizontally so the cursor stays visible on long input.
    const start = Math.max(0, Math.min(view.cursor - Math.floor(room / 2), chars.length - room));
    const shown = chars.slice(start, start + room).join("");
    const back = Math.max(0, [...shown].length - (view.cursor - start));
    writeAll(Deno.stdout, `\r\u001b[2K${prompt}${shown}${back > 0 ? `\u001b[${back}D` : ""}`);
  }
}

/** Lines from a pipe (or any stream): no echo, no editing, prompts not shown. */
export class LineTerminal implements Terminal {
  readonly interactive = false;
  readonly #lines: AsyncIterator<string>;
  #cancel: (() => void) | undefined;
  #cancelled = false;
  #closed = false;

  constructor(lines: AsyncIterable<string>) {
    this.#lines = lines[Symbol.asyncIterator]();
  }

  /** Reads lines of standard input. */
  static fromStdin(): LineTerminal {
    return new LineTerminal(stdinLines());
  }

  /** Feeds fixed commands (--exec). */
  static fromCommands(commands: readonly string[]): LineTerminal {
    return new LineTerminal((async function* () {
      yield* commands;
    })());
  }

  async ask(): Promise<string | undefined> {
    if (this.#closed || this.#cancelled) return undefined;
    const cancelled = new Promise<undefined>((resolve) => this.#cancel = () => resolve(undefined));
    const next = this.#lines.next().then((r) => r.done ? undefined : r.value);
    const line = await Promise.race([next, cancelled]);
    this.#cancel = undefined;
    return line;
  }

  print(line: string): void {
    writeAll(Deno.stdout, `${sanitizeLine(line)}\n`);
  }

  printError(line: string): void {
    writeAll(Deno.stderr, `${sanitizeLine(line)}\n`);
  }

  progress(): void {
    // Not a terminal: progress bars would only litter logs.
  }

  resume(): void {
    if (!this.#closed) this.#cancelled = false;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#cancel?.();
  }

  close(): void {
    this.#closed = true;
    this.cancel();
  }

  listen(): void {
    // Lines from a pipe are requests already, and Ctrl+C is the shell's signal there.
  }

  readonly columns = undefined;
}

async function* stdinLines(): AsyncGenerator<string> {
  const splitter = new LineSplitter(1 << 20);
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    for (const frame of splitter.push(buffer.subarray(0, n))) {
      if ("line" in frame) yield frame.line;
    }
  }
  const rest = new TextDecoder().decode(splitter.takeBuffered());
  if (rest !== "") yield rest;
}
