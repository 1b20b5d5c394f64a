import { assertEquals, assertMatch } from "@std/assert";
import { connect, expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";
import { parseWhoEntry } from "../../lib/protocol/replies.ts";
import { ManualClock } from "../../lib/server/services/clock.ts";

Deno.test("MSG reaches an online user at once", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  await expectReply(yoda, "MSG hans hello, hans", 200, "Message sent to hans");
  assertEquals(await hans.waitForEvent((e) => e.type === "private"), {
    type: "private",
    from: "yoda",
    text: "hello, hans",
  });
  await Promise.all([quit(yoda), quit(hans)]);
});

Deno.test("MSG to an offline user is delivered in order at next login", async () => {
  await using t = await startTestServer();
  await quit(await registered(t.port, "hans"));
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "MSG hans hello, hans", 200, /hans is offline/);
  await expectReply(yoda, "MSG hans how are you going", 200);
  await expectReply(yoda, "MSG hans third", 200);
  const hans = await loggedIn(t.port, "hans");
  const texts = [];
  for (let i = 0; i < 3; i++) {
    const e = await hans.waitForEvent((e) => e.type === "private_offline");
    if (e.type === "private_offline") {
      assertEquals(e.from, "yoda");
      assertMatch(e.sentAt, /^\d\d \w{3} \d{4} \d\d:\d\d:\d\d$/);
      texts.push(e.text);
    }
  }
  assertEquals(texts, ["hello, hans", "how are you going", "third"]);
  await quit(hans);
  // Delivered once only.
  const again = await loggedIn(t.port, "hans");
  await expectReply(again, "WHO", 200);
  assertEquals(again.queuedEvents.filter((e) => e.type === "private_offline").length, 0);
  await Promise.all([quit(again), quit(yoda)]);
});

Deno.test("MSG errors: self, unknown user, blocked by the recipient", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  await expectReply(yoda, "MSG yoda hello", 414, "The receiver can not be yourself.");
  await expectReply(
    yoda,
    "MSG bbb hello",
    420,
    "either the user does not exist or is not logged in",
  );
  await expectReply(hans, "BLOCK yoda", 200);
  await expectReply(
    yoda,
    "MSG hans why you ignore me?",
    405,
    "Your message could not be delivered as the recipient has blocked you",
  );
  await expectReply(hans, "UNBLOCK yoda", 200, "You unblocked yoda");
  await expectReply(yoda, "MSG hans hi", 200);
  await hans.waitForEvent((e) => e.type === "private" && e.text === "hi");
  await Promise.all([quit(yoda), quit(hans)]);
});

Deno.test("BLOCK and UNBLOCK report every error case with the seed's texts", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await quit(await registered(t.port, "hans"));
  await expectReply(yoda, "BLOCK yoda", 414, "Error. Cannot block self");
  await expectReply(yoda, "BLOCK bbb", 420, "Error. Cannot find the person");
  await expectReply(yoda, "UNBLOCK yoda", 414, "Error. Cannot unblock self");
  await expectReply(yoda, "UNBLOCK hans", 404, "Error. This user was not already blocked");
  await expectReply(yoda, "UNBLOCK bbb", 420, "Error. Cannot find this user");
  await expectReply(yoda, "BLOCK hans", 200, "hans has been blocked");
  await expectReply(yoda, "BLOCK hans", 406, "hans is already blocked");
  await quit(yoda);
});

Deno.test("BROADCAST is numbered, reaches everyone else, and reports blocks", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  const luke = await registered(t.port, "luke");
  await expectReply(
    yoda,
    "BROADCAST Hello",
    200,
    /^Broadcast message, #1 broadcast at \d\d \w{3} \d{4} [\d:]{8}\.$/,
  );
  for (const chat of [hans, luke]) {
    assertEquals(await chat.waitForEvent((e) => e.type === "broadcast"), {
      type: "broadcast",
      from: "yoda",
      number: 1,
      text: "Hello",
    });
  }
  await expectReply(luke, "BLOCK yoda", 200);
  await expectReply(
    yoda,
    "BROADCAST Morning",
    202,
    /^Broadcast message, #2 broadcast at .*\. Your message could not be delivered to some recipients$/,
  );
  await hans.waitForEvent((e) => e.type === "broadcast" && e.number === 2);
  await expectReply(luke, "BROADCAST from luke", 200);
  // luke got nothing from yoda: the next broadcast luke sees is none, yoda sees luke's.
  await yoda.waitForEvent((e) => e.type === "broadcast" && e.from === "luke");
  assertEquals(luke.queuedEvents.filter((e) => e.type === "broadcast").length, 0);
  assertEquals(
    yoda.queuedEvents.filter((e) => e.type === "broadcast" && e.from === "yoda").length,
    0,
  );
  await Promise.all([quit(yoda), quit(hans), quit(luke)]);
});

