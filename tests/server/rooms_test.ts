import { assertEquals, assertMatch } from "@std/assert";
import { expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";

Deno.test("ROOM CREATE makes a numbered room and refuses the same member set twice", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const obiwan = await registered(t.port, "obiwan");
  const gandalf = await registered(t.port, "gandalf");
  await expectReply(
    yoda,
    "ROOM CREATE obiwan",
    200,
    "Separate chat room has been created, room ID: 1, users in this room: obiwan,yoda",
  );
  assertEquals(await obiwan.waitForEvent((e) => e.type === "room_created"), {
    type: "room_created",
    room: 1,
    by: "yoda",
    members: ["obiwan", "yoda"],
  });
  await expectReply(
    obiwan,
    "ROOM CREATE yoda",
    406,
    "a separate room (ID: 1) already created for these users",
  );
  await expectReply(
    obiwan,
    "ROOM CREATE yoda,gandalf",
    200,
    /room ID: 2, users in this room: gandalf,obiwan,yoda$/,
  );
  await expectReply(
    yoda,
    "ROOM CREATE gandalf obiwan yoda",
    406,
    "a separate room (ID: 2) already created for these users",
  );
  await expectReply(yoda, "ROOM CREATE yoda", 403, /Name at least one other user/);
  await expectReply(
    yoda,
    "ROOM CREATE nobody",
    420,
    'Cannot create room: user "nobody" does not exist',
  );
  await Promise.all([quit(yoda), quit(obiwan), quit(gandalf)]);
});

Deno.test("ROOM SAY reaches online members only; others are refused; history is per room", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const obiwan = await registered(t.port, "obiwan");
  const luke = await registered(t.port, "luke");
  await expectReply(yoda, "ROOM CREATE obiwan", 200);
  await expectReply(yoda, "ROOM SAY 1 hi", 200, "Message #1 sent to room 1");
  assertEquals(await obiwan.waitForEvent((e) => e.type === "room"), {
    type: "room",
    room: 1,
    from: "yoda",
    text: "hi",
  });
  await expectReply(luke, "ROOM SAY 1 let me in", 402, "You are not a member of room 1");
  await expectReply(luke, "HISTORY 1", 402, "You are not a member of room 1");
  await expectReply(luke, "ROOM SAY 7 hi", 404, "Cannot find room 7");
  await expectReply(luke, "ROOM SAY x hi", 414, 'Cannot use "x" as a room ID: use a whole number');
  await expectReply(obiwan, "ROOM SAY 1 hello there", 200, "Message #2 sent to room 1");
  const history = await expectReply(obiwan, "HISTORY 1", 200, "2 messages");
  assertMatch(history.lines[0], /^1; \d\d \w{3} \d{4} [\d:]{8}; yoda; hi$/);
  assertMatch(history.lines[1], /^2; .*; obiwan; hello there$/);
  await expectReply(obiwan, "HISTORY 1 01 Jan 2099", 200, "0 messages");
  await expectReply(luke, "ROOM LIST", 200, "You are not in any room");
  await expectReply(luke, "HISTORY s", 200, "0 room messages");
  assertEquals(luke.queuedEvents.filter((e) => e.type === "room").length, 0);
  await expectReply(obiwan, "ROOM CREATE luke", 200, /room ID: 2,/);
  await expectReply(luke, "ROOM SAY 2 luke here", 200);
  const all = await expectReply(obiwan, "HISTORY s 01 Jan 2000", 200, "3 room messages");
  assertMatch(all.lines[0], /^room 1: 1; .*; yoda; hi$/);
  assertMatch(all.lines[2], /^room 2: 1; .*; luke; luke here$/);
  await expectReply(luke, "HISTORY s", 200, "1 room message");
  const list = await expectReply(yoda, "ROOM LIST", 200, "1 room");
  assertMatch(list.lines[0], /^1: obiwan,yoda \(created by yoda at /);
  await expectReply(luke, "ROOM LIST", 200, "1 room");
  await Promise.all([quit(yoda), quit(obiwan), quit(luke)]);
});

Deno.test("someone who blocked you cannot be put in a room by you", async () => {
  await using t = await startTestServer();
  const carol = await registered(t.port, "carol");
  const dave = await registered(t.port, "dave");
  const erin = await registered(t.port, "erin");
  await expectReply(carol, "BLOCK dave", 200);
  await expectReply(dave, "ROOM CREATE carol", 405, "Cannot create room: carol has blocked you");
  await expectReply(
    dave,
    "ROOM CREATE erin carol",
    405,
    "Cannot create room: carol has blocked you",
  );
  await expectReply(carol, "ROOM LIST", 200, "You are not in any room");
  // The other way round is carol's choice.
  await expectReply(carol, "ROOM CREATE dave", 200, /room ID: 1/);
  await Promise.all([quit(carol), quit(dave), quit(erin)]);
});

Deno.test("as in toom, every member of a new room must exist and be online", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await quit(await registered(t.port, "gandalf"));
  await expectReply(
    yoda,
    "ROOM CREATE gandalf",
    420,
    "Cannot create room: gandalf is not logged in",
  );
  const gandalf = await loggedIn(t.port, "gandalf");
  await expectReply(yoda, "ROOM CREATE GANDALF", 200, /users in this room: gandalf,yoda$/);
  await Promise.all([quit(yoda), quit(gandalf)]);
});
