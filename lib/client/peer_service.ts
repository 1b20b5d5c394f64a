/**
 * A client's peer-to-peer side: asks the server for introductions, sends files and private
 * messages straight to other clients over UDP, and answers the introductions others ask for.
 * Knows no terminal: it reports through {@linkcode PeerServiceEvents}.
 * @module
 */

import { basename } from "node:path";
import { sendFile, type SendFileOptions, type SendResult } from "../p2p/file_sender.ts";
import { type Offer, receiveFile } from "../p2p/file_receiver.ts";
import { PacketType, tokenFromHex } from "../p2p/packet.ts";
import type { PeerAddress, PeerSocket } from "../p2p/peer_socket.ts";
import { PrivateChannel } from "../p2p/private_chat.ts";
import { TransferError } from "../p2p/transfer_error.ts";
import type { ChatEvent } from "../protocol/events.ts";
import { freeBytes } from "../fs/free_space.ts";
import { safeLocalName } from "../protocol/names.ts";
import { formatBytes } from "../protocol/timestamp.ts";
import { parsePeerIntroduction } from "../protocol/replies.ts";
import { formatRequest } from "../protocol/request.ts";
import type { ChatConnection } from "./chat_connection.ts";
import { freeName } from "./transfers.ts";

/** What happens on the peer-to-peer side, for the user interface to show. */
export interface PeerServiceEvents {
  privateMessage(from: string, text: string): void;
  privateEnded(user: string, reason: string): void;
  fileIncoming(from: string, name: string, size: number): void;
  /** An offer was refused before any byte was written. */
  fileRefused(from: string, name: string, size: number, reason: string): void;
  /** `lossPercent`: the share of chunks that had to be sent again. */
  fileProgress(from: string, name: string, done: number, total: number, lossPercent: number): void;
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
  /** Largest file accepted from a peer, in bytes (default 2 GiB). */
  readonly maxReceiveBytes?: number;
  /**
   * Asks whether to take a file offered: true takes it, false refuses it. The sender is kept
   * waiting meanwhile, for up to {@linkcode ASK_TIMEOUT_MS}. Without it every offer within the
   * limits is taken.
   */
  readonly accept?: (from: string, name: string, size: number) => Promise<boolean>;
}

/** How long a person has to answer an offer before it is refused. */
export const ASK_TIMEOUT_MS = 60_000;
/** How often the sender is told to keep waiting while the person decides. */
const HOLD_EVERY_MS = 1000;

/** Default of {@linkcode PeerServiceOptions.maxReceiveBytes}. */
export const DEFAULT_MAX_RECEIVE_BYTES = 2 * 1024 * 1024 * 1024;

/** Space left free on the disk after a received file, so receiving never fills it completely. */
const DISK_MARGIN_BYTES = 64 * 1024 * 1024;

/**
 * The name a received file is saved under: the authenticated sender's user name, an underscore,
 * and the base name of what the peer offered, sanitised (a peer never picks a path or a name
 * that looks like another sender's).
 */
export function receivedFileName(sender: string, offered: string): string {
  return safeLocalName(`${safeLocalName(sender)}_${safeLocalName(offered)}`);
}

