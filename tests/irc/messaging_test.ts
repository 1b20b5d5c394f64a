import { assert, assertEquals, assertMatch } from "@std/assert";
import { ManualClock } from "../../lib/server/services/clock.ts";
import { IrcTestClient } from "../../testing/irc_client.ts";
import { connect, expectReply, quit, registered } from "../helpers.ts";
import { ircUser, startIrcServer } from "./irc_helpers.ts";

Deno.test("IRC: #lab is the broadcast stream, both ways, with numbers and presence", async () => {
  await using server = await startIrcServer();
  await using irc = await ircUser(server.ircPort, "yoda");
  const tcp = await registered(server.port, "hans");
  try {
    const { message: joined } = await irc.expect("JOIN");
    assertEquals(joined.source?.split("!")[0], "hans");
    assertEquals(joined.params, ["#lab"]);
    await expectReply(tcp, "BROADCAST Morning all", 200);
    const { message: said } = await irc.expect("PRIVMSG");
    assertEquals(said.params, ["#lab", "[#1] Morning all"]);
    assertEquals(said.source?.split("!")[0], "hans");
    await irc.send("PRIVMSG #lab :Hello from irssi");
    const event = await tcp.waitForEvent((e) => e.type === "broadcast");
    assertEquals(event, { type: "broadcast", from: "yoda", number: 2, text: "Hello from irssi" });
  } finally {
    await quit(tcp);
  }
  const { message: gone } = await irc.expect("QUIT");
  assertEquals(gone.source?.split("!")[0], "hans");
});

Deno.test("IRC: PRIVMSG nick is MSG; 401 for nobody; offline delivery carries its time", async () => {
  await using server = await startIrcServer();
  const tcp = await registered(server.port, "hans");
  await expectReply(tcp, "LOGOUT", 200);
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("PASS hans-secret", "CAP LS 302", "CAP REQ :server-time echo-message", "CAP END");
  await irc.register("hans");
  await irc.drain(50);
  await using other = await ircUser(server.ircPort, "leia");
  await irc.send("PRIVMSG nobody :hi");
  const { message: none } = await irc.expect("401");
  assertEquals(none.params.slice(0, 2), ["hans", "nobody"]);
  await other.send("PRIVMSG hans :hello hans");
  const { message: got } = await irc.expect("PRIVMSG");
  assertEquals(got.params, ["hans", "hello hans"]);
  assert(got.tags.has("time"));
  await irc.send("PRIVMSG leia :hi leia");
  const { message: echo } = await irc.expect("PRIVMSG");
  assertEquals(echo.params, ["leia", "hi leia"]);
  await other.expect("PRIVMSG", (m) => m.params[1] === "hi leia");
  // An offline message reaches the IRC user at the next connect, stamped with when it was sent.
  await irc.send("QUIT");
  await irc.waitClosed();
  await using sender = await registered(server.port, "obiwan");
  await expectReply(sender, "MSG hans while you were out", 200, /offline/);
  await using back = await IrcTestClient.connect(server.ircPort);
  await back.send("CAP LS 302", "CAP REQ server-time", "CAP END", "PASS hans-secret");
  await back.send("NICK hans", "USER hans 0 * :Hans");
  const { message: offline } = await back.expect("PRIVMSG");
  assertEquals(offline.params, ["hans", "while you were out"]);
  assertMatch(offline.tags.get("time") ?? "", /^\d{4}-\d\d-\d\dT/);
  // A line after the message (a PING will do) says it arrived: the next connect has nothing.
  await back.send("PING :got-it");
  await back.expect("PONG");
  await back.send("QUIT");
  await back.waitClosed();
  await using again = await IrcTestClient.connect(server.ircPort);
  await again.register("hans", "hans-secret");
  await again.drain(300);
  assertEquals(again.log.filter((line) => line.includes(" PRIVMSG ")), []);
  await quit(sender);
});

