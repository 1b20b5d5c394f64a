import { assert, assertEquals, assertMatch } from "@std/assert";
import type { ChatEvent } from "../../lib/protocol/events.ts";
import { connect, expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";
import type { TestServer } from "../helpers.ts";
import { join } from "node:path";
import { downloadFile, uploadFile } from "../../lib/client/transfers.ts";
import { IrcTestClient } from "../../testing/irc_client.ts";
import { TestRedis } from "../../testing/redis_server.ts";
import { spawnServer } from "../../testing/server_process.ts";
import { closeQuietly, connectRedis, type RedisClient } from "../../lib/store/redis_client.ts";

/** Nodes of one cluster on loopback, sharing a Redis and one data directory (the blobs). */
async function cluster(redis: TestRedis, count: number, dataDir?: string): Promise<TestServer[]> {
  const dir = dataDir ?? await Deno.makeTempDir({ prefix: "labchat-cluster-" });
  const nodes: TestServer[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await startTestServer({ cluster: redis.url, node: `n${i + 1}` }, dir));
  }
  return nodes;
}

/** Shuts every node down, then removes the shared data directory. */
async function stopAll(nodes: TestServer[]): Promise<void> {
  for (const node of nodes) await node.server.shutdown();
  await Deno.remove(nodes[0].dataDir, { recursive: true }).catch(() => {});
}

/** Cuts every connection to Redis named `name` (`labchat:NODE:ROLE`); returns how many. */
async function cutConnections(admin: RedisClient, name: string): Promise<number> {
  let cut = 0;
  for (const line of String(await admin.sendCommand(["CLIENT", "LIST"])).split("\n")) {
    if (!line.includes(` name=${name} `)) continue;
    const id = /^id=(\d+)/.exec(line)?.[1];
    if (id) cut += Number(await admin.sendCommand(["CLIENT", "KILL", "ID", id]));
  }
  return cut;
}

const broadcastNumbers = (events: readonly ChatEvent[]) =>
  events.flatMap((e) => e.type === "broadcast" ? [e.number] : []);

Deno.test("cluster: accounts, private messages, WHO and a person's sessions span the nodes", async () => {
  await using redis = await TestRedis.start();
  const [a, b, c] = await cluster(redis, 3);
  try {
    const yoda = await registered(a.port, "yoda");
    // The account made on node 1 exists on node 2, whatever the case.
    await expectReply(await connect(b.port), "REGISTER Yoda x", 406);
    const hans = await registered(b.port, "hans");
    const luke = await registered(c.port, "luke");
    // A person on two nodes at once: listed once, every session hears them, and what one
    // session sends shows in the other.
    const yodaOnC = await loggedIn(c.port, "yoda");
    // A second node under a live node's name is refused, and does not disturb that node.
    const clash = await startTestServer({ cluster: redis.url, node: "n2" }, a.dataDir).then(
      () => "started",
      (error: Error) => error.message,
    );
    assertMatch(clash, /Another live node is called n2/);
    // WHO on any node lists everyone.
    const who = await expectReply(luke, "WHO", 200);
    for (const name of ["yoda", "hans", "luke"]) {
      assertEquals(who.lines.filter((l) => l.startsWith(`${name}, 127.0.0.1`)).length, 1, name);
    }
    await expectReply(hans, "MSG yoda to both of you", 200, "Message sent to yoda");
    for (const session of [yoda, yodaOnC]) {
      await session.waitForEvent((e) => e.type === "private" && e.text === "to both of you");
    }
    await expectReply(yodaOnC, "MSG hans sent from node 3", 200);
    assertEquals(
      await yoda.waitForEvent((e) => e.type === "private_sent"),
      { type: "private_sent", to: "hans", text: "sent from node 3" },
    );
    const sessions = await expectReply(yoda, "SESSIONS", 200, /2 sessions of yoda/);
    assert(sessions.lines.some((l) => / on n3 /.test(l)), sessions.lines.join("\n"));
    // Leaving one node's session keeps the person online; nobody hears of a logout.
    await quit(yodaOnC);
    const still = await expectReply(luke, "WHO yoda", 200);
    assert(still.lines.some((l) => l.startsWith("yoda, ")), still.lines.join("\n"));
    // A private message to a user on another node arrives at once.
    await expectReply(yoda, "MSG hans hello from node 1", 200, "Message sent to hans");
    assertEquals(
      await hans.waitForEvent((e) => e.type === "private" && e.text === "hello from node 1"),
      { type: "private", from: "yoda", text: "hello from node 1" },
    );
    // Offline on every node: queued, and delivered at the next login on another node.
    await quit(luke);
    await expectReply(hans, "MSG luke are you there", 200, /luke is offline/);
    const lukeAgain = await loggedIn(a.port, "luke");
    const queued = await lukeAgain.waitForEvent((e) => e.type === "private_offline");
    assertEquals(queued.type === "private_offline" && queued.text, "are you there");
    await Promise.all([quit(yoda), quit(hans), quit(lukeAgain)]);
  } finally {
    await stopAll([a, b, c]);
  }
});

