import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  FlushScheduler,
  Outbound,
  type Writable,
  WriteStalledError,
} from "../../lib/server/io/outbound.ts";

/** A sink whose writes complete when the test says. */
class Sink implements Writable {
  readonly written: Uint8Array[] = [];
  #gate = Promise.withResolvers<void>();
  blocked = false;

  async write(bytes: Uint8Array): Promise<number> {
    if (this.blocked) await this.#gate.promise;
    this.written.push(bytes.slice());
    return bytes.length;
  }

  release(): void {
    this.blocked = false;
    this.#gate.resolve();
    this.#gate = Promise.withResolvers<void>();
  }

  text(): string {
    return this.written.map((b) => new TextDecoder().decode(b)).join("");
  }
}

const bytes = (text: string) => new TextEncoder().encode(text);

/** An owner that is told nothing worth acting on. */
const NO_OWNER = { overflowed: () => {}, failed: () => {} };

Deno.test("Outbound: bytes leave in order, coalesced; overflow is reported once", async () => {
  const sink = new Sink();
  let overflows = 0;
  const out = new Outbound(sink, 10, { overflowed: () => overflows++, failed: () => {} });
  sink.blocked = true;
  assertEquals(out.send(bytes("abc")), true);
  assertEquals(out.send(bytes("defg")), true);
  assertEquals(out.send(bytes("hij")), true);
  sink.release();
  await out.flushed();
  assertEquals(sink.text(), "abcdefghij");
  sink.blocked = true;
  out.send(bytes("12345")); // handed to the socket, which does not take it
  assertEquals(out.send(bytes("0123456789")), true, "queued: exactly the cap");
  assertEquals(out.send(bytes("x")), false, "over the cap: the peer is not reading");
  assertEquals(out.send(bytes("y")), false);
  assertEquals(overflows, 1);
  sink.release();
});

Deno.test("Outbound: a direct stream is not interleaved with events, and stalls are noticed", async () => {
  const sink = new Sink();
  const out = new Outbound(sink, 1024, NO_OWNER, undefined, 50);
  out.send(bytes("[before]"));
  await out.exclusive(async (write) => {
    await write(bytes("<stream"));
    out.send(bytes("[event]")); // waits for the stream to end
    await write(bytes("ing>"));
  });
  await out.flushed();
  assertEquals(sink.text(), "[before]<streaming>[event]");
  sink.blocked = true;
  await assertRejects(
    () => out.exclusive((write) => write(bytes("never read"))),
    WriteStalledError,
  );
  sink.release();
});

Deno.test("Outbound: paced senders wait for room instead of overflowing", async () => {
  const sink = new Sink();
  const out = new Outbound(sink, 16, NO_OWNER);
  sink.blocked = true;
  out.send(bytes("0123456789")); // being written
  out.send(bytes("0123456789")); // waiting
  let passed = false;
  const waiting = out.waitForSpace(8).then(() => passed = true);
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(passed, false);
  sink.release();
  await waiting;
  assert(passed);
});

Deno.test("FlushScheduler: a fan-out's chunks are joined once and written to each; partial writes finish", async () => {
  /** Takes at most `max` bytes a write, keeping the buffers it was given. */
  class PartialSink implements Writable {
    readonly given: Uint8Array[] = [];
    readonly received: number[] = [];
    constructor(readonly max: number) {}
    write(data: Uint8Array): Promise<number> {
      this.given.push(data);
      const n = Math.min(this.max, data.length);
      this.received.push(...data.subarray(0, n));
      return Promise.resolve(n);
    }
  }
  const scheduler = new FlushScheduler(60_000);
  const sinks = [new PartialSink(1000), new PartialSink(1000), new PartialSink(3)];
  const outs = sinks.map((sink) => new Outbound(sink, 1000, NO_OWNER, scheduler));
  const [first, second, own] = [bytes("602 one\n"), bytes("602 two\n"), bytes("200 mine\n")];
  for (const out of outs) out.send(first);
  for (const out of outs) out.send(second);
  outs[2].send(own);
  scheduler.flush();
  await Promise.all(outs.map((out) => out.flushed()));
  assert(sinks[0].given[0] === sinks[1].given[0], "one joined buffer for the same chunks");
  assertEquals(new TextDecoder().decode(sinks[0].given[0]), "602 one\n602 two\n");
  const text = (sink: PartialSink) => new TextDecoder().decode(new Uint8Array(sink.received));
  assertEquals(text(sinks[1]), "602 one\n602 two\n");
  assertEquals(text(sinks[2]), "602 one\n602 two\n200 mine\n", "its own bytes, 3 at a time");
  assert(sinks[2].given.length > 5, "written in parts");
});

