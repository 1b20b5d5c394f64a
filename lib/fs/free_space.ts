/**
 * Free disk space, to refuse a file that cannot fit before receiving any of it.
 * @module
 */

import { statfs } from "node:fs/promises";

/** Bytes an unprivileged user may still write under `dir`, or `undefined` when unknown. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const info = await statfs(dir);
    return Number(info.bavail) * Number(info.bsize);
  } catch {
    return undefined; // not permitted (--allow-sys=statfs) or not supported here
  }
}
