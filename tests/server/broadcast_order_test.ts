/** Broadcasts from several nodes are handed out in the order of their numbers. */
import { assertEquals } from "@std/assert";
import { BroadcastOrder } from "../../lib/server/cluster/broadcast_order.ts";

Deno.test("broadcasts arriving out of order are handed out by number; one never coming is skipped after the wait", async () => {
  const out: number[] = [];
  const skipped: [number, number][] = [];
  const order = new BroadcastOrder<number>((n) => out.push(n), 50, (a, b) => skipped.push([a, b]));
  // The first after a start waits for any numbered before it.
  order.add(14, 14);
  order.add(13, 13);
  assertEquals(out, []);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assertEquals(out, [13, 14]);
  assertEquals(skipped, [], "nothing was due before the first");
  order.add(16, 16); // #15 is on its way from another node
  order.add(17, 17);
  assertEquals(out, [13, 14]);
  order.add(15, 15);
  assertEquals(out, [13, 14, 15, 16, 17]);
  assertEquals(order.waiting, 0);

  order.add(19, 19); // #18's node died before passing it on
  assertEquals(out, [13, 14, 15, 16, 17]);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assertEquals(out, [13, 14, 15, 16, 17, 19]);
  assertEquals(skipped, [[18, 18]], "told, so it can be read back from the store");
  order.add(18, 18); // too late for its turn: handed out anyway
  assertEquals(out, [13, 14, 15, 16, 17, 19, 18]);
  order.add(21, 21);
  order.flush(); // closing: whatever waits goes now
  assertEquals(out, [13, 14, 15, 16, 17, 19, 18, 21]);
  assertEquals(order.waiting, 0);
});
