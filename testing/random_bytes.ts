/**
 * Random test data (crypto.getRandomValues fills at most 64 KiB per call).
 * @module
 */

const MAX_FILL = 65536;

/** `size` random bytes. */
export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += MAX_FILL) crypto.getRandomValues(bytes.subarray(i, i + MAX_FILL));
  return bytes;
}

/** Writes `size` random bytes to a new file, 64 KiB at a time (never all in memory). */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  for (let done = 0; done < size; done += MAX_FILL) {
    const chunk = randomBytes(Math.min(MAX_FILL, size - done));
    let offset = 0;
    while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
  }
}
