import { assert, assertEquals } from "@std/assert";
import {
  CHUNK_SIZE,
  decodePacket,
  encodeData,
  encodePacket,
  MAX_DATAGRAM,
  PacketType,
  tokenFromHex,
  tokenToHex,
} from "../../lib/p2p/packet.ts";
import { retryDelay } from "../../lib/p2p/file_sender.ts";
import { ReceiveWindow } from "../../lib/p2p/receive_window.ts";
import { SendWindow } from "../../lib/p2p/send_window.ts";

const token = tokenFromHex("00112233445566778899aabbccddeeff") ?? new Uint8Array(16);

Deno.test("packets round-trip and malformed datagrams are refused", () => {
  const packets = [
    {
      type: PacketType.OFFER,
      transfer: 7,
      size: 123456789,
      sha256: new Uint8Array(32).fill(9),
      chunk: CHUNK_SIZE,
      name: "example1.mp4",
    },
    { type: PacketType.OFFER_ACK, transfer: 7, accepted: true, resumeFrom: 0 },
    { type: PacketType.OFFER_ACK, transfer: 7, accepted: false, resumeFrom: 0, reason: "too big" },
    { type: PacketType.DATA, transfer: 7, seq: 42, data: new Uint8Array(CHUNK_SIZE).fill(1) },
    { type: PacketType.ACK, transfer: 7, next: 40, received: Uint8Array.from([0b1011, 0, 1]) },
    { type: PacketType.FIN, transfer: 7 },
    { type: PacketType.FIN_ACK, transfer: 7, ok: false },
    { type: PacketType.CHAT, id: 3, text: "hi, hans ✓" },
    { type: PacketType.CHAT_ACK, id: 3 },
    { type: PacketType.BYE },
    { type: PacketType.ABORT, transfer: 7, reason: "cancelled" },
  ] as const;
  for (const packet of packets) {
    const decoded = decodePacket(encodePacket(token, packet));
    assertEquals(decoded?.packet, packet);
    assertEquals(
      tokenToHex(decoded?.token ?? new Uint8Array()),
      "00112233445566778899aabbccddeeff",
    );
  }
  const good = encodePacket(token, { type: PacketType.CHAT_ACK, id: 1 });
  const bad = [
    new Uint8Array(0),
    good.slice(0, 10), // short header
    Uint8Array.from([...good.slice(0, 2), 9, ...good.slice(3)]), // other version
    Uint8Array.from([...good.slice(0, 3), 99, ...good.slice(4)]), // unknown type
    good.slice(0, 22), // short body
    new Uint8Array(1473), // oversized: more than one Ethernet frame's UDP payload
    encodePacket(token, { type: PacketType.CHAT, id: 1, text: "x" }).with(24, 0xff), // invalid UTF-8
  ];
  for (const bytes of bad) assertEquals(decodePacket(bytes), undefined);
  assertEquals(tokenFromHex("xyz"), undefined);
  // A full chunk fills one Ethernet frame exactly: no IP fragmentation.
  assertEquals(encodeData(token, 1, 2, new Uint8Array(CHUNK_SIZE)).length, MAX_DATAGRAM);
  assertEquals(MAX_DATAGRAM, 1500 - 20 - 8);
});

/** Bitmap bytes with the given offsets (bit i: chunk next + 1 + i) set. */
function bits(...offsets: number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil((Math.max(-1, ...offsets) + 1) / 8));
  for (const i of offsets) out[i >> 3] |= 1 << (i & 7);
  return out;
}

