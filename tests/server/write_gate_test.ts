import { assert, assertEquals } from "@std/assert";
import { WriteGate, type WriteTicket } from "../../lib/server/io/write_gate.ts";

/** A place that is not free yet: resolves when it is given. */
function later(gate: WriteGate): Promise<WriteTicket> {
  const place = gate.enter();
  if (!(place instanceof Promise)) throw new Error("expected to wait for a place");
  return place;
}

/** A place that must be free at once. */
function atOnce(gate: WriteGate): WriteTicket {
  const ticket = gate.enter();
  if (ticket instanceof Promise) throw new Error("expected a free place");
  return ticket;
}

Deno.test("WriteGate: at most its places in flight; the rest wait their turn, first come first", async () => {
  const gate = new WriteGate({ slots: 2, stallMs: 60_000 });
  const first = atOnce(gate);
  const second = atOnce(gate);
  const order: string[] = [];
  const third = (gate.enter() as Promise<WriteTicket>).then((t) => (order.push("third"), t));
  const fourth = (gate.enter() as Promise<WriteTicket>).then((t) => (order.push("fourth"), t));
  assertEquals([gate.inFlight, gate.waiting], [2, 2]);
  gate.leave(second);
  gate.leave(first);
  const [t3, t4] = await Promise.all([third, fourth]);
  assertEquals(order, ["third", "fourth"]);
  assertEquals([gate.inFlight, gate.waiting], [2, 0]);
  gate.leave(t3);
  gate.leave(t4);
  assertEquals(gate.inFlight, 0);
  assertEquals(gate.started, 4, "every write that got a place counts as started");
});

Deno.test("WriteGate: writes that stall stop counting, so the others go on", async () => {
  let now = 0;
  const gate = new WriteGate({ slots: 2, stallMs: 30, now: () => now });
  const stuck = [atOnce(gate), atOnce(gate)];
  const waiting = gate.enter();
  assert(waiting instanceof Promise);
  now = 31; // both writes in flight for longer than 30 ms: a timer frees their places
  const ticket = await waiting;
  assertEquals(stuck.map((t) => t.detached), [true, true]);
  assertEquals(gate.inFlight, 1);
  gate.leave(stuck[0]); // the stalled write completes at last: its place was given away already
  assertEquals(gate.inFlight, 1);
  const next = atOnce(gate);
  gate.leave(ticket);
  gate.leave(next);
  assertEquals(gate.inFlight, 0);
});

Deno.test("WriteGate: a place given back twice frees one place, and a write stuck first does not hold the rest", () => {
  let now = 0;
  const gate = new WriteGate({ slots: 2, stallMs: 30, now: () => now });
  const stuck = atOnce(gate);
  const other = atOnce(gate);
  gate.leave(other);
  gate.leave(other);
  assertEquals(gate.inFlight, 1);
  // Writes behind the stuck one come and go; the stuck one keeps its place until it stalls.
  for (let i = 0; i < 3000; i++) gate.leave(atOnce(gate));
  assertEquals(gate.inFlight, 1);
  now = 31;
  const a = atOnce(gate);
  const b = atOnce(gate); // the stuck write stopped counting when the gate was full
  assertEquals([stuck.detached, gate.inFlight], [true, 2]);
  gate.leave(stuck);
  assertEquals(gate.inFlight, 2);
  gate.leave(a);
  gate.leave(b);
  assertEquals(gate.inFlight, 0);
});

Deno.test("WriteGate: after perTurn writes started it waits for a turn of the event loop, then goes on in order", async () => {
  let turns = 0;
  let endTurn = () => {};
  const gate = new WriteGate({
    slots: 10,
    stallMs: 60_000,
    perTurn: 3,
    turn: () => {
      turns++;
      return new Promise<void>((resolve) => endTurn = resolve);
    },
  });
  const first = [atOnce(gate), atOnce(gate), atOnce(gate)];
  // A free place, but three writes started since the last turn: the fourth waits for one.
  const order: number[] = [];
  const fourth = later(gate).then((t) => (order.push(4), t));
  const fifth = later(gate).then((t) => (order.push(5), t));
  for (const ticket of first) gate.leave(ticket);
  assertEquals([turns, gate.inFlight, gate.waiting], [1, 0, 2]);
  endTurn();
  const tickets = await Promise.all([fourth, fifth]);
  assertEquals(order, [4, 5]);
  assertEquals([turns, gate.inFlight], [1, 2]);
  for (const ticket of tickets) gate.leave(ticket);
});

Deno.test("WriteGate: a turn of the event loop that never comes holds the writes for a stall check or two, no longer", async () => {
  let turns = 0;
  const gate = new WriteGate({
    slots: 10,
    stallMs: 30,
    perTurn: 1,
    turn: () => {
      turns++;
      return new Promise<void>(() => {}); // its datagram was lost
    },
  });
  gate.leave(atOnce(gate));
  const next = await later(gate); // given by a stall check once the turn is 30 ms overdue
  assertEquals(turns, 1);
  gate.leave(next);
  assertEquals(gate.inFlight, 0);
});

Deno.test("WriteGate: a write stalled first is let go while the gate is not full, so the writes after it are not all kept", () => {
  let now = 0;
  const gate = new WriteGate({ slots: 4, stallMs: 30, now: () => now });
  const stuck = atOnce(gate);
  now = 31;
  // A trickle of writes, never filling the gate: the stall check still comes round.
  for (let i = 0; i < 100; i++) gate.leave(atOnce(gate));
  assertEquals([stuck.detached, gate.inFlight], [true, 0]);
  gate.leave(stuck);
  assertEquals(gate.inFlight, 0);
});

Deno.test("WriteGate: a turn that comes after the gate gave up on it changes nothing", async () => {
  const late: (() => void)[] = [];
  const gate = new WriteGate({
    slots: 2,
    stallMs: 20,
    perTurn: 1,
    turn: () => new Promise<void>((resolve) => late.push(resolve)),
  });
  gate.leave(atOnce(gate));
  const second = await later(gate); // the first turn never came: given up on
  const third = later(gate); // one write started since: waits for a second turn
  assertEquals(late.length, 2);
  late[0](); // the first turn, at last: it must not let the third in before the second turn
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals([gate.inFlight, gate.waiting], [1, 1]);
  late[1]();
  gate.leave(await third);
  gate.leave(second);
  assertEquals(gate.inFlight, 0);
});
