/** Broadcasts from several nodes are handed out in the order of their numbers. */
import { assert, assertEquals } from "@std/assert";
import { BroadcastOrder } from "../../lib/server/cluster/broadcast_order.ts";
import { ManualClock } from "../../lib/server/services/clock.ts";

/** Lets promise callbacks (a fill's answer) run: one turn of the event loop, no time passes. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("broadcasts arriving out of order are handed out by number; one never coming is skipped after the wait", async () => {
  const out: number[] = [];
  const looked: [number, number][] = [];
  const clock = new ManualClock(0);
  // Nothing is found elsewhere here: a missing number is skipped after the wait.
  const order = new BroadcastOrder<number>((n) => out.push(n), 50, (a, b) => {
    looked.push([a, b]);
    return Promise.resolve(new Map());
  }, clock);
  // The first after a start waits for any numbered before it.
  order.add(14, 14);
  order.add(13, 13);
  assertEquals(out, []);
  clock.advance(49);
  assertEquals(out, [], "still waiting");
  clock.advance(1);
  assertEquals(out, [13, 14]);
  assertEquals(looked, [], "nothing was due before the first");
  order.add(16, 16); // #15 is on its way from another node
  order.add(17, 17);
  assertEquals(out, [13, 14]);
  order.add(15, 15);
  assertEquals(out, [13, 14, 15, 16, 17]);
  assertEquals(order.waiting, 0);

  order.add(19, 19); // #18's node died before passing it on
  assertEquals(out, [13, 14, 15, 16, 17]);
  clock.advance(50);
  await settle(); // the fill found nothing
  assertEquals(out, [13, 14, 15, 16, 17, 19]);
  assertEquals(looked, [[18, 18]], "looked for before it was skipped");
  order.add(18, 18); // too late for its turn: handed out anyway
  assertEquals(out, [13, 14, 15, 16, 17, 19, 18]);
  order.add(21, 21);
  order.flush(); // closing: whatever waits goes now
  assertEquals(out, [13, 14, 15, 16, 17, 19, 18, 21]);
  assertEquals(order.waiting, 0);
});

Deno.test("a missing broadcast found elsewhere (read back from the store) is handed out in its place, before those behind it", async () => {
  const out: string[] = [];
  const clock = new ManualClock(0);
  const answer = Promise.withResolvers<void>();
  const order = new BroadcastOrder<string>((item) => out.push(item), 30, async (from, to) => {
    const found = new Map<number, string>();
    for (let n = from; n <= to; n++) if (n !== 6) found.set(n, `${n} read back`);
    await answer.promise; // the store answers when the test says
    return found;
  }, clock);
  order.expect(4);
  order.add(7, "7");
  order.add(8, "8");
  assertEquals(out, []);
  clock.advance(30);
  await settle();
  assertEquals(out, [], "nothing is handed out past the gap while it is looked for");
  answer.resolve();
  await settle();
  // #4 and #5 found and handed out in their place; #6 not: waited for once more, looked for
  // again, then skipped (never stored); then what waited, in order.
  assertEquals(out, ["4 read back", "5 read back"]);
  clock.advance(30);
  await settle();
  assertEquals(out, ["4 read back", "5 read back", "7", "8"]);
  order.add(6, "6"); // late after all: handed out, never lost
  assertEquals(out.at(-1), "6");
  order.flush();
});

Deno.test("a missing broadcast is not skipped while the store does not answer (Redis restarting), for up to 10 s", async () => {
  const out: string[] = [];
  const clock = new ManualClock(0);
  let storeUp = false;
  let looks = 0;
  const order = new BroadcastOrder<string>((item) => out.push(item), 250, (from, to) => {
    looks++;
    if (!storeUp) return Promise.reject(new Error("Redis is unreachable"));
    const found = new Map<number, string>();
    for (let n = from; n <= to; n++) found.set(n, `${n} read back`);
    return Promise.resolve(found);
  }, clock);
  order.expect(47);
  order.add(48, "48"); // #47 was stored on another node; its delivery is held up by the outage
  for (let i = 0; i < 12; i++) {
    clock.advance(250);
    await settle();
  }
  assertEquals(out, [], "#48 waits while #47 cannot be looked for");
  assert(looks >= 10, `looked ${looks} times`);
  storeUp = true; // Redis is back
  clock.advance(250);
  await settle();
  assertEquals(out, ["47 read back", "48"]);

  // A store that stays unreachable: the gap is skipped after 10 s, late never lost.
  storeUp = false;
  const gapAt = clock.now();
  order.add(51, "51");
  for (let i = 0; i < 60 && out.length < 3; i++) {
    clock.advance(250);
    await settle();
  }
  assertEquals(out.slice(2), ["51"]);
  assert(clock.now() - gapAt >= 10_000, `skipped ${clock.now() - gapAt} ms after the gap`);
  order.add(49, "49");
  assertEquals(out.at(-1), "49");
  order.flush();
});