Deno.test("ReceiveWindow reorders into its ring, drops duplicates and far-ahead chunks", () => {
  // 10 chunks of 2 bytes, the last one 1 byte; a span of 4 chunks.
  const w = new ReceiveWindow(19, 2, 4);
  const chunk = (n: number) => new Uint8Array([n, n]);
  assert(w.accept(1, chunk(1)));
  assert(w.accept(3, chunk(3)));
  assertEquals(w.ack(), { next: 0, received: bits(0, 2) });
  assert(!w.accept(4, chunk(4)), "past the span: dropped");
  assert(!w.accept(2, new Uint8Array(3)), "wrong length: dropped");
  assert(w.accept(0, chunk(0)));
  assert(!w.accept(1, chunk(1)));
  assertEquals(w.duplicates, 1);
  assertEquals(w.ack(), { next: 2, received: bits(0) });
  assertEquals(w.readyCount, 2);
  assertEquals(w.takeReady(), [Uint8Array.from([0, 0, 1, 1])]);
  assert(!w.accept(4, chunk(4)), "slots not yet released stay pinned");
  w.release();
  assert(w.accept(2, chunk(2)));
  assertEquals(w.filled, 2, "0 and 2 filled holes");
  for (let i = 4; i < 9; i++) {
    assert(w.accept(i, chunk(i)), `chunk ${i}`);
    if (w.readyCount >= 3) {
      w.takeReady();
      w.release();
    }
  }
  assert(w.accept(9, new Uint8Array([9])));
  assert(w.complete);
  const rest = w.takeReady().flatMap((v) => [...v]);
  assertEquals(rest.at(-1), 9);
  assert(!w.accept(42, chunk(0)));
});

Deno.test("ReceiveWindow with every slot full stops at the ring's end (no stale lap)", () => {
  // 10 chunks of 2 bytes, a span of 4: chunk 0 arrives last and fills the ring. The slot after
  // chunk 3 is chunk 0's, still full: taking it for chunk 4 would write chunk 0's bytes again.
  const w = new ReceiveWindow(20, 2, 4);
  const chunk = (n: number) => new Uint8Array([n, n]);
  for (const seq of [1, 2, 3, 0]) assert(w.accept(seq, chunk(seq)));
  assertEquals(w.next, 4);
  assertEquals(w.readyCount, 4);
  assert(!w.accept(4, chunk(4)), "no slot for chunk 4 until the ring is written");
  assertEquals(w.takeReady(), [Uint8Array.from([0, 0, 1, 1, 2, 2, 3, 3])]);
  w.release();
  assert(w.accept(4, chunk(4)));
  assertEquals(w.next, 5);
  assertEquals(w.takeReady(), [Uint8Array.from([4, 4])]);
});

Deno.test("ReceiveWindow holds its acknowledgement back while the disk lags (flow control)", () => {
  // 20 chunks of 1 byte, a ring of 8, a sender that goes up to 4 past what it is told.
  const w = new ReceiveWindow(20, 1, 8);
  const chunk = new Uint8Array(1);
  for (let seq = 0; seq < 6; seq++) assert(w.accept(seq, chunk));
  assertEquals(w.ack(4).next, 4, "4 told: the sender may go up to chunk 7, the ring's last slot");
  assert(w.heldBack);
  assert(w.accept(7, chunk));
  assertEquals(w.ack(4), { next: 4, received: new Uint8Array(0) }, "no bitmap past the point");
  w.takeReady();
  w.release(); // chunks 0 to 5 written
  assertEquals(w.ack(4), { next: 6, received: Uint8Array.from([1]) }, "room again: all told");
  assert(!w.heldBack);
  assertEquals(w.ack().next, 6, "without a sender's span, nothing is held back");
  // A file whose every chunk has a slot needs no flow control.
  const small = new ReceiveWindow(4, 1, 4);
  for (let seq = 0; seq < 4; seq++) assert(small.accept(seq, chunk));
  assertEquals(small.ack(4).next, 4);
});

Deno.test("ReceiveWindow resumes after the chunks already on disk", () => {
  const w = new ReceiveWindow(10, 2, 4, 3);
  assertEquals(w.next, 3);
  assert(!w.accept(1, new Uint8Array(2)));
  assert(w.accept(3, new Uint8Array(2)));
  assertEquals(w.ack(), { next: 4, received: new Uint8Array(0) });
  assert(w.accept(4, new Uint8Array(2)));
  assert(w.complete);
});

