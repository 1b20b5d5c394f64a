/**
 * Backup and restore of a data directory. A backup is a tar archive holding a snapshot of the
 * database, the forum files it refers to, and `motd.txt`. The snapshot is taken inside one
 * SQLite read transaction, so it is consistent even while the server writes; files are added
 * after it, and a file removed in between is dropped from the snapshot with the post that held
 * it, so the archive never refers to something it does not contain.
 * @module
 */

import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { join } from "node:path";
import { ensurePrivateDir, ensureSubdir, makePrivate } from "../store/data_dir.ts";
import { KV_FILE, openKvStore } from "../store/kv_store.ts";
import { DataDirInUse, DataDirLock, LOCK_FILE } from "../store/data_dir_lock.ts";
import type { ThreadItem } from "../store/store.ts";
import { readTar, TarFormatError, TarWriter } from "./tar.ts";
import { AdminError } from "./user_admin.ts";
import { concatBytes } from "../protocol/bytes.ts";

const ROOT = "labchat-backup";
const MANIFEST = `${ROOT}/manifest.json`;
const DATABASE = `${ROOT}/${KV_FILE}`;
const MOTD = `${ROOT}/motd.txt`;
const BLOB = new RegExp(
  `^${ROOT}/blobs/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`,
);

/** What the first entry of an archive says. */
interface Manifest {
  readonly format: "labchat-backup";
  readonly version: 1;
  readonly created: string;
  readonly files: number;
}

/** What a backup wrote. */
export interface BackupSummary {
  readonly files: number;
  /** Files removed between the snapshot and their copy, dropped with their posts. */
  readonly dropped: number;
  readonly bytes: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Whether SQLite reported contention with another process. */
function isBusy(error: unknown): boolean {
  return error instanceof Error && /locked|busy/i.test(error.message);
}

/** Copies every table of the database at `source` into a new file, in one read transaction. */
function snapshotDatabase(source: string, target: string): void {
  const from = new DatabaseSync(source, { readOnly: true, timeout: 10_000 });
  const to = new DatabaseSync(target, { timeout: 10_000 });
  try {
    from.exec("BEGIN");
    const tables = from.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%'",
    ).all() as { name: string; sql: string }[];
    const indexes = from.prepare(
      "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL",
    ).all() as { sql: string }[];
    to.exec("BEGIN");
    for (const table of tables) {
      to.exec(table.sql);
      const select = from.prepare(`SELECT * FROM "${table.name.replaceAll('"', '""')}"`);
      let insert: ReturnType<DatabaseSync["prepare"]> | undefined;
      let columns: string[] = [];
      for (const row of select.iterate() as Iterable<Record<string, SQLInputValue>>) {
        if (!insert) {
          columns = Object.keys(row);
          const names = columns.map((c) => `"${c.replaceAll('"', '""')}"`).join(", ");
          insert = to.prepare(
            `INSERT INTO "${table.name.replaceAll('"', '""')}" (${names}) VALUES (${
              columns.map(() => "?").join(", ")
            })`,
          );
        }
        insert.run(...columns.map((c) => row[c]));
      }
    }
    for (const index of indexes) to.exec(index.sql);
    to.exec("COMMIT");
    from.exec("COMMIT");
  } finally {
    from.close();
    to.close();
  }
}

/**
 * Writes a backup of `dataDir` to `archive` (replaced only once complete).
 *
 * @throws {AdminError} when there is no data to back up or the database stays locked.
 */
