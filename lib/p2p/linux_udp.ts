/**
 * A UDP socket driven through libc on Linux: `sendmmsg` sends a batch of datagrams in one system
 * call and `recvmmsg` takes up to {@linkcode BATCH} at once, where `Deno.listenDatagram` needs one
 * operation (and one system call) per datagram. Runs of equal datagrams (a transfer's chunks) go
 * out as one message each with segmentation offload (UDP GSO): the kernel, or the network card,
 * cuts them apart, so the stack is walked once per run instead of once per datagram; where the
 * kernel refuses it, the socket falls back to one message per datagram. Receiving, the socket
 * takes runs the kernel joined (UDP GRO: on loopback and across a veth as they were sent, from a
 * network card that joins them) as one message each, and cuts them apart here. Only IPv4. The
 * socket asks for 16 MiB buffers, which the kernel caps at `net.core.rmem_max`/`wmem_max` (or
 * grants outright to root): a receiver's pause for the disk or the garbage collector must not
 * overflow them at line rate.
 *
 * Waiting is `poll` run off the main thread (a non-blocking FFI call) on the socket and on a pipe
 * that {@linkcode LinuxUdpTransport.close} writes to, so closing never waits for traffic.
 *
 * Everything here reads the kernel's answers only within the buffers it handed over: a datagram's
 * length is capped by its slot, an address is read from its own 16 bytes.
 * @module
 */

import type { DatagramSink, DatagramTransport, PeerAddress } from "./datagram_transport.ts";
import { type DataRun, MAX_DATAGRAM, writeDataHead, writeRunDatagram } from "./packet.ts";

/** Datagrams per system call. */
export const BATCH = 64;

/** Where the C library usually is, on the distributions and architectures labchat runs on. */
const LIBC_PATHS = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/usr/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
  "/usr/lib64/libc.so.6",
  "/usr/lib/libc.so.6",
];

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  preadv: { parameters: ["i32", "buffer", "i32", "i64"], result: "isize" },
  // Waits off the main thread; the socket and the wake-up pipe stay open until it returns.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

// Linux's values (the same on x86_64 and aarch64).
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
const UDP_GRO = 104;
const EINTR = 4;
const EIO = 5;
const EAGAIN = 11;
const EACCES = 13;
const EINVAL = 22;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const ENOBUFS = 105;
const IPPROTO_IP = 0;
const IP_RECVERR = 11;
const MSG_DONTWAIT = 0x40;
const MSG_ERRQUEUE = 0x2000;
/** How long a send waits for a full queue of this host's interface to drain before it retries. */
const FULL_QUEUE_WAIT_MS = 1;
/**
 * Waits in a row for the same message before it is given up as lost (about a second): a queue
 * that never drains must not hold a send, and with it the transfer's checks for a vanished peer
 * and for Ctrl+C, for ever.
 */
const FULL_QUEUE_MAX_WAITS = 500;
const POLLIN = 1;
const POLLOUT = 4;
/** What the socket asks for, each way. */
const SOCKET_BUFFER_BYTES = 16 * 1024 * 1024;

// struct mmsghdr on 64-bit Linux: a 56-byte msghdr, then the length the kernel moved.
const MMSG_SIZE = 64;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_LEN = 56;
/** One `cmsghdr` carrying a 16-bit value: CMSG_SPACE(2) bytes, of which CMSG_LEN(2) are used. */
const CMSG_SPACE_U16 = 24;
const CMSG_LEN_U16 = 18;
/**
 * Segmentation offload (UDP GSO, Linux 4.18+): one message of up to this many equal datagrams,
 * laid end to end, which the kernel (or the network card) cuts apart. The kernel's limits are 64
 * segments and an IP packet's 64 KiB.
 */