Deno.test("SendWindow resends a chunk sent before delivered ones at once (RACK)", () => {
  const w = new SendWindow(100, { minRtoMs: 10 });
  const first = w.due(0, 4);
  assertEquals(first, [0, 1, 2, 3]);
  w.markSent(0, 0);
  for (const seq of [1, 2, 3]) w.markSent(seq, 5);
  // 0 is lost; 1, 2 and 3, sent later, arrive: 0 is resent at once, not after a timeout.
  w.onAck(0, bits(0, 1, 2), 10);
  assertEquals(w.due(10, 1), [0]);
  w.markSent(0, 10);
  assertEquals(w.retransmissions, 1);
  w.onAck(4, new Uint8Array(0), 14);
  assertEquals(w.ackedCount, 4);
  assertEquals(w.base, 4);
  assert((w.srtt ?? 0) >= 5 && (w.srtt ?? 0) <= 5.1, `srtt ${w.srtt} from samples of 5 ms`);
  assertEquals(w.minRtt, 5);
  // Chunks reordered by less than the allowance are not taken as lost.
  const x = new SendWindow(10);
  for (const seq of x.due(0, 4)) x.markSent(seq, seq * 0.001);
  x.onAck(0, bits(0, 1, 2), 1);
  assert(!x.due(1.5, 4).includes(0), "no spurious resend of chunk 0");
});

Deno.test("SendWindow counts what is left to send: new chunks and ones found lost", () => {
  const w = new SendWindow(10, { minRtoMs: 10 });
  assertEquals(w.pending, 10);
  for (const seq of w.due(0, 4)) w.markSent(seq, seq === 0 ? 0 : 5);
  assertEquals(w.pending, 6, "four in flight");
  w.onAck(0, bits(0, 1, 2), 10); // 0 lost: 1, 2 and 3, sent after it, arrived
  assertEquals(w.pending, 7, "the lost one is to be sent again");
  for (const seq of w.due(10, 10)) w.markSent(seq, 10);
  assertEquals(w.pending, 0);
});

Deno.test("SendWindow resends the oldest chunk on timeout, then backs off and restarts the timer", () => {
  const w = new SendWindow(10, { minRtoMs: 10 });
  for (const seq of w.due(0, 2)) w.markSent(seq, 0);
  const rto = w.rto;
  assertEquals(w.due(rto - 1, 0), [], "not before the timer");
  assertEquals(w.due(rto, 2).filter((s) => s < 2), [0], "the oldest only");
  w.markSent(0, rto);
  assertEquals(w.rto, 2 * rto, "backed off");
  assertEquals(w.due(3 * rto - 1, 2).filter((s) => s < 2), [], "restarted at the expiry");
  assertEquals(w.due(3 * rto, 2).filter((s) => s < 2), [1]);
  assertEquals(w.rto, 4 * rto, "backed off again");
});

Deno.test("SendWindow: a timeout during a receiver's pause resends one chunk, not the window", () => {
  const w = new SendWindow(1000, { minRtoMs: 10 });
  for (const seq of w.due(0, 100)) w.markSent(seq, 0);
  const rto = w.rto;
  assertEquals(w.due(rto, 0), []);
  assertEquals(w.due(rto, 1), [0]);
  w.markSent(0, rto);
  // The receiver was collecting garbage: what it took meanwhile is acknowledged together.
  w.onAck(100, new Uint8Array(0), rto + 5);
  assertEquals([w.retransmissions, w.base], [1, 100]);
});

Deno.test("SendWindow: chunks really lost with the one a timeout resent are found by RACK", () => {
  const w = new SendWindow(100, { minRtoMs: 10 });
  for (const seq of w.due(0, 4)) w.markSent(seq, 0);
  const rto = w.rto;
  assertEquals(w.due(rto, 1), [0]);
  w.markSent(0, rto);
  w.onAck(1, new Uint8Array(0), rto + 1); // the resent chunk arrived; 1 to 3 never did
  assertEquals(w.due(rto + 1, 3), [1, 2, 3], "at once, not a timer each");
});

