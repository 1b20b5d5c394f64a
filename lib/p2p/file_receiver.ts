/**
 * Receiving a file from a peer over UDP: chunks are put back in order, written to a temporary
 * file while hashed, and the file gets its final name only when the whole-file SHA-256 matches.
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { VerifiedFile } from "../fs/verified_file.ts";
import { type Packet, PacketType } from "./packet.ts";
import type { PeerAddress, PeerSocket } from "./peer_socket.ts";
import { ReceiveWindow } from "./receive_window.ts";
import { SEND_SPAN } from "./send_window.ts";
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
  /** Bytes on disk so far, of how many, and the share of chunks that had to be resent (%). */
  readonly onProgress?: (done: number, total: number, lossPercent: number) => void;
  /** Give up when nothing has arrived for this long (default 5 s). */
  readonly deadMs?: number;
  /** Keep answering a repeated FIN this long after finishing (default 2 s). */
  readonly lingerMs?: number;
  /**
   * The sender's user name, to make the transfer resumable: the temporary file gets a name from
   * the sender and the file ({@linkcode resumablePartName}); when it exists, what it holds is kept
   * and the sender is asked to continue after it; when the transfer breaks it is kept for next
   * time. One part is kept per sender: starting another file deletes the sender's older part, so a
   * peer cannot fill the disk with abandoned parts. Without it nothing is kept.
   */
  readonly resumeSender?: string;
}

/** Where a received file was saved. */
export interface ReceiveResult {
  readonly path: string;
  readonly bytes: number;
  /** Bytes that were already there from an earlier, broken transfer. */
  readonly resumedBytes: number;
}

/** Received data is written to disk once this much is ready in order. */
const WRITE_BLOCK = 256 * 1024;
/**
 * Chunks buffered past the first one not yet written (about 12 MiB of 1444-byte chunks): twice
 * the sender's span (send_window.ts), so that while up to a span's worth waits for the disk,
 * everything the sender may have in flight still has a slot. A chunk without one is refused and
 * must be sent again, which a fast link punishes.
 */
const RECEIVE_SPAN = 8192;
/**
 * In-order chunks acknowledged together; a gap, a duplicate or the end is acknowledged at once.
 * Each acknowledgement wakes the sender (a thread's wait on its socket, then its loop): at 64 those
 * wake-ups were a fifth of its CPU at 1 Gbit/s. 128 still leaves five or six in its window there.
 */
const ACK_EVERY = 128;
/** Chunks left unacknowledged are acknowledged after this long. */
const ACK_DELAY_MS = 2;

/** Temporary files of resumable transfers now being received, so two never share one. */
const partsInUse = new Set<string>();

const toHex = (bytes: Uint8Array) =>
  [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

const hexDigest = (...parts: (string | Uint8Array)[]) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex").slice(0, 32);
};

/** The start of every kept part's name from `sender`. */
function partPrefix(sender: string): string {
  return `.labchat-${hexDigest(sender)}-`;
}

/**
 * The hidden name under which a file of `size` bytes and this SHA-256 from `sender` is kept while
 * it arrives, and after it breaks, so that sending the same file again resumes it. Only hex
 * digits: nothing the peer chose reaches the file system.
 */
export function resumablePartName(sender: string, size: number, sha256: Uint8Array): string {
  return `${partPrefix(sender)}${hexDigest(`${size}\0`, sha256)}.part`;
}

/** Deletes `sender`'s kept parts other than `keep` (not those being received). */
async function dropOtherParts(dir: string, sender: string, keep: string): Promise<void> {
  const prefix = partPrefix(sender);
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.name.startsWith(prefix) && entry.name !== keep && !partsInUse.has(path)) {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    }
  }
}

