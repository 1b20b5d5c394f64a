import { assertEquals, assertMatch } from "@std/assert";
import { connect, expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";

Deno.test("a restart keeps users, blocks, history, rooms, offline queues and MOTD", async () => {
  const first = await startTestServer();
  const yoda = await registered(first.port, "yoda");
  await quit(await registered(first.port, "hans"));
  const luke = await registered(first.port, "luke");
  await expectReply(yoda, "ROOM CREATE luke", 200);
  await expectReply(yoda, "ROOM SAY 1 room talk", 200);
  await expectReply(luke, "BLOCK yoda", 200);
  await expectReply(yoda, "BROADCAST before restart", 202);
  await expectReply(yoda, "MSG hans waiting for you", 200, /offline/);
  await expectReply(yoda, "MOTD ADD kept across restarts", 200);
  await Promise.all([quit(yoda), quit(luke)]);

  await using t = await first.restart();
  const hans = await loggedIn(t.port, "hans");
  const luke2 = await loggedIn(t.port, "luke");
  const queued = await hans.waitForEvent((e) => e.type === "private_offline");
  assertEquals(queued.type === "private_offline" && queued.text, "waiting for you");
  const yoda2 = await loggedIn(t.port, "yoda");
  await expectReply(yoda2, "MSG luke still blocked?", 405);
  const history = await expectReply(yoda2, "HISTORY", 200, "1 broadcast");
  assertMatch(history.lines[0], /^1; .*; yoda; before restart$/);
  // luke, online and still blocking yoda, does not get it: 202.
  await expectReply(yoda2, "BROADCAST numbering goes on", 202, /^Broadcast message, #2 /);
  await expectReply(yoda2, "ROOM CREATE luke", 405, "Cannot create room: luke has blocked you");
  await expectReply(yoda2, "HISTORY 1", 200, "1 message");
  await expectReply(yoda2, "ROOM SAY 1 more", 200, "Message #2 sent to room 1");
  await expectReply(yoda2, "ROOM CREATE hans", 200, /room ID: 2,/);
  const motd = new Set<string>();
  for (let i = 0; i < 5; i++) motd.add((await expectReply(yoda2, "MOTD", 200)).text);
  assertEquals(motd.has("kept across restarts"), true);
  const anon = await connect(t.port);
  await expectReply(anon, "LOGIN yoda wrong", 410);
  await Promise.all([quit(hans), quit(yoda2), quit(luke2), anon.close()]);
});