Deno.test("SendWindow: random loss does not slow the sender down", () => {
  // Simulate a link of 100 chunks per ms with 1 ms RTT that drops every 20th datagram.
  const w = new SendWindow(200_000);
  const inFlight: { seq: number; arrives: number }[] = [];
  const received = new Set<number>();
  let next = 0;
  let tokens = 0;
  let sentCount = 0;
  for (let now = 0; now < 400 && !w.done; now += 0.1) {
    tokens = Math.min(w.pacingRate * 2, tokens + w.pacingRate * 0.1);
    const link = Math.min(Math.floor(tokens), 10); // the link carries 100 chunks per ms
    for (const seq of w.due(now, link)) {
      w.markSent(seq, now);
      tokens--;
      if (++sentCount % 20 !== 0) inFlight.push({ seq, arrives: now + 1 });
    }
    while (inFlight.length > 0 && inFlight[0].arrives <= now) {
      received.add(inFlight.shift()?.seq ?? -1);
    }
    while (received.has(next)) received.delete(next++);
    const offsets = [...received].map((seq) => seq - next - 1).filter((i) => i < 8192);
    w.onAck(next, bits(...offsets), now);
  }
  const rate = w.ackedCount / 400;
  assert(rate > 80, `delivered ${rate.toFixed(1)} chunks/ms on a 100/ms link at 5% loss`);
  assert(w.bandwidth > 80 && w.bandwidth < 110, `bandwidth estimate ${w.bandwidth}`);
  assertEquals(w.mode, "probe_bw");
});

Deno.test("SendWindow: a full queue on this host lowers the estimate and drains; loss does not", () => {
  // The same link, without loss, until the model is in its probe cycle.
  const w = new SendWindow(200_000);
  const inFlight: { seq: number; arrives: number }[] = [];
  let tokens = 0;
  let now = 0;
  for (; now < 200; now += 0.1) {
    tokens = Math.min(w.pacingRate * 2, tokens + w.pacingRate * 0.1);
    for (const seq of w.due(now, Math.min(Math.floor(tokens), 10))) {
      w.markSent(seq, now);
      tokens--;
      inFlight.push({ seq, arrives: now + 1 });
    }
    let next = -1;
    while (inFlight.length > 0 && inFlight[0].arrives <= now) next = inFlight.shift()?.seq ?? -1;
    if (next >= 0) w.onAck(next + 1, new Uint8Array(0), now);
  }
  assertEquals(w.mode, "probe_bw");
  const before = w.bandwidth;
  w.onQueueFull(now);
  assert(Math.abs(w.bandwidth - before * 0.95) < 1e-9, `${before} -> ${w.bandwidth}`);
  assert(Math.abs(w.pacingRate - 0.75 * w.bandwidth) < 1e-9, "drains the queue it built");
  const fresh = new SendWindow(100);
  fresh.onQueueFull(0); // nothing measured yet: nothing to lower
  assertEquals([fresh.bandwidth, fresh.mode], [0, "startup"]);
});

Deno.test("SendWindow completes when every chunk is acknowledged and ignores unsent ones", () => {
  const w = new SendWindow(10);
  const seqs = w.due(0, 16);
  assertEquals(seqs.length, 10);
  for (const seq of seqs.slice(0, 5)) w.markSent(seq, 0);
  w.onAck(10, new Uint8Array(0), 1);
  assert(!w.done, "an ACK for chunks never sent does not count");
  for (const seq of seqs.slice(5)) w.markSent(seq, 1);
  w.onAck(10, new Uint8Array(0), 2);
  assert(w.done);
  assertEquals(w.due(3, 16), []);
});

