/**
 * A file's size and SHA-256, read in chunks (never whole in memory).
 * @module
 */

import { createHash } from "node:crypto";

/** A file's size in bytes and SHA-256 (hex). */
export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1024 * 1024);
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    hash.update(buffer.subarray(0, n));
    size += n;
  }
  return { size, sha256: hash.digest("hex") };
}
