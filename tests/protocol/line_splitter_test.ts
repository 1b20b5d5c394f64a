import { assertEquals } from "@std/assert";
import { LineSplitter } from "../../lib/protocol/line_splitter.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("LineSplitter splits LF and CRLF lines across chunk boundaries", () => {
  const s = new LineSplitter(100);
  assertEquals(s.push(bytes("WHO\r\nMO")), [{ line: "WHO" }]);
  assertEquals(s.push(bytes("TD\r")), []);
  assertEquals(s.push(bytes("\nA\nB\n")), [{ line: "MOTD" }, { line: "A" }, { line: "B" }]);
  assertEquals(s.bufferedBytes, 0);
});

Deno.test("LineSplitter reports an overlong line once and never buffers it", () => {
  const s = new LineSplitter(8);
  assertEquals(s.push(bytes("0123456789")), [{ error: "too_long" }]);
  assertEquals(s.bufferedBytes, 0);
  assertEquals(s.push(bytes("more garbage")), []);
  assertEquals(s.bufferedBytes, 0);
  assertEquals(s.push(bytes("tail\nWHO\n")), [{ line: "WHO" }]);
});

Deno.test("LineSplitter accepts a line of exactly the limit, with or without CR", () => {
  const s = new LineSplitter(4);
  assertEquals(s.push(bytes("abcd\nabcd\r\nabcde\n")), [
    { line: "abcd" },
    { line: "abcd" },
    { error: "too_long" },
  ]);
});

Deno.test("LineSplitter rejects invalid UTF-8 and NUL bytes but keeps going", () => {
  const s = new LineSplitter(100);
  const input = new Uint8Array([0xff, 0xfe, 0x0a, 0x41, 0x00, 0x42, 0x0a, 0x4f, 0x4b, 0x0a]);
  assertEquals(s.push(input), [{ error: "invalid_utf8" }, { error: "nul_byte" }, { line: "OK" }]);
});

Deno.test("LineSplitter keeps multi-byte characters split across chunks", () => {
  const s = new LineSplitter(100);
  const all = bytes("héllo ✓\n");
  assertEquals(s.push(all.subarray(0, 2)), []);
  assertEquals(s.push(all.subarray(2)), [{ line: "héllo ✓" }]);
});

Deno.test("LineSplitter hands back bytes after the last line for raw transfers", () => {
  const s = new LineSplitter(100);
  assertEquals(s.push(bytes("UPLOAD x\nRAW")), [{ line: "UPLOAD x" }]);
  assertEquals(new TextDecoder().decode(s.takeBuffered()), "RAW");
  assertEquals(s.bufferedBytes, 0);
});

Deno.test("LineSplitter hands out one frame at a time and the raw rest after it", () => {
  const s = new LineSplitter(100);
  s.feed(bytes("A\nUPLOAD t f 5\nhello"));
  assertEquals(s.next(), { line: "A" });
  assertEquals(s.next(), { line: "UPLOAD t f 5" });
  assertEquals(new TextDecoder().decode(s.takeBuffered()), "hello");
  assertEquals(s.next(), undefined);
  s.feed(bytes("WHO\n"));
  assertEquals(s.next(), { line: "WHO" });
  assertEquals(s.bufferedBytes, 0);
});