const GSO_MAX_SEGMENTS = 64;
const GSO_MAX_BYTES = 65000;
/** Bytes of datagrams one `sendmmsg` may carry. */
const SEND_ARENA = 512 * 1024;
/** At most this many chunks read by one `preadv` (the kernel's IOV_MAX is 1024). */
const READ_IOVECS = 1024;
const O_RDONLY = 0;
const SOCKADDR_IN_SIZE = 16;
const IOVEC_SIZE = 16;
/** Bytes per receive slot: room for one byte past the largest datagram, to spot longer ones. */
const RECEIVE_SLOT = 2048;
/**
 * Bytes per receive slot with receive offload (UDP GRO): a run of datagrams the kernel joined is
 * at most an IP packet's 64 KiB.
 */
const RECEIVE_SLOT_GRO = 65536;
/** Slots per `recvmmsg` with receive offload (each may hold up to 44 datagrams). */
const RECEIVE_BATCH_GRO = 32;
/** One `cmsghdr` carrying a 32-bit value (UDP_GRO's segment size): CMSG_SPACE(4), CMSG_LEN(4). */
const CMSG_SPACE_I32 = 24;
const CMSG_LEN_I32 = 20;

/**
 * The C library, or null when this is not Linux or FFI is not allowed. Deno's pointer functions,
 * which every call here needs, require FFI allowed without a path: a grant for libc's path alone
 * loads the library and then fails at the first pointer, so it counts as no grant.
 */
function loadLibc(): Libc | null {
  if (Deno.build.os !== "linux") return null;
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") return null;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
  for (const path of LIBC_PATHS) {
    try {
      return Deno.dlopen(path, SYMBOLS).symbols;
    } catch {
      // not there: try the next place
    }
  }
  return null;
}

/**
 * Loaded once, when this module is, and for the life of the process: sockets come and go, the
 * library stays (so no test or transfer is charged with loading it).
 */
const libc = loadLibc();

/** Whether {@linkcode LinuxUdpTransport} can run here (Linux, libc found, FFI allowed for it). */
export function linuxUdpAvailable(): boolean {
  return libc !== null;
}

/**
 * `length` bytes that never move: an `ArrayBuffer` made on its own is allocated outside V8's heap,
 * where `new Uint8Array(n)` may put a small one inside it.
 */
function offHeapBytes(length: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(length));
}

function address(bytes: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
}

/** The four bytes of a dotted-quad address, or undefined for anything else. */
export function parseIpv4(hostname: string): number[] | undefined {
  const parts = hostname.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((part) => /^\d{1,3}$/.test(part) ? Number(part) : 256);
  return bytes.every((byte) => byte < 256) ? bytes : undefined;
}

function writeSockaddr(view: DataView, offset: number, ip: readonly number[], port: number): void {
  view.setUint16(offset, AF_INET, true);
  view.setUint16(offset + 2, port, false);
  for (let i = 0; i < 4; i++) view.setUint8(offset + 4 + i, ip[i]);
}

/** What a failed `bind` means, as the error Deno's own sockets would throw. */
function bindError(errno: number): Error {
  if (errno === EADDRINUSE) return new Deno.errors.AddrInUse("Address already in use");
  if (errno === EADDRNOTAVAIL) return new Deno.errors.AddrNotAvailable("Address not available");
  if (errno === EACCES) return new Deno.errors.PermissionDenied("Permission denied");
  return new Error(`bind() failed (errno ${errno})`);
}

/** A table of `count` mmsghdrs, each with one iovec and one sockaddr_in of its own. */
class MessageTable {
  readonly headers: Uint8Array;
  readonly view: DataView;
  readonly names: Uint8Array;
  readonly namesView: DataView;
  readonly #iovecs: Uint8Array;
  readonly #iovecsView: DataView;
  readonly #iovecsAddress: bigint;

