/**
 * A way to let Deno's event loop poll the sockets in the middle of a long run of writes.
 *
 * A socket write that the kernel takes at once completes at once: Deno polls an op when it is
 * made, and the `await` after it resumes as a microtask. A fan-out of a thousand such writes is
 * then one long chain of microtasks, and sockets that became readable meanwhile are not noticed
 * until it ends, because only a turn in which the loop waits for events asks the kernel (epoll)
 * which ones are ready. Measured at 500 broadcasts/s to 999 receivers, the loop asked about 50
 * times a second, and a sender's line waited 7-15 ms (p50) before the server read it.
 *
 * {@linkcode SocketPoll.wait} resolves only after such a turn: it starts a read on a UDP socket of
 * its own (nothing to read yet, so the read waits on epoll) and then sends itself one datagram.
 * The read can only complete after the loop has asked the kernel for events, and that same ask
 * reports every other socket that is ready. A timer (`setTimeout(0)`) would do too, but it sleeps
 * until the next millisecond when nothing else is ready; this does not sleep. When the socket
 * cannot be opened (no network permission), the timer is used instead.
 * @module
 */

/** Datagrams not from this poll itself read in one go at most, before its waits resolve anyway. */
const STRANGERS_AT_ONCE = 64;

/** See the module documentation. */
export class SocketPoll {
  #socket: Deno.DatagramConn | undefined;
  #unavailable = false;
  #closed = false;
  /** Datagrams sent so far; each carries its number, so a stale or lost one is told apart. */
  #sent = 0;
  #waiters: { number: number; resolve: () => void }[] = [];
  /** The read loop, while there are waiters. */
  #reading: Promise<void> | undefined;
  /** Waits in a row that began while an earlier one was still waiting for its datagram. */
  #overdue = 0;

  /**
   * Resolves after a turn of the event loop in which it polled the sockets; never rejects. Meant
   * for one waiter at a time (the write gate), who may give up on a wait and ask again.
   * A wait resolves when its own datagram (or a later one) comes back: one lost on the way holds
   * its wait until the next wait's datagram, and ones left over from earlier are read and passed.
   */
  wait(): Promise<void> {
    // The gate asks again only once the last turn came or it gave up on it. Given up three times
    // in a row, datagrams are being dropped here (a firewall on loopback?): use the timer.
    if (this.#waiters.length > 0 && ++this.#overdue >= 3) this.close();
    const socket = this.#open();
    if (!socket) return new Promise((resolve) => setTimeout(resolve, 0));
    const number = ++this.#sent;
    const done = new Promise<void>((resolve) => this.#waiters.push({ number, resolve }));
    // The read first: it finds nothing and waits on epoll; the datagram sent next wakes it.
    this.#reading ??= this.#read(socket);
    const datagram = new Uint8Array(4);
    new DataView(datagram.buffer).setUint32(0, number);
    socket.send(datagram, socket.addr).catch(() => this.close());
    return done;
  }

  /** Closes the socket; waits under way resolve, and later ones use a timer. */
  close(): void {
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = undefined;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }

  /** Reads datagrams while there are waiters, resolving those whose datagram came back. */
  async #read(socket: Deno.DatagramConn): Promise<void> {
    const own = socket.addr as Deno.NetAddr;
    let strangers = 0;
    try {
      while (this.#waiters.length > 0) {
        const [data, from] = await socket.receive(new Uint8Array(8));
        const fromHere = (from as Deno.NetAddr).port === own.port && data.length === 4;
        if (!fromHere && ++strangers < STRANGERS_AT_ONCE) continue;
        const number = fromHere ? new DataView(data.buffer).getUint32(0) : Infinity;
        strangers = 0;
        if (fromHere) this.#overdue = 0;
        while (this.#waiters.length > 0 && this.#waiters[0].number <= number) {
          this.#waiters.shift()?.resolve();
        }
      }
    } catch {
      // closed: whoever waits goes on
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    } finally {
      this.#reading = undefined;
    }
  }

  #open(): Deno.DatagramConn | undefined {
    if (this.#socket || this.#unavailable || this.#closed) return this.#socket;
    // Asked first, so that a server run with narrower network permission never prompts for it.
    if (Deno.permissions.querySync({ name: "net", host: "127.0.0.1" }).state !== "granted") {
      this.#unavailable = true;
      return undefined;
    }
    try {
      this.#socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    } catch {
      this.#unavailable = true;
    }
    return this.#socket;
  }
}