Deno.test("IRC: a line after the first page of a long offline backlog acknowledges that page", async () => {
  await using server = await startIrcServer({ requestRate: 0 });
  await quit(await registered(server.port, "hans"));
  const sender = await registered(server.port, "obiwan");
  const total = 250; // three pages of 100
  for (let i = 0; i < total; i++) {
    await expectReply(sender, `MSG hans queued ${i}`, 200, /offline/);
  }
  const texts = async (client: IrcTestClient) => {
    await client.send("PING :counted");
    await client.expect("PONG");
    // Without server-time, an offline message's text starts with when it was sent.
    return client.log.flatMap((line) =>
      /PRIVMSG hans :(?:\[[^\]]*\] )?(queued \d+)$/.exec(line)?.[1] ?? []
    );
  };
  await using first = await IrcTestClient.connect(server.ircPort);
  await first.send("PASS hans-secret", "NICK hans", "USER hans 0 * :Hans");
  const { message } = await first.expect("PRIVMSG");
  assertMatch(message.params[1], /\bqueued 0$/);
  // A PING the moment the first message shows, while later pages are still being read; then the
  // connection dies (a QUIT settles nothing more for IRC).
  await first.send("PING :saw-it");
  await first.expect("PONG");
  await first.close();
  await new Promise((r) => setTimeout(r, 100)); // the dead session is logged out
  await using second = await IrcTestClient.connect(server.ircPort);
  await second.register("hans", "hans-secret");
  await second.drain(300);
  const again = await texts(second);
  const from = total - again.length;
  assert(from >= 100, `${again.length} of ${total} handed over again`);
  assertEquals(again, Array.from({ length: again.length }, (_, i) => `queued ${from + i}`));
  await quit(sender);
});

Deno.test("IRC: channels shared with TCP users: join, names, say, topic, modes, kick", async () => {
  await using server = await startIrcServer();
  await using op = await ircUser(server.ircPort, "yoda");
  await using guest = await ircUser(server.ircPort, "luke");
  await op.send("JOIN #jedi");
  const { before } = await op.expect("366");
  assertEquals(before.find((m) => m.command === "JOIN" && m.source?.startsWith("yoda!"))?.params, [
    "#jedi",
  ]);
  assertEquals(before.find((m) => m.command === "353")?.params.slice(2), ["#jedi", "@yoda"]);
  const tcp = await connect(server.port);
  try {
    await expectReply(tcp, "REGISTER hans hans-secret", 200);
    await expectReply(tcp, "JOIN #jedi", 200, /@yoda hans/);
    await op.expect("JOIN", (m) => m.source?.startsWith("hans!") ?? false);
    await guest.send("JOIN #jedi");
    await guest.expect("366");
    await op.send("PRIVMSG #jedi :trust the force");
    const said = await tcp.waitForEvent((e) => e.type === "channel_message");
    assertEquals(said, {
      type: "channel_message",
      channel: "#jedi",
      from: "yoda",
      number: 1,
      text: "trust the force",
    });
    const { message: heard } = await guest.expect("PRIVMSG");
    assertEquals(heard.params, ["#jedi", "trust the force"]);
    await guest.send("TOPIC #jedi :a new topic");
    await guest.expect("482");
    await op.send("TOPIC #jedi :training");
    await op.expect("TOPIC");
    const { message: topic } = await guest.expect("TOPIC");
    assertEquals(topic.params, ["#jedi", "training"]);
    await op.send("MODE #jedi +m");
    await guest.expect("MODE");
    await guest.send("PRIVMSG #jedi :can I speak?");
    await guest.expect("404");
    await op.send("MODE #jedi +v luke");
    const { message: voiced } = await guest.expect("MODE");
    assertEquals(voiced.params, ["#jedi", "+v", "luke"]);
    await op.send("KICK #jedi hans :enough");
    const kicked = await tcp.waitForEvent((e) => e.type === "channel_kick");
    assertEquals(kicked, {
      type: "channel_kick",
      channel: "#jedi",
      by: "yoda",
      user: "hans",
      reason: "enough",
    });
    const { message: kick } = await guest.expect("KICK");
    assertEquals(kick.params, ["#jedi", "hans", "enough"]);
    await guest.send("KICK #jedi yoda");
    await guest.expect("482");
    await guest.send("PART #nowhere");
    await guest.expect("403");
    await op.send("MODE #jedi");
    const { message: modes } = await op.expect("324");
    assertEquals(modes.params.slice(1), ["#jedi", "+mnt"]);
  } finally {
    await quit(tcp);
  }
});

