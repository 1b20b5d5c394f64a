/**
 * The peer-to-peer datagram format. Every datagram starts with a magic, a version, a type and
 * the 16-byte token the server handed both peers; anything that does not parse is dropped.
 *
 * ```
 * 0      2   3    4               20
 * | "LC" | 1 | type | token (16)  | body ...
 * ```
 * @module
 */

import { truncateBytes } from "../protocol/names.ts";

/** Datagram types. */
export const PacketType = {
  OFFER: 1,
  OFFER_ACK: 2,
  DATA: 3,
  ACK: 4,
  FIN: 5,
  FIN_ACK: 6,
  CHAT: 7,
  CHAT_ACK: 8,
  BYE: 9,
  ABORT: 10,
  /** The receiver's person is being asked whether to take an offer: keep waiting. */
  OFFER_HOLD: 11,
} as const;

/**
 * Largest datagram sent or accepted: the UDP payload of one 1500-byte Ethernet frame over IPv4
 * (1500 - 20 IP - 8 UDP), so nothing is ever fragmented. Larger datagrams are dropped unread.
 */
export const MAX_DATAGRAM = 1472;
/** Bytes of file data per DATA datagram over IPv4: the largest that fits {@linkcode MAX_DATAGRAM}. */
export const CHUNK_SIZE = MAX_DATAGRAM - 20 - 8;
/** Bytes of file data per DATA datagram over IPv6, whose header is 20 bytes longer. */
export const CHUNK_SIZE_IPV6 = CHUNK_SIZE - 20;
/** Most bytes of received-chunk bitmap an ACK carries (8192 chunks past the cumulative point). */
export const MAX_ACK_BITMAP_BYTES = 1024;
/** Longest private message, in bytes. */
export const MAX_CHAT_BYTES = 1200;

const MAGIC_0 = 0x4c; // L
const MAGIC_1 = 0x43; // C
const VERSION = 2;
const HEADER = 20;
export const TOKEN_BYTES = 16;

/** A decoded datagram. */
export type Packet =
  | {
    readonly type: typeof PacketType.OFFER;
    readonly transfer: number;
    readonly size: number;
    readonly sha256: Uint8Array;
    /** Bytes of file data in every DATA datagram but the last. */
    readonly chunk: number;
    readonly name: string;
  }
  | {
    readonly type: typeof PacketType.OFFER_ACK;
    readonly transfer: number;
    readonly accepted: boolean;
    /** The first chunk the receiver still needs: above 0 when it resumes a broken transfer. */
    readonly resumeFrom: number;
    /** Why an offer was refused (at most 200 bytes). */
    readonly reason?: string;
  }
  | {
    readonly type: typeof PacketType.DATA;
    readonly transfer: number;
    readonly seq: number;
    /** The chunk; when decoded, a view into the receive buffer, valid only until the handler returns. */
    readonly data: Uint8Array;
  }
  | {
    readonly type: typeof PacketType.ACK;
    readonly transfer: number;
    /** Every chunk below this has arrived. */
    readonly next: number;
    /** Bit i (byte i >> 3, bit i & 7) set: chunk next + 1 + i has arrived too. */
    readonly received: Uint8Array;
  }
  | { readonly type: typeof PacketType.FIN; readonly transfer: number }
  | { readonly type: typeof PacketType.FIN_ACK; readonly transfer: number; readonly ok: boolean }
  | { readonly type: typeof PacketType.CHAT; readonly id: number; readonly text: string }
  | { readonly type: typeof PacketType.CHAT_ACK; readonly id: number }
  | { readonly type: typeof PacketType.BYE }
  | { readonly type: typeof PacketType.ABORT; readonly transfer: number; readonly reason: string }
  | { readonly type: typeof PacketType.OFFER_HOLD; readonly transfer: number };

/** A datagram with the token it carried (views into the datagram's bytes, not copies). */
export interface Datagram {
  readonly token: Uint8Array;
  readonly packet: Packet;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Longest reason an ABORT or a refusing OFFER_ACK carries, in bytes. */
const MAX_REASON_BYTES = 200;

/** Encodes a packet with its token. */
export function encodePacket(token: Uint8Array, packet: Packet): Uint8Array {
  if (packet.type === PacketType.DATA) {
    return encodeData(token, packet.transfer, packet.seq, packet.data);
  }
  const body = encodeBody(packet);
  const out = new Uint8Array(HEADER + body.length);
  writeHeader(out, packet.type, token);
  out.set(body, HEADER);
  return out;
}

function writeHeader(out: Uint8Array, type: number, token: Uint8Array): void {
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = VERSION;
  out[3] = type;
  out.set(token.subarray(0, TOKEN_BYTES), 4);
}

/** One DATA datagram built with a single allocation and copy. */
export function encodeData(
  token: Uint8Array,
  transfer: number,
  seq: number,
  data: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEADER + 8 + data.length);
  writeHeader(out, PacketType.DATA, token);
  writeUint32(out, HEADER, transfer);
  writeUint32(out, HEADER + 4, seq);
  out.set(data, HEADER + 8);
  return out;
}

