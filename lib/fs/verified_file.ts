/**
 * A file written to a temporary name while its SHA-256 is computed, and given its final name only
 * once complete and verified. Used by the server's blob store, client downloads and peer-to-peer
 * receives, so a partial or damaged file is never visible under its real name.
 * @module
 */

import { createHash, type Hash } from "node:crypto";

/** Options of {@linkcode VerifiedFile.create}. */
export interface VerifiedFileOptions {
  /** File mode of the temporary (and so the final) file; default 0600. */
  readonly mode?: number;
  /** fsync before the rename (the server's blobs: acknowledged means on disk). */
  readonly sync?: boolean;
}

/** A file being written; see the module documentation. */
export class VerifiedFile {
  readonly tempPath: string;
  readonly #file: Deno.FsFile;
  readonly #hash: Hash = createHash("sha256");
  readonly #sync: boolean;
  #size = 0;
  #open = true;
  #digest: string | undefined;
  #settled = false;

  private constructor(tempPath: string, file: Deno.FsFile, sync: boolean) {
    this.tempPath = tempPath;
    this.#file = file;
    this.#sync = sync;
  }

  /** Creates the temporary file; it must not exist. */
  static async create(tempPath: string, options: VerifiedFileOptions = {}): Promise<VerifiedFile> {
    const mode = options.mode ?? 0o600;
    const file = await Deno.open(tempPath, { write: true, createNew: true, mode });
    if (Deno.build.os !== "windows") await Deno.chmod(tempPath, mode);
    return new VerifiedFile(tempPath, file, options.sync ?? false);
  }

  /**
   * Reopens a temporary file kept by {@linkcode keep}, keeping its first `keepBytes` bytes (less
   * if it is shorter) and hashing them again, so writing continues where it stopped.
   */
  static async resume(
    tempPath: string,
    keepBytes: number,
    options: VerifiedFileOptions = {},
  ): Promise<VerifiedFile> {
    const file = await Deno.open(tempPath, { read: true, write: true });
    try {
      const kept = Math.min(keepBytes, (await file.stat()).size);
      await file.truncate(kept);
      const verified = new VerifiedFile(tempPath, file, options.sync ?? false);
      const buffer = new Uint8Array(1 << 20);
      while (verified.#size < kept) {
        const n = await file.read(
          buffer.subarray(0, Math.min(buffer.length, kept - verified.#size)),
        );
        if (n === null) break;
        verified.#hash.update(buffer.subarray(0, n));
        verified.#size += n;
      }
      await file.seek(verified.#size, Deno.SeekMode.Start);
      return verified;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends bytes and adds them to the hash. */
  async write(bytes: Uint8Array): Promise<void> {
    this.#hash.update(bytes);
    let offset = 0;
    while (offset < bytes.length) offset += await this.#file.write(bytes.subarray(offset));
    this.#size += bytes.length;
  }

  /** Closes the file (synced if asked) and returns the SHA-256 (hex) of what was written. */
  async finish(): Promise<string> {
    if (this.#digest !== undefined) return this.#digest;
    if (this.#sync) await this.#file.sync();
    this.#close();
    return this.#digest = this.#hash.digest("hex");
  }

  /**
   * Finishes and, when the size and hash are as expected, renames the file to `finalPath`.
   * Otherwise deletes it. Returns whether it was kept.
   */
  async commit(finalPath: string, expected: { size: number; sha256: string }): Promise<boolean> {
    if (!(await this.verify(expected))) return false;
    await Deno.rename(this.tempPath, finalPath);
    this.#settled = true;
    return true;
  }

  /**
   * Finishes and checks the size and hash; deletes the file when they are not as expected.
   * Returns whether they were.
   */
  async verify(expected: { size: number; sha256: string }): Promise<boolean> {
    const digest = await this.finish();
    if (this.#size === expected.size && digest === expected.sha256.toLowerCase()) return true;
    await this.abort();
    return false;
  }

  /**
   * Gives a verified file a name in `dir` that nothing has: `choose()` proposes names until one
   * is free at the moment of linking (never overwrites, even racing another writer).
   * Returns the path used.
   */
  async commitNew(dir: string, choose: () => Promise<string>): Promise<string> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const path = `${dir}/${await choose()}`;
      try {
        await Deno.link(this.tempPath, path);
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) continue;
        throw error;
      }
      await Deno.remove(this.tempPath).catch(() => {});
      this.#settled = true;
      return path;
    }
    throw new Error(`Cannot find a free name in ${dir}`);
  }

  /** Closes the file and leaves it in place, for {@linkcode resume}. Never throws. */
  keep(): void {
    this.#close();
    this.#settled = true;
  }

  /** Discards the file. Idempotent, never throws. */
  async abort(): Promise<void> {
    this.#close();
    if (this.#settled) return;
    this.#settled = true;
    await Deno.remove(this.tempPath).catch(() => {});
  }

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#file.close();
  }
}
