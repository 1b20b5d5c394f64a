/**
 * Sending a file to a peer over UDP: offer, windowed data with retransmission, and a final
 * whole-file SHA-256 check by the receiver. The file is read as the window moves, never whole.
 * @module
 */

import { hashFile } from "../fs/hash_file.ts";
import { CHUNK_SIZE, CHUNK_SIZE_IPV6, dataHead, PacketType } from "./packet.ts";
import type { PeerAddress, PeerSocket } from "./peer_socket.ts";
import { LinuxFile } from "./linux_udp.ts";
import { Pacer, QUANTUM_MS } from "./pacer.ts";
import { SendWindow, type SendWindowOptions } from "./send_window.ts";
import { TransferError } from "./transfer_error.ts";
import { Wake } from "./wake.ts";

/** Options of {@linkcode sendFile}. */
export interface SendFileOptions {
  /** Name the receiver is told (the base name of the file by default). */
  readonly name: string;
  /** The peer's user name, for messages. */
  readonly peerName: string;
  /**
   * Bytes the receiver holds in order (what a resume would keep), of how many, and the share of
   * datagrams that were resends (%).
   */
  readonly onProgress?: (done: number, total: number, lossPercent: number) => void;
  /** Give up when the peer has not answered for this long (default 5 s). */
  readonly deadMs?: number;
  readonly window?: SendWindowOptions;
  /** Bytes of file data per datagram (default: the most that fits one Ethernet frame). */
  readonly chunkSize?: number;
  /** The receiver's person is being asked whether to take the file (once, when it starts). */
  readonly onWaiting?: () => void;
  /** The receiver holds the start of the file from a broken transfer: sending resumes there. */
  readonly onResume?: (fromBytes: number, total: number) => void;
  /** Cancels the transfer (the person pressed Ctrl+C): the peer is told, and keeps what came. */
  readonly signal?: AbortSignal;
}

/** What a finished transfer measured. */
export interface SendResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly retransmissions: number;
  /** Bytes the receiver already had from an earlier, broken transfer. */
  readonly resumedBytes: number;
}

/**
 * The first OFFER and FIN are asked again after this long, then twice as long each time up to
 * their maximum: one lost on a LAN (RTT well under a millisecond) must not cost a quarter of a
 * second, a tenth of a 200 MiB transfer.
 */
const FIRST_RETRY_MS = 20;
/** Longest wait between OFFERs (also while the receiver's person decides). */
const OFFER_RETRY_MS = 250;
/** Longest wait between FINs while the receiver's verdict is awaited. */
const FIN_RETRY_MAX_MS = 200;

/** The largest chunk whose datagram fits an Ethernet frame on the way to `hostname`. */
export function chunkSizeFor(hostname: string): number {
  return hostname.includes(":") ? CHUNK_SIZE_IPV6 : CHUNK_SIZE;
}

/** How long to wait after the `attempt`th (from 0) try of an OFFER or a FIN. */
export function retryDelay(attempt: number, maxMs: number): number {
  return Math.min(maxMs, FIRST_RETRY_MS * 2 ** Math.min(attempt, 16));
}

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** A block of the file read at once: chunks `start` to `end` (exclusive), `filled` bytes. */
interface ReadBlock {
  readonly bytes: Uint8Array<ArrayBuffer>;
  start: number;
  end: number;
  filled: number;
}

const NO_BYTES = new Uint8Array(0);

/**
 * The file's chunks from where the transfer starts, read front to back about 256 KiB at a time
 * and kept until the window's base passes them (a chunk in flight may be resent): the blocks are
 * the store of what is in flight, with no entry per chunk. A block whose chunks are all below the
 * base is read into again: a fresh block per read cost more than the read itself (the kernel's
 * zeroed pages and the collector), about a fifth of the sender's CPU. Reads are synchronous: from
 * the page cache 256 KiB takes tens of microseconds, where an asynchronous read's hop to a thread
 * and back cost the sender another tenth of its CPU; a slow disk holds the loop that long.
 */
export class ChunkReader {
  readonly #file: Deno.FsFile;
  readonly #chunk: number;
  readonly #perBlock: number;
  /** Blocks read, oldest first; every one but the last holds `#perBlock` chunks. */
  readonly #blocks: ReadBlock[] = [];
  /** The chunk after the last one read. */
  #next: number;
  #eof = false;

  /** Reads `file` from its current position, whose first chunk is number `firstSeq`. */
  constructor(file: Deno.FsFile, chunk: number, firstSeq: number) {
    this.#file = file;
    this.#chunk = chunk;
    this.#perBlock = Math.ceil(256 * 1024 / chunk);
    this.#next = firstSeq;
  }

  /** Blocks allocated so far (every other read reused one). */
  get blocksAllocated(): number {
    return this.#blocks.length;
  }

