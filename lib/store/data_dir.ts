/**
 * The data directory holds password hashes and private messages: it is created 0700 and every
 * file in it 0600, whatever the umask; a directory found wider than that is narrowed and
 * reported (or only reported, when it cannot be changed).
 * @module
 */

/** Mode of directories the server creates. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of files the server creates. */
export const PRIVATE_FILE_MODE = 0o600;

const isPosix = Deno.build.os !== "windows";

/**
 * Creates `dir` (and missing parents) readable by the owner only. One that already existed with
 * access for group or others (a fresh checkout's `data/` is 755) is made owner-only too: returns
 * a notice saying so, or a warning when it cannot be changed (not ours); else `undefined`.
 */
export async function ensurePrivateDir(dir: string): Promise<string | undefined> {
  let existing: Deno.FileInfo | undefined;
  try {
    existing = await Deno.stat(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (existing) {
    if (!existing.isDirectory) throw new Error(`Cannot use "${dir}" as a directory: it is a file`);
    const mode = existing.mode ?? 0;
    if (isPosix && (mode & 0o077) !== 0) {
      const was = (mode & 0o777).toString(8);
      try {
        await Deno.chmod(dir, PRIVATE_DIR_MODE);
      } catch {
        return `Data directory ${dir} is accessible to other users (mode ${was}); run: chmod 700 ${dir}`;
      }
      return `Data directory ${dir} was open to other users (mode ${was}); it is now 700, owner only`;
    }
    return undefined;
  }
  await Deno.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir's mode is reduced by the umask and does not reach the parents it creates; this is ours.
  if (isPosix) await Deno.chmod(dir, PRIVATE_DIR_MODE);
  return undefined;
}

/** Creates `dir` inside a private data directory with the private mode, if it is missing. */
export async function ensureSubdir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (isPosix) await Deno.chmod(dir, PRIVATE_DIR_MODE);
}

/** Sets the private file mode on `path` if it exists. */
export async function makePrivate(path: string): Promise<void> {
  if (!isPosix) return;
  try {
    await Deno.chmod(path, PRIVATE_FILE_MODE);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Creates an empty file with the private mode unless it exists (so SQLite inherits the mode). */
export async function touchPrivate(path: string): Promise<void> {
  try {
    const file = await Deno.open(path, { write: true, createNew: true, mode: PRIVATE_FILE_MODE });
    file.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  await makePrivate(path);
}