Deno.test("SendWindow: a resend delivered before it went out leaves the slot to its successor", () => {
  const w = new SendWindow(200, { maxSpan: 64, minRtoMs: 10 });
  const first = w.due(0, 64);
  assertEquals(first.length, 64);
  w.markSent(0, 0);
  for (const seq of first.slice(1)) w.markSent(seq, 5);
  w.onAck(0, bits(...first.slice(0, 63).map((seq) => seq)), 10);
  assertEquals(w.due(10, 1), [0], "chunk 0 is lost");
  // While the sender reads the file, the original chunk 0 turns up after all.
  w.onAck(64, new Uint8Array(0), 11);
  assertEquals(w.base, 64);
  assert(!w.stillDue(0));
  w.markSent(0, 11); // the caller's late bookkeeping changes nothing
  const next = w.due(12, 64);
  assertEquals(next[0], 64, "chunk 64 takes chunk 0's slot");
  for (const seq of next) w.markSent(seq, 12);
  // Nothing comes back: chunk 64, like the rest, is resent when its timer runs out.
  assert(w.due(12 + w.rto + 1, 64).includes(64), "chunk 64 has a timer");
  assertEquals(w.retransmissions, 0, "the resend of 0 never went out");
});

Deno.test("SendWindow: the timer restarts while acknowledgements deliver", () => {
  const w = new SendWindow(1000, { minRtoMs: 10 });
  const first = w.due(0, 100);
  for (const seq of first) w.markSent(seq, 0);
  const rto = w.rto;
  // A slow receiver (a queue, a pause) still acknowledging in order: no timeout yet.
  w.onAck(10, new Uint8Array(0), rto - 1);
  const rtoAfter = w.rto;
  assertEquals(w.due(rto + 1, 0), [], "nothing is resent while delivery goes on");
  assertEquals(w.retransmissions, 0);
  // Then nothing at all for a whole timer from the last delivery: the oldest in flight goes again.
  assertEquals(w.due(rto - 2 + rtoAfter, 0), []);
  assertEquals(w.due(rto - 1 + rtoAfter, 1), [first[10]]);
});

Deno.test("SendWindow takes no RTT sample from a retransmitted chunk (Karn)", () => {
  const w = new SendWindow(1);
  w.markSent(w.due(0, 1)[0], 0);
  const again = w.due(1000, 1);
  assertEquals(again, [0], "overdue after the initial RTO");
  w.markSent(0, 1000);
  w.onAck(1, new Uint8Array(0), 1001);
  assert(w.done);
  assertEquals(w.srtt, undefined);
});

Deno.test("SendWindow probes a silent tail once, long before the retransmission timer", () => {
  const w = new SendWindow(4);
  for (const seq of w.due(0, 4)) w.markSent(seq, 0);
  w.onAck(1, new Uint8Array(0), 1); // chunk 0 arrives (RTT 1 ms); 1, 2 and 3 are lost
  assertEquals(w.rto, 60);
  // Everything is sent and nothing arrives: the newest chunk in flight goes again after 10 ms.
  assertEquals(w.nextTimeout(1), 10);
  assertEquals(w.due(10.9, 4), [], "not before the probe time");
  assertEquals(w.due(11, 4), [3]);
  w.markSent(3, 11);
  assertEquals(w.due(30, 4), [], "one probe per silence");
  // Its acknowledgement shows 1 and 2 missing: RACK resends them at once.
  w.onAck(1, bits(1), 12);
  assertEquals(w.due(12, 4), [1, 2]);
  assertEquals(w.retransmissions, 1);
  // While new chunks remain to be sent, there is no probe: their ACKs find losses.
  const x = new SendWindow(10);
  for (const seq of x.due(0, 2)) x.markSent(seq, 0);
  assertEquals(x.due(50, 0), []);
  assertEquals(x.nextTimeout(50), 150, "the timer's 200 ms before any RTT sample");
});

Deno.test("a lost OFFER or FIN is asked again after 20 ms, then twice as long up to the cap", () => {
  assertEquals([0, 1, 2, 3, 4, 5, 60].map((n) => retryDelay(n, 250)), [
    20,
    40,
    80,
    160,
    250,
    250,
    250,
  ]);
  assertEquals([0, 3, 4].map((n) => retryDelay(n, 200)), [20, 160, 200]);
});
