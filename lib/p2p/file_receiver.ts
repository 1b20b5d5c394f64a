/**
 * Receiving a file from a peer over UDP: chunks are put back in order, written to a temporary
 * file while hashed, and the file gets its final name only when the whole-file SHA-256 matches.
 * @module
 */

import { join } from "node:path";
import { VerifiedFile } from "../fs/verified_file.ts";
import { CHUNK_SIZE, type Packet, PacketType } from "./packet.ts";
import type { PeerAddress, PeerSocket } from "./peer_socket.ts";
import { ReceiveWindow } from "./receive_window.ts";
import { TransferError } from "./transfer_error.ts";

/** An offer as it arrived. */
export type Offer = Extract<Packet, { type: typeof PacketType.OFFER }>;

/** Options of {@linkcode receiveFile}. */
export interface ReceiveFileOptions {
  /** Directory the file is saved in (created if needed). */
  readonly dir: string;
  /**
   * Proposes the final file name in `dir` once the file is complete and verified; asked again
   * if that name appears meanwhile (nothing is overwritten).
   */
  readonly finalName: () => Promise<string>;
  /** The sender's user name, for messages. */
  readonly peerName: string;
  readonly onProgress?: (done: number, total: number) => void;
  /** Give up when nothing has arrived for this long (default 5 s). */
  readonly deadMs?: number;
  /** Keep answering a repeated FIN this long after finishing (default 2 s). */
  readonly lingerMs?: number;
}

/** Where a received file was saved. */
export interface ReceiveResult {
  readonly path: string;
  readonly bytes: number;
}

/** Most chunks waiting to be written before new data is dropped (the sender resends it). */
const MAX_WRITE_QUEUE = 2048;
/** Received data is written to disk in blocks of this size. */
const WRITE_BLOCK = 256 * 1024;

const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Accepts `offer` from `peer` and receives the file. Resolves with where it was saved.
 *
 * @throws {TransferError} when the sender vanishes or the file does not match its hash; no
 * partial file is left behind.
 */
export async function receiveFile(
  socket: PeerSocket,
  peer: PeerAddress,
  token: Uint8Array,
  offer: Offer,
  options: ReceiveFileOptions,
): Promise<ReceiveResult> {
  const deadMs = options.deadMs ?? 5000;
  await Deno.mkdir(options.dir, { recursive: true });
  const file = await VerifiedFile.create(join(options.dir, `.${crypto.randomUUID()}.part`));
  const window = new ReceiveWindow(Math.ceil(offer.size / CHUNK_SIZE));
  const queue: Uint8Array[] = [];
  let queuedBytes = 0;
  let written = 0;
  let writing = false;
  let lastHeard = performance.now();
  let finished: boolean | undefined; // the FIN_ACK answer, once decided
  let finishing = false; // the hash is being checked
  const transfer = offer.transfer;
  const { promise, resolve, reject } = Promise.withResolvers<ReceiveResult>();
  promise.catch(() => {}); // observed by the caller; never unhandled

  const fail = async (error: TransferError) => {
    if (finished !== undefined) return;
    finished = false;
    await file.abort();
    reject(error);
  };
  const ack = () => socket.send(peer, token, { type: PacketType.ACK, transfer, ...window.ack() });

  /** Writes queued chunks in blocks of 256 KiB (or whatever is left once all has arrived). */
  const writeQueued = async () => {
    if (writing) return;
    writing = true;
    try {
      while (
        finished === undefined &&
        (queuedBytes >= WRITE_BLOCK || (window.complete && queue.length > 0))
      ) {
        const parts = queue.splice(0, Math.ceil(WRITE_BLOCK / CHUNK_SIZE));
        const block = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const part of parts) {
          block.set(part, at);
          at += part.length;
        }
        queuedBytes -= block.length;
        await file.write(block);
        written += block.length;
        options.onProgress?.(written, offer.size);
      }
    } catch (error) {
      await socket.send(peer, token, {
        type: PacketType.ABORT,
        transfer,
        reason: "receiver cannot write",
      });
      await fail(new TransferError("aborted", `Cannot write ${offer.name}: ${error}`));
    } finally {
      writing = false;
    }
  };

  /** Acknowledges every fourth chunk in order, at once on a gap or at the end, else after 2 ms. */
  let unacked = 0;
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  const ackSoon = (urgent: boolean) => {
    unacked++;
    if (urgent || unacked >= 4) {
      clearTimeout(ackTimer);
      ackTimer = undefined;
      unacked = 0;
      void ack();
    } else if (ackTimer === undefined) {
      ackTimer = setTimeout(() => {
        ackTimer = undefined;
        unacked = 0;
        void ack();
      }, 2);
    }
  };

  const finish = async () => {
    if (finishing || finished !== undefined || !window.complete || writing || queue.length > 0) {
      return;
    }
    finishing = true;
    const ok = await file.verify({ size: offer.size, sha256: toHex(offer.sha256) });
    finished = ok;
    if (ok) {
      const path = await file.commitNew(options.dir, options.finalName);
      await socket.send(peer, token, { type: PacketType.FIN_ACK, transfer, ok });
      resolve({ path, bytes: offer.size });
    } else {
      await socket.send(peer, token, { type: PacketType.FIN_ACK, transfer, ok });
      reject(
        new TransferError(
          "hash_mismatch",
          `${offer.name} from ${options.peerName} arrived damaged; nothing was kept`,
        ),
      );
    }
  };

  const unregister = socket.register(token, peer, (packet) => {
    if (!("transfer" in packet) || packet.transfer !== transfer) return;
    lastHeard = performance.now();
    switch (packet.type) {
      case PacketType.OFFER:
        void socket.send(peer, token, { type: PacketType.OFFER_ACK, transfer, accepted: true });
        break;
      case PacketType.DATA: {
        const before = window.next;
        if (finished === undefined && queue.length < MAX_WRITE_QUEUE) {
          const ready = window.accept(packet.seq, packet.data);
          for (const chunk of ready) queuedBytes += chunk.length;
          queue.push(...ready);
          void writeQueued().then(finish);
        }
        // In order and expected: ack lazily. A gap, a duplicate or the end: ack now.
        const inOrder = packet.seq === before && window.next === before + 1 &&
          window.buffered === 0;
        ackSoon(!inOrder || window.complete);
        break;
      }
      case PacketType.FIN:
        ackSoon(true);
        if (finished === undefined) void writeQueued().then(finish);
        else void socket.send(peer, token, { type: PacketType.FIN_ACK, transfer, ok: finished });
        break;
      case PacketType.ABORT:
        void fail(
          new TransferError(
            "aborted",
            `${options.peerName} stopped sending ${offer.name}: ${packet.reason}; nothing was kept`,
          ),
        );
        break;
    }
  });

  await socket.send(peer, token, { type: PacketType.OFFER_ACK, transfer, accepted: true });
  const watchdog = setInterval(() => {
    if (finished === undefined && performance.now() - lastHeard > deadMs) {
      void fail(
        new TransferError(
          "peer_gone",
          `${options.peerName} stopped sending ${offer.name}; nothing was kept`,
        ),
      );
    }
  }, Math.min(1000, Math.max(20, deadMs / 4)));
  try {
    return await promise;
  } finally {
    clearInterval(watchdog);
    clearTimeout(ackTimer);
    // Linger so a FIN_ACK lost on the way can be asked for again, then forget the token.
    const linger = options.lingerMs ?? 2000;
    if (linger > 0 && finished !== undefined) {
      socket.later(unregister, linger);
    } else {
      unregister();
    }
  }
}
