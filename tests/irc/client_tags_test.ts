import { assertEquals, assertMatch } from "@std/assert";
import { IrcTestClient } from "../../testing/irc_client.ts";
import { expectReply, quit, registered } from "../helpers.ts";
import { ircUser, startIrcServer } from "./irc_helpers.ts";

/** An IRC client with `caps`, registered as `nick`, its welcome read. */
async function withCaps(
  port: number,
  nick: string,
  caps: string,
  password?: string,
): Promise<IrcTestClient> {
  const irc = await IrcTestClient.connect(port);
  await irc.send(`CAP REQ :${caps}`, "CAP END");
  await irc.register(nick, password);
  await irc.drain(50);
  return irc;
}

Deno.test("IRC: TAGMSG reaches message-tags clients only, in channels and privately, with echo", async () => {
  await using server = await startIrcServer();
  await using alice = await withCaps(server.ircPort, "alice", "message-tags echo-message");
  await using bob = await withCaps(server.ircPort, "bob", "message-tags");
  await using carol = await ircUser(server.ircPort, "carol");
  const dave = await registered(server.port, "dave");
  try {
    for (const irc of [alice, bob, carol]) {
      await irc.send("JOIN #chan");
      await irc.expect("366", (m) => m.params[1] === "#chan");
    }
    await expectReply(dave, "JOIN #chan", 200);
    await alice.send("@+typing=active;+draft/react=a\\sb\\:c;time=forged TAGMSG #chan");
    const { message: echo } = await alice.expect("TAGMSG");
    assertEquals(echo.params, ["#chan"]);
    assertEquals(echo.tags.get("+typing"), "active");
    const { message: seen } = await bob.expect("TAGMSG");
    assertEquals(seen.source?.split("!")[0], "alice");
    assertEquals(seen.params, ["#chan"]);
    assertEquals(seen.tags.get("+typing"), "active");
    assertEquals(seen.tags.get("+draft/react"), "a b;c");
    // Only client-only tags are relayed: a client cannot set the server's.
    assertEquals(seen.tags.has("time"), false);

    // Privately, to a nick; the sender's echo names the recipient.
    await alice.send("@+typing=paused TAGMSG bob");
    assertEquals((await alice.expect("TAGMSG")).message.params, ["bob"]);
    const { message: direct } = await bob.expect("TAGMSG");
    assertEquals(direct.params, ["bob"]);
    assertEquals(direct.tags.get("+typing"), "paused");

    // carol (no message-tags) and dave (chat-client) see only what follows.
    await alice.send("PRIVMSG #chan :after the tags");
    const { before } = await carol.expect("PRIVMSG");
    assertEquals(before.filter((m) => m.command === "TAGMSG"), []);
    const event = await dave.waitForEvent(() => true);
    assertEquals(event.type, "channel_message");

    await alice.send("TAGMSG #nowhere", "TAGMSG nobody", "TAGMSG");
    assertEquals((await alice.expect("403")).message.params[1], "#nowhere");
    assertEquals((await alice.expect("401")).message.params[1], "nobody");
    assertEquals((await alice.expect("461")).message.params[1], "TAGMSG");
  } finally {
    await quit(dave);
  }
});

Deno.test("IRC: TAGMSG keeps labchat's rules: +n refuses outsiders, a block holds", async () => {
  await using server = await startIrcServer();
  await using op = await withCaps(server.ircPort, "mace", "message-tags");
  await using outsider = await withCaps(server.ircPort, "jango", "message-tags");
  await op.send("JOIN #council");
  await op.expect("366", (m) => m.params[1] === "#council");
  await outsider.send("@+typing=active TAGMSG #council");
  const { message } = await outsider.expect("404");
  assertEquals(message.params[1], "#council");
  await op.send("PING :quiet");
  const { before } = await op.expect("PONG");
  assertEquals(before.filter((m) => m.command === "TAGMSG"), []);

  // Accounts (guests cannot block): a blocked sender's tags are not delivered either.
  await using luke = await withCaps(server.ircPort, "luke", "message-tags", "luke-secret");
  await using vader = await withCaps(server.ircPort, "vader", "message-tags", "vader-secret");
  await luke.send("SILENCE +vader");
  await luke.expect("SILENCE");
  await vader.send("@+typing=active TAGMSG luke", "@+typing=done TAGMSG mace");
  assertEquals((await op.expect("TAGMSG")).message.tags.get("+typing"), "done");
  await luke.send("PING :quiet");
  const { before: toLuke } = await luke.expect("PONG");
  assertEquals(toLuke.filter((m) => m.command === "TAGMSG"), []);
});