  /**
   * Reads on until chunk `seq` is in memory (or the file ends). Chunks below `base` are no longer
   * needed (acknowledged): their block may be read into again.
   */
  readThrough(seq: number, base: number): void {
    while (this.#next <= seq && !this.#eof) this.#readBlock(base);
  }

  /** Chunk `seq` if it is read and its block not yet reused; else empty. */
  chunk(seq: number): Uint8Array {
    const first = this.#blocks[0];
    if (first === undefined || seq < first.start || seq >= this.#next) return NO_BYTES;
    const block = this.#blocks[Math.floor((seq - first.start) / this.#perBlock)];
    const at = (seq - block.start) * this.#chunk;
    return block.bytes.subarray(at, Math.min(at + this.#chunk, block.filled));
  }

  #readBlock(base: number): void {
    const oldest = this.#blocks[0];
    let block: ReadBlock;
    if (oldest !== undefined && oldest.end <= base) {
      block = this.#blocks.shift() as ReadBlock;
    } else {
      block = {
        bytes: new Uint8Array(this.#perBlock * this.#chunk),
        start: 0,
        end: 0,
        filled: 0,
      };
    }
    let filled = 0;
    while (filled < block.bytes.length) {
      const n = this.#file.readSync(block.bytes.subarray(filled));
      if (n === null) {
        this.#eof = true;
        break;
      }
      filled += n;
    }
    block.start = this.#next;
    block.filled = filled;
    block.end = this.#next + Math.ceil(filled / this.#chunk);
    this.#next = block.end;
    this.#blocks.push(block);
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
  const chunk = options.chunkSize ?? chunkSizeFor(peer.hostname);
  const total = Math.ceil(size / chunk);
  // Made once the receiver has said where to start (a resumed transfer starts part way).
  let window: SendWindow | undefined;
  const wake = new Wake();
  let offerAnswer: boolean | undefined;
  let resumeFrom = 0;
  let refusal: string | undefined;
  let finAnswer: boolean | undefined;
  let abortReason: string | undefined;
  let onHold = false;
  let lastHeard = performance.now();
  const onCancel = () => wake.poke();
  options.signal?.addEventListener("abort", onCancel);
  const unregister = socket.register(token, peer, (packet) => {
    if ("transfer" in packet && packet.transfer !== transfer) return;
    lastHeard = performance.now();
    if (packet.type === PacketType.OFFER_ACK) {
      offerAnswer ??= packet.accepted;
      refusal = packet.reason;
      resumeFrom = Math.min(total, packet.resumeFrom);
    } else if (packet.type === PacketType.ACK) {
      window?.onAck(packet.next, packet.received, performance.now());
    } else if (packet.type === PacketType.FIN_ACK) finAnswer = packet.ok;
    else if (packet.type === PacketType.ABORT) abortReason = packet.reason;
    else if (packet.type === PacketType.OFFER_HOLD && offerAnswer === undefined && !onHold) {
      onHold = true; // each hold refreshes lastHeard above: the offer waits for the person
      options.onWaiting?.();
    }
    wake.poke();
  });
  const gone = () =>
    new TransferError(
      "peer_gone",
      `${options.peerName} stopped responding; the transfer was abandoned`,
    );
  /** Bytes in chunk `seq` (the last one may be short). */
  const lengthOf = (seq: number) => Math.min(chunk, size - seq * chunk);
  const changed = () =>
    new TransferError(
      "file_changed",
      `${options.name} changed while it was being sent (its size, or it became unreadable); send it again`,
    );
  const checkAbort = () => {
    if (options.signal?.aborted) {
      throw new TransferError("cancelled", `You cancelled sending ${options.name}`);
    }
    if (abortReason !== undefined) {
      throw new TransferError(
        "aborted",
        `${options.peerName} cancelled the transfer: ${abortReason}`,
      );
    }
  };
  const file = await Deno.open(path, { read: true });
  // With the Linux engine the kernel reads chunks straight into the datagrams (opened after Deno
  // has checked that this path may be read).
  const direct = socket.sendsFromFiles ? LinuxFile.open(path) : undefined;
  const started = performance.now();
  try {
    // Offer until the peer answers.
    for (let attempt = 0; offerAnswer === undefined; attempt++) {
      await socket.send(peer, token, {
        type: PacketType.OFFER,
        transfer,
        size,
        sha256: hexToBytes(sha256),
        chunk,
        name: options.name,
      });
      await wake.wait(onHold ? OFFER_RETRY_MS : retryDelay(attempt, OFFER_RETRY_MS));
      checkAbort();
      if (performance.now() - lastHeard > deadMs && offerAnswer === undefined) throw gone();
    }
    if (!offerAnswer) {
      const why = refusal ? `: ${refusal}` : "";
      throw new TransferError("refused", `${options.peerName} refused ${options.name}${why}`);
    }

    // The receiver may already hold the start of the file from a broken transfer.
    const sending = new SendWindow(total, { ...options.window, firstChunk: resumeFrom });
    window = sending;
    await file.seek(resumeFrom * chunk, Deno.SeekMode.Start);
    const reader = new ChunkReader(file, chunk, resumeFrom);
    const resumedBytes = Math.min(size, resumeFrom * chunk);
    if (resumedBytes > 0) options.onResume?.(resumedBytes, size);
    const lossPercent = () => sending.sent > 0 ? (100 * sending.retransmissions) / sending.sent : 0;
    const head = dataHead(token, transfer);
    const pacer = new Pacer(performance.now());
    while (!sending.done) {
      const now = performance.now();
      const rate = sending.pacingRate;
      const allowed = pacer.allowance(now, rate, sending.pending);
      const batch = allowed > 0 ? sending.due(now, allowed) : [];
      if (batch.length > 0) {
        pacer.spend(batch.length);
        // The whole batch in as few system calls as the socket's engine allows, each datagram
        // built where the socket copies it to, not first in a buffer of its own.
        const queueFull = socket.queueFull;
        // A message carries at most a quantum's worth at the estimated bandwidth, not at the
        // pacing rate (up to 2.9 times it while starting): a shaper whose burst is shorter than
        // a message cuts it apart and drops the pieces it has no room for without a word, where
        // a whole message refused is reported (ENOBUFS) and sent again without counting as lost.
        const perMessage = Math.floor((sending.bandwidth || rate) * QUANTUM_MS);
        const seqs = batch;
        let sent: Promise<boolean>;
        if (direct) {
          // The kernel reads the chunks into the datagrams itself.
          sent = socket.sendFileRun(peer, { head, seqs, file: direct, chunk, size, perMessage });
        } else {
          // New chunks come in order (after resends), so the file is read front to back.
          // Nothing is awaited between `due` and the send: every chunk of the batch is still due.
          reader.readThrough(batch[batch.length - 1], sending.base);
          const chunks = batch.map((seq) => reader.chunk(seq));
          if (chunks.some((bytes, i) => bytes.length !== lengthOf(batch[i]))) throw changed();
          sent = socket.sendRun(peer, { head, seqs, chunks, perMessage });
        }
        const sentAt = performance.now();
        for (const seq of seqs) sending.markSent(seq, sentAt);
        await sent;
        if (direct?.unreadable) throw changed();
        if (socket.queueFull > queueFull) sending.onQueueFull(performance.now());
        options.onProgress?.(
          Math.min(size, sending.base * chunk),
          size,
          lossPercent(),
        );
      }
      checkAbort();
      if (performance.now() - lastHeard > deadMs) throw gone();
      if (batch.length > 0 && !sending.windowLimited) continue;
      // Wait for an ACK (it pokes), the next quantum of pacing tokens, or the oldest chunk's
      // timer. With a quantum in hand and nothing due (all sent, the tail in flight), only an
      // ACK or a timer can make something due: waiting for tokens would spin.
      const nothingDue = sending.windowLimited || (allowed > 0 && batch.length === 0);
      const untilQuantum = nothingDue ? Infinity : pacer.untilQuantum(rate);
      await wake.wait(Math.min(untilQuantum, sending.nextTimeout(performance.now())));
    }
    // Finish: the receiver checks the whole file's hash.
    for (let attempt = 0; finAnswer === undefined; attempt++) {
      await socket.send(peer, token, { type: PacketType.FIN, transfer });
      // At most FIN_RETRY_MAX_MS apart, to fall inside the receiver's linger even when a loaded
      // machine has pushed the RTO up to seconds (a lost FIN_ACK then cost the whole transfer).
      await wake.wait(retryDelay(attempt, FIN_RETRY_MAX_MS));
      checkAbort();
      if (performance.now() - lastHeard > deadMs && finAnswer === undefined) throw gone();
    }
    if (!finAnswer) {
      throw new TransferError(
        "hash_mismatch",
        `${options.peerName} received ${options.name} damaged; nothing was kept`,
      );
    }
    options.onProgress?.(size, size, lossPercent());
    return {
      bytes: size,
      seconds: (performance.now() - started) / 1000,
      retransmissions: sending.retransmissions,
      resumedBytes,
    };
  } catch (error) {
    if (!(error instanceof TransferError) || error.code !== "aborted") {
      await socket.send(peer, token, {
        type: PacketType.ABORT,
        transfer,
        reason: error instanceof TransferError && error.code === "cancelled"
          ? "the sender cancelled it"
          : "sender stopped",
      });
    }
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onCancel);
    wake.stop();
    file.close();
    direct?.close();
    unregister();
  }
}
