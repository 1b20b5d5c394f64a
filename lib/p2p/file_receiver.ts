/**
 * Receiving a file from a peer over UDP: chunks are put back in order, written to a temporary
 * file while hashed, and the file gets its final name only when the whole-file SHA-256 matches.
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
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
  /** Chooses the final file name in `dir` once the file is complete and verified. */
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
  const partPath = join(options.dir, `.${crypto.randomUUID()}.part`);
  const file = await Deno.open(partPath, { write: true, createNew: true });
  const hash = createHash("sha256");
  const window = new ReceiveWindow(Math.ceil(offer.size / CHUNK_SIZE));
  const queue: Uint8Array[] = [];
  let written = 0;
  let writing = false;
  let lastHeard = performance.now();
  let finished: boolean | undefined; // the FIN_ACK answer, once decided
  let fileClosed = false;
  const transfer = offer.transfer;
  const { promise, resolve, reject } = Promise.withResolvers<ReceiveResult>();
  promise.catch(() => {}); // observed by the caller; never unhandled

  const closeFile = () => {
    if (!fileClosed) {
      fileClosed = true;
      file.close();
    }
  };
  const fail = async (error: TransferError) => {
    if (finished !== undefined) return;
    finished = false;
    closeFile();
    await Deno.remove(partPath).catch(() => {});
    reject(error);
  };
  const ack = () => socket.send(peer, token, { type: PacketType.ACK, transfer, ...window.ack() });

  const writeQueued = async () => {
    if (writing) return;
    writing = true;
    try {
      while (queue.length > 0 && finished === undefined) {
        const chunk = queue.shift() ?? new Uint8Array();
        hash.update(chunk);
        let offset = 0;
        while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
        written += chunk.length;
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

  const finish = async () => {
    if (finished !== undefined || !window.complete || writing || queue.length > 0) return;
    const ok = toHex(offer.sha256) === hash.digest("hex");
    finished = ok;
    closeFile();
    if (ok) {
      const path = join(options.dir, await options.finalName());
      await Deno.rename(partPath, path);
      await socket.send(peer, token, { type: PacketType.FIN_ACK, transfer, ok });
      resolve({ path, bytes: offer.size });
    } else {
      await Deno.remove(partPath).catch(() => {});
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
      case PacketType.DATA:
        if (finished === undefined && queue.length < MAX_WRITE_QUEUE) {
          queue.push(...window.accept(packet.seq, packet.data));
          void writeQueued().then(finish);
        }
        void ack();
        break;
      case PacketType.FIN:
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
    // Linger so a FIN_ACK lost on the way can be asked for again, then forget the token.
    const linger = options.lingerMs ?? 2000;
    if (linger > 0 && finished !== undefined) {
      socket.later(unregister, linger);
    } else {
      unregister();
    }
  }
}
