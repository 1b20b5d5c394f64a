import { assertEquals } from "@std/assert";
import { join } from "node:path";
import { ChunkReader } from "../../lib/p2p/file_sender.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";

const CHUNK = 1000;
/** Chunks per block the reader reads at once (about 256 KiB). */
const PER_BLOCK = Math.ceil(256 * 1024 / CHUNK);

async function withFile(bytes: number, body: (file: Deno.FsFile, whole: Uint8Array) => void) {
  const dir = await Deno.makeTempDir({ prefix: "labchat-chunk-reader-" });
  try {
    const path = join(dir, "payload.bin");
    await writeRandomFile(path, bytes);
    const whole = await Deno.readFile(path);
    using file = await Deno.open(path);
    body(file, whole);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("chunk reader: a block is read into again only once every chunk of it is acknowledged", async () => {
  const total = PER_BLOCK * 6 + 17;
  await withFile(total * CHUNK - 300, (file, whole) => {
    const reader = new ChunkReader(file, CHUNK, 0);
    const held = new Map<number, Uint8Array>();
    // Nothing acknowledged while the first three blocks are read: three blocks, each its own.
    for (let seq = 0; seq < PER_BLOCK * 3; seq++) held.set(seq, reader.next(0));
    assertEquals(reader.blocksAllocated, 3);
    // The first block's chunks all acknowledged but one: its bytes are still needed.
    held.set(PER_BLOCK * 3, reader.next(PER_BLOCK - 1));
    assertEquals(reader.blocksAllocated, 4);
    // Now the first two are acknowledged: the next two reads reuse them, and the one after needs
    // a fifth block (the third still holds unacknowledged chunks).
    for (let seq = PER_BLOCK * 3 + 1; seq < total; seq++) {
      held.set(seq, reader.next(PER_BLOCK * 2));
      if (seq % PER_BLOCK === 0) {
        // What is still held (not acknowledged) keeps its bytes.
        for (const keep of [PER_BLOCK * 2, PER_BLOCK * 3, seq]) {
          assertEquals(held.get(keep), whole.subarray(keep * CHUNK, (keep + 1) * CHUNK));
        }
      }
    }
    assertEquals(reader.blocksAllocated, 5);
    assertEquals(held.get(total - 1)?.length, CHUNK - 300);
    assertEquals(reader.next(total).length, 0);
  });
});

Deno.test("chunk reader: every chunk in order with the file's bytes, from a resumed position", async () => {
  const first = PER_BLOCK + 5;
  await withFile(PER_BLOCK * 3 * CHUNK, (file, whole) => {
    file.seekSync(first * CHUNK, Deno.SeekMode.Start);
    const reader = new ChunkReader(file, CHUNK, first);
    for (let seq = first; seq < PER_BLOCK * 3; seq++) {
      // The window's base trails by a block, as a sender's does.
      const chunk = reader.next(Math.max(first, seq - PER_BLOCK));
      assertEquals(chunk, whole.subarray(seq * CHUNK, (seq + 1) * CHUNK), `chunk ${seq}`);
    }
    assertEquals(reader.next(PER_BLOCK * 3).length, 0);
    assertEquals(reader.blocksAllocated, 2);
  });
});
