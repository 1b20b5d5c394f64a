import { assert, assertEquals, assertRejects } from "@std/assert";
import { join } from "node:path";
import { hashFile } from "../../lib/fs/hash_file.ts";
import { receiveFile, type ReceiveResult, resumablePartName } from "../../lib/p2p/file_receiver.ts";
import { sendFile } from "../../lib/p2p/file_sender.ts";
import { encodePacket, PacketType, tokenFromHex } from "../../lib/p2p/packet.ts";
import { linuxUdpAvailable } from "../../lib/p2p/linux_udp.ts";
import { type PeerAddress, PeerSocket, type TransportEngine } from "../../lib/p2p/peer_socket.ts";
import { PrivateChannel } from "../../lib/p2p/private_chat.ts";
import { TransferError } from "../../lib/p2p/transfer_error.ts";
import { LossyRelay } from "../../testing/lossy_relay.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";

const TOKEN = tokenFromHex("0123456789abcdef0123456789abcdef") ?? new Uint8Array(16);
const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const at = (port: number): PeerAddress => ({ hostname: "127.0.0.1", port });
/** Both ways of moving datagrams; the Linux one where FFI may load libc (`deno task test`). */
const ENGINES: readonly TransportEngine[] = ["deno", "linux"];
const skipEngine = (engine: TransportEngine) => engine === "linux" && !linuxUdpAvailable();

async function randomFile(dir: string, bytes: number, name = "example1.mp4"): Promise<string> {
  const path = join(dir, name);
  await writeRandomFile(path, bytes);
  return path;
}

/**
 * Receives the next offer on `socket` from `peer` into `dir`. The result is wrapped so that a
 * receiver failing while the test awaits something else is not an unhandled rejection.
 */
function acceptNext(
  socket: PeerSocket,
  peer: PeerAddress,
  dir: string,
  deadMs = 5000,
  resumeSender?: string,
): Promise<{ result: Promise<ReceiveResult> }> {
  return new Promise((resolve) => {
    const stop = socket.register(TOKEN, peer, (packet) => {
      if (packet.type !== PacketType.OFFER) return;
      stop();
      const result = receiveFile(socket, peer, TOKEN, packet, {
        dir,
        finalName: () => Promise.resolve(`yoda_${packet.name}`),
        peerName: "yoda",
        deadMs,
        resumeSender,
      });
      result.catch(() => {});
      resolve({ result });
    });
  });
}

for (const engine of ENGINES) {
  Deno.test({
    name: `a file crosses 127.0.0.1 over UDP with its SHA-256 intact (${engine} engine)`,
    ignore: skipEngine(engine),
    fn: () => fileCrosses(engine),
  });
}

