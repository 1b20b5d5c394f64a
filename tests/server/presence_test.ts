import { assert, assertEquals, assertMatch } from "@std/assert";
import { connect, expectReply, quit, registered, startTestServer } from "../helpers.ts";
import { ManualClock } from "../../lib/server/services/clock.ts";

Deno.test("WHO lists name, IP, UDP port and online since; works before login", async () => {
  await using t = await startTestServer();
  const anon = await connect(t.port);
  await expectReply(anon, "WHO", 200, "0 users online");
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "UDP 8001", 200, "UDP port 8001 registered");
  const hans = await registered(t.port, "hans");
  const who = await expectReply(anon, "WHO", 200, "2 users online");
  assertMatch(
    who.lines[0],
    /^yoda, 127\.0\.0\.1, 8001, active since \d\d \w{3} \d{4} \d\d:\d\d:\d\d$/,
  );
  assertMatch(who.lines[1], /^hans, 127\.0\.0\.1, -, active since /);
  await expectReply(yoda, "UDP 70000", 414, /Cannot use "70000" as a UDP port/);
  await Promise.all([quit(yoda), quit(hans), anon.close()]);
});

Deno.test("WHOELSE lists the others online; WHOELSE secs includes users who left recently", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock });
  const hans = await registered(t.port, "hans");
  await expectReply(hans, "WHOELSE", 200, "No other users online");
  const yoda = await registered(t.port, "yoda");
  const luke = await registered(t.port, "luke");
  const others = await expectReply(hans, "WHOELSE", 200);
  assertEquals(others.lines, ["yoda", "luke"]);
  await quit(yoda);
  await hans.waitForEvent((e) => e.type === "logout" && e.user === "yoda");
  assertEquals((await expectReply(hans, "WHOELSE", 200)).lines, ["luke"]);
  assertEquals((await expectReply(hans, "WHOELSE 100", 200)).lines, ["luke", "yoda"]);
  clock.advance(1100);
  assertEquals((await expectReply(hans, "WHOELSE 1", 200)).lines, ["luke"]);
  await expectReply(hans, "WHOELSE soon", 414, /Cannot use "soon" as seconds/);
  await quit(luke);
  await hans.waitForEvent((e) => e.type === "logout" && e.user === "luke");
  clock.advance(1100);
  await expectReply(
    hans,
    "WHOELSE 1",
    200,
    "No other users have been online in the past 1 seconds",
  );
  await quit(hans);
});

Deno.test("login and logout notices reach others but not across a block", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  await yoda.waitForEvent((e) => e.type === "login" && e.user === "hans");
  await expectReply(hans, "BLOCK yoda", 200, "yoda has been blocked");
  await quit(hans);
  const luke = await registered(t.port, "luke");
  // yoda sees luke arrive; had the hans logout notice been sent it would have come first.
  const next = await yoda.waitForEvent((e) => e.type === "login" || e.type === "logout");
  assertEquals(next, { type: "login", user: "luke" });
  await Promise.all([quit(yoda), quit(luke)]);
});

Deno.test("commands other than HELP, USER, LOGIN, REGISTER, WHO, MOTD, UDP, QUIT need a login", async () => {
  await using t = await startTestServer();
  const chat = await connect(t.port);
  for (
    const line of [
      "MSG a b",
      "BROADCAST x",
      "WHOELSE",
      "HISTORY",
      "BLOCK a",
      "ROOM LIST",
      "MOTD ADD x",
      "SHUTDOWN",
      "LOGOUT",
      "PASSWD a b",
    ]
  ) {
    await expectReply(chat, line, 401, "You are not currently logged in, login first.");
  }
  for (const line of ["HELP", "WHO", "MOTD", "UDP 9000", "USER x"]) {
    const reply = await chat.request(line);
    assert(reply.ok, `${line} -> ${reply.code} ${reply.text}`);
  }
  await chat.close();
});

Deno.test("a login storm is announced in batches, each login once, and blocks still hold", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ presenceStormPerSecond: 5, clock });
  const yoda = await registered(t.port, "yoda");
  const luke = await registered(t.port, "luke");
  const mallory = await registered(t.port, "mallory");
  await expectReply(mallory, "BLOCK yoda", 200, "yoda has been blocked");
  await quit(mallory);
  clock.advance(1100); // four notices so far: under the threshold
  const names = Array.from({ length: 12 }, (_, i) => `storm${i}`);
  const seenBy = (chat: typeof yoda) => {
    const seen: string[] = [];
    const logouts: string[] = [];
    let batches = 0;
    const done = (async () => {
      for await (const event of chat.events()) {
        if (event.type === "login") seen.push(event.user);
        if (event.type === "presence") {
          batches++;
          seen.push(...event.logins);
          logouts.push(...event.logouts);
        }
        if (seen.includes("last")) break;
      }
      return { seen, batches, logouts };
    })();
    return done;
  };
  // Past the notices from before the storm.
  await luke.waitForEvent((e) => e.type === "logout" && e.user === "mallory");
  await yoda.waitForEvent((e) => e.type === "login" && e.user === "mallory");
  const yodaSees = seenBy(yoda);
  const lukeSees = seenBy(luke);
  const storm = await Promise.all(names.map((name) => registered(t.port, name)));
  const back = await connect(t.port);
  await expectReply(back, "LOGIN mallory mallory-secret", 200);
  clock.advance(1100); // the batch is announced a second after it began
  const last = await registered(t.port, "last");
  const [y, l] = await Promise.all([yodaSees, lukeSees]);
  assert(y.batches >= 1, "the storm came in at least one batch");
  assertEquals([...y.logouts, ...l.logouts], []);
  assertEquals(y.seen.filter((n) => n !== "last").sort(), [...names].sort(), "each login once");
  assert(!y.seen.includes("mallory"), "mallory blocked yoda: yoda is not told");
  assertEquals(l.seen.filter((n) => n !== "last").sort(), [...names, "mallory"].sort());
  await Promise.all([...storm, back, last, yoda, luke].map(quit));
});
