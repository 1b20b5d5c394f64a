/**
 * WebSocket frames as a server reads and writes them (RFC 6455 §5): client frames are masked and
 * checked (reserved bits, opcodes, control-frame rules, sizes) as they are decoded; server frames
 * go out unmasked.
 * @module
 */

import { concatBytes } from "../../../protocol/bytes.ts";

/** Frame opcodes. */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** Close codes a server sends (RFC 6455 §7.4.1). */
export const CloseCode = {
  NORMAL: 1000,
  PROTOCOL_ERROR: 1002,
  INVALID_DATA: 1007,
  TOO_BIG: 1009,
} as const;

/** One decoded frame, its payload unmasked. */
export interface WsFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** A client broke the protocol: the connection is failed with `closeCode`. */
export class WsProtocolError extends Error {
  readonly closeCode: number;

  constructor(closeCode: number, message: string) {
    super(message);
    this.name = "WsProtocolError";
    this.closeCode = closeCode;
  }
}

const KNOWN_OPCODES = new Set<number>(Object.values(Opcode));

/** Decodes the frames of a client's byte stream, whatever pieces it arrives in. */
export class FrameDecoder {
  readonly #maxPayload: number;
  #data: Uint8Array = new Uint8Array(0);
  #offset = 0;

  /** @param maxPayload the largest payload a frame may declare; more fails with 1009 */
  constructor(maxPayload: number) {
    this.#maxPayload = maxPayload;
  }

  /** Whether no bytes of a frame are waiting. */
  get idle(): boolean {
    return this.#data.length === this.#offset;
  }

  /** Adds bytes as read (copied: the caller may reuse its buffer). */
  feed(bytes: Uint8Array): void {
    // Two parts: always a new array, never the caller's.
    this.#data = concatBytes([this.#data.subarray(this.#offset), bytes]);
    this.#offset = 0;
  }

  /**
   * The next complete frame, or `undefined` until more bytes arrive.
   *
   * @throws {WsProtocolError} for a frame no client may send.
   */
  next(): WsFrame | undefined {
    const data = this.#data;
    let at = this.#offset;
    if (data.length - at < 2) return undefined;
    const first = data[at];
    const second = data[at + 1];
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    if ((first & 0x70) !== 0) throw protocolError("reserved bits set (no extension was agreed)");
    if (!KNOWN_OPCODES.has(opcode)) throw protocolError(`unknown opcode ${opcode}`);
    if ((second & 0x80) === 0) throw protocolError("a client's frame must be masked");
    const control = opcode >= Opcode.CLOSE;
    let length = second & 0x7f;
    at += 2;
    if (control && (!fin || length > 125)) {
      throw protocolError("a control frame must be whole and at most 125 bytes");
    }
    if (length === 126) {
      if (data.length - at < 2) return undefined;
      length = (data[at] << 8) | data[at + 1];
      at += 2;
    } else if (length === 127) {
      if (data.length - at < 8) return undefined;
      const view = new DataView(data.buffer, data.byteOffset + at, 8);
      const high = view.getUint32(0);
      length = high === 0 ? view.getUint32(4) : Infinity;
      at += 8;
    }
    if (length > this.#maxPayload) {
      throw new WsProtocolError(
        CloseCode.TOO_BIG,
        `a frame of ${length} bytes is over the limit of ${this.#maxPayload}`,
      );
    }
    if (data.length - at < 4 + length) return undefined;
    const mask = data.subarray(at, at + 4);
    at += 4;
    const payload = new Uint8Array(length);
    for (let i = 0; i < length; i++) payload[i] = data[at + i] ^ mask[i & 3];
    this.#offset = at + length;
    if (this.#offset === data.length) {
      this.#data = new Uint8Array(0);
      this.#offset = 0;
    }
    return { fin, opcode, payload };
  }
}

/** A 1002 failure: the client broke the protocol's framing rules. */
export function protocolError(why: string): WsProtocolError {
  return new WsProtocolError(CloseCode.PROTOCOL_ERROR, `WebSocket protocol error: ${why}`);
}

/** A server's frame: final, unmasked. */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const headerBytes = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = new Uint8Array(headerBytes + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = length;
  else if (length < 65536) {
    frame[1] = 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 127;
    const view = new DataView(frame.buffer, 2, 8);
    view.setUint32(0, Math.floor(length / 2 ** 32));
    view.setUint32(4, length >>> 0);
  }
  frame.set(payload, headerBytes);
  return frame;
}

const encoder = new TextEncoder();

/** A server's text frame. */
export function textFrame(text: string): Uint8Array {
  return encodeFrame(Opcode.TEXT, encoder.encode(text));
}

/** A close frame's payload: the code, then the reason (cut to fit 125 bytes). */
export function closePayload(code: number, reason = ""): Uint8Array {
  const text = encoder.encode(reason).subarray(0, 123);
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return payload;
}

/** Whether a client may send `code` in a close frame (RFC 6455 §7.4). */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}