Deno.test("IRC: WHO, WHOIS, AWAY with 301, ISON and USERHOST", async () => {
  await using server = await startIrcServer();
  await using yoda = await ircUser(server.ircPort, "yoda");
  await using luke = await ircUser(server.ircPort, "luke");
  await luke.send("AWAY :on Dagobah");
  await luke.expect("306");
  await yoda.send("WHO #lab");
  const { message: row, before } = await yoda.expect("315");
  const rows = before.filter((m) => m.command === "352");
  assertEquals(rows.map((m) => m.params[5]).sort(), ["luke", "yoda"]);
  assertEquals(rows.find((m) => m.params[5] === "luke")?.params[6], "G");
  assertEquals(row.params.slice(1, 2), ["#lab"]);
  await yoda.send("WHOIS luke");
  const whois = await yoda.expect("318");
  const codes = whois.before.map((m) => m.command);
  assert(codes.includes("311") && codes.includes("301") && codes.includes("317"), `${codes}`);
  await yoda.send("PRIVMSG luke :are you there?");
  const { message: away } = await yoda.expect("301");
  assertEquals(away.params.slice(1), ["luke", "on Dagobah"]);
  await yoda.send("ISON luke nobody yoda");
  const { message: ison } = await yoda.expect("303");
  assertEquals(ison.params[1], "luke yoda");
  await yoda.send("USERHOST luke");
  const { message: userhost } = await yoda.expect("302");
  assertMatch(userhost.params[1], /^luke=-luke@127\.0\.0\.1$/);
  await luke.send("AWAY");
  await luke.expect("305");
});

