/**
 * Uploaded files on disk under `data/blobs/`, named by the server (random UUIDs, never user
 * input), 0600 in 0700 directories. An upload is written to a temporary file while its SHA-256 is
 * computed, and becomes a blob only when complete and verified.
 * @module
 */

import { join } from "node:path";
import { VerifiedFile } from "../fs/verified_file.ts";
import { ensureSubdir } from "./data_dir.ts";

const BLOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An upload in progress. */
export interface BlobUpload {
  /** The blob's id once committed. */
  readonly id: string;
  readonly size: number;
  write(bytes: Uint8Array): Promise<void>;
  /** Makes it a blob if size and SHA-256 match; false (and nothing kept) otherwise. */
  commit(expected: { size: number; sha256: string }): Promise<boolean>;
  /** Discards the upload. Idempotent, never throws. */
  abort(): Promise<void>;
}

/** Blobs in one directory. */
export class BlobStore {
  readonly #dir: string;
  readonly #tmp: string;

  private constructor(dir: string, tmp: string) {
    this.#dir = dir;
    this.#tmp = tmp;
  }

  /**
   * Opens (creating) `dataDir/blobs` and removes the uploads a crash left unfinished. Each server
   * process has its own temporary directory (`tmpName`), so nodes sharing one blob directory do
   * not delete each other's uploads in progress.
   */
  static async open(dataDir: string, tmpName = "tmp"): Promise<BlobStore> {
    const dir = join(dataDir, "blobs");
    const tmp = join(dir, tmpName);
    await ensureSubdir(dir);
    await Deno.remove(tmp, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await ensureSubdir(tmp);
    return new BlobStore(dir, tmp);
  }

  #path(id: string): string {
    if (!BLOB_ID.test(id)) throw new RangeError(`Cannot use "${id}" as a blob id`);
    return join(this.#dir, id);
  }

  /** Starts an upload into a temporary file. */
  async create(): Promise<BlobUpload> {
    const id = crypto.randomUUID();
    const file = await VerifiedFile.create(join(this.#tmp, id), { sync: true });
    const finalPath = this.#path(id);
    return {
      id,
      get size() {
        return file.size;
      },
      write: (bytes) => file.write(bytes),
      commit: (expected) => file.commit(finalPath, expected),
      abort: () => file.abort(),
    };
  }

  /** Opens a blob for reading. */
  open(id: string): Promise<Deno.FsFile> {
    return Deno.open(this.#path(id), { read: true });
  }

  /** Deletes a blob; a missing one is not an error. */
  async remove(id: string): Promise<void> {
    await Deno.remove(this.#path(id)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }

  /**
   * Deletes blobs that nothing refers to and that are older than `graceMs` (a blob is committed
   * a moment before the forum records it). Returns how many it deleted.
   */
  async sweepOrphans(live: ReadonlySet<string>, graceMs: number): Promise<number> {
    let removed = 0;
    const cutoff = Date.now() - graceMs;
    for await (const entry of Deno.readDir(this.#dir)) {
      if (!entry.isFile || !BLOB_ID.test(entry.name) || live.has(entry.name)) continue;
      const info = await Deno.stat(join(this.#dir, entry.name)).catch(() => undefined);
      if (!info || (info.mtime?.getTime() ?? 0) > cutoff) continue;
      await this.remove(entry.name);
      removed++;
    }
    return removed;
  }
}
