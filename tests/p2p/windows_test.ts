import { assert, assertEquals } from "@std/assert";
import {
  CHUNK_SIZE,
  decodePacket,
  encodePacket,
  PacketType,
  tokenFromHex,
  tokenToHex,
} from "../../lib/p2p/packet.ts";
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
      name: "example1.mp4",
    },
    { type: PacketType.OFFER_ACK, transfer: 7, accepted: true },
    { type: PacketType.DATA, transfer: 7, seq: 42, data: new Uint8Array(CHUNK_SIZE).fill(1) },
    { type: PacketType.ACK, transfer: 7, next: 40, sack: 0b1011n },
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
    new Uint8Array(1500), // oversized
    encodePacket(token, { type: PacketType.CHAT, id: 1, text: "x" }).with(24, 0xff), // invalid UTF-8
  ];
  for (const bytes of bad) assertEquals(decodePacket(bytes), undefined);
  assertEquals(tokenFromHex("xyz"), undefined);
});

Deno.test("ReceiveWindow reorders, drops duplicates and far-ahead chunks, and SACKs", () => {
  const w = new ReceiveWindow(10, 4);
  const chunk = (n: number) => new Uint8Array([n]);
  assertEquals(w.accept(1, chunk(1)), []);
  assertEquals(w.accept(3, chunk(3)), []);
  assertEquals(w.ack(), { next: 0, sack: 0b101n });
  assertEquals(w.accept(9, chunk(9)), [], "too far ahead: dropped");
  assertEquals(w.accept(0, chunk(0)).map((c) => c[0]), [0, 1]);
  assertEquals(w.accept(1, chunk(1)), []);
  assertEquals(w.duplicates, 1);
  assertEquals(w.ack(), { next: 2, sack: 0b1n });
  assertEquals(w.accept(2, chunk(2)).map((c) => c[0]), [2, 3]);
  for (let i = 4; i < 10; i++) w.accept(i, chunk(i));
  assert(w.complete);
  assertEquals(w.accept(42, chunk(0)), []);
});

Deno.test("SendWindow sends within the window, resends on timeout and on SACK holes", () => {
  const w = new SendWindow(100, { initialWindow: 4, minRtoMs: 10 });
  assertEquals(w.due(0), [0, 1, 2, 3]);
  w.markSent(0, 0);
  for (const seq of [1, 2, 3]) w.markSent(seq, 5);
  // 0 is lost; 1, 2 and 3, sent later, arrive: 0 is resent at once, not after a timeout (RACK).
  w.onAck(0, 0b111n, 10);
  const after = w.due(10);
  assertEquals(after[0], 0);
  for (const seq of after) w.markSent(seq, 10);
  assertEquals(w.retransmissions, 1);
  w.onAck(after.at(-1) ?? 0, 0n, 14);
  assert(w.ackedCount >= 4);
  assert((w.srtt ?? 0) >= 4 && (w.srtt ?? 0) <= 5, `srtt ${w.srtt} from samples of 5 and 4 ms`);
  // Chunks reordered by less than the allowance are not taken as lost.
  const x = new SendWindow(10, { initialWindow: 4 });
  x.due(0);
  for (const seq of [0, 1, 2, 3]) x.markSent(seq, 0);
  x.onAck(0, 0b111n, 1);
  assert(!x.due(1.5).includes(0), "no spurious resend of chunk 0");
  // Nothing acked for longer than the RTO: in flight chunks are due again; a second loss backs off.
  const inFlight = w.due(14);
  for (const seq of inFlight) w.markSent(seq, 14);
  const rto = w.rto;
  const resent = w.due(14 + rto);
  assert(resent.length > 0);
  for (const seq of resent) w.markSent(seq, 14 + rto);
  w.due(14 + 2 * rto + 1);
  assert(w.rto >= rto * 2, `backoff after a resend was lost again: ${rto} -> ${w.rto}`);
});

Deno.test("SendWindow completes when every chunk is acknowledged", () => {
  const w = new SendWindow(10, { initialWindow: 16 });
  const seqs = w.due(0);
  assertEquals(seqs.length, 10);
  for (const seq of seqs) w.markSent(seq, 0);
  w.onAck(10, 0n, 1);
  assert(w.done);
  assertEquals(w.due(2), []);
});

Deno.test("SendWindow takes no RTT sample from a retransmitted chunk (Karn)", () => {
  const w = new SendWindow(1, { initialWindow: 1 });
  w.markSent(w.due(0)[0], 0);
  const again = w.due(1000);
  assertEquals(again, [0], "overdue after the initial RTO");
  w.markSent(0, 1000);
  w.onAck(1, 0n, 1001);
  assert(w.done);
  assertEquals(w.srtt, undefined);
});