  constructor(count: number) {
    this.headers = offHeapBytes(count * MMSG_SIZE);
    this.view = new DataView(this.headers.buffer);
    this.names = offHeapBytes(count * SOCKADDR_IN_SIZE);
    this.namesView = new DataView(this.names.buffer);
    this.#iovecs = offHeapBytes(count * IOVEC_SIZE);
    this.#iovecsView = new DataView(this.#iovecs.buffer);
    this.#iovecsAddress = address(this.#iovecs);
    const namesAddress = address(this.names);
    for (let i = 0; i < count; i++) {
      const at = i * MMSG_SIZE;
      this.view.setBigUint64(at + MSG_NAME, namesAddress + BigInt(i * SOCKADDR_IN_SIZE), true);
      this.view.setUint32(at + MSG_NAMELEN, SOCKADDR_IN_SIZE, true);
      this.view.setBigUint64(at + MSG_IOV, this.#iovecsAddress + BigInt(i * IOVEC_SIZE), true);
      this.view.setBigUint64(at + MSG_IOVLEN, 1n, true);
    }
  }

  /** Points message `i`'s iovec at `length` bytes at `base`. */
  setData(i: number, base: bigint, length: number): void {
    this.#iovecsView.setBigUint64(i * IOVEC_SIZE, base, true);
    this.#iovecsView.setBigUint64(i * IOVEC_SIZE + 8, BigInt(length), true);
  }
}

/** A send table whose messages may each carry a UDP_SEGMENT control message (GSO). */
class SendTable extends MessageTable {
  readonly #controls: Uint8Array;
  readonly #controlsView: DataView;

  constructor(count: number) {
    super(count);
    this.#controls = offHeapBytes(count * CMSG_SPACE_U16);
    this.#controlsView = new DataView(this.#controls.buffer);
    const controlsAddress = address(this.#controls);
    for (let i = 0; i < count; i++) {
      const at = i * CMSG_SPACE_U16;
      this.#controlsView.setBigUint64(at, BigInt(CMSG_LEN_U16), true);
      this.#controlsView.setInt32(at + 8, SOL_UDP, true);
      this.#controlsView.setInt32(at + 12, UDP_SEGMENT, true);
      this.view.setBigUint64(
        i * MMSG_SIZE + MSG_CONTROL,
        controlsAddress + BigInt(at),
        true,
      );
    }
  }

  /**
   * Message `i` is `length` bytes at `base`, cut by the kernel into datagrams of `segment` bytes
   * (the last may be shorter), or sent whole when `segment` is 0.
   */
  setMessage(i: number, base: bigint, length: number, segment: number): void {
    this.setData(i, base, length);
    this.#controlsView.setUint16(i * CMSG_SPACE_U16 + 16, segment, true);
    this.view.setUint32(i * MMSG_SIZE + MSG_CONTROLLEN, segment > 0 ? CMSG_SPACE_U16 : 0, true);
  }
}

/**
 * A receive table whose messages may each carry a UDP_GRO control message: the size of the
 * datagrams the kernel joined into it.
 */
class ReceiveTable extends MessageTable {
  readonly #controls: Uint8Array;
  readonly #controlsView: DataView;
  readonly #count: number;