Deno.test("HISTORY reads broadcasts, private messages and a time filter", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  await quit(await registered(t.port, "luke"));
  await expectReply(yoda, "BROADCAST one", 200);
  await expectReply(hans, "BROADCAST two", 200);
  await expectReply(yoda, "MSG hans psst", 200);
  await expectReply(yoda, "MSG luke later", 200);
  const all = await expectReply(hans, "HISTORY", 200, "2 broadcasts");
  assertMatch(all.lines[0], /^1; \d\d \w{3} \d{4} [\d:]{8}; yoda; one$/);
  assertMatch(all.lines[1], /^2; .*; hans; two$/);
  await expectReply(hans, "HISTORY b", 200, "2 broadcasts");
  await expectReply(hans, "HISTORY b 01 Jan 2099 00:00:00", 200, "0 broadcasts");
  await expectReply(hans, "HISTORY 01 Jan 2000", 200, "2 broadcasts");
  await expectReply(hans, "HISTORY b yesterday", 414, /Cannot read time "yesterday"/);
  const mine = await expectReply(yoda, "HISTORY p", 200, "2 private messages");
  assertMatch(mine.lines[0], /; yoda -> hans; psst$/);
  assertMatch(mine.lines[1], /; yoda -> luke; later$/);
  const withHans = await expectReply(hans, "HISTORY yoda", 200, "1 private message");
  assertMatch(withHans.lines[0], /; yoda -> hans; psst$/);
  await expectReply(hans, "HISTORY nobody", 420, 'Cannot find user "nobody"');
  await expectReply(hans, "HISTORY 9", 404, "Cannot find room 9");
  await Promise.all([quit(yoda), quit(hans)]);
});

Deno.test("an unknown user gets no private history of others", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await quit(await registered(t.port, "hans"));
  await expectReply(yoda, "MSG hans secret", 200);
  const luke = await registered(t.port, "luke");
  await expectReply(luke, "HISTORY p", 200, "0 private messages");
  await expectReply(luke, "HISTORY yoda", 200, "0 private messages");
  await Promise.all([quit(yoda), quit(luke)]);
  const anon = await connect(t.port);
  await expectReply(anon, "HISTORY p", 401);
  await anon.close();
});

Deno.test("HISTORY of 200 long broadcasts is paged and never disconnects its reader", async () => {
  await using t = await startTestServer({ requestRate: 0 });
  const yoda = await registered(t.port, "yoda");
  const long = "x".repeat(7000);
  await Promise.all(Array.from({ length: 200 }, (_, i) => yoda.request(`BROADCAST ${i} ${long}`)));
  const page = await expectReply(
    yoda,
    "HISTORY b",
    200,
    "100 broadcasts; older ones: HISTORY b before 101",
  );
  assertMatch(page.lines[0], /^101; .*; yoda; 100 x+$/);
  const older = await expectReply(yoda, "HISTORY b before 101", 200, "100 broadcasts");
  assertMatch(older.lines[0], /^1; .*; yoda; 0 x+$/);
  assertMatch(older.lines[99], /^100; .*; yoda; 99 x+$/);
  // More than the 1 MiB send queue in one reply: written with back-pressure, not queued.
  const all = await expectReply(yoda, "HISTORY b limit 200", 200, "200 broadcasts");
  assertEquals(all.lines.length, 201);
  await expectReply(
    yoda,
    "HISTORY b limit 5",
    200,
    "5 broadcasts; older ones: HISTORY b before 196",
  );
  await quit(yoda);
});

Deno.test("HISTORY since a time is strictly after that second, as toom's RDM", async () => {
  const clock = new ManualClock(new Date(2022, 7, 3, 23, 25, 3, 400).getTime());
  await using t = await startTestServer({ clock });
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "BROADCAST at :03", 200);
  clock.advance(1000);
  await expectReply(yoda, "BROADCAST at :04", 200);
  const after = await expectReply(yoda, "HISTORY b 03 Aug 2022 23:25:03", 200, "1 broadcast");
  assertMatch(after.lines[0], /^2; 03 Aug 2022 23:25:04; yoda; at :04$/);
  await expectReply(yoda, "HISTORY 03 Aug 2022 23:25:02", 200, "2 broadcasts");
  await quit(yoda);
});

