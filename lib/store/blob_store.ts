/**
 * Uploaded files on disk under `data/blobs/`, named by the server. An upload is written to a
 * temporary file while its SHA-256 is computed, and becomes visible only when committed.
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";

const BLOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An upload in progress: write bytes, then commit (or abort). */
export interface BlobUpload {
  /** Bytes written so far. */
  readonly size: number;
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the file and returns the SHA-256 (hex) of what was written. */
  finish(): Promise<string>;
  /** Makes the finished upload a blob; returns its id. */
  commit(): Promise<string>;
  /** Discards the upload. Idempotent, never throws. */
  abort(): Promise<void>;
}

/** Blobs in one directory; ids are random UUIDs, never user input. */
export class BlobStore {
  readonly #dir: string;
  readonly #tmp: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#tmp = join(dir, "tmp");
  }

  /** Opens (creating) `dataDir/blobs` and removes uploads a crash left unfinished. */
  static async open(dataDir: string): Promise<BlobStore> {
    const store = new BlobStore(join(dataDir, "blobs"));
    await Deno.remove(store.#tmp, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.mkdir(store.#tmp, { recursive: true });
    return store;
  }

  #path(id: string): string {
    if (!BLOB_ID.test(id)) throw new RangeError(`Cannot use "${id}" as a blob id`);
    return join(this.#dir, id);
  }

  /** Starts an upload into a temporary file. */
  async create(): Promise<BlobUpload> {
    const id = crypto.randomUUID();
    const tmpPath = join(this.#tmp, id);
    const file = await Deno.open(tmpPath, { write: true, createNew: true });
    const hash: Hash = createHash("sha256");
    let size = 0;
    let open = true;
    let digest: string | undefined;
    const close = () => {
      if (open) {
        open = false;
        file.close();
      }
    };
    return {
      get size() {
        return size;
      },
      async write(bytes) {
        hash.update(bytes);
        let offset = 0;
        while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
        size += bytes.length;
      },
      async finish() {
        await file.sync();
        close();
        return digest ??= hash.digest("hex");
      },
      commit: async () => {
        if (digest === undefined) throw new Error("Cannot commit an upload before finish()");
        await Deno.rename(tmpPath, this.#path(id));
        return id;
      },
      async abort() {
        close();
        await Deno.remove(tmpPath).catch(() => {});
      },
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
}