Deno.test("IRC: client-only tags on PRIVMSG and NOTICE reach message-tags clients, in every kind of target", async () => {
  await using server = await startIrcServer();
  await using alice = await withCaps(server.ircPort, "alice", "message-tags echo-message");
  await using bob = await withCaps(server.ircPort, "bob", "message-tags");
  await using carol = await ircUser(server.ircPort, "carol");
  for (const irc of [alice, bob, carol]) {
    await irc.send("JOIN #chan");
    await irc.expect("366", (m) => m.params[1] === "#chan");
  }
  await alice.send("@+draft/reply=c0;+x=y;fizz=buzz PRIVMSG #chan :hi");
  const { message: echo } = await alice.expect("PRIVMSG");
  const { message: got } = await bob.expect("PRIVMSG");
  assertEquals(got.params, ["#chan", "hi"]);
  assertEquals(got.tags.get("+draft/reply"), "c0");
  assertEquals(got.tags.get("+x"), "y");
  assertEquals(got.tags.has("fizz"), false);
  assertEquals(got.tags.get("msgid"), echo.tags.get("msgid"));
  const { message: plain } = await carol.expect("PRIVMSG");
  assertEquals([...plain.tags.keys()], []);

  await alice.send("@+x=private PRIVMSG bob :psst", "@+x=note NOTICE #chan :fyi");
  assertEquals((await bob.expect("PRIVMSG")).message.tags.get("+x"), "private");
  assertEquals((await bob.expect("NOTICE")).message.tags.get("+x"), "note");
  // Tags reach other users' clients (a reaction is shown): no escape sequence gets through.
  await alice.send("@+x=\x1b[31mred\x07;+draft/react=\x1b]0;pwned PRIVMSG bob :colour");
  const { message: cleaned } = await bob.expect("PRIVMSG");
  assertEquals(cleaned.tags.get("+x"), "[31mred");
  assertEquals(cleaned.tags.get("+draft/react"), "]0");
  await alice.send("@+x=lab PRIVMSG #lab :everyone");
  const { message: lab } = await bob.expect("PRIVMSG", (m) => m.params[0] === "#lab");
  assertEquals(lab.tags.get("+x"), "lab");
});

Deno.test("IRC: a message's echo and its delivery carry the same time and msgid, channel or private", async () => {
  await using server = await startIrcServer();
  await using alice = await withCaps(
    server.ircPort,
    "alice",
    "message-tags echo-message server-time",
  );
  await using bob = await withCaps(server.ircPort, "bob", "message-tags server-time");
  for (const irc of [alice, bob]) {
    await irc.send("JOIN #chan");
    await irc.expect("366", (m) => m.params[1] === "#chan");
  }
  for (let i = 0; i < 3; i++) {
    await alice.send(`PRIVMSG #chan :tick ${i}`);
    const { message: echo } = await alice.expect("PRIVMSG");
    const { message: got } = await bob.expect("PRIVMSG");
    assertEquals(got.tags.get("time"), echo.tags.get("time"));
    assertEquals(got.tags.get("msgid"), echo.tags.get("msgid"));
  }
  // Private messages too: an id of their own, the same in the echo, a new one each time.
  const ids = new Set<string>();
  for (let i = 0; i < 2; i++) {
    await alice.send(`PRIVMSG bob :psst ${i}`);
    const { message: echo } = await alice.expect("PRIVMSG");
    const { message: got } = await bob.expect("PRIVMSG");
    assertEquals(echo.params, ["bob", `psst ${i}`]);
    assertEquals(got.tags.get("time"), echo.tags.get("time"));
    const id = got.tags.get("msgid") ?? "";
    assertMatch(id, /^p[0-9a-f]{16}$/);
    assertEquals(echo.tags.get("msgid"), id);
    ids.add(id);
  }
  assertEquals(ids.size, 2);
});

Deno.test("IRC: TAGMSG carries a msgid, the same in the echo; client tags past 4094 bytes are refused with 417, not relayed", async () => {
  await using server = await startIrcServer();
  await using alice = await withCaps(server.ircPort, "alice", "message-tags echo-message");
  await using bob = await withCaps(server.ircPort, "bob", "message-tags");
  await alice.send("@+typing=active TAGMSG bob");
  const { message: echo } = await alice.expect("TAGMSG");
  const { message: got } = await bob.expect("TAGMSG");
  assertMatch(echo.tags?.get("msgid") ?? "", /^t[0-9a-f]{16}$/);
  assertEquals(got.tags?.get("msgid"), echo.tags?.get("msgid"));
  // 4094 bytes of tags, '@' and space included, pass; one more is refused.
  const fits = `@+x=${"a".repeat(4094 - "@+x= ".length)} PRIVMSG bob :fits`;
  await alice.send(fits);
  await bob.expect("PRIVMSG", (m) => m.params[1] === "fits");
  await alice.send(`@+x=${"a".repeat(4094 - "@+x= ".length + 1)} PRIVMSG bob :too much`);
  const { message: refused } = await alice.expect("417");
  assertMatch(refused.params[1], /too long/);
  await alice.send("PRIVMSG bob :after");
  const { before } = await bob.expect("PRIVMSG", (m) => m.params[1] === "after");
  assertEquals(before.filter((m) => m.params[1] === "too much"), []);
});
