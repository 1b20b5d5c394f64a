/**
 * The idle timeout: off unless the operator sets it; when set, a person who only reads is logged
 * out, one whose client says ACTIVE is not, and IRC keep-alives count for nothing.
 */
import { assert, assertEquals } from "@std/assert";
import { ManualClock } from "../../lib/server/services/clock.ts";
import { expectReply, quit, registered, startTestServer } from "../helpers.ts";
import { startIrcServer } from "../irc/irc_helpers.ts";
import { IrcTestClient } from "../../testing/irc_client.ts";

const MINUTE = 60_000;

Deno.test("without --idle-timeout nobody is ever logged out for idling", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock });
  const reader = await registered(t.port, "reader");
  const writer = await registered(t.port, "writer");
  clock.advance(24 * 60 * MINUTE); // an idle sweep, were there one, has run meanwhile
  await expectReply(writer, "MSG reader still there?", 200, "Message sent to reader");
  assertEquals((await reader.waitForEvent((e) => e.type === "private")).type, "private");
  await expectReply(reader, "ACTIVE", 200, "No idle timeout");
  await quit(reader);
  await quit(writer);
});

Deno.test("--idle-timeout logs out a person who only reads; ACTIVE (typing, scrolling) keeps them in", async () => {
  const clock = new ManualClock();
  await using t = await startTestServer({ clock, idleTimeoutMs: 10 * MINUTE });
  const reader = await registered(t.port, "reader");
  const typist = await registered(t.port, "typist");
  const writer = await registered(t.port, "writer");
  await expectReply(typist, "ACTIVE", 200, "Idle timeout: 600 s");

  // Nine minutes of messages arriving; typist's client says the person is typing.
  for (let minute = 0; minute < 9; minute++) {
    clock.advance(MINUTE);
    await expectReply(writer, "BROADCAST news", 200);
  }
  await expectReply(typist, "ACTIVE", 200);
  clock.advance(2 * MINUTE); // reader: 11 minutes without using the client
  await expectReply(writer, "BROADCAST more news", 200);
  const idle = await reader.waitForEvent((e) => e.type === "idle", 5000);
  assertEquals(idle, {
    type: "idle",
    text: "You have been logged out after 10 minutes of inactivity",
  });
  await reader.done;

  // typist (ACTIVE two minutes ago) and writer (sending) are still in, after more sweeps.
  clock.advance(5_000);
  const who = await expectReply(typist, "WHO", 200);
  assertEquals(who.lines.at(-1), "2 users online");
  assert(!typist.isClosed && !writer.isClosed);
  await quit(typist);
  await quit(writer);
});

Deno.test("--idle-timeout judges IRC clients by what the person does: PING and PONG do not count", async () => {
  const clock = new ManualClock();
  await using t = await startIrcServer({ clock, idleTimeoutMs: 10 * MINUTE });
  await using pinger = await IrcTestClient.connect(t.ircPort);
  await pinger.register("pinger");
  await using talker = await IrcTestClient.connect(t.ircPort);
  await talker.register("talker");
  await pinger.drain(50);
  // Nine minutes: the pinger's client keeps the line alive, the talker's person talks.
  for (let minute = 0; minute < 9; minute++) {
    clock.advance(MINUTE);
    await pinger.send(`PING :lag-${minute}`, "ISON talker", "USERHOST talker");
    await pinger.expect("PONG", (m) => m.params.at(-1) === `lag-${minute}`);
    await talker.send(`PRIVMSG #lab :minute ${minute}`, `PING :said-${minute}`);
    await talker.expect("PONG", (m) => m.params.at(-1) === `said-${minute}`);
  }
  clock.advance(MINUTE); // ten minutes since the pinger's person did anything
  assert(await pinger.waitClosed(5000), "the client that only pinged was logged out");
  assert(pinger.log.some((line) => / of inactivity/.test(line)), pinger.log.join("\n"));
  clock.advance(5_000); // more sweeps: the talker stays
  await talker.send("PING :alive");
  await talker.expect("PONG");
  assert(!talker.closed);
});