Deno.test("a request sees every earlier request of its connection, pipelined or not", async () => {
  await using t = await startTestServer({ requestRate: 0 });
  await quit(await registered(t.port, "hans"));
  const yoda = await registered(t.port, "yoda");
  for (let round = 0; round < 30; round++) {
    const [, , msg, history] = await Promise.all([
      yoda.request(`BROADCAST round ${round}`),
      yoda.request("HISTORY b"),
      yoda.request(`MSG hans note ${round}`),
      yoda.request("HISTORY p"),
    ]);
    assertEquals(msg.code, 200);
    assertMatch(history.lines.at(-2) ?? "", new RegExp(`yoda -> hans; note ${round}$`));
  }
  await quit(yoda);
});

Deno.test("offline messages survive a login whose connection dies at once", async () => {
  await using t = await startTestServer({ requestRate: 0 });
  await quit(await registered(t.port, "hans"));
  const yoda = await registered(t.port, "yoda");
  for (let i = 0; i < 20; i++) await expectReply(yoda, `MSG hans queued ${i}`, 200, /offline/);
  // A login that dies right after sending: its delivery cannot have reached anyone.
  const dying = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  await dying.write(new TextEncoder().encode("LOGIN hans hans-secret\n"));
  dying.close();
  const hans = await connect(t.port);
  let reply = await hans.request("LOGIN hans hans-secret");
  for (let i = 0; i < 100 && reply.code === 409; i++) {
    await new Promise((r) => setTimeout(r, 10)); // the dead session is being logged out
    reply = await hans.request("LOGIN hans hans-secret");
  }
  assertEquals(reply.code, 200);
  const texts = [];
  for (let i = 0; i < 20; i++) {
    const event = await hans.waitForEvent((e) => e.type === "private_offline");
    if (event.type === "private_offline") texts.push(event.text);
  }
  assertEquals(texts, Array.from({ length: 20 }, (_, i) => `queued ${i}`));
  // Now hans has read them and says something: they are gone from the queue.
  await expectReply(hans, "WHO", 200);
  await quit(hans);
  const later = await loggedIn(t.port, "hans");
  await expectReply(later, "WHO", 200);
  assertEquals(later.queuedEvents.filter((e) => e.type === "private_offline").length, 0);
  await Promise.all([quit(later), quit(yoda)]);
});

Deno.test("an offline backlog larger than the send queue arrives whole, at the reader's pace", async () => {
  await using t = await startTestServer({ requestRate: 0, maxSendQueueBytes: 256 * 1024 });
  await quit(await registered(t.port, "hans"));
  const yoda = await registered(t.port, "yoda");
  const text = "y".repeat(7000);
  await Promise.all(Array.from({ length: 200 }, (_, i) => yoda.request(`MSG hans ${i} ${text}`)));
  const hans = await loggedIn(t.port, "hans");
  for (let i = 0; i < 200; i++) {
    const event = await hans.waitForEvent((e) => e.type === "private_offline", 10_000);
    assertEquals(event.type === "private_offline" && event.text.startsWith(`${i} `), true);
  }
  await Promise.all([quit(hans), quit(yoda)]);
});

Deno.test("AWAY does what its help says: senders are told, and WHO marks the user", async () => {
  await using t = await startTestServer();
  const hans = await registered(t.port, "hans");
  const yoda = await registered(t.port, "yoda");
  await expectReply(hans, "AWAY lunch, back at 2", 200, "You are away: lunch, back at 2");
  await expectReply(
    yoda,
    "MSG hans are you there?",
    200,
    "Message sent to hans; hans is away: lunch, back at 2",
  );
  const who = await expectReply(yoda, "WHO", 200);
  const line = who.lines.find((l) => l.startsWith("hans,")) ?? "";
  assertMatch(line, /^hans, 127\.0\.0\.1, -, active since .+, away: lunch, back at 2$/);
  assertEquals(parseWhoEntry(line)?.away, "lunch, back at 2");
  assertEquals(parseWhoEntry(line)?.user, "hans");
  await expectReply(hans, "AWAY", 200, "You are back");
  await expectReply(yoda, "MSG hans welcome back", 200, "Message sent to hans");
  assertEquals(parseWhoEntry((await expectReply(yoda, "WHO hans", 200)).text)?.away, undefined);
  await quit(hans);
  await quit(yoda);
});
