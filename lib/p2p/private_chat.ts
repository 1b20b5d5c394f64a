/**
 * Private chat straight between two clients: each message is acknowledged, resent until it is,
 * and shown once even if it arrives twice.
 * @module
 */

import { MAX_CHAT_BYTES, PacketType } from "./packet.ts";
import type { PeerAddress, PeerSocket } from "./peer_socket.ts";
import { TransferError } from "./transfer_error.ts";

/** What a channel tells its owner. */
export interface PrivateChannelEvents {
  message(text: string): void;
  /** The peer said goodbye. */
  closed(): void;
}

const RETRY_MS = 200;
const TRIES = 10;

/** A private conversation with one peer over UDP. */
export class PrivateChannel {
  readonly peerName: string;
  readonly #socket: PeerSocket;
  readonly #peer: PeerAddress;
  readonly #token: Uint8Array;
  readonly #events: PrivateChannelEvents;
  readonly #unregister: () => void;
  readonly #waiting = new Map<number, () => void>();
  readonly #seen = new Set<number>();
  #nextId = 1;
  #closed = false;

  constructor(
    socket: PeerSocket,
    peer: PeerAddress,
    token: Uint8Array,
    peerName: string,
    events: PrivateChannelEvents,
  ) {
    this.#socket = socket;
    this.#peer = peer;
    this.#token = token;
    this.peerName = peerName;
    this.#events = events;
    this.#unregister = socket.register(token, peer, (packet) => {
      if (packet.type === PacketType.CHAT) {
        void socket.send(peer, token, { type: PacketType.CHAT_ACK, id: packet.id });
        if (this.#seen.has(packet.id)) return; // a resend whose ack was lost
        this.#seen.add(packet.id);
        if (this.#seen.size > 1000) this.#seen.delete(this.#seen.values().next().value ?? 0);
        events.message(packet.text);
      } else if (packet.type === PacketType.CHAT_ACK) {
        this.#waiting.get(packet.id)?.();
      } else if (packet.type === PacketType.BYE) {
        this.#close();
        events.closed();
      }
    });
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a message and resolves once the peer has acknowledged it.
   *
   * @throws {TransferError} if it is too long, the channel is closed, or no acknowledgement comes.
   */
  async send(text: string): Promise<void> {
    if (this.#closed) {
      throw new TransferError(
        "not_enabled",
        `Error. Private messaging to ${this.peerName} not enabled`,
      );
    }
    if (new TextEncoder().encode(text).length > MAX_CHAT_BYTES) {
      throw new TransferError("refused", `Private messages are limited to ${MAX_CHAT_BYTES} bytes`);
    }
    const id = this.#nextId++;
    const acked = new Promise<void>((resolve) => this.#waiting.set(id, resolve));
    try {
      for (let i = 0; i < TRIES && !this.#closed; i++) {
        await this.#socket.send(this.#peer, this.#token, { type: PacketType.CHAT, id, text });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<false>((r) => timer = setTimeout(() => r(false), RETRY_MS));
        const done = await Promise.race([acked.then(() => true), timeout]);
        clearTimeout(timer);
        if (done && !this.#closed) return;
      }
      throw new TransferError(
        "peer_gone",
        `Private message to ${this.peerName} could not be delivered`,
      );
    } finally {
      this.#waiting.delete(id);
    }
  }

  /** Ends the conversation, telling the peer. Idempotent. */
  async stop(): Promise<void> {
    if (this.#closed) return;
    await this.#socket.send(this.#peer, this.#token, { type: PacketType.BYE });
    this.#close();
  }

  /** Forgets the conversation without telling the peer (it went offline). */
  drop(): void {
    this.#close();
  }

  #close(): void {
    this.#closed = true;
    this.#unregister();
    for (const resolve of this.#waiting.values()) resolve();
  }
}
