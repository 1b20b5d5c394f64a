/**
 * A minimal ustar archive writer and reader, streaming from and to files, for backups that any
 * `tar` can list and extract. Only regular files; names up to 100 bytes.
 * @module
 */

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The archive is not a well-formed tar. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TarFormatError";
  }
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name: string, size: number, mtime: number): Uint8Array {
  const bytes = encoder.encode(name);
  if (bytes.length > 100) throw new RangeError(`Cannot archive "${name}": name over 100 bytes`);
  const block = new Uint8Array(BLOCK);
  const put = (text: string | Uint8Array, at: number) =>
    block.set(typeof text === "string" ? encoder.encode(text) : text, at);
  put(bytes, 0);
  put(octal(0o600, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(Math.floor(mtime / 1000), 12), 136);
  put("        ", 148); // checksum field counts as spaces
  put("0", 156);
  put("ustar\u000000", 257);
  let sum = 0;
  for (const b of block) sum += b;
  put(octal(sum, 7) + " ", 148);
  return block;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/** Writes entries to an open file; call {@linkcode TarWriter.finish} at the end. */
export class TarWriter {
  readonly #file: Deno.FsFile;
  #written = 0;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Bytes of archive written so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    await writeAll(this.#file, bytes);
    this.#written += bytes.length;
  }

  /** Adds a file's whole content from `bytes`. */
  async addBytes(name: string, bytes: Uint8Array, mtime = Date.now()): Promise<void> {
    await this.#write(header(name, bytes.length, mtime));
    await this.#write(bytes);
    await this.#pad(bytes.length);
  }

  /** Adds the file at `path`, streamed; `size` is checked against what is read. */
  async addFile(name: string, path: string): Promise<void> {
    using source = await Deno.open(path, { read: true });
    const info = await source.stat();
    await this.#write(header(name, info.size, info.mtime?.getTime() ?? Date.now()));
    const buffer = new Uint8Array(64 * 1024);
    let written = 0;
    while (written < info.size) {
      const n = await source.read(buffer.subarray(0, Math.min(buffer.length, info.size - written)));
      if (n === null) throw new Error(`Cannot archive "${path}": it shrank while being read`);
      await this.#write(buffer.subarray(0, n));
      written += n;
    }
    await this.#pad(info.size);
  }

  async #pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) await this.#write(new Uint8Array(BLOCK - rest));
  }

  /** Writes the end-of-archive marker. */
  async finish(): Promise<void> {
    await this.#write(new Uint8Array(BLOCK * 2));
  }
}

/** One entry as the reader hands it out. */
export interface TarEntry {
  readonly name: string;
  readonly size: number;
}

async function readExactly(file: Deno.FsFile, bytes: Uint8Array): Promise<boolean> {
  let filled = 0;
  while (filled < bytes.length) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) {
      if (filled === 0) return false;
      throw new TarFormatError("The archive ends in the middle of a block");
    }
    filled += n;
  }
  return true;
}

function parseOctal(field: Uint8Array): number {
  const text = decoder.decode(field).replace(/\0.*$/s, "").trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`Bad number "${text}" in a tar header`);
  return text === "" ? 0 : parseInt(text, 8);
}

/**
 * Reads entries in order, handing each one's bytes to `onEntry` through `write` (called with
 * chunks in order). Regular files only; anything else is an error.
 *
 * @throws {TarFormatError} for a malformed archive.
 */
export async function readTar(
  file: Deno.FsFile,
  onEntry: (entry: TarEntry) => Promise<(bytes: Uint8Array) => Promise<void>>,
): Promise<void> {
  const block = new Uint8Array(BLOCK);
  const data = new Uint8Array(64 * BLOCK);
  while (await readExactly(file, block)) {
    if (block.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
    if (parseOctal(block.subarray(148, 156)) !== sum) {
      throw new TarFormatError("A tar header's checksum does not match");
    }
    const type = String.fromCharCode(block[156]);
    if (type !== "0" && type !== "\0") {
      throw new TarFormatError(`Only regular files are expected in a backup, found type "${type}"`);
    }
    const name = decoder.decode(block.subarray(0, 100)).replace(/\0.*$/s, "");
    const size = parseOctal(block.subarray(124, 136));
    const write = await onEntry({ name, size });
    let left = size;
    while (left > 0) {
      const chunk = Math.min(data.length, Math.ceil(left / BLOCK) * BLOCK);
      if (!(await readExactly(file, data.subarray(0, chunk)))) {
        throw new TarFormatError(`The archive ends inside "${name}"`);
      }
      await write(data.subarray(0, Math.min(chunk, left)));
      left -= Math.min(chunk, left);
    }
  }
  throw new TarFormatError("The archive has no end marker: it is cut short");
}