Deno.test("IRC: the service nick runs labchat commands; SILENCE blocks", async () => {
  await using server = await startIrcServer();
  await using irc = await ircUser(server.ircPort, "rey");
  // Blocks are kept, so only an account can be blocked: kylo registers by PASS.
  await using other = await ircUser(server.ircPort, "kylo", "kylo-password");
  await irc.send("PRIVMSG labchat :REGISTER rey-password");
  const { message: registeredNotice } = await irc.expect("NOTICE");
  assertMatch(registeredNotice.params[1], /account/);
  await irc.send("PRIVMSG labchat :THREAD CREATE lightsabers");
  await irc.expect("NOTICE");
  await irc.send("PRIVMSG labchat :THREAD LIST");
  const { message: list } = await irc.expect("NOTICE", (m) => /lightsabers/.test(m.params[1]));
  assertEquals(list.source?.split("!")[0], "labchat");
  // HELP through the service nick is help for IRC users, not the wire protocol.
  await irc.send("PRIVMSG labchat :HELP");
  const { message: intro } = await irc.expect("NOTICE", (m) => /IRC users/.test(m.params[1]));
  assertMatch(intro.params[1], /\/msg labchat COMMAND/);
  const { before: help } = await irc.expect(
    "NOTICE",
    (m) => m.params[1] === "/msg labchat HELP COMMAND shows one in detail.",
  );
  const helpText = help.map((m) => m.params[1]).join("\n");
  assertMatch(helpText, /^THREAD LIST +The forum's threads/m);
  for (const wire of [/350, then exactly/, /^PEER /m, /^UPLOAD /m, /^QUIT /m, /token/]) {
    assert(!wire.test(helpText), `${wire} in the IRC help`);
  }
  await irc.send("SILENCE +kylo");
  await irc.expect("SILENCE");
  await irc.send("SILENCE");
  const { message: silenced } = await irc.expect("271");
  assertMatch(silenced.params[1], /^kylo/);
  await other.send("PRIVMSG rey :hello?");
  await other.expect("NOTICE", (m) => /blocked/i.test(m.params[1]));
});

Deno.test("IRC: CHATHISTORY reads #lab from HISTORY in a batch", async () => {
  await using server = await startIrcServer();
  const tcp = await registered(server.port, "hans");
  try {
    for (const n of [1, 2, 3]) await expectReply(tcp, `BROADCAST message ${n}`, 200);
  } finally {
    await quit(tcp);
  }
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("CAP REQ :batch server-time message-tags draft/chathistory", "CAP END");
  await irc.register("yoda");
  await irc.drain(50);
  await irc.send("CHATHISTORY LATEST #lab * 2");
  const { message: start } = await irc.expect("BATCH");
  assertEquals(start.params.slice(1), ["chathistory", "#lab"]);
  const { message: end, before } = await irc.expect("BATCH");
  assertEquals(end.params[0], `-${start.params[0].slice(1)}`);
  assertEquals(before.map((m) => m.params[1]), ["[#2] message 2", "[#3] message 3"]);
  assertEquals(before.map((m) => m.tags.get("msgid")), ["b2", "b3"]);
  await irc.send("CHATHISTORY BEFORE #lab msgid=b2 10");
  await irc.expect("BATCH");
  const older = await irc.expect("BATCH");
  assertEquals(older.before.map((m) => m.params[1]), ["[#1] message 1"]);
});

Deno.test("IRC: a login storm still reaches IRC clients as one JOIN per user, their own left out", async () => {
  await using server = await startIrcServer({ presenceStormPerSecond: 3 });
  await using watcher = await ircUser(server.ircPort, "watcher");
  await using plain = await IrcTestClient.connect(server.ircPort);
  await plain.send("CAP LS 302", "CAP REQ :extended-join server-time", "CAP END");
  await plain.register("plain");
  await plain.drain(50);
  // IRC clients joining during the storm are in the batch they receive.
  const storm = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
    const client = await IrcTestClient.connect(server.ircPort);
    await client.register(`storm${i}`);
    return client;
  }));
  const expected = Array.from({ length: 8 }, (_, i) => `storm${i}`);
  // The logins race each other: read JOINs until every storm user has come (or expect times out).
  const joinsOf = async (client: IrcTestClient) => {
    const joins: string[] = [];
    while (!expected.every((name) => joins.includes(name))) {
      const { message } = await client.expect("JOIN");
      joins.push(message.source?.split("!")[0] ?? "");
    }
    return joins.concat(
      (await client.drain(300)).flatMap((m) =>
        m.command === "JOIN" ? [m.source?.split("!")[0] ?? ""] : []
      ),
    );
  };
  const [seen, seenPlain] = await Promise.all([joinsOf(watcher), joinsOf(plain)]);
  for (const joins of [seen, seenPlain]) {
    assertEquals(joins.filter((n) => n.startsWith("storm")).sort(), expected, "each JOIN once");
  }
  // A storm member saw its own JOIN in its welcome burst (register reads up to the 366 after
  // it); the batch does not repeat it.
  const own = await storm[7].drain(1500);
  const ownJoins = own.filter((m) => m.command === "JOIN" && m.source?.startsWith("storm7!"));
  assertEquals(ownJoins.length, 0, "storm7's own JOIN is not in its batch");
  for (const client of storm) await client.close();
});