/** Opens the temporary file: the kept part of a broken transfer when there is one. */
async function openPart(
  dir: string,
  offer: Offer,
  sender: string | undefined,
): Promise<{ file: VerifiedFile; firstChunk: number; release: () => void }> {
  const random = async () => ({
    file: await VerifiedFile.create(join(dir, `.${crypto.randomUUID()}.part`)),
    firstChunk: 0,
    release: () => {},
  });
  if (sender === undefined) return await random();
  const partName = resumablePartName(sender, offer.size, offer.sha256);
  const path = join(dir, partName);
  if (partsInUse.has(path)) return await random();
  partsInUse.add(path);
  const release = () => partsInUse.delete(path);
  try {
    await dropOtherParts(dir, sender, partName);
    const info = await Deno.lstat(path).catch(() => undefined);
    if (info?.isFile) {
      const firstChunk = Math.min(
        Math.floor(info.size / offer.chunk),
        Math.floor(offer.size / offer.chunk),
      );
      return {
        file: await VerifiedFile.resume(path, firstChunk * offer.chunk),
        firstChunk,
        release,
      };
    }
    if (info) await Deno.remove(path, { recursive: true }); // not ours to resume from
    return { file: await VerifiedFile.create(path), firstChunk: 0, release };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Accepts `offer` from `peer` and receives the file. Resolves with where it was saved.
 *
 * @throws {TransferError} when the sender vanishes or the file does not match its hash; no
 * partial file is left behind under a real name (a resumable transfer keeps its hidden part).
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
  const part = await openPart(options.dir, offer, options.resumeSender);
  const file = part.file;
  const total = Math.ceil(offer.size / offer.chunk);
  const window = new ReceiveWindow(
    offer.size,
    offer.chunk,
    Math.max(1, Math.min(RECEIVE_SPAN, total)),
    part.firstChunk,
  );
  const resumedBytes = file.size;
  let written = file.size;
  /** The loop writing in-order chunks to disk, while it runs. */
  let writer: Promise<void> | undefined;
  let lastHeard = performance.now();
  let finished: boolean | undefined; // the FIN_ACK answer, once decided
  let finishing = false; // the hash is being checked
  const transfer = offer.transfer;
  const { promise, resolve, reject } = Promise.withResolvers<ReceiveResult>();
  promise.catch(() => {}); // observed by the caller; never unhandled
  const resumable = options.resumeSender !== undefined;
  const keptNote = !resumable
    ? "nothing was kept"
    : "what arrived is kept: send it again to resume";
  const lossPercent = () => window.accepted > 0 ? (100 * window.filled) / window.accepted : 0;

  /**
   * Fails the transfer. A resumable one keeps its part, with every chunk that arrived in order
   * written first (the sender counts them delivered), unless the data itself was bad.
   */
  const fail = async (error: TransferError, flush = true) => {
    if (finished !== undefined) return;
    finished = false;
    if (resumable && error.code !== "hash_mismatch") {
      if (flush) await writeRestForResume();
      file.keep();
    } else {
      await file.abort();
    }
    reject(error);
  };
  const writeRestForResume = async () => {
    await writer; // it stops at the next block: the transfer is decided
    try {
      for (const view of window.takeReady()) await file.write(view);
      window.release();
    } catch {
      // what is on disk stays a valid prefix: the final hash decides anyway
    }
  };
  const ack = () =>
    socket.send(peer, token, { type: PacketType.ACK, transfer, ...window.ack(SEND_SPAN) });

  /** Writes the in-order chunks in blocks of 256 KiB (or whatever is left at the end). */
  const writeReady = (): Promise<void> =>
    writer ??= writeLoop().finally(() => {
      writer = undefined;
    });
  const writeLoop = async () => {
    try {
      while (
        finished === undefined &&
        (window.readyCount * window.chunkSize >= WRITE_BLOCK ||
          (window.complete && window.readyCount > 0))
      ) {
        for (const view of window.takeReady()) {
          await file.write(view);
          written += view.length;
        }
        window.release();
        // The sender waits for room here (see ReceiveWindow.ack): tell it of the room made.
        if (window.heldBack) void ack();
        options.onProgress?.(written, offer.size, lossPercent());
      }
    } catch (error) {
      await socket.send(peer, token, {
        type: PacketType.ABORT,
        transfer,
        reason: "receiver cannot write",
      });
      await fail(new TransferError("aborted", `Cannot write ${offer.name}: ${error}`), false);
    }
  };

  let unacked = 0;
  let lastDuplicateAck = -Infinity;
  const duplicateAckDue = () => {
    const now = performance.now();
    if (now - lastDuplicateAck < 1) return false;
    lastDuplicateAck = now;
    return true;
  };
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  const ackSoon = (urgent: boolean) => {
    unacked++;
    if (urgent || unacked >= ACK_EVERY) {
      clearTimeout(ackTimer);
      ackTimer = undefined;
      unacked = 0;
      void ack();
    } else if (ackTimer === undefined) {
      ackTimer = setTimeout(() => {
        ackTimer = undefined;
        unacked = 0;
        void ack();
      }, ACK_DELAY_MS);
    }
  };

  const finish = async () => {
    if (finishing || finished !== undefined || !window.complete || writer) return;
    if (window.readyCount > 0) return;
    finishing = true;
    const ok = await file.verify({ size: offer.size, sha256: toHex(offer.sha256) });
    finished = ok;
    if (ok) {
      const path = await file.commitNew(options.dir, options.finalName);
      await socket.send(peer, token, { type: PacketType.FIN_ACK, transfer, ok });
      resolve({ path, bytes: offer.size, resumedBytes });
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
  const accepted = {
    type: PacketType.OFFER_ACK,
    transfer,
    accepted: true,
    resumeFrom: part.firstChunk,
  } as const;

  const unregister = socket.register(token, peer, (packet) => {
    if (!("transfer" in packet) || packet.transfer !== transfer) return;
    lastHeard = performance.now();
    switch (packet.type) {
      case PacketType.OFFER:
        void socket.send(peer, token, accepted);
        break;
      case PacketType.DATA: {
        const highest = window.highest;
        const fresh = finished === undefined && window.accept(packet.seq, packet.data);
        if (fresh && window.readyCount * window.chunkSize >= WRITE_BLOCK) {
          void writeReady();
        }
        if (window.complete) void writeReady().then(finish);
        // Acknowledge lazily, but a new gap, the end or a duplicate at once: duplicates at most
        // once a millisecond, since a burst of them (a sender's timer ran out too early) must
        // not turn into a burst of acknowledgements.
        ackSoon(packet.seq > highest + 1 || window.complete || (!fresh && duplicateAckDue()));
        break;
      }
      case PacketType.FIN:
        ackSoon(true);
        if (finished === undefined) void writeReady().then(finish);
        else void socket.send(peer, token, { type: PacketType.FIN_ACK, transfer, ok: finished });
        break;
      case PacketType.ABORT:
        void fail(
          new TransferError(
            "aborted",
            `${options.peerName} stopped sending ${offer.name}: ${packet.reason}; ${keptNote}`,
          ),
        );
        break;
    }
  });

  await socket.send(peer, token, accepted);
  const watchdog = setInterval(() => {
    if (finished === undefined && performance.now() - lastHeard > deadMs) {
      void fail(
        new TransferError(
          "peer_gone",
          `${options.peerName} stopped sending ${offer.name}; ${keptNote}`,
        ),
      );
    }
  }, Math.min(1000, Math.max(20, deadMs / 4)));
  try {
    return await promise;
  } finally {
    clearInterval(watchdog);
    clearTimeout(ackTimer);
    part.release();
    // Linger so a FIN_ACK lost on the way can be asked for again, then forget the token.
    const linger = options.lingerMs ?? 2000;
    if (linger > 0 && finished !== undefined) {
      socket.later(unregister, linger);
    } else {
      unregister();
    }
  }
}
