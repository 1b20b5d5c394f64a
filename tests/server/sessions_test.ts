/**
 * One person on several clients at once: the terminal protocol twice and an IRC client, on one
 * server. Each session hears what is addressed to the person once; what one sends shows in the
 * others; presence is the person's.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import type { ChatEvent } from "../../lib/protocol/events.ts";
import type { ChatConnection } from "../../lib/client/chat_connection.ts";
import { connect, dataDirWith, expectReply, loggedIn, quit, registered } from "../helpers.ts";
import { ircUser, startIrcServer } from "../irc/irc_helpers.ts";
import { IrcTestClient } from "../../testing/irc_client.ts";

const count = (events: readonly ChatEvent[], test: (e: ChatEvent) => boolean) =>
  events.filter(test).length;

/** Every event up to and including the first that `test` matches. */
async function eventsUntil(
  chat: ChatConnection,
  test: (e: ChatEvent) => boolean,
): Promise<ChatEvent[]> {
  const seen: ChatEvent[] = [];
  await chat.waitForEvent((e) => {
    seen.push(e);
    return test(e);
  });
  return seen;
}

Deno.test("sessions: a person on two terminals and IRC hears everything once per session, sees their own sends, and is one person in WHO", async () => {
  await using server = await startIrcServer();
  const watcher = await registered(server.port, "watcher");
  const first = await registered(server.port, "yoda");
  await watcher.waitForEvent((e) => e.type === "login" && e.user === "yoda");
  const second = await loggedIn(server.port, "yoda");
  await using irc = await ircUser(server.ircPort, "yoda", "yoda-secret");
  try {
    // One person in WHO, with their sessions counted.
    const who = await expectReply(watcher, "WHO", 200, "2 users online");
    assertEquals(who.lines.filter((l) => l.startsWith("yoda,")).length, 1);
    const sessions = await expectReply(
      second,
      "SESSIONS",
      200,
      "3 sessions of yoda; SESSIONS END <id> ends one",
    );
    assertEquals(sessions.lines.filter((l) => l.endsWith("(this one)")).length, 1);
    assert(sessions.lines.some((l) => / IRC 127\.0\.0\.1 /.test(l)), sessions.lines.join("\n"));

    // WHOIS of yourself lists your sessions.
    await irc.send("WHOIS yoda");
    const { before } = await irc.expect("318");
    const special = before.filter((m) => m.command === "320").map((m) => m.params[2]);
    assertEquals(special.length, 3, special.join("\n"));
    assert(
      special.some((t) => /^session \d+: irc from 127\.0\.0\.1 since /.test(t)),
      special.join("\n"),
    );

    // Addressed to the person: every session, once.
    await expectReply(watcher, "MSG yoda one for each of you", 200, "Message sent to yoda");
    await expectReply(watcher, "BROADCAST hello lab", 200);
    const created = await expectReply(watcher, "ROOM CREATE yoda", 200);
    const roomId = Number(/room ID: (\d+)/.exec(created.lines.join(" "))?.[1]);
    await expectReply(watcher, `ROOM SAY ${roomId} in the room`, 200);
    for (const tcp of [first, second]) {
      const got = await eventsUntil(tcp, (e) => e.type === "room" && e.text === "in the room");
      await expectReply(tcp, "WHO", 200); // anything doubled would be queued by now
      got.push(...tcp.queuedEvents);
      assertEquals(count(got, (e) => e.type === "private" && e.text === "one for each of you"), 1);
      assertEquals(count(got, (e) => e.type === "broadcast" && e.text === "hello lab"), 1);
    }
    await irc.expect("PRIVMSG", (m) => m.params[1] === "one for each of you");
    await irc.expect("PRIVMSG", (m) => m.params[0] === "#lab" && m.params[1].endsWith("hello lab"));

    // What one session sends shows in the others (and once to its receiver).
    await expectReply(first, "MSG watcher sent from the first", 200);
    assertEquals(
      await second.waitForEvent((e) => e.type === "private_sent"),
      { type: "private_sent", to: "watcher", text: "sent from the first" },
    );
    const { message: echoed } = await irc.expect("PRIVMSG", (m) => m.params[0] === "watcher");
    assertEquals(echoed.source?.split("!")[0], "yoda");
    assertEquals(echoed.params[1], "sent from the first");
    await irc.send("PRIVMSG #lab :said on IRC");
    for (const tcp of [first, second]) {
      await tcp.waitForEvent((e) => e.type === "broadcast" && e.text === "said on IRC");
    }
    await watcher.waitForEvent((e) => e.type === "broadcast" && e.text === "said on IRC");
    assertEquals(count(first.queuedEvents, (e) => e.type === "private_sent"), 0, "not to itself");

    // Two of three leave: still online, and nobody hears of a logout.
    await quit(first);
    await irc.send("QUIT :bye");
    await irc.waitClosed();
    await expectReply(watcher, "WHO yoda", 200, /^yoda, /);
    await expectReply(watcher, "BROADCAST still there?", 200);
    await second.waitForEvent((e) => e.type === "broadcast" && e.text === "still there?");
    assertEquals(count(watcher.queuedEvents, (e) => e.type === "logout" && e.user === "yoda"), 0);
    // The last one leaves: one logout notice.
    await quit(second);
    await watcher.waitForEvent((e) => e.type === "logout" && e.user === "yoda");
    await expectReply(watcher, "WHO", 200, "1 user online");
    assertEquals(count(watcher.queuedEvents, (e) => e.type === "logout"), 0, "one, not two");
  } finally {
    await quit(watcher);
  }
});

