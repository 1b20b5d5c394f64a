/**
 * The batched Linux UDP engine (libc's sendmmsg/recvmmsg through FFI) against Deno's own sockets:
 * what goes in comes out, in order, with the right sender; what is too long arrives cut so it
 * can be refused; closing never waits for traffic. Skipped where FFI may not load libc.
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { DenoTransport, runDatagrams } from "../../lib/p2p/datagram_transport.ts";
import {
  BATCH,
  LinuxFile,
  linuxUdpAvailable,
  LinuxUdpTransport,
  parseIpv4,
} from "../../lib/p2p/linux_udp.ts";
import { dataHead, MAX_DATAGRAM } from "../../lib/p2p/packet.ts";

const ignore = !linuxUdpAvailable();

interface Arrival {
  readonly bytes: Uint8Array;
  readonly hostname: string;
  readonly port: number;
}

/** Collects what `transport` receives (copied: the engine reuses its buffers). */
function collect(transport: LinuxUdpTransport | DenoTransport) {
  const arrivals: Arrival[] = [];
  const done = transport.receive((bytes, hostname, port) =>
    arrivals.push({ bytes: bytes.slice(), hostname, port })
  );
  const until = async (count: number, ms = 3000) => {
    const end = Date.now() + ms;
    while (arrivals.length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    return arrivals;
  };
  /** Runs `send` (which must succeed), then the bytes of the `count` datagrams that follow. */
  const bytesOf = async (send: () => Promise<boolean>, count: number) => {
    const before = arrivals.length;
    assert(await send(), "sent");
    return (await until(before + count)).slice(before).map((a) => a.bytes);
  };
  return { arrivals, done, until, bytesOf };
}

/** A Linux transport and a Deno one on loopback, each collecting; closes both when disposed. */
function openPair() {
  const linux = new LinuxUdpTransport(0, "127.0.0.1");
  const deno = new DenoTransport(0, "127.0.0.1");
  const atLinux = collect(linux);
  const atDeno = collect(deno);
  return {
    linux,
    deno,
    atLinux,
    atDeno,
    async [Symbol.asyncDispose]() {
      linux.close();
      deno.close();
      await Promise.all([atLinux.done, atDeno.done]);
    },
  };
}

/** Datagram `i`: its number in the first 4 bytes, then a pattern, `length` bytes in all. */
function datagram(i: number, length = MAX_DATAGRAM): Uint8Array {
  const bytes = new Uint8Array(length).map((_, at) => (at * 7 + i) & 255);
  new DataView(bytes.buffer).setUint32(0, i);
  return bytes;
}

Deno.test("parseIpv4 takes dotted quads only", () => {
  assertEquals(parseIpv4("127.0.0.1"), [127, 0, 0, 1]);
  assertEquals(parseIpv4("0.0.0.0"), [0, 0, 0, 0]);
  for (const bad of ["::1", "localhost", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "1..2.3"]) {
    assertEquals(parseIpv4(bad), undefined, bad);
  }
});

Deno.test({
  name: "batches cross between the Linux engine and Deno's sockets, in order and whole",
  ignore,
  fn: async () => {
    await using pair = openPair();
    const { linux, deno, atLinux, atDeno } = pair;
    // More than one system call's batch, the last one short; small enough that all of them fit
    // the receiving socket's buffer at once (on loopback nothing else loses them).
    const out = Array.from({ length: 2 * BATCH + 5 }, (_, i) => datagram(i, 4 + (i % 97)));
    assert(await linux.send({ hostname: "127.0.0.1", port: deno.port }, out));
    const got = await atDeno.until(out.length);
    assertEquals(got.length, out.length);
    got.forEach((arrival, i) => {
      assertEquals(arrival.bytes, out[i]);
      assertEquals([arrival.hostname, arrival.port], ["127.0.0.1", linux.port]);
    });
    const back = [datagram(1), datagram(2, 64)];
    assert(await deno.send({ hostname: "127.0.0.1", port: linux.port }, back));
    const gotBack = await atLinux.until(2);
    assertEquals(gotBack.map((a) => a.bytes), back);
    assertEquals([gotBack[0].hostname, gotBack[0].port], ["127.0.0.1", deno.port]);
  },
});

Deno.test({
  name: "runs of equal datagrams go out as one segmented message and arrive one by one",
  ignore,
  fn: async () => {
    await using pair = openPair();
    const { linux, deno, atDeno } = pair;
    // Longer than one message may carry (the kernel's 64 KiB), ending with a shorter one, then
    // a lone longer one: three messages at least.
    const out = [
      ...Array.from({ length: 60 }, (_, i) => datagram(i, 1000)),
      datagram(60, 300),
      datagram(61, 1200),
    ];
    assert(await linux.send({ hostname: "127.0.0.1", port: deno.port }, out));
    const got = await atDeno.until(out.length);
    assertEquals(got.map((a) => a.bytes), out);
    assert(linux.offload, "this kernel takes UDP_SEGMENT (Linux 4.18+)");
  },
});

Deno.test({
  name: "runs the kernel hands over joined (UDP GRO) arrive one by one, whole and in order",
  ignore,
  fn: async () => {
    const sender = new LinuxUdpTransport(0, "127.0.0.1");
    const receiver = new LinuxUdpTransport(0, "127.0.0.1");
    const at = collect(receiver);
    try {
      assert(receiver.receiveOffload, "this kernel takes UDP_GRO (Linux 5.0+)");
      // On loopback a segmented message reaches a socket with UDP_GRO as it was sent: joined.
      // Runs of equal datagrams ending with a shorter one, and a lone datagram between them.
      const out = [
        ...Array.from({ length: 44 }, (_, i) => datagram(i, MAX_DATAGRAM)),
        datagram(44, 700),
        datagram(45, 33),
        ...Array.from({ length: 30 }, (_, i) => datagram(46 + i, 1000)),
      ];
      assert(await sender.send({ hostname: "127.0.0.1", port: receiver.port }, out));
      const got = await at.until(out.length);
      assertEquals(got.map((a) => a.bytes), out);
      assertEquals([got[0].hostname, got[0].port], ["127.0.0.1", sender.port]);
      assert(receiver.joined >= 70, `${receiver.joined} of ${out.length} arrived joined`);
    } finally {
      sender.close();
      receiver.close();
      await at.done;
    }
  },
});

Deno.test({
  name: "a run sent a few datagrams per message (a shaper's burst) arrives whole and in order",
  ignore,
  fn: async () => {
    await using pair = openPair();
    const { linux, deno, atDeno } = pair;
    const head = dataHead(new Uint8Array(16).fill(7), 42);
    const chunks = Array.from({ length: 10 }, (_, i) => datagram(i, i === 9 ? 500 : 1400));
    const seqs = chunks.map((_, i) => 100 + i);
    const expected = runDatagrams({ head, seqs, chunks });
    const to = { hostname: "127.0.0.1", port: deno.port };
    for (const perMessage of [3, 1, 0]) {
      const send = () => linux.sendRun(to, { head, seqs, chunks, perMessage });
      assertEquals(
        await atDeno.bytesOf(send, expected.length),
        expected,
        `${perMessage} a message`,
      );
    }
  },
});

Deno.test({
  name: "chunks the kernel reads from the file go out as the datagrams built from them would",
  ignore,
  fn: async () => {
    await using pair = openPair();
    const { linux, deno, atDeno } = pair;
    const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
    const path = `${dir}/example1.mp4`;
    const chunk = 1000;
    const bytes = datagram(1, 9500); // nine whole chunks and a short tenth
    await Deno.writeFile(path, bytes);
    const file = LinuxFile.open(path);
    if (!file) throw new Error("LinuxFile.open failed");
    try {
      const head = dataHead(new Uint8Array(16).fill(7), 42);
      // In order, then resends out of order, then the short last chunk alone.
      const to = { hostname: "127.0.0.1", port: deno.port };
      for (const seqs of [[0, 1, 2, 3, 4, 5, 6, 7, 8], [6, 2, 3], [9]]) {
        const chunks = seqs.map((seq) => bytes.subarray(seq * chunk, (seq + 1) * chunk));
        const expected = runDatagrams({ head, seqs, chunks });
        const send = () =>
          linux.sendFileRun(to, { head, seqs, file, chunk, size: bytes.length, perMessage: 4 });
        assertEquals(await atDeno.bytesOf(send, expected.length), expected, `chunks ${seqs}`);
      }
      // A file that shrank under the transfer: the run is refused, the file marked unreadable.
      await Deno.truncate(path, 5000);
      const run = { head, seqs: [4, 5], file, chunk, size: bytes.length };
      assertEquals(await linux.sendFileRun(to, run), false);
      assert(file.unreadable);
    } finally {
      file.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a datagram longer than the protocol allows arrives cut to one byte over, to be refused",
  ignore,
  fn: async () => {
    const linux = new LinuxUdpTransport(0, "127.0.0.1");
    const sender = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const at = collect(linux);
    try {
      const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: linux.port };
      await sender.send(new Uint8Array(9000).fill(0x41), to);
      await sender.send(new Uint8Array(0), to);
      await sender.send(datagram(7, 100), to);
      const got = await at.until(3);
      assertEquals(got.map((a) => a.bytes.length), [MAX_DATAGRAM + 1, 0, 100]);
      assertEquals(got[2].bytes, datagram(7, 100), "the next datagram is not disturbed");
    } finally {
      sender.close();
      linux.close();
      await at.done;
    }
  },
});

Deno.test({
  name: "the Linux engine closes at once while idle, frees its port, and refuses to send after",
  ignore,
  fn: async () => {
    const linux = new LinuxUdpTransport(0, "127.0.0.1");
    const port = linux.port;
    const at = collect(linux);
    const started = performance.now();
    linux.close();
    await at.done;
    assert(performance.now() - started < 1000, "close woke the waiting poll");
    assertEquals(await linux.send({ hostname: "127.0.0.1", port }, [datagram(0)]), false);
    linux.close(); // idempotent
    const again = new LinuxUdpTransport(port, "127.0.0.1");
    assertEquals(again.port, port);
    assertThrows(() => new LinuxUdpTransport(port, "127.0.0.1"), Deno.errors.AddrInUse);
    assertThrows(() => new LinuxUdpTransport(0, "::1"), Error, "not an IPv4 address");
    // An address this machine does not have (TEST-NET-1): refused as Deno's sockets refuse it.
    assertThrows(() => new LinuxUdpTransport(0, "192.0.2.1"), Deno.errors.AddrNotAvailable);
    again.close();
    // Never received on: closing frees the descriptors at once.
    const reuse = new LinuxUdpTransport(port, "127.0.0.1");
    reuse.close();
  },
});

Deno.test({
  name: "sending to an address that is not IPv4 is refused, not thrown",
  ignore,
  fn: async () => {
    const linux = new LinuxUdpTransport(0, "127.0.0.1");
    try {
      assertEquals(await linux.send({ hostname: "::1", port: 9 }, [datagram(0)]), false);
      assertEquals(await linux.send({ hostname: "example.org", port: 9 }, [datagram(0)]), false);
    } finally {
      linux.close();
    }
  },
});

Deno.test("FFI allowed for libc's path alone leaves the engine off, not half working", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-ffi-" });
  try {
    const probe = `${dir}/probe.ts`;
    const module = new URL("../../lib/p2p/linux_udp.ts", import.meta.url).href;
    await Deno.writeTextFile(
      probe,
      `import { linuxUdpAvailable } from "${module}";\nconsole.log(linuxUdpAvailable());\n`,
    );
    const run = (flag: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", "--allow-read", flag, probe],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const scoped = await run("--allow-ffi=/lib/x86_64-linux-gnu/libc.so.6,/usr/lib/libc.so.6");
    assertEquals(new TextDecoder().decode(scoped.stdout).trim(), "false");
    if (Deno.build.os === "linux") {
      const whole = await run("--allow-ffi");
      assertEquals(new TextDecoder().decode(whole.stdout).trim(), "true");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
