/**
 * Lines a child process prints, collected as they come, with a way to wait for one.
 * @module
 */

import { LineSplitter } from "../lib/protocol/line_splitter.ts";

/** The lines of one or more output streams, in arrival order. */
export class OutputLines {
  /** Every line so far. */
  readonly lines: string[] = [];
  readonly #listeners = new Set<() => void>();
  #ended = false;

  /** Reads `stream` to its end, adding its lines here and to `also`. */
  async pump(stream: ReadableStream<Uint8Array>, also?: string[]): Promise<void> {
    const splitter = new LineSplitter(1 << 20);
    const add = (line: string) => {
      this.lines.push(line);
      also?.push(line);
    };
    for await (const chunk of stream) {
      for (const frame of splitter.push(chunk)) if ("line" in frame) add(frame.line);
      this.#notify();
    }
    const rest = new TextDecoder().decode(splitter.takeBuffered());
    if (rest) add(rest);
    this.#notify();
  }

  /** No more lines will come (the process ended): waiters stop waiting. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** Waits for a line matching `pattern` from line `from` on; returns it. */
  waitFor(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      let seen = from;
      const fail = () => new Error(`No line ${pattern} in:\n${this.lines.join("\n")}`);
      const check = () => {
        for (; seen < this.lines.length; seen++) {
          const line = this.lines[seen];
          if (pattern.test(line)) return done(() => resolve(line));
        }
        if (this.#ended) done(() => reject(fail()));
      };
      const timer = setTimeout(() => done(() => reject(fail())), timeoutMs);
      const done = (finish: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        finish();
      };
      this.#listeners.add(check);
      check();
    });
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
