/**
 * The UDP socket under {@linkcode PeerSocket}: datagrams out in batches, datagrams in as views of
 * a reused buffer. Two engines implement it: Deno's own `Deno.listenDatagram` (everywhere, one
 * operation per datagram) and, on Linux when the process may load libc, `sendmmsg`/`recvmmsg`
 * through FFI (one system call per batch; `./linux_udp.ts`).
 * @module
 */

import { type DataRun, MAX_DATAGRAM, writeRunDatagram } from "./packet.ts";

/** Where a peer's datagrams come from and go to. */
export interface PeerAddress {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Receives one datagram. `bytes` is a view of a buffer that is reused once the call returns:
 * copy what is kept.
 */
export type DatagramSink = (bytes: Uint8Array, hostname: string, port: number) => void;

/** Which engine moves the datagrams. */
export type TransportEngine = "deno" | "linux";

/** The datagrams a {@linkcode DataRun} describes, built one by one. */
export function runDatagrams(run: DataRun): Uint8Array[] {
  return run.chunks.map((chunk, i) => {
    const out = new Uint8Array(run.head.length + 4 + chunk.length);
    writeRunDatagram(run, i, out, 0, out.length);
    return out;
  });
}

/** A bound UDP socket. */
export interface DatagramTransport {
  readonly engine: TransportEngine;
  /** The bound port. */
  readonly port: number;
  /**
   * Sends `datagrams` to `to`, in order. False when the socket refused (closed, unreachable);
   * datagrams the network then loses are the protocol's business.
   */
  send(to: PeerAddress, datagrams: readonly Uint8Array[]): Promise<boolean>;
  /** Sends the DATA datagrams `run` describes, as {@linkcode send} would (the transfer's hot path). */
  sendRun(to: PeerAddress, run: DataRun): Promise<boolean>;
  /**
   * Times a send found this host's own interface queue full (its datagrams were kept and sent
   * again after a moment): the sender is going faster than the link. 0 where it cannot be told.
   */
  readonly queueFull: number;
  /**
   * Hands every arriving datagram to `sink` until the transport is closed; a datagram longer than
   * {@linkcode MAX_DATAGRAM} arrives cut to `MAX_DATAGRAM + 1` bytes, so the caller can refuse it.
   */
  receive(sink: DatagramSink): Promise<void>;
  /** Closes the socket; `receive` then returns. Idempotent. */
  close(): void;
}

/** `Deno.listenDatagram`: portable, one operation per datagram. */
export class DenoTransport implements DatagramTransport {
  readonly engine = "deno";
  readonly queueFull = 0;
  readonly #conn: Deno.DatagramConn;
  #closed = false;

  constructor(port: number, hostname: string) {
    this.#conn = Deno.listenDatagram({ transport: "udp", hostname, port });
  }

  get port(): number {
    return (this.#conn.addr as Deno.NetAddr).port;
  }

  async send(to: PeerAddress, datagrams: readonly Uint8Array[]): Promise<boolean> {
    if (this.#closed) return false;
    const addr = { transport: "udp" as const, hostname: to.hostname, port: to.port };
    try {
      await Promise.all(datagrams.map((datagram) => this.#conn.send(datagram, addr)));
      return true;
    } catch {
      return false;
    }
  }

  sendRun(to: PeerAddress, run: DataRun): Promise<boolean> {
    return this.send(to, runDatagrams(run));
  }

  async receive(sink: DatagramSink): Promise<void> {
    const buffer = new Uint8Array(MAX_DATAGRAM + 1);
    while (!this.#closed) {
      let datagram: [Uint8Array, Deno.Addr];
      try {
        datagram = await this.#conn.receive(buffer);
      } catch {
        if (this.#closed) return;
        continue; // ICMP unreachable and the like: keep listening
      }
      const from = datagram[1] as Deno.NetAddr;
      sink(datagram[0], from.hostname, from.port);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }
}
