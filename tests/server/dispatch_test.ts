import { assertEquals, assertMatch } from "@std/assert";
import { COMMANDS } from "../../lib/protocol/commands.ts";
import { HANDLERS } from "../../lib/server/dispatch.ts";
import { memoryServer } from "../../testing/memory_server.ts";

Deno.test("every command in the table has a handler and every handler a command", () => {
  const commands = COMMANDS.filter((c) => !c.clientOnly).map((c) => c.name).sort();
  assertEquals(Object.keys(HANDLERS).sort(), commands);
});

Deno.test("dispatch in memory: access before arity, kinds checked once, one reply each", async () => {
  await using server = await memoryServer();
  const anon = server.connect();
  assertEquals(await anon.request("MSG"), {
    code: 401,
    lines: ["You are not currently logged in, login first."],
  });
  assertEquals((await anon.request("FROB")).code, 400);
  assertEquals((await anon.request("REGISTER yoda password1")).code, 200);
  assertEquals((await anon.request("MSG")).code, 403);
  assertEquals((await anon.request("UDP 99999")).lines, [
    'Cannot use "99999" as a UDP port: use 1 to 65535',
  ]);
  assertEquals((await anon.request("SHUTDOWN")).lines, [
    "User not allowed to execute this command.",
  ]);
  // UPLOAD and DOWNLOAD need raw bytes, which this transport does not carry.
  assertMatch((await anon.request("DOWNLOAD t f.txt")).lines[0], /needs a TCP connection/);
});

Deno.test("dispatch in memory: pipelined requests are answered in order and read their own writes", async () => {
  await using server = await memoryServer();
  const hans = server.connect();
  await hans.request("REGISTER hans password1");
  await hans.request("LOGOUT");
  const yoda = server.connect();
  await yoda.request("REGISTER yoda password1");
  const replies = await yoda.pipeline("BROADCAST one", "HISTORY b", "MSG hans note", "HISTORY p");
  assertEquals(replies.map((r) => r.code), [200, 200, 200, 200]);
  assertMatch(replies[1].lines[0], /; yoda; one$/);
  assertMatch(replies[3].lines[0], /; yoda -> hans; note$/);
});

Deno.test("dispatch in memory: offline messages leave the queue once a later request arrives", async () => {
  await using server = await memoryServer();
  const setup = server.connect();
  await setup.request("REGISTER hans password1");
  await setup.request("QUIT");
  const yoda = server.connect();
  await yoda.request("REGISTER yoda password1");
  await yoda.request("MSG hans one");
  await yoda.request("MSG hans two");
  const offline = (c: { output: { events: { event: { type: string } }[] } }) =>
    c.output.events.filter((e) => e.event.type === "private_offline").length;
  // Delivered, but the connection ends before it says anything more: they stay queued.
  const first = server.connect();
  assertEquals((await first.request("LOGIN hans password1")).code, 200);
  assertEquals(offline(first), 2);
  await first.disconnect();
  const second = server.connect();
  assertEquals((await second.request("LOGIN hans password1")).code, 200);
  assertEquals(offline(second), 2, "delivered again: at least once, never zero times");
  // A request after them: they reached hans, and leave the queue.
  assertEquals((await second.request("WHO")).code, 200);
  await second.disconnect();
  const third = server.connect();
  assertEquals((await third.request("LOGIN hans password1")).code, 200);
  assertEquals(offline(third), 0);
});

Deno.test("dispatch in memory: the injected clock decides lockouts, no sleeping", async () => {
  await using server = await memoryServer({ lockoutMs: 60_000 });
  const setup = server.connect();
  await setup.request("REGISTER obiwan right-password");
  await setup.request("QUIT");
  const chat = server.connect();
  await chat.request("LOGIN obiwan wrong");
  await chat.request("LOGIN obiwan wrong");
  assertEquals((await chat.request("LOGIN obiwan wrong")).code, 411);
  assertEquals((await chat.request("LOGIN obiwan right-password")).code, 412);
  server.clock.advance(60_001);
  assertEquals((await chat.request("LOGIN obiwan right-password")).code, 200);
});