Deno.test("sessions: the offline queue goes once to one of two sessions racing to log in", async () => {
  await using server = await startIrcServer();
  await quit(await registered(server.port, "hans"));
  const yoda = await registered(server.port, "yoda");
  for (let i = 0; i < 30; i++) await expectReply(yoda, `MSG hans queued ${i}`, 200, /offline/);
  const [a, b] = await Promise.all([connect(server.port), connect(server.port)]);
  await Promise.all([
    expectReply(a, "LOGIN hans hans-secret", 200),
    expectReply(b, "LOGIN hans hans-secret", 200),
  ]);
  // Whichever was first takes the queue: all of it, once, in order.
  const isOffline = (e: ChatEvent) => e.type === "private_offline";
  const [holder, firstOne] = await Promise.race([
    a.waitForEvent(isOffline).then((e) => [a, e] as const),
    b.waitForEvent(isOffline).then((e) => [b, e] as const),
  ]);
  const other = holder === a ? b : a;
  const texts: string[] = [firstOne.type === "private_offline" ? firstOne.text : ""];
  for (let i = 1; i < 30; i++) {
    const event = await holder.waitForEvent((e) => e.type === "private_offline");
    if (event.type === "private_offline") texts.push(event.text);
  }
  assertEquals(texts, Array.from({ length: 30 }, (_, i) => `queued ${i}`));
  await expectReply(holder, "WHO", 200); // settles the handover
  await expectReply(other, "WHO", 200);
  assertEquals(count(other.queuedEvents, (e) => e.type === "private_offline"), 0);
  // Settled for the person: a later session finds nothing queued, and HISTORY has them all.
  const later = await loggedIn(server.port, "hans");
  await expectReply(later, "WHO", 200);
  assertEquals(count(later.queuedEvents, (e) => e.type === "private_offline"), 0);
  const history = await expectReply(later, "HISTORY yoda", 200);
  assertEquals(history.lines.filter((l) => /queued \d+$/.test(l)).length, 30);
  await Promise.all([quit(a), quit(b), quit(later), quit(yoda)]);
});

Deno.test("sessions: a session that ends before its offline handover is settled passes it to another", async () => {
  await using server = await startIrcServer();
  await quit(await registered(server.port, "hans"));
  const yoda = await registered(server.port, "yoda");
  for (let i = 0; i < 5; i++) await expectReply(yoda, `MSG hans kept ${i}`, 200, /offline/);
  const dying = await connect(server.port);
  await expectReply(dying, "LOGIN hans hans-secret", 200);
  await dying.waitForEvent((e) => e.type === "private_offline");
  const stays = await loggedIn(server.port, "hans");
  await dying.close(); // gone without a request after the handover: it is not settled
  const texts: string[] = [];
  for (let i = 0; i < 5; i++) {
    const event = await stays.waitForEvent((e) => e.type === "private_offline");
    if (event.type === "private_offline") texts.push(event.text);
  }
  assertEquals(texts, Array.from({ length: 5 }, (_, i) => `kept ${i}`));
  await Promise.all([quit(stays), quit(yoda)]);
});

Deno.test("sessions: the limit, SESSIONS END, and a changed password ending the others", async () => {
  await using server = await startIrcServer({ sessionsPerUser: 2 });
  const a = await registered(server.port, "yoda");
  const b = await loggedIn(server.port, "yoda");
  await expectReply(
    await connect(server.port),
    "LOGIN yoda yoda-secret",
    409,
    "yoda has 2 sessions already, the most this server allows: log out of one (SESSIONS lists them)",
  );
  // Ending one from the other.
  const listed = await expectReply(a, "SESSIONS", 200, /2 sessions of yoda/);
  const other = listed.lines.find((l) => !l.endsWith("(this one)") && /^\d+ /.test(l)) ?? "";
  const mine = listed.lines.find((l) => l.endsWith("(this one)")) ?? "";
  await expectReply(a, `SESSIONS END ${mine.split(" ")[0]}`, 414, /That is this session/);
  await expectReply(a, "SESSIONS END 999999", 404, /No session 999999 of yours/);
  await expectReply(a, "SESSIONS hans", 402, /Only admins/);
  await expectReply(a, `SESSIONS END ${other.split(" ")[0]}`, 200, /ended$/);
  const ended = await b.waitForEvent((e) => e.type === "disconnect");
  assertEquals(
    ended.type === "disconnect" && ended.text,
    "This session was ended from another of your sessions",
  );
  await expectReply(a, "SESSIONS", 200, /^1 session of yoda/m);
  // A changed password logs the other sessions out, and says why there.
  const c = await loggedIn(server.port, "yoda");
  await expectReply(
    a,
    "PASSWD yoda-secret new-secret",
    200,
    "Password changed; your other sessions were logged out",
  );
  const told = await c.waitForEvent((e) => e.type === "disconnect");
  assertMatch(
    told.type === "disconnect" ? told.text : "",
    /password was changed from another session/,
  );
  await expectReply(a, "WHO yoda", 200, /^yoda, /);
  await quit(a);
});

