import { assert, assertEquals } from "@std/assert";
import { IdleCollector } from "../../lib/server/io/idle_collector.ts";

const MIB = 1024 * 1024;

/** A collector over a pretend heap and work count that the test moves by hand. */
function pretend(heapMib: number) {
  const state = {
    heap: heapMib * MIB,
    total: heapMib * MIB,
    work: 0,
    collected: [] as [number, number][],
  };
  const collector = new IdleCollector({
    work: () => state.work,
    heapUsed: () => state.heap,
    heapTotal: () => state.total,
    collect: () => state.heap = state.total = 10 * MIB, // what survives, in pages given back
    onCollected: (before, after) => state.collected.push([before / MIB, after / MIB]),
    growthBytes: 16 * MIB,
    quietWork: 20,
    spacingTicks: 0,
    intervalMs: 0,
  });
  return { state, collector };
}

Deno.test("IdleCollector: collects once the heap grew and a tick was quiet, then starts over", () => {
  const { state, collector } = pretend(10);
  state.heap = 60 * MIB;
  assert(collector.tick());
  assertEquals(state.collected, [[60, 10]]);
  assertEquals(collector.collections, 1);
  assert(!collector.tick(), "nothing grew since");
  state.heap = 25 * MIB; // 15 MiB more: under the growth that is worth a collection
  assert(!collector.tick());
  state.heap = 27 * MIB;
  assert(collector.tick());
  assertEquals(collector.collections, 2);
});

Deno.test("IdleCollector: never while requests keep coming", () => {
  const { state, collector } = pretend(10);
  state.heap = 80 * MIB;
  for (let tick = 0; tick < 5; tick++) {
    state.work += 500; // a storm under way
    assert(!collector.tick());
  }
  state.work += 19; // it is over: a few stragglers only
  assert(collector.tick());
  assertEquals(state.collected, [[80, 10]]);
});

Deno.test("IdleCollector: growth counts from V8's own collections too", () => {
  const { state, collector } = pretend(100);
  state.heap = 40 * MIB; // V8 collected by itself
  assert(!collector.tick());
  state.heap = 50 * MIB; // 10 MiB above that, though 50 below where it started
  assert(!collector.tick());
  state.heap = 57 * MIB;
  assert(collector.tick());
});

Deno.test("IdleCollector: gives back the pages V8 kept after its own collection, once work was done", () => {
  const { state, collector } = pretend(10);
  state.total = 60 * MIB; // the storm's garbage, collected by V8 itself: used is back at 10
  assert(!collector.tick(), "no work done since the start");
  state.work += 200; // the storm
  assert(!collector.tick(), "not quiet");
  assert(collector.tick(), "quiet now, 50 MiB held beyond what is used");
  assertEquals(state.collected, [[10, 10]]);
  state.total = 30 * MIB; // held again, but nothing was done since
  assert(!collector.tick());
  state.work += 19;
  assert(!collector.tick(), "a few requests are not worth it");
});

Deno.test("IdleCollector: held pages are worth a collection once they are a quarter of the heap", () => {
  const { state, collector } = pretend(100);
  state.heap = 110 * MIB; // 10 MiB grown: under the 16 that are worth a collection
  state.total = 130 * MIB; // 20 MiB held, under a quarter of 110 in use
  state.work += 500;
  assert(!collector.tick(), "not quiet");
  assert(!collector.tick(), "held pages are under a quarter of the heap: not worth a long pause");
  state.total = 140 * MIB;
  state.work += 5;
  assert(collector.tick());
});

Deno.test("IdleCollector: at most one collection in so many ticks, unless the heap grew a lot", () => {
  const state = { heap: 10 * MIB, work: 0 };
  const collector = new IdleCollector({
    work: () => state.work,
    heapUsed: () => state.heap,
    heapTotal: () => state.heap,
    collect: () => state.heap = 10 * MIB,
    growthBytes: 4 * MIB,
    spacingTicks: 3,
    intervalMs: 0,
  });
  state.heap = 16 * MIB;
  assert(collector.tick(), "the first one");
  state.heap = 16 * MIB; // a broadcast's garbage again, right after
  assert(!collector.tick());
  assert(!collector.tick());
  assert(collector.tick(), "three ticks later");
  state.heap = 30 * MIB; // 20 MiB at once: more than four times the growth, no waiting
  assert(collector.tick());
  assertEquals(collector.collections, 3);
});

Deno.test("IdleCollector: without V8's gc() it is off and never collects", () => {
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === "function";
  const collector = new IdleCollector({ work: () => 0, heapUsed: () => 1e12, intervalMs: 0 });
  assertEquals(collector.enabled, hasGc);
  if (!hasGc) assert(!collector.tick());
  collector.stop();
});

Deno.test("IdleCollector: with --expose-gc it frees a real heap's garbage", async () => {
  const module = new URL("../../lib/server/io/idle_collector.ts", import.meta.url).href;
  const script = `
    import { IdleCollector } from ${JSON.stringify(module)};
    const collector = new IdleCollector({ work: () => 0, intervalMs: 0 });
    let kept = [];
    for (let i = 0; i < 400_000; i++) kept.push({ i, text: "x" + i }); // old enough to promote
    for (let round = 0; round < 3; round++) kept = kept.map((o) => ({ ...o })); // and again
    const before = Deno.memoryUsage().heapUsed;
    kept = [];
    const collected = collector.tick();
    const after = Deno.memoryUsage().heapUsed;
    console.log(JSON.stringify({ enabled: collector.enabled, collected, before, after }));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--max-semi-space-size=4,--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert(output.success, stderr);
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals([result.enabled, result.collected], [true, true]);
  assert(result.after < result.before / 2, `heap ${result.before} -> ${result.after}`);
});
