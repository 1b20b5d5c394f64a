import { assert, assertEquals } from "@std/assert";
import { Wake } from "../../lib/p2p/wake.ts";

Deno.test("wake: a poke ends the wait at once, a timeout ends it when due", async () => {
  const wake = new Wake();
  const started = performance.now();
  const waited = wake.wait(5_000);
  wake.poke();
  await waited;
  assert(performance.now() - started < 1_000, "the poke woke the waiter");
  const timed = performance.now();
  await wake.wait(30);
  assert(performance.now() - timed >= 29, "the timeout ran its course");
  wake.stop();
});

Deno.test("wake: a poke with no waiter is kept for the next wait", async () => {
  const wake = new Wake();
  wake.poke();
  const started = performance.now();
  await wake.wait(5_000);
  assert(performance.now() - started < 1_000);
  wake.stop();
});

Deno.test("wake: a timer left by a poked wait serves a wait with the same deadline, not a later one", async () => {
  const realSetTimeout = globalThis.setTimeout;
  let timersSet = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timersSet++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  const wake = new Wake();
  try {
    const armedAt = performance.now();
    const first = wake.wait(40);
    wake.poke();
    await first;
    assertEquals(timersSet, 1);
    // Same deadline (within half a millisecond): the timer already set ends this wait.
    await wake.wait(40 - (performance.now() - armedAt));
    assertEquals(timersSet, 1, "no timer of its own");
    assert(performance.now() - armedAt >= 39, "it ended at the shared deadline");
    // A much later deadline is not cut short by an earlier timer left behind.
    const second = wake.wait(20);
    wake.poke();
    await second;
    const later = performance.now();
    await wake.wait(120);
    assert(performance.now() - later >= 119, "the earlier timer did not end the later wait");
    assertEquals(timersSet, 3, "the later wait set its own");
  } finally {
    wake.stop();
    globalThis.setTimeout = realSetTimeout;
  }
});

Deno.test("wake: stop clears the timer and wakes a waiter (no timer outlives it)", async () => {
  const wake = new Wake();
  let woke = false;
  const waiting = wake.wait(60_000).then(() => woke = true);
  wake.stop();
  await waiting;
  assertEquals(woke, true);
  // Deno's sanitizer fails this test if the 60 s timer were still set.
});
