/**
 * Sending a file to a peer over UDP: offer, windowed data with retransmission, and a final
 * whole-file SHA-256 check by the receiver. The file is read as the window moves, never whole.
 * @module
 */

import { hashFile } from "../fs/hash_file.ts";
import { CHUNK_SIZE, PacketType } from "./packet.ts";
import type { PeerAddress, PeerSocket } from "./peer_socket.ts";
import { SendWindow, type SendWindowOptions } from "./send_window.ts";
import { TransferError } from "./transfer_error.ts";
import { Wake } from "./wake.ts";

/** Options of {@linkcode sendFile}. */
export interface SendFileOptions {
  /** Name the receiver is told (the base name of the file by default). */
  readonly name: string;
  /** The peer's user name, for messages. */
  readonly peerName: string;
  readonly onProgress?: (done: number, total: number) => void;
  /** Give up when the peer has not answered for this long (default 5 s). */
  readonly deadMs?: number;
  readonly window?: SendWindowOptions;
}

/** What a finished transfer measured. */
export interface SendResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly retransmissions: number;
}

const OFFER_RETRY_MS = 250;

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Reads a file front to back in chunk-sized pieces, 64 KiB from disk at a time. */
class ChunkReader {
  readonly #file: Deno.FsFile;
  #block = new Uint8Array(0);
  #offset = 0;
  #eof = false;

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  async next(): Promise<Uint8Array> {
    if (this.#offset >= this.#block.length && !this.#eof) {
      const block = new Uint8Array(CHUNK_SIZE * 54); // about 64 KiB
      let filled = 0;
      while (filled < block.length) {
        const n = await this.#file.read(block.subarray(filled));
        if (n === null) {
          this.#eof = true;
          break;
        }
        filled += n;
      }
      this.#block = block.subarray(0, filled);
      this.#offset = 0;
    }
    const chunk = this.#block.subarray(this.#offset, this.#offset + CHUNK_SIZE);
    this.#offset += chunk.length;
    return chunk;
  }
}

/**
 * Sends `path` to `peer`, authenticated by `token`. Resolves once the receiver has verified the
 * whole file.
 *
 * @throws {TransferError} when the peer refuses, vanishes, or the file arrives damaged.
 */
export async function sendFile(
  socket: PeerSocket,
  peer: PeerAddress,
  token: Uint8Array,
  path: string,
  options: SendFileOptions,
): Promise<SendResult> {
  const deadMs = options.deadMs ?? 5000;
  const { size, sha256 } = await hashFile(path);
  const transfer = crypto.getRandomValues(new Uint32Array(1))[0];
  const window = new SendWindow(Math.ceil(size / CHUNK_SIZE), options.window);
  const wake = new Wake();
  let offerAnswer: boolean | undefined;
  let refusal: string | undefined;
  let finAnswer: boolean | undefined;
  let abortReason: string | undefined;
  let lastHeard = performance.now();
  // Chunks in flight are kept for resending; the rest stays on disk.
  const held = new Map<number, Uint8Array>();
  const release = (seq: number) => held.delete(seq);
  const unregister = socket.register(token, peer, (packet) => {
    if ("transfer" in packet && packet.transfer !== transfer) return;
    lastHeard = performance.now();
    if (packet.type === PacketType.OFFER_ACK) {
      offerAnswer = packet.accepted;
      refusal = packet.reason;
    } else if (packet.type === PacketType.ACK) {
      window.onAck(packet.next, packet.sack, performance.now(), release);
    } else if (packet.type === PacketType.FIN_ACK) finAnswer = packet.ok;
    else if (packet.type === PacketType.ABORT) abortReason = packet.reason;
    wake.poke();
  });
  const gone = () =>
    new TransferError(
      "peer_gone",
      `${options.peerName} stopped responding; the transfer was abandoned`,
    );
  const checkAbort = () => {
    if (abortReason !== undefined) {
      throw new TransferError(
        "aborted",
        `${options.peerName} cancelled the transfer: ${abortReason}`,
      );
    }
  };
  const file = await Deno.open(path, { read: true });
  const started = performance.now();
  try {
    // Offer until the peer answers.
    while (offerAnswer === undefined) {
      await socket.send(peer, token, {
        type: PacketType.OFFER,
        transfer,
        size,
        sha256: hexToBytes(sha256),
        name: options.name,
      });
      await wake.wait(OFFER_RETRY_MS);
      checkAbort();
      if (performance.now() - lastHeard > deadMs && offerAnswer === undefined) throw gone();
    }
    if (!offerAnswer) {
      const why = refusal ? `: ${refusal}` : "";
      throw new TransferError("refused", `${options.peerName} refused ${options.name}${why}`);
    }

    const reader = new ChunkReader(file);
    let read = 0;
    while (!window.done) {
      const batch = window.due(performance.now());
      const sends: Promise<boolean>[] = [];
      for (const seq of batch) {
        // New chunks come in order, so the file is read front to back.
        while (read <= seq) held.set(read++, await reader.next());
        const data = held.get(seq) ?? new Uint8Array();
        sends.push(socket.send(peer, token, { type: PacketType.DATA, transfer, seq, data }));
        window.markSent(seq, performance.now());
      }
      await Promise.all(sends);
      options.onProgress?.(Math.min(size, window.ackedCount * CHUNK_SIZE), size);
      checkAbort();
      if (performance.now() - lastHeard > deadMs) throw gone();
      await wake.wait(window.nextTimeout(performance.now()));
    }

    // Finish: the receiver checks the whole file's hash.
    while (finAnswer === undefined) {
      await socket.send(peer, token, { type: PacketType.FIN, transfer });
      await wake.wait(Math.max(50, window.rto));
      checkAbort();
      if (performance.now() - lastHeard > deadMs && finAnswer === undefined) throw gone();
    }
    if (!finAnswer) {
      throw new TransferError(
        "hash_mismatch",
        `${options.peerName} received ${options.name} damaged; nothing was kept`,
      );
    }
    options.onProgress?.(size, size);
    return {
      bytes: size,
      seconds: (performance.now() - started) / 1000,
      retransmissions: window.retransmissions,
    };
  } catch (error) {
    if (!(error instanceof TransferError) || error.code !== "aborted") {
      await socket.send(peer, token, {
        type: PacketType.ABORT,
        transfer,
        reason: "sender stopped",
      });
    }
    throw error;
  } finally {
    file.close();
    unregister();
  }
}
