import { assertEquals } from "@std/assert";
import { compareIds, fieldsOf } from "../../lib/server/cluster/cluster_hub.ts";

Deno.test("stream IDs order by time, then sequence, beyond what a double holds", () => {
  assertEquals(compareIds("1-0", "1-0"), 0);
  assertEquals(compareIds("1-2", "1-10"), -1);
  assertEquals(compareIds("2-0", "1-99"), 1);
  assertEquals(compareIds("9007199254740993-0", "9007199254740992-0"), 1);
  assertEquals(compareIds("garbage", "0-0"), 0, "an unreadable ID counts as the start");
});

Deno.test("map replies read the same in RESP2 and RESP3 shapes", () => {
  const entries = [["1-0", ["d", "x"]]];
  const expected = [["a", entries], ["b", []]];
  assertEquals(fieldsOf([["a", entries], ["b", []]]), expected, "RESP2 XREAD");
  assertEquals(fieldsOf({ a: entries, b: [] }), expected, "RESP3 as an object");
  assertEquals(fieldsOf(new Map([["a", entries], ["b", []]])), expected, "RESP3 as a Map");
  assertEquals(fieldsOf(["length", 3, "max-deleted-entry-id", "5-1"]), [
    ["length", 3],
    ["max-deleted-entry-id", "5-1"],
  ], "RESP2 XINFO");
  assertEquals(fieldsOf(null), [], "no reply");
});