Deno.test("FlushScheduler: connections that take the same run of chunks later share one buffer too", async () => {
  const scheduler = new FlushScheduler(60_000);
  const sinks = [new Sink(), new Sink()];
  const given: Uint8Array[][] = [[], []];
  const outs = sinks.map((sink, i) =>
    new Outbound(
      {
        write: (data) => {
          given[i].push(data);
          return sink.write(data);
        },
      },
      1000,
      NO_OWNER,
      scheduler,
    )
  );
  for (const sink of sinks) sink.blocked = true;
  for (const out of outs) out.send(bytes("first\n"));
  scheduler.flush();
  // Both are writing; what comes meanwhile waits, then leaves as one write per connection.
  const [a, b] = [bytes("602 a\n"), bytes("602 b\n")];
  for (const out of outs) out.send(a);
  for (const out of outs) out.send(b);
  for (const sink of sinks) sink.release();
  await Promise.all(outs.map((out) => out.flushed()));
  assertEquals(sinks.map((sink) => sink.text()), [
    "first\n602 a\n602 b\n",
    "first\n602 a\n602 b\n",
  ]);
  assert(given[0][1] === given[1][1], "the run taken after the first write is one buffer");
});

Deno.test("Outbound: a large chunk is written as it is, never copied into a joined write", async () => {
  const writes: Uint8Array[] = [];
  const sink: Writable = {
    write: (chunk) => (writes.push(chunk), Promise.resolve(chunk.length)),
  };
  const scheduler = new FlushScheduler(1);
  const out = new Outbound(sink, 1 << 20, NO_OWNER, scheduler);
  const big = new Uint8Array(20 * 1024).fill(0x41);
  const view = new Uint8Array(40 * 1024).fill(0x42).subarray(1024); // a cut of a shared buffer
  for (const chunk of [bytes("a"), bytes("b"), big, bytes("c"), view, big, bytes("d")]) {
    assertEquals(out.send(chunk), true);
  }
  scheduler.flush();
  await out.flushed();
  // Small chunks still leave together; the large ones leave alone, as the very same buffers.
  assertEquals(writes.map((w) => w.length), [2, 20 * 1024, 1, 39 * 1024, 20 * 1024, 1]);
  assertEquals([writes[1], writes[3], writes[4]], [big, view, big]);
  assert(writes[1] === big && writes[3] === view && writes[4] === big, "not copies");
  scheduler.close();
});

Deno.test("Outbound: bytes sent `now` leave at once; others wait for the scheduler's flush", async () => {
  const scheduler = new FlushScheduler(60_000); // a flush that would come only in a minute
  try {
    const sink = new Sink();
    const out = new Outbound(sink, 1024, NO_OWNER, scheduler);
    out.send(bytes("later"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assertEquals(sink.text(), "", "waits for the flush");
    out.send(bytes(" and now"), true);
    await new Promise((resolve) => setTimeout(resolve, 20)); // not flushed(): that drains too
    assertEquals(sink.text(), "later and now", "in order, and without the flush");
  } finally {
    scheduler.flush(); // clears its timer
    scheduler.close();
  }
});
