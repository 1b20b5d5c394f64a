/**
 * The lock that keeps two servers off one data directory. Two servers on the same embedded
 * database would number broadcasts independently and lose messages, so the running server holds
 * an OS lock (`flock`) on `labchat.lock`: the kernel drops it when the process ends, SIGKILL
 * included, so nothing stale is ever left behind. Nodes of a cluster share the directory (their
 * data is in Redis) and hold the lock shared, which keeps an embedded server out while they run.
 * @module
 */

import { join } from "node:path";
import { formatTimestamp } from "../protocol/timestamp.ts";
import { ensurePrivateDir, PRIVATE_FILE_MODE } from "./data_dir.ts";

/** The lock file's name inside the data directory. */
export const LOCK_FILE = "labchat.lock";

/** Who holds the lock: written into the file so a refused program can say. */
export interface LockHolder {
  /** `server`, `admin`, … */
  readonly program: string;
  readonly pid: number;
  /** Epoch milliseconds. */
  readonly since: number;
}

/** The data directory is held by another program. */
export class DataDirInUse extends Error {
  /** A stable code for scripts and tests. */
  readonly code = "DATA_DIR_IN_USE";
  /** Who holds it, when it said (cluster nodes hold it without saying). */
  readonly holder: LockHolder | undefined;

  constructor(dataDir: string, holder: LockHolder | undefined) {
    super(
      holder
        ? `the data directory ${dataDir} is in use by labchat ${holder.program} (pid ${holder.pid}, since ${
          formatTimestamp(holder.since)
        }): stop it first, or give another --data`
        : `the data directory ${dataDir} is in use by the nodes of a cluster: stop them first, or give another --data`,
    );
    this.name = "DataDirInUse";
    this.holder = holder;
  }
}

/** How the lock is held: `exclusive` by one program, or `shared` by a cluster's nodes. */
export type LockMode = "exclusive" | "shared";

/** A held lock on a data directory; `release()` (or `using`) gives it back. Idempotent. */
export class DataDirLock implements Disposable {
  #file: Deno.FsFile | undefined;
  /** What was found wrong with the directory's mode and done about it, for the log. */
  readonly notice: string | undefined;

  private constructor(file: Deno.FsFile, notice: string | undefined) {
    this.#file = file;
    this.notice = notice;
  }

  /**
   * Takes the lock of `dataDir` (created, private, if missing) without waiting.
   *
   * @throws {DataDirInUse} when another process holds it in a way that excludes `mode`
   */
  static async acquire(dataDir: string, mode: LockMode, program: string): Promise<DataDirLock> {
    const notice = await ensurePrivateDir(dataDir);
    const path = join(dataDir, LOCK_FILE);
    const file = await Deno.open(path, {
      read: true,
      write: true,
      create: true,
      mode: PRIVATE_FILE_MODE,
    });
    try {
      if (!(await file.tryLock(mode === "exclusive"))) {
        throw new DataDirInUse(dataDir, parseHolder(await Deno.readTextFile(path)));
      }
      // Only an exclusive holder says who it is; a shared one clears what a past holder said.
      await file.truncate(0);
      if (mode === "exclusive") {
        const holder: LockHolder = { program, pid: Deno.pid, since: Date.now() };
        await file.write(new TextEncoder().encode(`${JSON.stringify(holder)}\n`));
      }
      return new DataDirLock(file, notice);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Who holds the lock of `dataDir` now, or `undefined` when nobody does (or nobody said). */
  static async holder(dataDir: string): Promise<LockHolder | "cluster" | undefined> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(join(dataDir, LOCK_FILE), { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      if (await file.tryLock(true)) return undefined;
      return parseHolder(await Deno.readTextFile(join(dataDir, LOCK_FILE))) ?? "cluster";
    } finally {
      file.close();
    }
  }

  /** Gives the lock back. */
  release(): void {
    const file = this.#file;
    this.#file = undefined;
    file?.close(); // closing the descriptor releases the flock
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/** The holder written in a lock file, or `undefined` when it holds nothing readable. */
export function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text.trim()) as Partial<LockHolder>;
    if (
      typeof value.program === "string" && typeof value.pid === "number" &&
      typeof value.since === "number"
    ) {
      return { program: value.program.slice(0, 40), pid: value.pid, since: value.since };
    }
  } catch {
    // an empty file (a cluster node's), or one written by something else
  }
  return undefined;
}