export async function backup(dataDir: string, archive: string): Promise<BackupSummary> {
  const database = join(dataDir, KV_FILE);
  if (!(await exists(database))) {
    throw new AdminError(`No labchat database in ${dataDir} (is --data right?)`);
  }
  const snapshot = join(dataDir, `.backup-${crypto.randomUUID()}.kv`);
  const partial = `${archive}.part`;
  try {
    try {
      snapshotDatabase(database, snapshot);
    } catch (error) {
      if (isBusy(error)) {
        throw new AdminError("The database is locked by another process; try again in a moment");
      }
      throw error;
    }
    await makePrivate(snapshot);
    const blobs = await keepOnlyPresentBlobs(snapshot, join(dataDir, "blobs"));
    const out = await Deno.open(partial, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    let bytes = 0;
    try {
      const tar = new TarWriter(out);
      const manifest: Manifest = {
        format: "labchat-backup",
        version: 1,
        created: new Date().toISOString(),
        files: blobs.kept.length,
      };
      await tar.addBytes(MANIFEST, new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
      await tar.addFile(DATABASE, snapshot);
      for (const id of blobs.kept) {
        await tar.addFile(`${ROOT}/blobs/${id}`, join(dataDir, "blobs", id));
      }
      const motd = join(dataDir, "motd.txt");
      if (await exists(motd)) await tar.addFile(MOTD, motd);
      await tar.finish();
      await out.sync();
      bytes = tar.bytesWritten;
    } finally {
      out.close();
    }
    await Deno.rename(partial, archive);
    return { files: blobs.kept.length, dropped: blobs.dropped, bytes };
  } finally {
    await Deno.remove(snapshot).catch(() => {});
    for (const suffix of ["-wal", "-shm"]) await Deno.remove(snapshot + suffix).catch(() => {});
    await Deno.remove(partial).catch(() => {});
  }
}

/** Drops from the snapshot the files whose blobs are gone; returns the blobs it keeps. */
async function keepOnlyPresentBlobs(
  snapshot: string,
  blobDir: string,
): Promise<{ kept: string[]; dropped: number }> {
  const kv = await Deno.openKv(snapshot);
  try {
    const kept: string[] = [];
    let dropped = 0;
    for await (const entry of kv.list<ThreadItem>({ prefix: ["thread_item"] })) {
      const item = entry.value;
      if (item.kind !== "file") continue;
      if (await exists(join(blobDir, item.blob))) {
        kept.push(item.blob);
        continue;
      }
      const thread = entry.key[1];
      await kv.atomic().delete(entry.key).delete(["thread_file", thread, item.filename]).commit();
      dropped++;
    }
    return { kept, dropped };
  } finally {
    kv.close();
  }
}

/**
 * Unpacks a backup into `dataDir`, which must be missing or empty, then opens it once (which
 * brings an older layout up to date) to check it.
 *
 * @throws {AdminError} for a data directory in use or an archive that is not a labchat backup.
 */
export async function restore(archive: string, dataDir: string): Promise<{ files: number }> {
  if (await exists(dataDir)) {
    for await (const entry of Deno.readDir(dataDir)) {
      // A server that ran here and stopped leaves its (released) lock file behind.
      if (entry.name === LOCK_FILE) continue;
      throw new AdminError(`Cannot restore into ${dataDir}: it is not empty`);
    }
  }
  // No server may start on the directory while it is being filled.
  using _lock = await lockForAdmin(dataDir);
  let input: Deno.FsFile;
  try {
    input = await Deno.open(archive, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new AdminError(`No such file: ${archive}`);
    throw error;
  }
  await ensurePrivateDir(dataDir);
  let manifest: Manifest | undefined;
  let files = 0;
  let database = false;
  try {
    await readTar(input, async ({ name, size }) => {
      if (!manifest) {
        if (name !== MANIFEST || size > 64 * 1024) {
          throw new TarFormatError("This is not a labchat backup (no manifest first)");
        }
        const parts: Uint8Array[] = [];
        return (bytes) => {
          parts.push(bytes.slice());
          if (parts.reduce((n, p) => n + p.length, 0) === size) {
            const text = new TextDecoder().decode(concatBytes(parts));
            const parsed = JSON.parse(text) as Partial<Manifest>;
            if (parsed.format !== "labchat-backup" || parsed.version !== 1) {
              throw new TarFormatError("This is not a labchat backup this version can read");
            }
            manifest = parsed as Manifest;
          }
          return Promise.resolve();
        };
      }
      let target: string;
      const blob = BLOB.exec(name);
      if (name === DATABASE) {
        target = join(dataDir, KV_FILE);
        database = true;
      } else if (name === MOTD) target = join(dataDir, "motd.txt");
      else if (blob) {
        await ensureSubdir(join(dataDir, "blobs"));
        target = join(dataDir, "blobs", blob[1]);
        files++;
      } else {
        throw new TarFormatError(`Unexpected entry "${name.slice(0, 100)}" in the backup`);
      }
      const out = await Deno.open(target, { write: true, createNew: true, mode: 0o600 });
      await makePrivate(target);
      if (size === 0) {
        out.close();
        return () => Promise.resolve();
      }
      let left = size;
      return async (bytes) => {
        let offset = 0;
        while (offset < bytes.length) offset += await out.write(bytes.subarray(offset));
        left -= bytes.length;
        if (left === 0) out.close();
      };
    });
  } catch (error) {
    if (error instanceof TarFormatError || error instanceof SyntaxError) {
      throw new AdminError(`Cannot restore ${archive}: ${error.message}`);
    }
    throw error;
  } finally {
    input.close();
  }
  if (!manifest || !database) {
    throw new AdminError(`Cannot restore ${archive}: it holds no database`);
  }
  const { store } = await openKvStore(dataDir);
  await store.close();
  return { files };
}

/**
 * The data directory's lock, for the operator tool's own use of it.
 *
 * @throws {AdminError} when a server (or another run of the tool) holds it
 */
export async function lockForAdmin(dataDir: string): Promise<DataDirLock> {
  try {
    return await DataDirLock.acquire(dataDir, "exclusive", "admin");
  } catch (error) {
    if (error instanceof DataDirInUse) throw new AdminError(error.message);
    throw error;
  }
}