Deno.test("cluster: broadcasts are numbered once and reach every node in the same order", async () => {
  await using redis = await TestRedis.start();
  const [a, b] = await cluster(redis, 2);
  try {
    const senders = [await registered(a.port, "s1"), await registered(b.port, "s2")];
    const listeners = [await registered(a.port, "l1"), await registered(b.port, "l2")];
    const perSender = 20;
    await Promise.all(senders.map(async (sender, i) => {
      for (let n = 0; n < perSender; n++) {
        await expectReply(sender, `BROADCAST from ${i} number ${n}`, 200);
      }
    }));
    const seen: number[][] = [];
    for (const listener of listeners) {
      // Events waited for are taken from the queue: keep them, then add those still queued.
      const taken: ChatEvent[] = [];
      while (broadcastNumbers([...taken, ...listener.queuedEvents]).length < 2 * perSender) {
        taken.push(await listener.waitForEvent((e) => e.type === "broadcast"));
      }
      seen.push(broadcastNumbers([...taken, ...listener.queuedEvents]));
    }
    const all = [...seen[0]].sort((x, y) => x - y);
    assertEquals(all, Array.from({ length: 2 * perSender }, (_, i) => i + 1), "each number once");
    assertEquals(seen[0], seen[1], "the same order on both nodes");
    // One sender's broadcasts and private messages, pipelined, reach a user on another node in
    // the order they were sent (a broadcast waits for its number; the messages behind it wait too).
    const sent: string[] = [];
    const requests: Promise<unknown>[] = [];
    for (let n = 0; n < 10; n++) {
      const kind = n % 3 === 0 ? "MSG l2" : "BROADCAST";
      sent.push(`${kind === "MSG l2" ? "m" : "b"}${n}`);
      requests.push(senders[0].request(`${kind} fifo ${sent.at(-1)}`));
    }
    await Promise.all(requests);
    const heard: string[] = [];
    for await (const event of listeners[1].events()) {
      const text = event.type === "broadcast" || event.type === "private" ? event.text : "";
      if (text.startsWith("fifo ")) heard.push(text.slice(5));
      if (heard.length === sent.length) break;
    }
    assertEquals(heard, sent, "one sender's events in the order sent");
    // History on either node has them all.
    const history = await expectReply(listeners[1], "HISTORY b limit 100", 200);
    assertEquals(history.lines.filter((l) => /from \d number/.test(l)).length, 2 * perSender);
    assertEquals(history.lines.filter((l) => / fifo b\d/.test(l)).length, 6);
    await Promise.all([...senders, ...listeners].map(quit));
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("cluster: an admin online on one node is an operator in #lab on another, and not once gone", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir({ prefix: "labchat-cluster-" });
  const irc = { irc: true, ircPort: 0, ircLabLimit: 1 };
  const a = await startTestServer({ cluster: redis.url, node: "n1", ...irc }, dir);
  await quit(await registered(a.port, "root"));
  // --admin counts for accounts that exist when the node starts: node 2 makes root an admin.
  const b = await startTestServer({ cluster: redis.url, node: "n2", admins: ["root"] }, dir);
  const ircPort = a.server.ircAddr?.port ?? 0;
  try {
    const root = await loggedIn(b.port, "root");
    await using ann = await IrcTestClient.connect(ircPort);
    await ann.send("NICK ann", "USER ann 0 * :Ann");
    const { message: ops } = await ann.expect("252");
    assertEquals(ops.params[1], "1", "node 1 counts the operator on node 2");
    const { message: names } = await ann.expect("353");
    assertEquals(names.params[3], "@root ann");
    await quit(root);
    let after = "";
    for (const deadline = Date.now() + 10_000; after !== "ann" && Date.now() < deadline;) {
      await ann.send("NAMES #lab");
      after = (await ann.expect("353")).message.params[3];
      if (after !== "ann") await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(after, "ann", "gone from node 1's operators once root logged out on node 2");
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("cluster: blocks, rooms and lockout made on one node hold on the others", async () => {
  await using redis = await TestRedis.start();
  const [a, b] = await cluster(redis, 2);
  try {
    const yoda = await registered(a.port, "yoda");
    const hans = await registered(b.port, "hans");
    await expectReply(hans, "BLOCK yoda", 200);
    // The block, made on node 2, is known on node 1 (it travels with the cluster's changes).
    let refused = false;
    for (const deadline = Date.now() + 10_000; !refused && Date.now() < deadline;) {
      refused = (await yoda.request("MSG hans hello")).code === 405;
      if (!refused) await new Promise((r) => setTimeout(r, 20));
    }
    assert(refused, "node 1 learnt of the block");
    await expectReply(hans, "UNBLOCK yoda", 200);
    const luke = await registered(b.port, "luke");
    await expectReply(yoda, "ROOM CREATE luke", 200);
    const created = await luke.waitForEvent((e) => e.type === "room_created");
    const room = created.type === "room_created" ? created.room : -1;
    await expectReply(luke, `ROOM SAY ${room} hi from node 2`, 200);
    const said = await yoda.waitForEvent((e) => e.type === "room");
    assertEquals(said.type === "room" && said.text, "hi from node 2");
    // Failed logins count on every node: three wrong passwords across two nodes lock it.
    await quit(luke);
    for (const [port, code] of [[a.port, 410], [b.port, 410], [a.port, 411]]) {
      await expectReply(await connect(port), "LOGIN luke wrong", code);
    }
    await expectReply(await connect(b.port), "LOGIN luke luke-secret", 412);
    // A name without an account locks the same way, so the lockout does not tell names apart.
    for (const [port, code] of [[b.port, 410], [a.port, 410], [b.port, 411]]) {
      await expectReply(await connect(port), "LOGIN ghost wrong", code);
    }
    await expectReply(await connect(a.port), "LOGIN ghost wrong", 412);
    await Promise.all([quit(yoda), quit(hans)]);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("cluster: a block stored but never told to a node reaches it once its Redis connection is back", async () => {
  await using redis = await TestRedis.start();
  const [a, b] = await cluster(redis, 2);
  const admin = await connectRedis({ url: redis.url, role: "test", log: () => {} });
  try {
    const yoda = await registered(a.port, "yoda");
    const hans = await registered(b.port, "hans");
    // hans's block of yoda is stored, but node 1 is never told (its node lost Redis between the
    // two, or a failover lost the stream's newest entry).
    await admin.sendCommand(["SADD", "labchat:block", "hans\nyoda"]);
    await expectReply(yoda, "MSG hans before", 200);
    await hans.waitForEvent((e) => e.type === "private" && e.text === "before");
    // Node 1 loses its connection to Redis and gets it back: it reads the blocks again.
    assertEquals(await cutConnections(admin, "labchat:n1:presence"), 1);
    let refused = false;
    for (const deadline = Date.now() + 10_000; !refused && Date.now() < deadline;) {
      refused = (await yoda.request("MSG hans after")).code === 405;
      if (!refused) await new Promise((r) => setTimeout(r, 50));
    }
    assert(refused, "node 1 learnt of the block after its reconnect");
    await Promise.all([quit(yoda), quit(hans)]);
  } finally {
    await closeQuietly(admin);
    await stopAll([a, b]);
  }
});

Deno.test("cluster: a channel is one channel across nodes: members, messages, the topic and its +t", async () => {
  await using redis = await TestRedis.start();
  const [a, b] = await cluster(redis, 2);
  try {
    const yoda = await registered(a.port, "yoda");
    const hans = await registered(b.port, "hans");
    await expectReply(yoda, "JOIN #dev", 200);
    // Joining on the other node finds the channel yoda made, whether or not node 2 has applied
    // yoda's JOIN yet: both are applied in one order on every node, and hans's comes second.
    const joined = await expectReply(hans, "JOIN #dev", 200);
    assertMatch(joined.text, /Joined #dev: @yoda hans/);
    assertEquals((await expectReply(hans, "NAMES #dev", 200)).text, "#dev: @yoda hans");
    await yoda.waitForEvent((e) => e.type === "channel_join" && e.user === "hans");
    await expectReply(hans, "SAY #dev hello from node 2", 200);
    const heard = await yoda.waitForEvent((e) => e.type === "channel_message");
    assertEquals(heard.type === "channel_message" && heard.text, "hello from node 2");
    await expectReply(yoda, "TOPIC #dev plans for friday", 200);
    await hans.waitForEvent((e) => e.type === "channel_topic");
    const topic = await expectReply(hans, "TOPIC #dev", 200);
    assertMatch(topic.text, /plans for friday/);
    // Only an operator may set the topic (+t), whichever node the operator is on.
    await expectReply(hans, "TOPIC #dev mine now", 402);
    await Promise.all([quit(yoda), quit(hans)]);
  } finally {
    await stopAll([a, b]);
  }
});

Deno.test("cluster: people joining one new channel on three nodes at once end in one channel, the same on every node", async () => {
  await using redis = await TestRedis.start();
  const nodes = await cluster(redis, 3);
  try {
    const people = await Promise.all(
      Array.from({ length: 12 }, (_, i) => registered(nodes[i % 3].port, `user${i}`)),
    );
    // Nobody has made #race yet; every node hears of it only through the others' JOINs.
    const replies = await Promise.all(people.map((p) => expectReply(p, "JOIN #race", 200)));
    assertEquals(replies.filter((r) => r.text.startsWith("Joined #race: ")).length, 12);
    const expected = people.map((_, i) => `user${i}`).sort();
    const seen: string[] = [];
    for (const i of nodes.keys()) {
      const asker = people[i]; // on node i + 1
      let names = "";
      for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
        names = (await expectReply(asker, "NAMES #race", 200)).text;
        if (names.split(" ").length === 13) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const members = names.replace(/^#race: /, "").split(" ");
      assertEquals(members.map((m) => m.replace(/^@/, "")).sort(), expected, `node ${i + 1}`);
      assertEquals(members.filter((m) => m.startsWith("@")).length, 1, "one operator: the first");
      seen.push(names);
    }
    assertEquals(new Set(seen).size, 1, `every node lists the same members:\n${seen.join("\n")}`);
    // What one says there reaches all eleven others, whichever node they are on.
    await expectReply(people[0], "SAY #race one channel", 200);
    for (const person of people.slice(1)) {
      await person.waitForEvent((e) => e.type === "channel_message" && e.text === "one channel");
    }
    await Promise.all(people.map(quit));
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("cluster: a node that starts later knows the channels, their topics and keys", async () => {
  await using redis = await TestRedis.start();
  const [a] = await cluster(redis, 1);
  const nodes = [a];
  try {
    const yoda = await registered(a.port, "yoda");
    await expectReply(yoda, "JOIN #vault", 200);
    await expectReply(yoda, "TOPIC #vault keep out", 200);
    await expectReply(yoda, "MODE #vault +k sesame", 200);
    const late = await startTestServer({ cluster: redis.url, node: "late" }, a.dataDir);
    nodes.push(late);
    const hans = await registered(late.port, "hans");
    // The late node did not see these made, and does not hand out the channel afresh.
    const refused = await expectReply(hans, "JOIN #vault", 402);
    assertMatch(refused.text, /wrong key/);
    const joined = await expectReply(hans, "JOIN #vault sesame", 200);
    assertMatch(joined.text, /Joined #vault: @yoda hans; topic: keep out/);
    // A node that shuts down takes its users out of their channels on the way.
    await late.server.shutdown();
    nodes.pop();
    let names = "";
    for (let i = 0; i < 100 && names !== "#vault: @yoda"; i++) {
      names = (await expectReply(yoda, "NAMES #vault", 200)).text;
      if (names !== "#vault: @yoda") await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(names, "#vault: @yoda");
    await quit(yoda);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("cluster: forum threads and files are shared; nodes on one machine can share a port", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir({ prefix: "labchat-cluster-" });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const nodes: TestServer[] = [];
  for (const node of ["n1", "n2"]) {
    nodes.push(
      await startTestServer({ cluster: redis.url, node, port, reusePort: true }, dir),
    );
  }
  try {
    assertEquals(nodes.map((n) => n.port), [port, port], "both nodes listen on one port");
    // The kernel spreads connections over the nodes.
    const conns = await Promise.all(Array.from({ length: 40 }, () => connect(port)));
    await new Promise((r) => setTimeout(r, 100));
    const counts = nodes.map((n) => n.server.connectionCount);
    assert(counts.every((c) => c > 0), `connections per node: ${counts}`);
    await Promise.all(conns.map((c) => c.close()));
    // A file uploaded through one node downloads, checked, through the other (two more nodes on
    // ports of their own, so each client knows which node it is on).
    const a = await startTestServer({ cluster: redis.url, node: "n3" }, dir);
    nodes.push(a);
    const b = await startTestServer({ cluster: redis.url, node: "n4" }, dir);
    nodes.push(b);
    const yoda = await registered(a.port, "yoda");
    const hans = await registered(b.port, "hans");
    await expectReply(yoda, "THREAD CREATE plans", 200);
    const path = join(dir, "notes.txt");
    await Deno.writeTextFile(path, "shared across nodes\n");
    assertEquals((await uploadFile(yoda, "plans", path)).code, 200);
    await expectReply(hans, "POST plans sounds good", 200);
    const read = await expectReply(yoda, "THREAD READ plans", 200);
    assert(read.lines.some((l) => l.includes("sounds good")), read.lines.join("\n"));
    const saved = await downloadFile(hans, "plans", "notes.txt", join(dir, "downloads"));
    assertEquals(await Deno.readTextFile(saved.savedAs ?? ""), "shared across nodes\n");
    await Promise.all([quit(yoda), quit(hans)]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("cluster: a node killed with SIGKILL has its users offline within seconds, and they log in elsewhere", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir({ prefix: "labchat-cluster-" });
  const [a] = await cluster(redis, 1, dir);
  await using doomed = await spawnServer(dir, ["--cluster", redis.url, "--node", "doomed"]);
  try {
    const watcher = await registered(a.port, "watcher");
    const victim = await registered(doomed.port, "victim");
    await expectReply(victim, "BROADCAST acknowledged before the crash", 200);
    await watcher.waitForEvent((e) => e.type === "login" && e.user === "victim");
    doomed.child.kill("SIGKILL");
    await doomed.status;
    const started = Date.now();
    const gone = await watcher.waitForEvent((e) => e.type === "logout" && e.user === "victim");
    const seconds = (Date.now() - started) / 1000;
    assert(gone.type === "logout" && seconds < 10, `offline after ${seconds} s`);
    // The user logs in on the surviving node; what was acknowledged is there.
    const back = await loggedIn(a.port, "victim");
    const history = await expectReply(back, "HISTORY b limit 10", 200);
    assert(history.lines.some((l) => l.includes("acknowledged before the crash")));
    // Killed again, with a user online, and restarted at once under its name: the new run waits
    // for the old heartbeat, and the user it left online is offline.
    await using again = await spawnServer(dir, ["--cluster", redis.url, "--node", "doomed"]);
    const stranded = await registered(again.port, "stranded");
    await watcher.waitForEvent((e) => e.type === "login" && e.user === "stranded");
    again.child.kill("SIGKILL");
    await again.status;
    await using restarted = await spawnServer(dir, ["--cluster", redis.url, "--node", "doomed"]);
    await watcher.waitForEvent((e) => e.type === "logout" && e.user === "stranded");
    await expectReply(await connect(restarted.port), "LOGIN stranded stranded-secret", 200);
    await stranded.close();
    await Promise.all([quit(watcher), quit(back)]);
  } finally {
    await stopAll([a]);
  }
});

Deno.test("cluster: events sent while a node's connection to Redis is down wait in its log, and arrive in order", async () => {
  await using redis = await TestRedis.start();
  const [a, b] = await cluster(redis, 2);
  const admin = await connectRedis({ url: redis.url, role: "test", log: () => {} });
  try {
    const yoda = await registered(a.port, "yoda");
    const hans = await registered(b.port, "hans");
    // Cut node 2's reading connection again and again while node 1 sends it 40 messages.
    let cuts = 0;
    let cutting = true;
    const cutter = (async () => {
      while (cutting) {
        cuts += await cutConnections(admin, "labchat:n2:events");
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    for (let i = 0; i < 40; i++) {
      await expectReply(yoda, `MSG hans number ${i}`, 200);
      await new Promise((r) => setTimeout(r, 10));
    }
    cutting = false;
    await cutter;
    assert(cuts >= 3, `the connection was cut ${cuts} times`);
    const texts: string[] = [];
    while (texts.length < 40) {
      const event = await hans.waitForEvent((e) => e.type === "private", 10_000);
      if (event.type === "private") texts.push(event.text);
    }
    assertEquals(texts, Array.from({ length: 40 }, (_, i) => `number ${i}`), "all, once, in order");
    await Promise.all([quit(yoda), quit(hans)]);
  } finally {
    await closeQuietly(admin);
    await stopAll([a, b]);
  }
});

Deno.test("cluster: while Redis restarts, requests get a clear 5xx; then the nodes carry on", async () => {
  await using redis = await TestRedis.start();
  const lines: string[] = [];
  const dir = await Deno.makeTempDir({ prefix: "labchat-cluster-" });
  const errors: string[] = [];
  const log = {
    info: (line: string) => lines.push(line),
    warn: (line: string) => lines.push(line),
    error: (line: string) => {
      lines.push(line);
      errors.push(line);
    },
  };
  const a = await startTestServer({ cluster: redis.url, node: "n1", log }, dir);
  try {
    const yoda = await registered(a.port, "yoda");
    const hans = await registered(a.port, "hans");
    await expectReply(yoda, "BROADCAST before", 200);
    await redis.stop();
    const during = await yoda.request("BROADCAST during");
    assert(during.code >= 500 && during.code < 600, `got ${during.code} ${during.text}`);
    assertMatch(during.text, /Storage is unreachable for now; the request was not carried out/);
    const message = await yoda.request("MSG hans refused, so never delivered");
    assertMatch(message.text, /Storage is unreachable for now; the request was not carried out/);
    // A load balancer would take this node out meanwhile.
    assertEquals(a.server.unhealthyReason, "the store (Redis) is unreachable");
    await redis.restart();
    let after = 0;
    for (let i = 0; i < 100 && after !== 200; i++) {
      after = (await yoda.request("BROADCAST after")).code;
      if (after !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(after, 200, "the node reconnected");
    assert(lines.some((l) => /Lost the .* connection to Redis/.test(l)), lines.join("\n"));
    assert(lines.some((l) => /Reconnected/.test(l)), lines.join("\n"));
    assertEquals(a.server.unhealthyReason, undefined);
    // What was refused is not delivered once Redis is back either (a retry would duplicate it).
    await expectReply(yoda, "MSG hans after the outage", 200);
    const first = await hans.waitForEvent((e) => e.type === "private");
    assertEquals(first.type === "private" && first.text, "after the outage");
    // Losing Redis and getting it back is worked around: warnings and news, not errors.
    assertEquals(errors.filter((l) => /connection to Redis/.test(l)), []);
    const history = await expectReply(yoda, "HISTORY b limit 10", 200);
    const texts = history.lines.filter((l) => /before|during|after/.test(l));
    assert(texts.some((l) => l.includes("before")), "acknowledged before the outage: kept");
    assert(!texts.some((l) => l.includes("during")), "refused during the outage: not stored");
    await quit(yoda);
    await quit(hans);
  } finally {
    await stopAll([a]);
  }
});

Deno.test("cluster: channels outlast a Redis that restarts without its data: JOIN meanwhile gets a clear 5xx, and a node started after knows them", async () => {
  await using redis = await TestRedis.start();
  const [a] = await cluster(redis, 1);
  const nodes = [a];
  try {
    const yoda = await registered(a.port, "yoda");
    await expectReply(yoda, "JOIN #kept", 200);
    await expectReply(yoda, "TOPIC #kept still here", 200);
    await redis.stop();
    const during = await yoda.request("JOIN #other");
    assert(during.code >= 500 && during.code < 600, `got ${during.code} ${during.text}`);
    assertMatch(during.text, /not carried out/);
    await Deno.remove(join(redis.dir, "appendonlydir"), { recursive: true });
    await redis.restart();
    // The node writes the channels it holds again once it is back; a JOIN goes through.
    let joined = 0;
    for (let i = 0; i < 100 && joined !== 200; i++) {
      joined = (await yoda.request("JOIN #after")).code;
      if (joined !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(joined, 200, "the node reconnected");
    // The node has written #kept again (a node started before that would not know it).
    const direct = await connectRedis({ url: redis.url, role: "test", log: () => {} });
    try {
      for (let i = 0; i < 100 && !await direct.hExists("labchat:channel-states", "#kept"); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await closeQuietly(direct);
    }
    const late = await startTestServer({ cluster: redis.url, node: "late" }, a.dataDir);
    nodes.push(late);
    const hans = await registered(late.port, "hans");
    await expectReply(hans, "JOIN #kept", 200, /^Joined #kept: @yoda hans; topic: still here$/);
    await expectReply(hans, "NAMES #after", 200, "#after: @yoda");
    await Promise.all([quit(yoda), quit(hans)]);
  } finally {
    await stopAll(nodes);
  }
});

Deno.test("cluster: IRC client-only tags and TAGMSG reach a message-tags client on another node", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir({ prefix: "labchat-cluster-" });
  const irc = { irc: true, ircPort: 0 };
  const a = await startTestServer({ cluster: redis.url, node: "n1", ...irc }, dir);
  const b = await startTestServer({ cluster: redis.url, node: "n2", ...irc }, dir);
  const clients: IrcTestClient[] = [];
  try {
    for (const [node, nick] of [[a, "alice"], [b, "bob"]] as const) {
      const client = await IrcTestClient.connect(node.server.ircAddr?.port ?? 0);
      clients.push(client);
      await client.send("CAP REQ :message-tags", "CAP END");
      await client.register(nick);
    }
    const [alice, bob] = clients;
    // Node 1 learns of bob through Redis: on a busy machine that can take a while.
    let reached = false;
    for (const deadline = Date.now() + 10_000; !reached && Date.now() < deadline;) {
      await alice.send("ISON bob");
      reached = (await alice.expect("303")).message.params[1] === "bob";
      if (!reached) await new Promise((r) => setTimeout(r, 20));
    }
    assert(reached, "node 1 sees bob online");
    await alice.send("@+draft/reply=b1 PRIVMSG bob :across", "@+typing=active TAGMSG bob");
    const { message: said } = await bob.expect("PRIVMSG", (m) => m.params[1] === "across");
    assertEquals(said.tags.get("+draft/reply"), "b1");
    const { message: typing } = await bob.expect("TAGMSG");
    assertEquals(typing.tags.get("+typing"), "active");
  } finally {
    for (const client of clients) await client.close();
    await stopAll([a, b]);
  }
});