/**
 * DATA datagrams of one transfer, described rather than built: each is `head` (the header and
 * the transfer), its sequence number and its chunk. A socket that copies datagrams into a buffer
 * of its own builds them there, with no allocation and one copy of the data.
 */
export interface DataRun {
  readonly head: Uint8Array;
  readonly seqs: readonly number[];
  readonly chunks: readonly Uint8Array[];
  /**
   * The most datagrams a socket with segmentation offload may send as one message. A shaper on
   * this host (Linux's `tbf`) cuts a message longer than its burst apart as it queues it, and
   * drops the pieces it has no room for without a word; a message no longer than a millisecond of
   * the pacing rate fits any burst set to a millisecond or more.
   */
  readonly perMessage?: number;
}

/** The head every DATA datagram of `transfer` starts with (see {@linkcode DataRun}). */
export function dataHead(token: Uint8Array, transfer: number): Uint8Array {
  const head = new Uint8Array(HEADER + 4);
  writeHeader(head, PacketType.DATA, token);
  writeUint32(head, HEADER, transfer);
  return head;
}

/** Writes datagram `i` of `run` into `out` at `at`, cut to `length` bytes. */
export function writeRunDatagram(
  run: DataRun,
  i: number,
  out: Uint8Array,
  at: number,
  length: number,
): void {
  const head = run.head;
  writeDataHead(head, run.seqs[i], out, at);
  const body = head.length + 4;
  const chunk = run.chunks[i];
  // Whole, as nearly always: a view of a view would be one more object per datagram.
  out.set(chunk.length === length - body ? chunk : chunk.subarray(0, length - body), at + body);
}

/** Writes a DATA datagram's start, `head` and then `seq`, into `out` at `at`. */
export function writeDataHead(head: Uint8Array, seq: number, out: Uint8Array, at: number): void {
  out.set(head, at);
  writeUint32(out, at + head.length, seq);
}

/** Big-endian, like DataView's, without allocating one per datagram. */
function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

/** The token a datagram claims, as a view, when its header is well formed. */
export function datagramToken(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < HEADER || bytes.length > MAX_DATAGRAM) return undefined;
  if (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1 || bytes[2] !== VERSION) return undefined;
  return bytes.subarray(4, HEADER);
}

function encodeBody(packet: Packet): Uint8Array {
  switch (packet.type) {
    case PacketType.OFFER: {
      const name = encoder.encode(packet.name);
      const out = new Uint8Array(4 + 8 + 32 + 2 + 2 + name.length);
      const view = new DataView(out.buffer);
      view.setUint32(0, packet.transfer);
      view.setBigUint64(4, BigInt(packet.size));
      out.set(packet.sha256, 12);
      view.setUint16(44, packet.chunk);
      view.setUint16(46, name.length);
      out.set(name, 48);
      return out;
    }
    case PacketType.OFFER_ACK: {
      const reason = encoder.encode(truncateBytes(packet.reason ?? "", MAX_REASON_BYTES));
      const out = withU32(packet.transfer, 5 + reason.length, (v) => {
        v.setUint8(4, packet.accepted ? 1 : 0);
        v.setUint32(5, packet.resumeFrom);
      });
      out.set(reason, 9);
      return out;
    }
    case PacketType.DATA: {
      const out = new Uint8Array(8 + packet.data.length);
      const view = new DataView(out.buffer);
      view.setUint32(0, packet.transfer);
      view.setUint32(4, packet.seq);
      out.set(packet.data, 8);
      return out;
    }
    case PacketType.ACK: {
      const bitmap = packet.received.subarray(0, MAX_ACK_BITMAP_BYTES);
      const out = withU32(packet.transfer, 4 + bitmap.length, (v) => v.setUint32(4, packet.next));
      out.set(bitmap, 8);
      return out;
    }
    case PacketType.FIN:
    case PacketType.OFFER_HOLD:
      return withU32(packet.transfer, 0, () => {});
    case PacketType.FIN_ACK:
      return withU32(packet.transfer, 1, (v) => v.setUint8(4, packet.ok ? 1 : 0));
    case PacketType.CHAT: {
      const text = encoder.encode(packet.text);
      const out = new Uint8Array(4 + text.length);
      new DataView(out.buffer).setUint32(0, packet.id);
      out.set(text, 4);
      return out;
    }
    case PacketType.CHAT_ACK:
      return withU32(packet.id, 0, () => {});
    case PacketType.BYE:
      return new Uint8Array(0);
    case PacketType.ABORT: {
      const reason = encoder.encode(truncateBytes(packet.reason, MAX_REASON_BYTES));
      const out = new Uint8Array(4 + reason.length);
      new DataView(out.buffer).setUint32(0, packet.transfer);
      out.set(reason, 4);
      return out;
    }
  }
}

