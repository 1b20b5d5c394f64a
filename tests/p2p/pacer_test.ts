import { assertAlmostEquals, assertEquals } from "@std/assert";
import { BURST_MS, Pacer, QUANTUM_MS } from "../../lib/p2p/pacer.ts";

const RATE = 10; // chunks per millisecond

Deno.test("the pacer lets chunks out a quantum at a time, not as each token accrues", () => {
  const pacer = new Pacer(0);
  const quantum = RATE * QUANTUM_MS;
  assertEquals(pacer.allowance(0.3, RATE, 1000), 0, "3 tokens: less than a quantum");
  assertAlmostEquals(pacer.untilQuantum(RATE), QUANTUM_MS - 0.3, 1e-9);
  assertEquals(pacer.allowance(QUANTUM_MS, RATE, 1000), quantum);
  pacer.spend(quantum);
  assertEquals(pacer.allowance(QUANTUM_MS + 0.5, RATE, 1000), 0, "half a quantum since");
  assertAlmostEquals(pacer.untilQuantum(RATE), 0.5, 1e-9);
  assertEquals(pacer.allowance(2 * QUANTUM_MS, RATE, 1000), quantum);
});

Deno.test("the last chunks of a transfer do not wait for a whole quantum", () => {
  const pacer = new Pacer(0);
  assertEquals(pacer.allowance(0.3, RATE, 3), 3);
  assertEquals(pacer.allowance(0.3, RATE, 0), 3, "nothing left: one token is a quantum");
});

Deno.test("a late turn of the send loop finds at most a burst's worth", () => {
  const pacer = new Pacer(0);
  assertEquals(pacer.allowance(100, RATE, 100_000), RATE * BURST_MS);
  pacer.spend(RATE * BURST_MS);
  assertEquals(pacer.allowance(100, RATE, 100_000), 0);
});

Deno.test("at the slowest rates the pacer still lets one chunk out, and holds a few", () => {
  const pacer = new Pacer(0);
  assertEquals(pacer.allowance(5, 0.1, 1000), 0);
  assertAlmostEquals(pacer.untilQuantum(0.1), 5, 1e-9);
  assertEquals(pacer.allowance(10, 0.1, 1000), 1);
  assertEquals(pacer.allowance(1000, 0.1, 1000), 8, "the bucket's floor");
});
