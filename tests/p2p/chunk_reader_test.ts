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
    const bytesOf = (seq: number) => whole.subarray(seq * CHUNK, (seq + 1) * CHUNK);
    // Nothing acknowledged while three blocks are read: three blocks, each its own.
    reader.readThrough(PER_BLOCK * 3 - 1, 0);
    assertEquals(reader.blocksAllocated, 3);
    // The first block's chunks all acknowledged but its last: its bytes are still needed.
    reader.readThrough(PER_BLOCK * 3, PER_BLOCK - 1);
    assertEquals(reader.blocksAllocated, 4);
    assertEquals(reader.chunk(PER_BLOCK - 1), bytesOf(PER_BLOCK - 1));
    // Now the first two are acknowledged: the next two reads reuse them, and the one after needs
    // a fifth block (the third still holds unacknowledged chunks).
    reader.readThrough(PER_BLOCK * 6 - 1, PER_BLOCK * 2);
    assertEquals(reader.blocksAllocated, 4);
    for (const seq of [PER_BLOCK * 2, PER_BLOCK * 3 + 7, PER_BLOCK * 5, PER_BLOCK * 6 - 1]) {
      assertEquals(reader.chunk(seq), bytesOf(seq), `chunk ${seq}`);
    }
    assertEquals(reader.chunk(PER_BLOCK * 2 - 1).length, 0, "a reused block's old chunk is gone");
    reader.readThrough(total - 1, PER_BLOCK * 2);
    assertEquals(reader.blocksAllocated, 5);
    assertEquals(reader.chunk(total - 1), whole.subarray((total - 1) * CHUNK));
    assertEquals(reader.chunk(total - 1).length, CHUNK - 300);
    assertEquals(reader.chunk(total).length, 0, "past the end of the file");
  });
});

Deno.test("chunk reader: every chunk in order with the file's bytes, from a resumed position", async () => {
  const first = PER_BLOCK + 5;
  await withFile(PER_BLOCK * 3 * CHUNK, (file, whole) => {
    file.seekSync(first * CHUNK, Deno.SeekMode.Start);
    const reader = new ChunkReader(file, CHUNK, first);
    assertEquals(reader.chunk(first).length, 0, "nothing before the first read");
    for (let seq = first; seq < PER_BLOCK * 3; seq++) {
      // The window's base trails by a block, as a sender's does.
      reader.readThrough(seq, Math.max(first, seq - PER_BLOCK));
      assertEquals(
        reader.chunk(seq),
        whole.subarray(seq * CHUNK, (seq + 1) * CHUNK),
        `chunk ${seq}`,
      );
    }
    reader.readThrough(PER_BLOCK * 3 + 10, PER_BLOCK * 3);
    assertEquals(reader.chunk(PER_BLOCK * 3).length, 0);
    assertEquals(reader.blocksAllocated, 2);
  });
});
