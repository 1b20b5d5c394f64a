/**
 * A client's peer-to-peer side: asks the server for introductions, sends files and private
 * messages straight to other clients over UDP, and answers the introductions others ask for.
 * Knows no terminal: it reports through {@linkcode PeerServiceEvents}.
 * @module
 */

import { basename } from "node:path";
import { sendFile, type SendResult } from "../p2p/file_sender.ts";
import { receiveFile } from "../p2p/file_receiver.ts";
import { PacketType, tokenFromHex } from "../p2p/packet.ts";
import type { PeerAddress, PeerSocket } from "../p2p/peer_socket.ts";
import { PrivateChannel } from "../p2p/private_chat.ts";
import { TransferError } from "../p2p/transfer_error.ts";
import type { ChatEvent } from "../protocol/events.ts";
import { safeLocalName } from "../protocol/file_names.ts";
import type { ChatConnection } from "./chat_connection.ts";
import { freeName } from "./transfers.ts";

/** What happens on the peer-to-peer side, for the user interface to show. */
export interface PeerServiceEvents {
  privateMessage(from: string, text: string): void;
  privateEnded(user: string, reason: string): void;
  fileIncoming(from: string, name: string, size: number): void;
  fileProgress(from: string, name: string, done: number, total: number): void;
  fileReceived(from: string, name: string, path: string): void;
  fileFailed(from: string, name: string, reason: string): void;
}

/** Settings of a {@linkcode PeerService}. */
export interface PeerServiceOptions {
  /** Where received files are saved. */
  readonly downloads: string;
  readonly events: PeerServiceEvents;
  /** Give up on a silent peer after this long (default 5 s). */
  readonly deadMs?: number;
  /** Port to tell the server instead of the socket's own (a test relay in between). */
  readonly advertisedPort?: number;
}

interface Introduction {
  readonly peer: PeerAddress;
  readonly token: Uint8Array;
}

/** Peer-to-peer transfers and private chat for one logged-in client. */
export class PeerService implements AsyncDisposable {
  readonly #chat: ChatConnection;
  readonly #socket: PeerSocket;
  readonly #options: PeerServiceOptions;
  readonly #channels = new Map<string, PrivateChannel>();

  constructor(chat: ChatConnection, socket: PeerSocket, options: PeerServiceOptions) {
    this.#chat = chat;
    this.#socket = socket;
    this.#options = options;
  }

  /** The port reported to the server. */
  get udpPort(): number {
    return this.#options.advertisedPort ?? this.#socket.port;
  }

  /** Tells the server where this client takes UDP traffic (after each login). */
  async reportPort(): Promise<void> {
    const reply = await this.#chat.request(`UDP ${this.udpPort}`);
    if (!reply.ok) throw new Error(reply.text);
  }

  /** Reacts to server events that concern peers; true when the event was about a peer. */
  handleEvent(event: ChatEvent): boolean {
    if (event.type === "logout") {
      this.#channels.get(event.user)?.drop();
      if (this.#channels.delete(event.user)) {
        this.#options.events.privateEnded(event.user, `${event.user} logged out`);
      }
      return false; // still a presence notice to show
    }
    if (event.type !== "peer") return false;
    const token = tokenFromHex(event.token);
    if (!token) return true;
    const peer = { hostname: event.host, port: event.port };
    if (event.purpose === "private") this.#openChannel(event.from, { peer, token });
    else this.#awaitOffer(event.from, { peer, token });
    return true;
  }

  /**
   * Sends a file straight to `user`.
   *
   * @throws {TransferError} when the server refuses the introduction or the transfer fails.
   */
  async sendFile(
    user: string,
    path: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<SendResult> {
    await Deno.stat(path); // a missing file is reported before anyone is disturbed
    const intro = await this.#introduce(user, "file");
    return await sendFile(this.#socket, intro.peer, intro.token, path, {
      name: basename(path),
      peerName: user,
      onProgress,
      deadMs: this.#options.deadMs,
    });
  }

  /** Opens a private chat with `user` (both sides may then write). */
  async startPrivate(user: string): Promise<void> {
    this.#openChannel(user, await this.#introduce(user, "private"));
  }

  /**
   * Sends a private message over an open chat.
   *
   * @throws {TransferError} `not_enabled` without PRIVATE START, or when it cannot be delivered.
   */
  async sendPrivate(user: string, text: string): Promise<void> {
    const channel = this.#channels.get(user);
    if (!channel || channel.isClosed) {
      throw new TransferError("not_enabled", `Error. Private messaging to ${user} not enabled`);
    }
    await channel.send(text);
  }

  /** Ends a private chat, telling the peer. */
  async stopPrivate(user: string): Promise<void> {
    const channel = this.#channels.get(user);
    if (!channel) {
      throw new TransferError("not_enabled", `Error. Private messaging to ${user} not enabled`);
    }
    this.#channels.delete(user);
    await channel.stop();
  }

  async #introduce(user: string, purpose: "file" | "private"): Promise<Introduction> {
    const reply = await this.#chat.request(`PEER ${user} ${purpose}`);
    if (!reply.ok) throw new TransferError("refused", reply.text);
    const [, host, portText, tokenHex] = reply.text.split(" ");
    const token = tokenFromHex(tokenHex ?? "");
    if (!token || !host) {
      throw new TransferError("refused", `Cannot understand the introduction: ${reply.text}`);
    }
    return { peer: { hostname: host, port: Number(portText) }, token };
  }

  #openChannel(user: string, intro: Introduction): void {
    this.#channels.get(user)?.drop();
    const channel = new PrivateChannel(this.#socket, intro.peer, intro.token, user, {
      message: (text) => this.#options.events.privateMessage(user, text),
      closed: () => {
        if (this.#channels.get(user) === channel) this.#channels.delete(user);
        this.#options.events.privateEnded(user, `${user} stopped private messaging`);
      },
    });
    this.#channels.set(user, channel);
  }

  /** Waits (bounded) for the offer that follows a file introduction, then receives it. */
  #awaitOffer(from: string, intro: Introduction): void {
    const events = this.#options.events;
    const deadMs = this.#options.deadMs ?? 5000;
    let started = false;
    const stop = this.#socket.register(intro.token, intro.peer, (packet) => {
      if (packet.type !== PacketType.OFFER || started) return;
      started = true;
      stop();
      const name = packet.name;
      events.fileIncoming(from, name, packet.size);
      receiveFile(this.#socket, intro.peer, intro.token, packet, {
        dir: this.#options.downloads,
        finalName: () => freeName(this.#options.downloads, safeLocalName(`${from}_${name}`)),
        peerName: from,
        deadMs,
        onProgress: (done, total) => events.fileProgress(from, name, done, total),
      }).then(
        (result) => events.fileReceived(from, name, result.path),
        (error) =>
          events.fileFailed(from, name, error instanceof Error ? error.message : String(error)),
      );
    });
    this.#socket.later(() => {
      if (!started) stop();
    }, deadMs * 2);
  }

  /** Says goodbye to every private chat. */
  async close(): Promise<void> {
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    await Promise.all(channels.map((c) => c.stop()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
