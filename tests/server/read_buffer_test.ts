import { assertEquals } from "@std/assert";
import { LARGE_READ_BYTES, ReadBuffer, SMALL_READ_BYTES } from "../../lib/server/io/read_buffer.ts";

Deno.test("ReadBuffer: small while the peer chats, large once it fills a read", () => {
  const buffer = new ReadBuffer();
  assertEquals(buffer.bytes.length, SMALL_READ_BYTES);
  buffer.filled(120);
  buffer.filled(SMALL_READ_BYTES - 1);
  assertEquals(buffer.bytes.length, SMALL_READ_BYTES);
  buffer.filled(SMALL_READ_BYTES); // there may be more waiting
  assertEquals(buffer.bytes.length, LARGE_READ_BYTES);
});

Deno.test("ReadBuffer: back to small only after a run of short reads", () => {
  const buffer = new ReadBuffer();
  buffer.filled(SMALL_READ_BYTES);
  const large = buffer.bytes;
  for (let i = 0; i < 31; i++) buffer.filled(80);
  buffer.filled(LARGE_READ_BYTES); // bulk again: the run starts over
  for (let i = 0; i < 31; i++) buffer.filled(SMALL_READ_BYTES);
  assertEquals(buffer.bytes, large, "the same large buffer, not a new one per read");
  buffer.filled(40);
  assertEquals(buffer.bytes.length, SMALL_READ_BYTES);
});
