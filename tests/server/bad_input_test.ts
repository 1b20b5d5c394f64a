import { assert, assertEquals } from "@std/assert";
import { connect, expectReply, quit, registered, startTestServer } from "../helpers.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("malformed lines get an error reply and the connection keeps working", async () => {
  await using t = await startTestServer({ maxLineBytes: 1024 });
  const chat = await registered(t.port, "yoda");
  const replies = [
    chat.request("FROB"),
    chat.request("MSG"),
    chat.request("WHO yoda extra"),
  ];
  assertEquals((await Promise.all(replies)).map((r) => r.code), [400, 403, 403]);
  const raw = [
    new Uint8Array([0xff, 0xfe, 0xfd, 0x0a]),
    new Uint8Array([0x57, 0x48, 0x00, 0x4f, 0x0a]),
    encode("x".repeat(5000) + "\n"),
  ];
  const expected = [
    "Cannot read request: line is not valid UTF-8",
    "Cannot read request: line contains a NUL byte",
    "Cannot read request: line is longer than 1024 bytes",
  ];
  for (let i = 0; i < raw.length; i++) {
    // No request is pending, so the client surfaces the reply to the raw line as an event.
    await chat.writeRaw(raw[i]);
    assertEquals(await chat.waitForEvent(() => true), {
      type: "unknown",
      code: 407,
      text: expected[i],
    });
    await expectReply(chat, "WHO", 200, "1 user online");
  }
  await quit(chat);
});

Deno.test("binary garbage never crashes the server and stored data stays intact", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "BROADCAST before", 200);
  const garbage = await connect(t.port);
  const bytes = new Uint8Array(256 * 1024);
  let seed = 12345;
  for (let i = 0; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = seed & 0xff;
  }
  await garbage.writeRaw(bytes);
  await garbage.writeRaw(encode("\nWHO\n"));
  // The garbage connection still gets answers (or was cut as a slow reader); the server lives.
  await garbage.close();
  await expectReply(yoda, "BROADCAST after", 200);
  const history = await expectReply(yoda, "HISTORY", 200, "2 broadcasts");
  assert(history.lines[0].endsWith("; yoda; before"));
  assert(history.lines[1].endsWith("; yoda; after"));
  await quit(yoda);
});

Deno.test("a client that stops reading is disconnected and server memory stays bounded", async () => {
  await using t = await startTestServer({ maxSendQueueBytes: 64 * 1024, requestRate: 0 });
  const watcher = await registered(t.port, "watcher");
  const slow = await connect(t.port);
  await expectReply(slow, "REGISTER slow slow-secret", 200);
  // Flood the slow client's queue with HELP replies it never reads: 4 MiB of requests.
  const help = encode("HELP\n".repeat(1000));
  const writes = (async () => {
    try {
      for (let i = 0; i < 1000; i++) await slow.writeRaw(help);
    } catch {
      // the server closed the connection: expected
    }
  })();
  await watcher.waitForEvent((e) => e.type === "logout" && e.user === "slow", 10_000);
  await writes;
  await slow.close();
  const until = Date.now() + 5000;
  while (t.server.connectionCount !== 1 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(t.server.connectionCount, 1, "only the watcher is still connected");
  await quit(watcher);
});

Deno.test("connections over the per-IP cap are refused with a reason", async () => {
  await using t = await startTestServer({ maxConnectionsPerIp: 2 });
  const a = await connect(t.port);
  const b = await connect(t.port);
  await expectReply(a, "WHO", 200);
  await expectReply(b, "WHO", 200);
  const c = await connect(t.port);
  const refusal = await c.waitForEvent(() => true);
  assertEquals(refusal, {
    type: "unknown",
    code: 421,
    text: "Too many connections; try again later",
  });
  await c.done;
  await a.close();
  await expectReply(b, "WHO", 200);
  await Promise.all([b.close(), c.close()]);
});

Deno.test("connections over the total cap are refused; a freed slot is usable again", async () => {
  await using t = await startTestServer({ maxConnections: 1 });
  const a = await connect(t.port);
  await expectReply(a, "WHO", 200);
  const b = await connect(t.port);
  assertEquals(await b.waitForEvent(() => true), {
    type: "unknown",
    code: 421,
    text: "Too many connections; try again later",
  });
  await b.done;
  await a.close();
  const until = Date.now() + 5000;
  while (t.server.connectionCount > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const c = await connect(t.port);
  await expectReply(c, "WHO", 200);
  await c.close();
});
