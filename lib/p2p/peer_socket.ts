/**
 * The client's UDP socket for peer-to-peer traffic. Datagrams are routed by the token the server
 * handed out; a datagram with an unknown token, from an address other than the introduced peer,
 * malformed or oversized is dropped and counted, never acted on.
 * @module
 */

import {
  datagramToken,
  decodePacket,
  encodePacket,
  MAX_DATAGRAM,
  type Packet,
  sameToken,
  tokenToHex,
} from "./packet.ts";

/** Where a peer's datagrams come from and go to. */
export interface PeerAddress {
  readonly hostname: string;
  readonly port: number;
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
  readonly #conn: Deno.DatagramConn;
  readonly #routes = new Map<string, Route>();
  readonly stats: SocketStats = { received: 0, dropped: 0 };
  readonly #loop: Promise<void>;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  /** The route of the last datagram: a transfer's datagrams come in long runs. */
  #lastRoute: Route | undefined;
  #closed = false;

  /** Binds a UDP port (0: any free one). */
  constructor(port = 0, hostname = "0.0.0.0") {
    this.#conn = Deno.listenDatagram({ transport: "udp", hostname, port });
    this.#loop = this.#receive();
  }

  /** The bound port. */
  get port(): number {
    return (this.#conn.addr as Deno.NetAddr).port;
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

  /** Sends an encoded datagram (the transfer's hot path); false if the socket refused. */
  async sendBytes(peer: PeerAddress, datagram: Uint8Array): Promise<boolean> {
    if (this.#closed) return false;
    try {
      await this.#conn.send(datagram, {
        transport: "udp",
        hostname: peer.hostname,
        port: peer.port,
      });
      return true;
    } catch {
      return false;
    }
  }

  #route(token: Uint8Array): Route | undefined {
    const last = this.#lastRoute;
    if (last && sameToken(last.token, token)) return last;
    const route = this.#routes.get(tokenToHex(token));
    if (route) this.#lastRoute = route;
    return route;
  }

  async #receive(): Promise<void> {
    // One buffer for every datagram: handlers copy what they keep before returning.
    const buffer = new Uint8Array(MAX_DATAGRAM + 1);
    while (!this.#closed) {
      let datagram: [Uint8Array, Deno.Addr];
      try {
        datagram = await this.#conn.receive(buffer);
      } catch {
        if (this.#closed) return;
        continue; // ICMP unreachable and the like: keep listening
      }
      this.stats.received++;
      const [bytes, addr] = datagram;
      const from = addr as Deno.NetAddr;
      const token = datagramToken(bytes);
      const route = token && this.#route(token);
      const decoded = route && route.peer.port === from.port &&
        route.peer.hostname === from.hostname && decodePacket(bytes);
      if (!route || !decoded) {
        this.stats.dropped++;
        continue;
      }
      try {
        route.handler(decoded.packet);
      } catch {
        this.stats.dropped++; // a handler's bug must not stop the socket
      }
    }
  }

  /** Closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#conn.close();
    await this.#loop;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
