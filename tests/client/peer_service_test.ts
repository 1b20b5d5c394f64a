import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { join } from "node:path";
import { PeerService, type PeerServiceEvents } from "../../lib/client/peer_service.ts";
import { hashFile } from "../../lib/fs/hash_file.ts";
import { PeerSocket } from "../../lib/p2p/peer_socket.ts";
import type { ChatConnection } from "../../lib/client/chat_connection.ts";
import { TransferError } from "../../lib/p2p/transfer_error.ts";
import { LossyRelay } from "../p2p/lossy_relay.ts";
import { randomBytes } from "../random_bytes.ts";
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
