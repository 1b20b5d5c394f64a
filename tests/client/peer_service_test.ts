import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { join } from "node:path";
import {
  PeerService,
  type PeerServiceEvents,
  receivedFileName,
} from "../../lib/client/peer_service.ts";
import { encodePacket, type Packet, PacketType, tokenFromHex } from "../../lib/p2p/packet.ts";
import { hashFile } from "../../lib/fs/hash_file.ts";
import { PeerSocket } from "../../lib/p2p/peer_socket.ts";
import type { ChatConnection } from "../../lib/client/chat_connection.ts";
import { TransferError } from "../../lib/p2p/transfer_error.ts";
import { LossyRelay } from "../../testing/lossy_relay.ts";
import { randomBytes } from "../../testing/random_bytes.ts";
import { expectReply, quit, registered, startTestServer } from "../helpers.ts";

/** Records what a PeerService reports. */
function recorder() {
  const log: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const push = (line: string) => {
    log.push(line);
    for (const w of waiters.splice(0)) {
      if (w.pattern.test(line)) w.resolve(line);
      else waiters.push(w);
    }
  };
  const events: PeerServiceEvents = {
    privateMessage: (from, text) => push(`private ${from}: ${text}`),
    privateEnded: (user, reason) => push(`ended ${user}: ${reason}`),
    fileIncoming: (from, name, size) => push(`incoming ${from} ${name} ${size}`),
    fileRefused: (from, name, size, reason) => push(`refused ${from} ${name} ${size}: ${reason}`),
    fileProgress: () => {},
    fileReceived: (from, name, path) => push(`received ${from} ${name} ${path}`),
    fileFailed: (from, name, reason) => push(`failed ${from} ${name}: ${reason}`),
  };
  const next = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const found = log.find((l) => pattern.test(l));
      if (found) return resolve(found);
      const timer = setTimeout(
        () => reject(new Error(`no ${pattern} in ${log.join(" | ")}`)),
        timeoutMs,
      );
      waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  return { log, events, next };
}

/** Feeds a connection's events to its PeerService, as the client's event pump does. */
async function pump(
  chat: ChatConnection,
  peers: PeerService,
) {
  for await (const event of chat.events()) peers.handleEvent(event);
}

Deno.test("PEER introduces online users with a token; refusals for self, offline, blocked, no port", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  await quit(await registered(t.port, "luke"));
  await expectReply(yoda, "PEER hans file", 414, "Report your UDP port first: UDP <port>");
  await expectReply(yoda, "UDP 8001", 200);
  await expectReply(yoda, "PEER hans file", 404, "hans has no UDP port for peer-to-peer");
  await expectReply(hans, "UDP 8002", 200);
  const reply = await expectReply(yoda, "PEER hans private", 200);
  const [, host, port, token] = reply.text.split(" ");
  assertEquals([host, port], ["127.0.0.1", "8002"]);
  assertMatch(token, /^[0-9a-f]{32}$/);
  assertEquals(await hans.waitForEvent((e) => e.type === "peer"), {
    type: "peer",
    from: "yoda",
    host: "127.0.0.1",
    port: 8001,
    token,
    purpose: "private",
  });
  const second = await expectReply(yoda, "PEER hans file", 200);
  assert(second.text.split(" ")[3] !== token, "every introduction has a fresh token");
  await expectReply(yoda, "PEER yoda file", 414, "Cannot connect to yourself");
  await expectReply(
    yoda,
    "PEER luke file",
    420,
    "either the user does not exist or is not logged in",
  );
  await expectReply(yoda, "PEER hans video", 414, 'Cannot use "video": say file or private');
  await expectReply(hans, "BLOCK yoda", 200);
  await expectReply(
    yoda,
    "PEER hans private",
    405,
    "Cannot connect to hans: one of you has blocked the other",
  );
  await expectReply(
    hans,
    "PEER yoda private",
    405,
    "Cannot connect to yoda: one of you has blocked the other",
  );
  await expectReply(yoda, "SENDFILE hans x", 400, /is done by chat-client itself/);
  await expectReply(yoda, "PRIVATE START hans", 400, /is done by chat-client itself/);
  await Promise.all([quit(yoda), quit(hans)]);
});