  constructor(count: number) {
    super(count);
    this.#count = count;
    this.#controls = offHeapBytes(count * CMSG_SPACE_I32);
    this.#controlsView = new DataView(this.#controls.buffer);
    const controlsAddress = address(this.#controls);
    for (let i = 0; i < count; i++) {
      this.view.setBigUint64(
        i * MMSG_SIZE + MSG_CONTROL,
        controlsAddress + BigInt(i * CMSG_SPACE_I32),
        true,
      );
    }
  }

  /** Makes every message ready for the next `recvmmsg` (the kernel shrinks the lengths). */
  reset(): void {
    for (let i = 0; i < this.#count; i++) {
      this.view.setUint32(i * MMSG_SIZE + MSG_NAMELEN, SOCKADDR_IN_SIZE, true);
      this.view.setBigUint64(i * MMSG_SIZE + MSG_CONTROLLEN, BigInt(CMSG_SPACE_I32), true);
    }
  }

  /**
   * The size of the datagrams the kernel joined into message `i`, or 0 when it holds one
   * datagram (no UDP_GRO control message, or one that makes no sense).
   */
  segmentSize(i: number): number {
    const controlLength = Number(this.view.getBigUint64(i * MMSG_SIZE + MSG_CONTROLLEN, true));
    if (controlLength < CMSG_LEN_I32) return 0;
    const at = i * CMSG_SPACE_I32;
    const view = this.#controlsView;
    if (Number(view.getBigUint64(at, true)) < CMSG_LEN_I32) return 0;
    if (view.getInt32(at + 8, true) !== SOL_UDP || view.getInt32(at + 12, true) !== UDP_GRO) {
      return 0;
    }
    return Math.max(0, view.getInt32(at + 16, true));
  }
}

/** Datagrams to send, however they are held: how many, each one's length, and its bytes. */
interface Outgoing {
  readonly count: number;
  /** Completes the datagrams `write` laid out, before they go; false if it could not. */
  finish?(): boolean;
  /** The most datagrams one message may carry with segmentation offload (see DataRun). */
  readonly perMessage?: number;
  length(i: number): number;
  /** Writes the first `length` bytes of datagram `i` into `out` at `at`. */
  write(i: number, out: Uint8Array, at: number, length: number): void;
}

/** A Linux UDP socket moving datagrams in batches. */
export class LinuxUdpTransport implements DatagramTransport {
  readonly engine = "linux";
  readonly port: number;
  readonly #libc: Libc;
  readonly #fd: number;
  readonly #wakeRead: number;
  readonly #wakeWrite: number;
  /**
   * `struct pollfd`s (socket, wake-up pipe) for the receiver's wait and the sender's. `poll` reads
   * and writes them on another thread, so they live in their own `ArrayBuffer`s: V8 keeps a small
   * typed array's bytes inside its heap, where the garbage collector may move them mid-call.
   */
  readonly #pollIn = offHeapBytes(16);
  readonly #pollOut = offHeapBytes(16);
  readonly #errno: Deno.UnsafePointerView;
  // Sending: datagrams are copied end to end into one arena; a message is one datagram or, with
  // segmentation offload, a run of equal ones.
  readonly #out = new SendTable(BATCH);
  readonly #outArena = offHeapBytes(SEND_ARENA);
  readonly #outArenaAddress = address(this.#outArena);
  /** Datagrams in each message of the last table built. */
  readonly #segments = new Uint8Array(BATCH);
  /** Whether the kernel takes UDP_SEGMENT; off for good after the first refusal. */
  #offload = true;
  /** Chunks of a file run to read into the arena before it goes (sendFileRun). */
  readonly #reads = new PendingReads();
  // Receiving: the kernel writes straight into the slots; with receive offload (UDP GRO) a slot
  // may hold a run of datagrams it joined, told by a control message.
  readonly #in: ReceiveTable;
  readonly #inArena: Uint8Array;
  readonly #inSlots: number;
  readonly #inSlot: number;
  /** Datagrams that arrived joined with others (UDP GRO). */
  #joined = 0;
  /** The text form of the last sender's address, reused while the same one keeps sending. */
  #lastFrom = -1;
  #lastFromPort = -1;
  #lastFromText = "";
  /** The last address sent to, parsed (a transfer sends to one peer thousands of times). */
  #lastTo = "";
  #lastToIp: number[] | undefined;
  #closed = false;
  #receiving = false;
  #queueFull = 0;
  /** Polls under way on another thread: the descriptors stay open until none is. */
  #waiting = 0;
  #fdsClosed = false;