function withU32(first: number, extra: number, fill: (view: DataView) => void): Uint8Array {
  const out = new Uint8Array(4 + extra);
  const view = new DataView(out.buffer);
  view.setUint32(0, first);
  fill(view);
  return out;
}

/**
 * Decodes a datagram; `undefined` for anything malformed, oversized, of another version, or
 * with a body that does not fit its type. Never throws.
 */
export function decodePacket(bytes: Uint8Array): Datagram | undefined {
  const token = datagramToken(bytes);
  if (!token) return undefined;
  const body = bytes.subarray(HEADER);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  try {
    const packet = decodeBody(bytes[3], body, view);
    return packet ? { token, packet } : undefined;
  } catch {
    return undefined; // short bodies (RangeError) and invalid UTF-8 (TypeError)
  }
}

function decodeBody(type: number, body: Uint8Array, view: DataView): Packet | undefined {
  switch (type) {
    case PacketType.OFFER: {
      const nameLength = view.getUint16(46);
      if (body.length !== 48 + nameLength) return undefined;
      const size = view.getBigUint64(4);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
      const chunk = view.getUint16(44);
      if (chunk < 1 || chunk > CHUNK_SIZE) return undefined;
      return {
        type,
        transfer: view.getUint32(0),
        size: Number(size),
        sha256: body.slice(12, 44),
        chunk,
        name: decoder.decode(body.subarray(48)),
      };
    }
    case PacketType.OFFER_ACK: {
      if (body.length < 9 || body.length > 9 + MAX_REASON_BYTES) return undefined;
      const answer = {
        type,
        transfer: view.getUint32(0),
        accepted: body[4] === 1,
        resumeFrom: view.getUint32(5),
      };
      return body.length > 9 ? { ...answer, reason: decoder.decode(body.subarray(9)) } : answer;
    }
    case PacketType.DATA:
      if (body.length < 9) return undefined;
      return { type, transfer: view.getUint32(0), seq: view.getUint32(4), data: body.subarray(8) };
    case PacketType.ACK:
      if (body.length < 8 || body.length > 8 + MAX_ACK_BITMAP_BYTES) return undefined;
      return {
        type,
        transfer: view.getUint32(0),
        next: view.getUint32(4),
        received: body.slice(8),
      };
    case PacketType.FIN:
    case PacketType.OFFER_HOLD:
      return body.length === 4 ? { type, transfer: view.getUint32(0) } : undefined;
    case PacketType.FIN_ACK:
      return body.length === 5
        ? { type, transfer: view.getUint32(0), ok: body[4] === 1 }
        : undefined;
    case PacketType.CHAT:
      if (body.length < 4 || body.length > 4 + MAX_CHAT_BYTES) return undefined;
      return { type, id: view.getUint32(0), text: decoder.decode(body.subarray(4)) };
    case PacketType.CHAT_ACK:
      return body.length === 4 ? { type, id: view.getUint32(0) } : undefined;
    case PacketType.BYE:
      return body.length === 0 ? { type } : undefined;
    case PacketType.ABORT:
      return body.length >= 4 && body.length <= 4 + MAX_REASON_BYTES
        ? { type, transfer: view.getUint32(0), reason: decoder.decode(body.subarray(4)) }
        : undefined;
  }
  return undefined;
}

/** Whether two tokens are equal, in time independent of where they differ. */
export function sameToken(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Hex form of a token, as the server sends it. */
export function tokenToHex(token: Uint8Array): string {
  let out = "";
  for (const byte of token) out += HEX[byte];
  return out;
}

/** A token from its hex form; `undefined` if it is not 32 hex digits. */
export function tokenFromHex(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}