Deno.test("sessions: a peer introduction goes to the session with a UDP port; an admin lists anyone's", async () => {
  const dir = await dataDirWith([{ name: "root", password: "root-secret", admin: true }]);
  await using server = await startIrcServer({}, dir);
  const plain = await registered(server.port, "yoda");
  const withUdp = await loggedIn(server.port, "yoda");
  await expectReply(withUdp, "UDP 40001", 200);
  const hans = await registered(server.port, "hans");
  await expectReply(hans, "UDP 40002", 200);
  const intro = await expectReply(hans, "PEER yoda file", 200);
  assertMatch(intro.lines.join(" "), /40001/);
  await withUdp.waitForEvent((e) => e.type === "peer" && e.from === "hans");
  await expectReply(plain, "WHO", 200);
  assertEquals(count(plain.queuedEvents, (e) => e.type === "peer"), 0, "not to the one without");
  // The sender may name the session.
  const ids = (await expectReply(withUdp, "SESSIONS", 200)).lines.filter((l) => /^\d+ /.test(l));
  const plainId = ids.find((l) => !l.includes(" udp "))?.split(" ")[0];
  const udpId = ids.find((l) => l.includes(" udp 40001 "))?.split(" ")[0];
  await expectReply(
    hans,
    `PEER yoda file ${plainId}`,
    404,
    "yoda has no UDP port for peer-to-peer",
  );
  await expectReply(
    hans,
    "PEER yoda file 999999",
    404,
    "yoda has no session 999999 on this server",
  );
  await expectReply(hans, `PEER yoda private ${udpId}`, 200);
  await withUdp.waitForEvent((e) => e.type === "peer" && e.purpose === "private");
  const root = await loggedIn(server.port, "root");
  const listed = await expectReply(root, "SESSIONS yoda", 200, /2 sessions of yoda$/m);
  assert(listed.lines.some((l) => / udp 40001 /.test(l)), listed.lines.join("\n"));
  await Promise.all([quit(plain), quit(withUdp), quit(hans), quit(root)]);
});

Deno.test("sessions: two IRC clients on one account share the nick; a JOIN or PART from one shows in the other", async () => {
  await using server = await startIrcServer();
  await quit(await registered(server.port, "yoda"));
  await using one = await ircUser(server.ircPort, "yoda", "yoda-secret");
  await one.send("JOIN #dagobah");
  await one.expect("366");
  // The second client is shown the account's channels as it registers.
  const two = await IrcTestClient.connect(server.ircPort);
  try {
    await two.send("PASS yoda-secret", "NICK yoda", "USER yoda 0 * :Yoda");
    await two.expect("001");
    const { message: joined } = await two.expect("JOIN", (m) => m.params[0] === "#dagobah");
    assertEquals(joined.source?.split("!")[0], "yoda");
    await two.expect("366", (m) => m.params[1] === "#dagobah");
    // A JOIN from one is the account's: the other shows it, with the names.
    await two.send("JOIN #swamp");
    await one.expect("JOIN", (m) => m.params[0] === "#swamp");
    await one.expect("366", (m) => m.params[1] === "#swamp");
    await one.send("PART #swamp :done");
    await two.expect("PART", (m) => m.params[0] === "#swamp");
    // A message to the account reaches both; one sent from one shows in the other.
    const hans = await registered(server.port, "hans");
    await expectReply(hans, "MSG yoda both of you", 200);
    await one.expect("PRIVMSG", (m) => m.params[1] === "both of you");
    await two.expect("PRIVMSG", (m) => m.params[1] === "both of you");
    await one.send("PRIVMSG hans :from the first client");
    const { message: echoed } = await two.expect("PRIVMSG", (m) => m.params[0] === "hans");
    assertEquals(echoed.params[1], "from the first client");
    // The first leaves: nobody is told yoda quit.
    await one.send("QUIT :bye");
    await one.waitClosed();
    await expectReply(hans, "WHO yoda", 200, /^yoda, /);
    assertEquals(count(hans.queuedEvents, (e) => e.type === "logout"), 0);
    await quit(hans);
  } finally {
    await two.close();
  }
});