async function fileCrosses(engine: TransportEngine): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
  await using a = new PeerSocket(0, "127.0.0.1", engine);
  await using b = new PeerSocket(0, "127.0.0.1", engine);
  assertEquals([a.engine, b.engine], [engine, engine]);
  try {
    const path = await randomFile(dir, 8 * 1024 * 1024 + 17);
    const receiving = acceptNext(b, at(a.port), join(dir, "in"));
    let progress = 0;
    const sent = await sendFile(a, at(b.port), TOKEN, path, {
      name: "example1.mp4",
      peerName: "obiwan",
      onProgress: (done) => progress = done,
    });
    const received = await (await receiving).result;
    assertEquals(received.path, join(dir, "in", "yoda_example1.mp4"));
    assertEquals(await hashFile(received.path), await hashFile(path));
    assertEquals([sent.bytes, progress], [8 * 1024 * 1024 + 17, 8 * 1024 * 1024 + 17]);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(join(dir, "in")))).length,
      1,
      "no part file left",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a broken transfer resumes from what arrived, and the whole file is verified", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
  await using a = new PeerSocket(0, "127.0.0.1");
  await using b = new PeerSocket(0, "127.0.0.1");
  try {
    // Larger than what may be in flight past the break (SEND_SPAN chunks, about 6 MB), so that
    // the receiver holds part of the file, not all of it, whatever the timing.
    const size = 20 * 1024 * 1024 + 5;
    const path = await randomFile(dir, size);
    const inbox = join(dir, "in");
    const part = resumablePartName("yoda", size, hexBytes((await hashFile(path)).sha256));
    // A part of another file from the same sender is dropped: one kept part per sender.
    await Deno.mkdir(inbox);
    await Deno.writeFile(
      join(inbox, resumablePartName("yoda", 5, new Uint8Array(32))),
      new Uint8Array(5),
    );
    const luke = resumablePartName("luke", 5, new Uint8Array(32));
    await Deno.writeFile(join(inbox, luke), new Uint8Array(5));
    // The first attempt breaks once the receiver holds 2 MiB in order: the sender stops, the
    // receiver keeps its part.
    const first = acceptNext(b, at(a.port), inbox, 5000, "yoda");
    let inOrder = 0;
    const broken = await assertRejects(() =>
      sendFile(a, at(b.port), TOKEN, path, {
        name: "example1.mp4",
        peerName: "obiwan",
        onProgress: (done) => {
          inOrder = done;
          if (done >= 2 * 1024 * 1024 && done < size) throw new Error("cable cut");
        },
      })
    );
    assert(broken instanceof Error && broken.message === "cable cut");
    const failed = await assertRejects(async () => await (await first).result);
    assert(failed instanceof Error && /what arrived is kept/.test(failed.message), `${failed}`);
    const kept = (await Deno.stat(join(inbox, part))).size;
    // Everything that had arrived in order is kept, not only what was already written.
    assert(kept >= inOrder && kept < size, `kept ${kept} of the ${inOrder} bytes acknowledged`);
    // Sending the same file again continues after what is on disk.
    const second = acceptNext(b, at(a.port), inbox, 5000, "yoda");
    const sent = await sendFile(a, at(b.port), TOKEN, path, {
      name: "example1.mp4",
      peerName: "obiwan",
    });
    const received = await (await second).result;
    assert(sent.resumedBytes > 0 && sent.resumedBytes <= kept, `resumed ${sent.resumedBytes}`);
    assertEquals(received.resumedBytes, sent.resumedBytes);
    assertEquals(await hashFile(received.path), await hashFile(path));
    assertEquals(
      (await Array.fromAsync(Deno.readDir(inbox))).map((e) => e.name).sort(),
      [luke, "yoda_example1.mp4"].sort(),
      "yoda's parts are gone once the file is complete; luke's is not yoda's to drop",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a resumed part that does not match the file is discarded, never kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
  await using a = new PeerSocket(0, "127.0.0.1");
  await using b = new PeerSocket(0, "127.0.0.1");
  try {
    const path = await randomFile(dir, 1024 * 1024);
    const inbox = join(dir, "in");
    await Deno.mkdir(inbox);
    const part = resumablePartName("yoda", 1024 * 1024, hexBytes((await hashFile(path)).sha256));
    await Deno.writeFile(join(inbox, part), new Uint8Array(300 * 1024).fill(7)); // not the file
    const receiving = acceptNext(b, at(a.port), inbox, 5000, "yoda");
    const error = await assertRejects(() =>
      sendFile(a, at(b.port), TOKEN, path, { name: "example1.mp4", peerName: "obiwan" })
    );
    assert(error instanceof TransferError && error.code === "hash_mismatch", `${error}`);
    await assertRejects(async () => await (await receiving).result);
    assertEquals((await Array.fromAsync(Deno.readDir(inbox))).length, 0, "nothing kept");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a transfer completes through a link that drops 10%, duplicates and reorders", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
  await using a = new PeerSocket(0, "127.0.0.1");
  await using b = new PeerSocket(0, "127.0.0.1");
  await using relay = new LossyRelay(a.port, b.port, {
    drop: 0.1,
    duplicate: 0.05,
    maxDelayMs: 4,
    seed: 7,
  });
  try {
    const path = await randomFile(dir, 3 * 1024 * 1024);
    const receiving = acceptNext(b, at(relay.portForA), join(dir, "in"));
    const sent = await sendFile(a, at(relay.portForB), TOKEN, path, {
      name: "example1.mp4",
      peerName: "obiwan",
    });
    const received = await (await receiving).result;
    assertEquals(await hashFile(received.path), await hashFile(path));
    assert(relay.stats.dropped > 100 && relay.stats.duplicated > 50, JSON.stringify(relay.stats));
    assert(sent.retransmissions > 0, "lost chunks were resent");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const engine of ENGINES) {
  Deno.test({
    name:
      `datagrams with a wrong token, from a wrong address, malformed or oversized are dropped (${engine} engine)`,
    ignore: skipEngine(engine),
    fn: () => hostileDatagramsDropped(engine),
  });
}

async function hostileDatagramsDropped(engine: TransportEngine): Promise<void> {
  await using b = new PeerSocket(0, "127.0.0.1", engine);
  await using a = new PeerSocket(0, "127.0.0.1", engine);
  const stranger = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    const messages: string[] = [];
    const channel = new PrivateChannel(b, at(a.port), TOKEN, "yoda", {
      message: (text) => messages.push(text),
      closed: () => {},
    });
    const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: b.port };
    const wrongToken = tokenFromHex("ffffffffffffffffffffffffffffffff") ?? new Uint8Array(16);
    const hostile = [
      encodePacket(wrongToken, { type: PacketType.CHAT, id: 1, text: "wrong token" }),
      encodePacket(TOKEN, { type: PacketType.CHAT, id: 2, text: "wrong address" }), // from stranger
      new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
      new Uint8Array(1401),
      new Uint8Array(9000).fill(0x4c),
      encodePacket(TOKEN, { type: PacketType.CHAT, id: 3, text: "x" }).subarray(0, 22),
      encodePacket(TOKEN, { type: PacketType.CHAT, id: 4, text: "long ".repeat(400) }),
    ];
    for (const bytes of hostile) await stranger.send(bytes, to);
    // The real peer still gets through.
    const from = new PrivateChannel(a, at(b.port), TOKEN, "hans", {
      message: () => {},
      closed: () => {},
    });
    await from.send("hello, hans");
    assertEquals(messages, ["hello, hans"]);
    assertEquals(b.stats.dropped, hostile.length);
    channel.drop();
    from.drop();
  } finally {
    stranger.close();
  }
}

for (const engine of ENGINES) {
  Deno.test({
    name:
      `a file cut short while it is sent fails the transfer with a clear error (${engine} engine)`,
    ignore: skipEngine(engine),
    fn: () => fileCutShort(engine),
  });
}

async function fileCutShort(engine: TransportEngine): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
  await using a = new PeerSocket(0, "127.0.0.1", engine);
  await using b = new PeerSocket(0, "127.0.0.1", engine);
  try {
    const path = await randomFile(dir, 8 * 1024 * 1024);
    const receiving = acceptNext(b, at(a.port), join(dir, "in"));
    let cut = false;
    const sending = sendFile(a, at(b.port), TOKEN, path, {
      name: "example1.mp4",
      peerName: "obiwan",
      onProgress: () => {
        if (!cut) Deno.truncateSync(path, 4096); // someone overwrote it meanwhile
        cut = true;
      },
    });
    const error = await assertRejects(() => sending, TransferError);
    assertEquals(error.code, "file_changed");
    assertEquals(
      error.message,
      "example1.mp4 changed while it was being sent (its size, or it became unreadable); send it again",
    );
    const received = await assertRejects(async () => (await receiving).result, TransferError);
    assertEquals(received.code, "aborted", "the receiver was told");
    assertEquals(await Array.fromAsync(Deno.readDir(join(dir, "in"))), [], "nothing kept");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("if the receiver vanishes, the sender fails within the dead time; nothing partial is kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
  await using a = new PeerSocket(0, "127.0.0.1");
  const b = new PeerSocket(0, "127.0.0.1");
  try {
    const path = await randomFile(dir, 20 * 1024 * 1024);
    const receiving = acceptNext(b, at(a.port), join(dir, "in"), 400);
    const started = performance.now();
    const sending = sendFile(a, at(b.port), TOKEN, path, {
      name: "example1.mp4",
      peerName: "obiwan",
      deadMs: 400,
      onProgress: (done) => {
        if (done > 1024 * 1024) void b.close(); // the receiving client dies mid-transfer
      },
    });
    const error = await assertRejects(() => sending, TransferError);
    assertEquals(error.code, "peer_gone");
    assertEquals(error.message, "obiwan stopped responding; the transfer was abandoned");
    assert(performance.now() - started < 5000);
    await assertRejects(async () => (await receiving).result, TransferError);
    assertEquals(await Array.fromAsync(Deno.readDir(join(dir, "in"))), [], "no partial file");
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("if the sender vanishes, the receiver fails within the dead time and deletes the part file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-p2p-" });
  await using b = new PeerSocket(0, "127.0.0.1");
  const a = new PeerSocket(0, "127.0.0.1");
  try {
    const path = await randomFile(dir, 20 * 1024 * 1024);
    const receiving = acceptNext(b, at(a.port), join(dir, "in"), 300);
    const sending = sendFile(a, at(b.port), TOKEN, path, {
      name: "example1.mp4",
      peerName: "obiwan",
      deadMs: 300,
      onProgress: (done) => {
        if (done > 1024 * 1024) void a.close(); // the sending client dies mid-transfer
      },
    }).catch((e) => e);
    const error = await assertRejects(async () => (await receiving).result, TransferError);
    assertEquals(error.message, "yoda stopped sending example1.mp4; nothing was kept");
    assertEquals(await Array.fromAsync(Deno.readDir(join(dir, "in"))), []);
    await sending;
  } finally {
    await a.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("private messages are acknowledged, shown once, and end with BYE", async () => {
  await using a = new PeerSocket(0, "127.0.0.1");
  await using b = new PeerSocket(0, "127.0.0.1");
  await using relay = new LossyRelay(a.port, b.port, {
    drop: 0.3,
    duplicate: 0.3,
    maxDelayMs: 2,
    seed: 3,
  });
  const gotA: string[] = [];
  const gotB: string[] = [];
  let closedB = false;
  const yoda = new PrivateChannel(a, at(relay.portForB), TOKEN, "hans", {
    message: (t) => gotA.push(t),
    closed: () => {},
  });
  const hans = new PrivateChannel(b, at(relay.portForA), TOKEN, "yoda", {
    message: (t) => gotB.push(t),
    closed: () => closedB = true,
  });
  for (let i = 0; i < 10; i++) await yoda.send(`hi ${i}`);
  await hans.send("hi, yoda");
  assertEquals(gotB, Array.from({ length: 10 }, (_, i) => `hi ${i}`));
  assertEquals(gotA, ["hi, yoda"]);
  // BYE may be lost on this link, so stop over a clean one.
  yoda.drop();
  hans.drop();
  const c = new PrivateChannel(a, at(b.port), TOKEN, "hans", {
    message: () => {},
    closed: () => {},
  });
  const d = new PrivateChannel(b, at(a.port), TOKEN, "yoda", {
    message: () => {},
    closed: () => closedB = true,
  });
  await c.stop();
  const until = Date.now() + 2000;
  while (!closedB && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert(closedB && d.isClosed);
  await assertRejects(
    () => c.send("after stop"),
    TransferError,
    "Error. Private messaging to hans not enabled",
  );
});