/** What a sender may follow of a transfer, and how it cancels one. */
export type SendWatch = Pick<SendFileOptions, "onProgress" | "onWaiting" | "onResume" | "signal">;

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
    const reply = await this.#chat.request(formatRequest("UDP", [String(this.udpPort)]));
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
  async sendFile(user: string, path: string, watch: SendWatch = {}): Promise<SendResult> {
    await Deno.stat(path); // a missing file is reported before anyone is disturbed
    const intro = await this.#introduce(user, "file");
    return await sendFile(this.#socket, intro.peer, intro.token, path, {
      ...watch,
      name: basename(path),
      peerName: user,
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
    const reply = await this.#chat.request(formatRequest("PEER", [user, purpose]));
    if (!reply.ok) throw new TransferError("refused", reply.text);
    const intro = parsePeerIntroduction(reply.text);
    const token = intro && tokenFromHex(intro.token);
    if (!intro || !token) {
      throw new TransferError("refused", `Cannot understand the introduction: ${reply.text}`);
    }
    return { peer: { hostname: intro.host, port: intro.port }, token };
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
    const deadMs = this.#options.deadMs ?? 5000;
    let started = false;
    const stop = this.#socket.register(intro.token, intro.peer, (packet) => {
      if (packet.type !== PacketType.OFFER || started) return;
      started = true;
      stop();
      void this.#receive(from, intro, packet);
    });
    this.#socket.later(() => {
      if (!started) stop();
    }, deadMs * 2);
  }

  /** Why an offer of `size` bytes cannot be taken, or `undefined` when it can. */
  async #refusal(size: number): Promise<string | undefined> {
    const max = this.#options.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES;
    if (size > max) {
      return `larger than the ${formatBytes(max)} the receiver accepts (--max-receive-mb)`;
    }
    await Deno.mkdir(this.#options.downloads, { recursive: true });
    const free = await freeBytes(this.#options.downloads);
    if (free !== undefined && size + DISK_MARGIN_BYTES > free) {
      return `not enough disk space on the receiver (${formatBytes(free)} free)`;
    }
    return undefined;
  }

  async #receive(from: string, intro: Introduction, offer: Offer): Promise<void> {
    const events = this.#options.events;
    const deadMs = this.#options.deadMs ?? 5000;
    const name = offer.name;
    let refusal: string | undefined;
    try {
      refusal = await this.#refusal(offer.size);
    } catch (error) {
      refusal = `the receiver cannot save files (${
        error instanceof Error ? error.message : error
      })`;
    }
    if (refusal === undefined && this.#options.accept) {
      refusal = await this.#ask(from, intro, offer);
    }
    if (refusal !== undefined) {
      await this.#socket.send(intro.peer, intro.token, {
        type: PacketType.OFFER_ACK,
        transfer: offer.transfer,
        accepted: false,
        resumeFrom: 0,
        reason: refusal,
      });
      events.fileRefused(from, name, offer.size, refusal);
      return;
    }
    events.fileIncoming(from, name, offer.size);
    const dir = this.#options.downloads;
    await receiveFile(this.#socket, intro.peer, intro.token, offer, {
      dir,
      finalName: () => freeName(dir, receivedFileName(from, name)),
      peerName: from,
      deadMs,
      resumeSender: from,
      onProgress: (done, total, loss) => events.fileProgress(from, name, done, total, loss),
    }).then(
      (result) => events.fileReceived(from, name, result.path),
      (error) =>
        events.fileFailed(from, name, error instanceof Error ? error.message : String(error)),
    );
  }

  /** Asks the person about an offer, keeping the sender waiting; the refusal, if refused. */
  async #ask(from: string, intro: Introduction, offer: Offer): Promise<string | undefined> {
    const accept = this.#options.accept as NonNullable<PeerServiceOptions["accept"]>;
    const hold = () =>
      void this.#socket.send(intro.peer, intro.token, {
        type: PacketType.OFFER_HOLD,
        transfer: offer.transfer,
      }).catch(() => {});
    hold();
    // Often enough for a sender that gives up after the same dead time as this side's.
    const every = Math.min(HOLD_EVERY_MS, (this.#options.deadMs ?? 5000) / 3);
    const holding = setInterval(hold, every);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ASK_TIMEOUT_MS);
    });
    try {
      const answer = await Promise.race([accept(from, offer.name, offer.size), timeout]);
      if (answer === "timeout") return "the receiver did not answer";
      return answer ? undefined : "the receiver declined it";
    } catch {
      return "the receiver could not be asked";
    } finally {
      clearInterval(holding);
      clearTimeout(timer);
    }
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