  /** Binds `hostname:port` (an IPv4 address; 0 for any port). Throws if it cannot. */
  constructor(port: number, hostname: string) {
    const lib = libc;
    const ip = parseIpv4(hostname);
    if (!lib) throw new Error("the Linux UDP engine is not available here");
    if (!ip) throw new Error(`${hostname} is not an IPv4 address`);
    this.#libc = lib;
    const errnoPointer = lib.__errno_location();
    if (!errnoPointer) throw new Error("libc gave no errno location");
    this.#errno = new Deno.UnsafePointerView(errnoPointer);
    const fd = lib.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`socket() failed (errno ${this.#errno.getInt32()})`);
    this.#fd = fd;
    const pipe = new Int32Array(2);
    if (lib.pipe2(new Uint8Array(pipe.buffer), O_NONBLOCK | O_CLOEXEC) !== 0) {
      lib.close(fd);
      throw new Error(`pipe2() failed (errno ${this.#errno.getInt32()})`);
    }
    [this.#wakeRead, this.#wakeWrite] = pipe;
    try {
      this.#setBuffer(SO_RCVBUFFORCE, SO_RCVBUF);
      this.#setBuffer(SO_SNDBUFFORCE, SO_SNDBUF);
      // Without it the kernel hides that this host's own interface queue dropped a datagram
      // (ENOBUFS): the send looks done and the loss shows only an RTT later, as if on the wire.
      const on = new Uint8Array(new Int32Array([1]).buffer);
      lib.setsockopt(fd, IPPROTO_IP, IP_RECVERR, on, 4);
      // Receive offload (Linux 5.0+): runs of datagrams arrive joined, one message each, as a
      // transfer's segmented sends left the sender (on loopback) or as the network card or the
      // stack's GRO joined them; the kernel says the datagrams' size.
      const gro = lib.setsockopt(fd, SOL_UDP, UDP_GRO, on, 4) === 0;
      this.#inSlots = gro ? RECEIVE_BATCH_GRO : BATCH;
      this.#inSlot = gro ? RECEIVE_SLOT_GRO : RECEIVE_SLOT;
      const name = new Uint8Array(SOCKADDR_IN_SIZE);
      const nameView = new DataView(name.buffer);
      writeSockaddr(nameView, 0, ip, port);
      if (lib.bind(fd, name, SOCKADDR_IN_SIZE) !== 0) throw bindError(this.#errno.getInt32());
      const length = new Uint32Array([SOCKADDR_IN_SIZE]);
      lib.getsockname(fd, name, new Uint8Array(length.buffer));
      this.port = nameView.getUint16(2, false);
    } catch (error) {
      this.#closeFds();
      throw error;
    }
    this.#in = new ReceiveTable(this.#inSlots);
    this.#inArena = offHeapBytes(this.#inSlots * this.#inSlot);
    const arena = address(this.#inArena);
    // Without offload, a slot takes one byte past the largest datagram, to spot longer ones.
    const slotLength = this.#inSlot === RECEIVE_SLOT ? MAX_DATAGRAM + 1 : this.#inSlot;
    for (let i = 0; i < this.#inSlots; i++) {
      this.#in.setData(i, arena + BigInt(i * this.#inSlot), slotLength);
    }
    for (const [fds, events] of [[this.#pollIn, POLLIN], [this.#pollOut, POLLOUT]] as const) {
      const view = new DataView(fds.buffer);
      view.setInt32(0, fd, true);
      view.setInt16(4, events, true);
      view.setInt32(8, this.#wakeRead, true);
      view.setInt16(12, POLLIN, true);
    }
  }

  /** Asks for big socket buffers: forced past the system cap when privileged, else capped. */
  #setBuffer(forced: number, plain: number): void {
    const size = new Int32Array([SOCKET_BUFFER_BYTES]);
    const bytes = new Uint8Array(size.buffer);
    if (this.#libc.setsockopt(this.#fd, SOL_SOCKET, forced, bytes, 4) !== 0) {
      this.#libc.setsockopt(this.#fd, SOL_SOCKET, plain, bytes, 4);
    }
  }

  /**
   * Waits until the socket is readable (or writable, for `#pollOut`) or the transport closes. The
   * last wait to return after a close closes the descriptors: closing them under a running poll
   * would let it wait on whatever reuses the numbers.
   */
  async #wait(fds: Uint8Array): Promise<void> {
    this.#waiting++;
    try {
      await this.#libc.poll(fds, 2n, -1);
    } finally {
      this.#waiting--;
      if (this.#closed && this.#waiting === 0) this.#closeFds();
    }
  }

  #ipv4(hostname: string): number[] | undefined {
    if (hostname !== this.#lastTo) {
      this.#lastTo = hostname;
      this.#lastToIp = parseIpv4(hostname);
    }
    return this.#lastToIp;
  }

  /** Whether the socket sends runs of equal datagrams as one message (UDP GSO). */
  get offload(): boolean {
    return this.#offload;
  }

  get queueFull(): number {
    return this.#queueFull;
  }

  /** Whether runs of datagrams may arrive joined (UDP GRO): the kernel took the option. */
  get receiveOffload(): boolean {
    return this.#inSlot === RECEIVE_SLOT_GRO;
  }

  /** Datagrams received so far that arrived joined with others in one message (UDP GRO). */
  get joined(): number {
    return this.#joined;
  }

  send(to: PeerAddress, datagrams: readonly Uint8Array[]): Promise<boolean> {
    return this.#send(to, {
      count: datagrams.length,
      length: (i) => datagrams[i].length,
      write: (i, out, at, length) => out.set(datagrams[i].subarray(0, length), at),
    });
  }

  sendRun(to: PeerAddress, run: DataRun): Promise<boolean> {
    const head = run.head.length + 4;
    return this.#send(to, {
      count: run.chunks.length,
      perMessage: run.perMessage,
      length: (i) => head + run.chunks[i].length,
      write: (i, out, at, length) => writeRunDatagram(run, i, out, at, length),
    });
  }

