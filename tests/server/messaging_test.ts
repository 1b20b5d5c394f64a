import { assertEquals, assertMatch } from "@std/assert";
import { connect, expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";

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
  await expectReply(hans, "UNBLOCK yoda", 200, "Has unblocked yoda");
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