Deno.test("SENDFILE through the server's introduction and a lossy link arrives as sender_file", async () => {
  await using t = await startTestServer();
  const dir = await Deno.makeTempDir({ prefix: "labchat-peers-" });
  await using socketA = new PeerSocket(0, "127.0.0.1");
  await using socketB = new PeerSocket(0, "127.0.0.1");
  await using relay = new LossyRelay(socketA.port, socketB.port, {
    drop: 0.1,
    duplicate: 0.05,
    maxDelayMs: 3,
    seed: 11,
  });
  const yoda = await registered(t.port, "yoda");
  const obiwan = await registered(t.port, "obiwan");
  const a = recorder();
  const b = recorder();
  const yodaPeers = new PeerService(yoda, socketA, {
    downloads: join(dir, "yoda"),
    events: a.events,
    advertisedPort: relay.portForA,
  });
  const obiwanPeers = new PeerService(obiwan, socketB, {
    downloads: join(dir, "obiwan"),
    events: b.events,
    advertisedPort: relay.portForB,
  });
  const pumps = [pump(yoda, yodaPeers), pump(obiwan, obiwanPeers)];
  try {
    await yodaPeers.reportPort();
    await obiwanPeers.reportPort();
    const path = join(dir, "example1.mp4");
    const bytes = randomBytes(2 * 1024 * 1024 + 123);
    await Deno.writeFile(path, bytes);
    const result = await yodaPeers.sendFile("obiwan", path);
    assertEquals(result.bytes, bytes.length);
    const received = await b.next(/^received yoda example1\.mp4 /);
    const saved = join(dir, "obiwan", "yoda_example1.mp4");
    assertEquals(received, `received yoda example1.mp4 ${saved}`);
    assertEquals(await hashFile(saved), await hashFile(path));
    assert(b.log.includes(`incoming yoda example1.mp4 ${bytes.length}`));
    await assertRejects(
      () => yodaPeers.sendFile("obiwan", join(dir, "missing.bin")),
      Deno.errors.NotFound,
    );
    const refused = await assertRejects(() => yodaPeers.sendFile("nobody", path), TransferError);
    assertEquals(refused.message, "either the user does not exist or is not logged in");
  } finally {
    await Promise.all([quit(yoda), quit(obiwan)]);
    await Promise.all(pumps);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("private chat: START, messages both ways, not enabled without START, ends on logout", async () => {
  await using t = await startTestServer();
  await using socketA = new PeerSocket(0, "127.0.0.1");
  await using socketB = new PeerSocket(0, "127.0.0.1");
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  const a = recorder();
  const b = recorder();
  const yodaPeers = new PeerService(yoda, socketA, { downloads: "unused", events: a.events });
  const hansPeers = new PeerService(hans, socketB, { downloads: "unused", events: b.events });
  const pumps = [pump(yoda, yodaPeers), pump(hans, hansPeers)];
  try {
    await yodaPeers.reportPort();
    await hansPeers.reportPort();
    const notYet = await assertRejects(() => yodaPeers.sendPrivate("luke", "hi"), TransferError);
    assertEquals(notYet.message, "Error. Private messaging to luke not enabled");
    await yodaPeers.startPrivate("hans");
    await yodaPeers.sendPrivate("hans", "hi, hans");
    await b.next(/^private yoda: hi, hans$/);
    await hansPeers.sendPrivate("yoda", "hi, yoda"); // the introduction enabled both directions
    await a.next(/^private hans: hi, yoda$/);
    await quit(hans);
    await a.next(/^ended hans: hans logged out$/);
    const after = await assertRejects(
      () => yodaPeers.sendPrivate("hans", "still there?"),
      TransferError,
    );
    assertEquals(after.message, "Error. Private messaging to hans not enabled");
  } finally {
    await quit(yoda);
    await Promise.all(pumps);
  }
});

Deno.test("a received file is saved as sender_basename whatever name the peer offers", () => {
  assertEquals(receivedFileName("mallory", "../alice_report.txt"), "mallory_alice_report.txt");
  assertEquals(receivedFileName("mallory", "/etc/passwd"), "mallory_passwd");
  assertEquals(receivedFileName("mallory", "..\\\\..\\\\x.exe"), "mallory_x.exe");
  assertEquals(receivedFileName("mallory", ".."), "mallory_download");
  assertEquals(receivedFileName("mallory", "a\u202egnp.exe"), "mallory_a_gnp.exe");
  const long = receivedFileName("mallory", `${"字".repeat(120)}.bin`);
  assertEquals(new TextEncoder().encode(long).length <= 255, true);
  assertEquals(long.endsWith(".bin") && long.startsWith("mallory_"), true);
});

/** A logged-in client with a raw UDP socket: an attacker, or a peer we control byte by byte. */
async function rawPeer(port: number, name: string) {
  const chat = await registered(port, name);
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  await expectReply(chat, `UDP ${(udp.addr as Deno.NetAddr).port}`, 200);
  return { chat, udp };
}

Deno.test("a peer offering ../name gets the file saved as its own user name and the base name", async () => {
  await using t = await startTestServer();
  const dir = await Deno.makeTempDir({ prefix: "labchat-peers-" });
  await using socket = new PeerSocket(0, "127.0.0.1");
  const alice = await registered(t.port, "alice");
  const recorded = recorder();
  const peers = new PeerService(alice, socket, { downloads: dir, events: recorded.events });
  const pumping = pump(alice, peers);
  const mallory = await rawPeer(t.port, "mallory");
  try {
    await peers.reportPort();
    const intro = await expectReply(mallory.chat, "PEER alice file", 200);
    const [, host, portText, tokenHex] = intro.text.split(" ");
    const token = tokenFromHex(tokenHex) as Uint8Array;
    const to = { transport: "udp" as const, hostname: host, port: Number(portText) };
    const data = new TextEncoder().encode("gotcha");
    const sha256 = new Uint8Array(
      await crypto.subtle.digest("SHA-256", data),
    );
    const send = (packet: Packet) => mallory.udp.send(encodePacket(token, packet), to);
    const offer: Packet = {
      type: PacketType.OFFER,
      transfer: 9,
      size: data.length,
      sha256,
      chunk: 1444,
      name: "../alice_report.txt",
    };
    // Resend like a real sender until the receiver answers, then the data and FIN.
    for (let i = 0; i < 40 && !recorded.log.some((l) => l.startsWith("incoming")); i++) {
      await send(offer);
      await new Promise((r) => setTimeout(r, 25));
    }
    for (let i = 0; i < 40 && !recorded.log.some((l) => l.startsWith("received")); i++) {
      await send({ type: PacketType.DATA, transfer: 9, seq: 0, data });
      await send({ type: PacketType.FIN, transfer: 9 });
      await new Promise((r) => setTimeout(r, 25));
    }
    const received = await recorded.next(/^received mallory /);
    assertEquals(
      received,
      `received mallory ../alice_report.txt ${join(dir, "mallory_alice_report.txt")}`,
    );
    assertEquals(await Deno.readTextFile(join(dir, "mallory_alice_report.txt")), "gotcha");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["mallory_alice_report.txt"]);
  } finally {
    mallory.udp.close();
    await Promise.all([quit(alice), quit(mallory.chat)]);
    await pumping;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an offer over the receiver's limit is refused before any byte is written, both sides told", async () => {
  await using t = await startTestServer();
  const dir = await Deno.makeTempDir({ prefix: "labchat-peers-" });
  await using socketA = new PeerSocket(0, "127.0.0.1");
  await using socketB = new PeerSocket(0, "127.0.0.1");
  const yoda = await registered(t.port, "yoda");
  const obiwan = await registered(t.port, "obiwan");
  const a = recorder();
  const b = recorder();
  const yodaPeers = new PeerService(yoda, socketA, { downloads: join(dir, "y"), events: a.events });
  const obiwanPeers = new PeerService(obiwan, socketB, {
    downloads: join(dir, "o"),
    events: b.events,
    maxReceiveBytes: 1024,
  });
  const pumps = [pump(yoda, yodaPeers), pump(obiwan, obiwanPeers)];
  try {
    await yodaPeers.reportPort();
    await obiwanPeers.reportPort();
    const path = join(dir, "big.bin");
    await Deno.writeFile(path, randomBytes(4096));
    const refused = await assertRejects(() => yodaPeers.sendFile("obiwan", path), TransferError);
    assertEquals(refused.code, "refused");
    assertMatch(
      refused.message,
      /^obiwan refused big\.bin: larger than the 1\.0 KiB the receiver accepts \(--max-receive-mb\)$/,
    );
    await b.next(/^refused yoda big\.bin 4096: larger than the 1\.0 KiB/);
    const written = await Array.fromAsync(Deno.readDir(join(dir, "o"))).catch(() => []);
    assertEquals(written, [], "not even a partial file");
  } finally {
    await Promise.all([quit(yoda), quit(obiwan)]);
    await Promise.all(pumps);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the receiver is asked about an offer; the sender waits past its dead time, and a refusal says so", async () => {
  await using t = await startTestServer();
  const dir = await Deno.makeTempDir({ prefix: "labchat-peers-" });
  await using socketA = new PeerSocket(0, "127.0.0.1");
  await using socketB = new PeerSocket(0, "127.0.0.1");
  const yoda = await registered(t.port, "yoda");
  const obiwan = await registered(t.port, "obiwan");
  const a = recorder();
  const b = recorder();
  const asked: string[] = [];
  const answers = [true, false];
  const deadMs = 500;
  const yodaPeers = new PeerService(yoda, socketA, {
    downloads: join(dir, "y"),
    events: a.events,
    deadMs,
  });
  const obiwanPeers = new PeerService(obiwan, socketB, {
    downloads: join(dir, "o"),
    events: b.events,
    deadMs,
    // The person takes three times the sender's dead time to answer.
    accept: async (from, name, size) => {
      asked.push(`${from} ${name} ${size}`);
      await new Promise((resolve) => setTimeout(resolve, 3 * deadMs));
      return answers.shift() ?? false;
    },
  });
  const pumps = [pump(yoda, yodaPeers), pump(obiwan, obiwanPeers)];
  try {
    await yodaPeers.reportPort();
    await obiwanPeers.reportPort();
    const path = join(dir, "notes.txt");
    await Deno.writeTextFile(path, "iperf figures\n");
    let waited = 0;
    const result = await yodaPeers.sendFile("obiwan", path, { onWaiting: () => waited++ });
    assertEquals([result.bytes, waited], [14, 1]);
    await b.next(/^received yoda notes\.txt /);
    assertEquals(asked, ["yoda notes.txt 14"]);
    const refused = await assertRejects(() => yodaPeers.sendFile("obiwan", path), TransferError);
    assertEquals(refused.code, "refused");
    assertEquals(refused.message, "obiwan refused notes.txt: the receiver declined it");
    await b.next(/^refused yoda notes\.txt 14: the receiver declined it$/);
  } finally {
    await Promise.all([quit(yoda), quit(obiwan)]);
    await Promise.all(pumps);
    await Deno.remove(dir, { recursive: true });
  }
});