  /**
   * Sends the DATA datagrams of `run`, their chunks read by the kernel from `run.file` straight
   * into the buffer they go out from (`preadv`): no copy through JavaScript, nor a view per chunk.
   * False if the socket refused, or the file could not be read (it shrank, or failed).
   */
  sendFileRun(to: PeerAddress, run: FileRun): Promise<boolean> {
    const head = run.head.length + 4;
    const reads = this.#reads;
    const lengthOf = (i: number) =>
      Math.max(0, Math.min(run.chunk, run.size - run.seqs[i] * run.chunk));
    return this.#send(to, {
      count: run.seqs.length,
      perMessage: run.perMessage,
      length: (i) => head + lengthOf(i),
      write: (i, out, at, length) => {
        writeDataHead(run.head, run.seqs[i], out, at);
        reads.add(
          this.#outArenaAddress + BigInt(at + head),
          length - head,
          run.seqs[i] * run.chunk,
        );
      },
      finish: () => reads.readFrom(run.file),
    });
  }

  async #send(to: PeerAddress, datagrams: Outgoing): Promise<boolean> {
    const ip = this.#ipv4(to.hostname);
    if (!ip || this.#closed) return false;
    let from = 0;
    let refused = false;
    let fullWaits = 0;
    while (from < datagrams.count) {
      const messages = this.#fillTable(datagrams, from, ip, to.port);
      if (datagrams.finish && !datagrams.finish()) return false;
      const sent = this.#libc.sendmmsg(this.#fd, this.#out.headers, messages, 0);
      if (sent > 0) {
        for (let m = 0; m < sent; m++) from += this.#segments[m];
        fullWaits = 0;
        continue;
      }
      const errno = this.#errno.getInt32();
      if (errno === EAGAIN) {
        // The socket's buffer is full: wait until it drains.
        await this.#wait(this.#pollOut);
        if (this.#closed) return false;
      } else if (errno === EINTR) {
        continue;
      } else if (errno === ENOBUFS && ++fullWaits <= FULL_QUEUE_MAX_WAITS) {
        // The interface's queue on this host is full and dropped the message before it left:
        // nothing went out, so it is sent again once the queue drained a little, not counted lost.
        this.#queueFull++;
        await new Promise((resolve) => setTimeout(resolve, FULL_QUEUE_WAIT_MS));
        if (this.#closed) return false;
      } else if (this.#segments[0] > 1 && (errno === EIO || errno === EINVAL)) {
        // No segmentation offload on this path (an old kernel, a device without checksum
        // offload): datagram by datagram from now on.
        this.#offload = false;
      } else if (errno === ENOBUFS) {
        // Still full after about a second: lost, as on the wire (the protocol resends them).
        from += this.#segments[0];
        fullWaits = 0;
      } else {
        // Unreachable, refused and the like: these datagrams are lost, as on the wire.
        refused = true;
        from += this.#segments[0];
      }
    }
    return !refused;
  }

  /**
   * Copies datagrams from `from` on into the arena and describes them as messages to `ip:port`:
   * with offload, each message is a run of datagrams of one length (and perhaps a shorter last
   * one). Returns how many messages; `#segments` says how many datagrams each holds.
   */
  #fillTable(datagrams: Outgoing, from: number, ip: number[], port: number): number {
    const table = this.#out;
    const arena = this.#outArena;
    let at = 0;
    let next = from;
    let messages = 0;
    while (next < datagrams.count && messages < BATCH) {
      const segment = Math.min(datagrams.length(next), MAX_DATAGRAM);
      if (messages > 0 && at + segment > arena.length) break;
      const start = at;
      let count = 0;
      const most = this.#offload && segment > 0
        ? Math.max(1, Math.min(GSO_MAX_SEGMENTS, datagrams.perMessage ?? GSO_MAX_SEGMENTS))
        : 1;
      while (next < datagrams.count && count < most) {
        const length = Math.min(datagrams.length(next), MAX_DATAGRAM);
        if (count > 0 && (length > segment || at - start + length > GSO_MAX_BYTES)) break;
        if (at + length > arena.length) break;
        datagrams.write(next, arena, at, length);
        at += length;
        next++;
        count++;
        if (length < segment) break; // a shorter datagram ends the run
      }
      table.setMessage(
        messages,
        this.#outArenaAddress + BigInt(start),
        at - start,
        count > 1 ? segment : 0,
      );
      writeSockaddr(table.namesView, messages * SOCKADDR_IN_SIZE, ip, port);
      this.#segments[messages++] = count;
    }
    return messages;
  }

  async receive(sink: DatagramSink): Promise<void> {
    if (this.#receiving) throw new Error("already receiving");
    this.#receiving = true;
    const table = this.#in;
    const slots = this.#inSlots;
    try {
      while (!this.#closed) {
        await this.#wait(this.#pollIn);
        if (this.#closed) break;
        // Drain what is queued, a batch per call, then wait again (that is also when other
        // work gets its turn).
        for (let round = 0; round < 4 && !this.#closed; round++) {
          table.reset();
          const count = this.#libc.recvmmsg(this.#fd, table.headers, slots, 0, null);
          if (count < 0) this.#dropErrors();
          if (count <= 0) break;
          for (let i = 0; i < count && !this.#closed; i++) this.#deliver(i, sink);
          if (count < slots) break;
        }
      }
    } finally {
      this.#receiving = false;
    }
  }

  /**
   * Hands message `i` of the receive table to `sink`: one datagram, or each datagram of a run the
   * kernel joined. A piece is never handed over longer than one byte past the largest datagram,
   * so a longer one is still seen as too long.
   */
  #deliver(i: number, sink: DatagramSink): void {
    const table = this.#in;
    const names = table.namesView;
    const nameAt = i * SOCKADDR_IN_SIZE;
    if (names.getUint16(nameAt, true) !== AF_INET) return;
    const port = names.getUint16(nameAt + 2, false);
    const ip = names.getUint32(nameAt + 4, false);
    if (ip !== this.#lastFrom || port !== this.#lastFromPort) {
      this.#lastFrom = ip;
      this.#lastFromPort = port;
      this.#lastFromText = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
    }
    const start = i * this.#inSlot;
    const length = Math.min(table.view.getUint32(i * MMSG_SIZE + MSG_LEN, true), this.#inSlot);
    const end = start + length;
    const segment = table.segmentSize(i);
    if (segment === 0 || segment >= length) {
      sink(
        this.#inArena.subarray(start, Math.min(end, start + MAX_DATAGRAM + 1)),
        this.#lastFromText,
        port,
      );
      return;
    }
    this.#joined += Math.ceil(length / segment);
    for (let at = start; at < end && !this.#closed; at += segment) {
      const piece = Math.min(end, at + segment, at + MAX_DATAGRAM + 1);
      sink(this.#inArena.subarray(at, piece), this.#lastFromText, port);
    }
  }

  /**
   * Empties the queue of errors the kernel keeps for the socket (IP_RECVERR): ICMP unreachable
   * and the like, which the protocol finds out by itself. Left there, they would wake every poll.
   */
  #dropErrors(): void {
    const flags = MSG_ERRQUEUE | MSG_DONTWAIT;
    while (this.#libc.recvmmsg(this.#fd, this.#in.headers, this.#inSlots, flags, null) > 0) {
      // read and dropped
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Wake every waiting poll; the last one out closes the descriptors.
    this.#libc.write(this.#wakeWrite, new Uint8Array(1), 1n);
    if (this.#waiting === 0) this.#closeFds();
  }

  #closeFds(): void {
    if (this.#fdsClosed) return;
    this.#fdsClosed = true;
    this.#libc.close(this.#fd);
    this.#libc.close(this.#wakeRead);
    this.#libc.close(this.#wakeWrite);
  }
}

/** What {@linkcode LinuxUdpTransport.sendFileRun} sends: DATA datagrams whose chunks are read from a file. */
export interface FileRun {
  readonly head: Uint8Array;
  readonly seqs: readonly number[];
  readonly file: LinuxFile;
  /** Bytes per chunk, and the file's size (the last chunk may be short). */
  readonly chunk: number;
  readonly size: number;
  /** As DataRun's. */
  readonly perMessage?: number;
}

/**
 * A file opened for reading through libc, for {@linkcode LinuxUdpTransport.sendFileRun}. Open it
 * only after Deno has opened the same path (its permission check is the one that counts).
 */
export class LinuxFile {
  readonly fd: number;
  #closed = false;
  #unreadable = false;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** Opens `path` read-only, or returns undefined where the Linux engine is not available. */
  static open(path: string): LinuxFile | undefined {
    if (!libc) return undefined;
    const fd = libc.open(new TextEncoder().encode(`${path}\0`), O_RDONLY | O_CLOEXEC);
    return fd < 0 ? undefined : new LinuxFile(fd);
  }

  /**
   * Whether a read came short or failed: the file shrank or broke under the transfer, and its
   * chunks can no longer be sent.
   */
  get unreadable(): boolean {
    return this.#unreadable;
  }

  /** Reads `bytes` into `count` iovecs at `iovecs`, from `offset`; false if fewer came. */
  read(iovecs: Uint8Array, count: number, offset: number, bytes: number): boolean {
    const read = this.#closed || !libc
      ? -1
      : Number(libc.preadv(this.fd, iovecs, count, BigInt(offset)));
    if (read !== bytes) this.#unreadable = true;
    return read === bytes;
  }

  close(): void {
    if (this.#closed || !libc) return;
    this.#closed = true;
    libc.close(this.fd);
  }
}

/**
 * Chunks to read from a file into the send arena before a `sendmmsg`: (address, length, file
 * offset) in the order laid out. Runs of chunks that follow one another in the file are read by
 * one `preadv` each.
 */
class PendingReads {
  readonly #iovecs = offHeapBytes(READ_IOVECS * IOVEC_SIZE);
  readonly #view = new DataView(this.#iovecs.buffer);
  readonly #addresses: bigint[] = [];
  readonly #lengths: number[] = [];
  readonly #offsets: number[] = [];

  add(address: bigint, length: number, offset: number): void {
    this.#addresses.push(address);
    this.#lengths.push(length);
    this.#offsets.push(offset);
  }

  /** Reads every pending chunk from `file`; false if any came short. Empties the list. */
  readFrom(file: LinuxFile): boolean {
    let ok = true;
    const count = this.#addresses.length;
    for (let start = 0; start < count && ok;) {
      let end = start;
      let bytes = 0;
      while (
        end < count && end - start < READ_IOVECS &&
        (end === start || this.#offsets[end] === this.#offsets[end - 1] + this.#lengths[end - 1])
      ) {
        const at = (end - start) * IOVEC_SIZE;
        this.#view.setBigUint64(at, this.#addresses[end], true);
        this.#view.setBigUint64(at + 8, BigInt(this.#lengths[end]), true);
        bytes += this.#lengths[end];
        end++;
      }
      ok = file.read(this.#iovecs, end - start, this.#offsets[start], bytes);
      start = end;
    }
    this.#addresses.length = this.#lengths.length = this.#offsets.length = 0;
    return ok;
  }
}