Deno.test("IRC: QUIT relays the reason with the mask the JOIN had; labchat-side ends say which", async () => {
  await using server = await startIrcServer();
  await using watcher = await IrcTestClient.connect(server.ircPort);
  await watcher.register("watcher");
  await watcher.drain(50);
  // An IRC user quits with a reason.
  const leaver = await IrcTestClient.connect(server.ircPort);
  await leaver.send("NICK leaver", "USER lvr 0 * :Leaver");
  const { message: join } = await watcher.expect(
    "JOIN",
    (m) => m.source?.startsWith("leaver!") === true,
  );
  await leaver.send("QUIT :off to the lab \u0007now");
  const { message: quitLine } = await watcher.expect("QUIT");
  assertEquals(quitLine.source, join.source, "the QUIT has the JOIN's mask");
  assertEquals(quitLine.params, ["Quit: off to the lab now"]);
  await leaver.close();
  // A terminal user who logs out, one whose connection drops.
  const tcp = await registered(server.port, "tcpuser");
  await watcher.expect("JOIN", (m) => m.source?.startsWith("tcpuser!") === true);
  await expectReply(tcp, "LOGOUT", 200);
  assertEquals((await watcher.expect("QUIT")).message.params, ["Logged out"]);
  const dropped = await registered(server.port, "dropper");
  await watcher.expect("JOIN", (m) => m.source?.startsWith("dropper!") === true);
  await dropped.close();
  assertEquals((await watcher.expect("QUIT")).message.params, ["Connection lost"]);
  await tcp.close();
  // With an idle timeout: someone who only reads times out, and the others see why.
  await using idling = await startIrcServer({ idleTimeoutMs: 300 });
  await using reader = await IrcTestClient.connect(idling.ircPort);
  await reader.register("reader");
  await using observer = await IrcTestClient.connect(idling.ircPort);
  await observer.register("observer");
  let seen: string | undefined;
  for (let i = 0; i < 40 && seen === undefined; i++) {
    await observer.send("WHOIS observer"); // using the client: never idle
    for (const message of await observer.drain(50)) {
      if (message.command === "QUIT" && message.source?.startsWith("reader!")) {
        seen = message.params[0];
      }
    }
  }
  assertEquals(seen, "Timed out after 300 ms of inactivity");
});

Deno.test("IRC: a presence batch never shows a client a QUIT of someone it never saw, nor a second JOIN of someone its NAMES listed", async () => {
  // Every notice after the first in a second is gathered into a batch.
  const clock = new ManualClock();
  await using server = await startIrcServer({ presenceStormPerSecond: 1, clock });
  await using early = await IrcTestClient.connect(server.ircPort);
  await early.register("early");
  await early.drain(50);
  clock.advance(1000); // a new second: the next notice is its first
  const gone = await registered(server.port, "gone"); // announced at once
  await early.expect("JOIN", (m) => m.source?.startsWith("gone!") === true);
  await quit(gone); // gathered: a QUIT is due
  const joined = await registered(server.port, "joined"); // gathered: a JOIN is due
  // A client registering now sees who is online in NAMES: joined, not gone.
  await using late = await IrcTestClient.connect(server.ircPort);
  await late.send("NICK late", "USER late 0 * :Late");
  const { message: names } = await late.expect("353");
  assert(names.params.at(-1)?.split(" ").includes("joined"), names.params.at(-1));
  assert(!names.params.at(-1)?.split(" ").includes("gone"), names.params.at(-1));
  // The batch comes (a second later): the early client hears both; the late one neither.
  clock.advance(1000);
  await early.expect("JOIN", (m) => m.source?.startsWith("joined!") === true);
  await early.expect("QUIT", (m) => m.source?.startsWith("gone!") === true);
  await late.send("PING :later");
  const { before } = await late.expect("PONG", (m) => m.params.at(-1) === "later");
  const seen = before.map((m) => `${m.command} ${m.source?.split("!")[0]}`);
  assert(!seen.includes("QUIT gone"), seen.join(", "));
  assert(!seen.includes("JOIN joined"), seen.join(", "));
  await quit(joined);
});
