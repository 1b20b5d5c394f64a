/**
 * The client's UDP socket for peer-to-peer traffic. Datagrams are routed by the token the server
 * handed out; a datagram with an unknown token, from an address other than the introduced peer,
 * malformed or oversized is dropped and counted, never acted on.
 * @module
 */

import {
  type DatagramTransport,
  DenoTransport,
  type PeerAddress,
  type TransportEngine,
} from "./datagram_transport.ts";
import { type FileRun, linuxUdpAvailable, LinuxUdpTransport, parseIpv4 } from "./linux_udp.ts";
import {
  datagramToken,
  type DataRun,
  decodePacket,
  encodePacket,
  type Packet,
  sameToken,
  tokenToHex,
} from "./packet.ts";

export type { PeerAddress, TransportEngine };

/** Which engine a {@linkcode PeerSocket} uses: `auto` takes the Linux one where it can. */
export type EngineChoice = TransportEngine | "auto";

/** The transport for `engine` bound to `hostname:port`. */
function openTransport(port: number, hostname: string, engine: EngineChoice): DatagramTransport {
  const linux = engine === "linux" ||
    (engine === "auto" && parseIpv4(hostname) !== undefined && linuxUdpAvailable());
  return linux ? new LinuxUdpTransport(port, hostname) : new DenoTransport(port, hostname);
}

/** Receives the packets of one registered token. */
export type PacketHandler = (packet: Packet) => void;

interface Route {
  readonly token: Uint8Array;
  readonly peer: PeerAddress;
  readonly handler: PacketHandler;
}

/** Counters of what arrived. */
export interface SocketStats {
  received: number;
  dropped: number;
}

/** One UDP socket shared by every transfer and private chat of a client. */
export class PeerSocket implements AsyncDisposable {
  readonly #transport: DatagramTransport;
  readonly #routes = new Map<string, Route>();
  readonly stats: SocketStats = { received: 0, dropped: 0 };
  readonly #loop: Promise<void>;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** The route of the last datagram: a transfer's datagrams come in long runs. */
  #lastRoute: Route | undefined;
  #closed = false;

  /**
   * Binds a UDP port (0: any free one). `engine` picks how datagrams move: `auto` (the default)
   * batches them through libc on Linux when FFI may load it, and uses `Deno.listenDatagram`
   * otherwise.
   */
  constructor(port = 0, hostname = "0.0.0.0", engine: EngineChoice = "auto") {
    this.#transport = openTransport(port, hostname, engine);
    this.#loop = this.#transport.receive((bytes, from, fromPort) =>
      this.#deliver(bytes, from, fromPort)
    );
  }

  /** The bound port. */
  get port(): number {
    return this.#transport.port;
  }

  /** The engine moving this socket's datagrams. */
  get engine(): TransportEngine {
    return this.#transport.engine;
  }

  /** Routes datagrams carrying `token` and coming from `peer` to `handler`; returns an unregister. */
  register(token: Uint8Array, peer: PeerAddress, handler: PacketHandler): () => void {
    const key = tokenToHex(token);
    const route = { token: token.slice(), peer, handler };
    this.#routes.set(key, route);
    this.#lastRoute = undefined;
    return () => {
      if (this.#routes.get(key) === route) this.#routes.delete(key);
      if (this.#lastRoute === route) this.#lastRoute = undefined;
    };
  }

  /** Runs `task` after `ms` unless the socket is closed first. */
  later(task: () => void, ms: number): void {
    if (this.#closed) return task();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      task();
    }, ms);
    this.#timers.add(timer);
  }

  /** Sends a packet; false if the socket refused (closed, unreachable). */
  send(peer: PeerAddress, token: Uint8Array, packet: Packet): Promise<boolean> {
    return this.sendBytes(peer, encodePacket(token, packet));
  }

  /** Sends an encoded datagram; false if the socket refused. */
  sendBytes(peer: PeerAddress, datagram: Uint8Array): Promise<boolean> {
    return this.sendBatch(peer, [datagram]);
  }

  /** Times a send found this host's interface queue full (see DatagramTransport.queueFull). */
  get queueFull(): number {
    return this.#transport.queueFull;
  }

  /** Sends encoded datagrams in order; false if the socket refused. */
  sendBatch(peer: PeerAddress, datagrams: readonly Uint8Array[]): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#transport.send(peer, datagrams);
  }

  /** Sends the DATA datagrams `run` describes (the transfer's hot path); false if refused. */
  sendRun(peer: PeerAddress, run: DataRun): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#transport.sendRun(peer, run);
  }

  /** Whether {@linkcode sendFileRun} may be used: the Linux engine moves this socket's datagrams. */
  get sendsFromFiles(): boolean {
    return this.#transport instanceof LinuxUdpTransport;
  }

  /**
   * Sends DATA datagrams whose chunks the kernel reads from a file straight into the socket's
   * buffer (see LinuxUdpTransport.sendFileRun); false if refused, or where the engine is not Linux.
   */
  sendFileRun(peer: PeerAddress, run: FileRun): Promise<boolean> {
    if (this.#closed || !(this.#transport instanceof LinuxUdpTransport)) {
      return Promise.resolve(false);
    }
    return this.#transport.sendFileRun(peer, run);
  }

  #route(token: Uint8Array): Route | undefined {
    const last = this.#lastRoute;
    if (last && sameToken(last.token, token)) return last;
    const route = this.#routes.get(tokenToHex(token));
    if (route) this.#lastRoute = route;
    return route;
  }

  #deliver(bytes: Uint8Array, hostname: string, port: number): void {
    this.stats.received++;
    const token = datagramToken(bytes);
    const route = token && this.#route(token);
    const decoded = route && route.peer.port === port && route.peer.hostname === hostname &&
      decodePacket(bytes);
    if (!route || !decoded) {
      this.stats.dropped++;
      return;
    }
    try {
      route.handler(decoded.packet);
    } catch {
      this.stats.dropped++; // a handler's bug must not stop the socket
    }
  }

  /** Closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#transport.close();
    await this.#loop;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
