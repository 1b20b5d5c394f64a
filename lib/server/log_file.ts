/**
 * The server's log on disk: the same lines as standard output, in `server.log`, rotated by size
 * (`server.log.1` is the newest old file), files 0600 in a 0700 directory. Writes are batched so
 * a busy server does not wait on the disk for every line.
 * @module
 */

import { join } from "node:path";
import { ensureSubdir, PRIVATE_FILE_MODE } from "../store/data_dir.ts";

/** Settings of a {@linkcode RotatingLog}. */
export interface RotatingLogOptions {
  /** Rotate once the file grows past this (default 10 MiB). */
  readonly maxBytes?: number;
  /** Old files kept besides the current one (default 5). */
  readonly keep?: number;
}

const encoder = new TextEncoder();
/** Flush the batch at least this often. */
const FLUSH_MS = 200;

/** An append-only log file that rotates by size. */
export class RotatingLog implements AsyncDisposable {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #keep: number;
  #file: Deno.FsFile;
  #size: number;
  #pending: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #closing = false;

  private constructor(path: string, file: Deno.FsFile, size: number, options: RotatingLogOptions) {
    this.#path = path;
    this.#file = file;
    this.#size = size;
    this.#maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.#keep = options.keep ?? 5;
  }

  /** Opens (creating) `dir/server.log` for appending. */
  static async open(dir: string, options: RotatingLogOptions = {}): Promise<RotatingLog> {
    await ensureSubdir(dir);
    const path = join(dir, "server.log");
    const file = await openAppend(path);
    return new RotatingLog(path, file, (await file.stat()).size, options);
  }

  /** The current file's path. */
  get path(): string {
    return this.#path;
  }

  /** Appends a line (a newline is added). */
  write(line: string): void {
    if (this.#closed) return;
    this.#pending.push(line + "\n");
    // While closing, the close writes it: no timer may outlive the file.
    if (this.#closing) return;
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, FLUSH_MS);
  }

  /** Writes what is pending; resolves when it is on its way to the disk. */
  flush(): Promise<void> {
    const text = this.#pending.join("");
    this.#pending = [];
    if (text === "") return this.#writing;
    this.#writing = this.#writing.then(() => this.#append(encoder.encode(text))).catch(() => {
      // a log that cannot be written must not stop the server; stdout still has the lines
    });
    return this.#writing;
  }

  async #append(bytes: Uint8Array): Promise<void> {
    if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes) await this.#rotate();
    let offset = 0;
    while (offset < bytes.length) offset += await this.#file.write(bytes.subarray(offset));
    this.#size += bytes.length;
  }

  async #rotate(): Promise<void> {
    this.#file.close();
    for (let i = this.#keep - 1; i >= 1; i--) {
      await Deno.rename(`${this.#path}.${i}`, `${this.#path}.${i + 1}`).catch(() => {});
    }
    await Deno.remove(`${this.#path}.${this.#keep + 1}`).catch(() => {});
    await Deno.rename(this.#path, `${this.#path}.1`);
    this.#file = await openAppend(this.#path);
    this.#size = 0;
  }

  /** Flushes and closes. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Lines written while a flush is under way are flushed too.
    do await this.flush(); while (this.#pending.length > 0);
    this.#closed = true;
    this.#file.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function openAppend(path: string): Promise<Deno.FsFile> {
  const file = await Deno.open(path, {
    append: true,
    create: true,
    mode: PRIVATE_FILE_MODE,
  });
  if (Deno.build.os !== "windows") await Deno.chmod(path, PRIVATE_FILE_MODE);
  return file;
}

// deno-lint-ignore no-control-regex -- control characters are what is escaped
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A log line as it is safe to show on the operator's terminal: control and bidirectional
 * characters written as `\u{1b}` escapes, so what a user sent is visible but never acted on.
 */
export function escapeLogLine(line: string): string {
  return line.replace(UNPRINTABLE, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}
