/**
 * Request ids: a request sent again with its id (after a reply that said the outcome is unknown,
 * or after a reconnect) is carried out once; a malformed id gets a clear error.
 */
import { assertEquals, assertMatch } from "@std/assert";
import {
  connect,
  expectReply,
  loggedIn,
  quit,
  registered,
  startTestServer,
  type TestServer,
} from "../helpers.ts";
import { TestRedis } from "../../testing/redis_server.ts";

async function everyKind(t: TestServer, other: TestServer = t) {
  const yoda = await registered(t.port, "yoda");
  const leia = await registered(other.port, "leia");
  await yoda.waitForEvent((e) => e.type === "login" && e.user === "leia");

  const first = await expectReply(yoda, "@id=b-1 BROADCAST only once", 200);
  assertMatch(first.text, /^Broadcast message, #1 broadcast at /);
  // Sent again on a new connection, as a client does after losing the first.
  await quit(yoda);
  const again = await loggedIn(t.port, "yoda");
  const repeat = await expectReply(again, "@id=b-1 BROADCAST only once", 200);
  assertMatch(
    repeat.text,
    /^Broadcast message, #1 broadcast at .*\(request b-1 was carried out before; (nothing sent again|passed on to whoever had not received it)\)$/,
  );
  await expectReply(
    again,
    "@id=b-1 BROADCAST another text",
    406,
    /^Request id b-1 was used for another request already/,
  );

  await expectReply(again, "@id=m-1 MSG leia hello once", 200, "Message sent to leia");
  await expectReply(again, "@id=m-1 MSG leia hello once", 200, /carried out before/);
  await expectReply(again, "ROOM CREATE leia", 200);
  await expectReply(again, "@id=r-1 ROOM SAY 1 in the room", 200, /^Message #1 sent to room 1$/);
  await expectReply(
    again,
    "@id=r-1 ROOM SAY 1 in the room",
    200,
    /^Message #1 sent to room 1 \(request/,
  );
  await expectReply(leia, "JOIN #lab-net", 200);
  await expectReply(again, "JOIN #lab-net", 200);
  await expectReply(again, "@id=c-1 SAY #lab-net in the channel", 200);
  await expectReply(again, "@id=c-1 SAY #lab-net in the channel", 200, /carried out before/);
  await expectReply(again, "BROADCAST last", 200, /^Broadcast message, #2 /);

  // leia heard each once, in order.
  const heard: string[] = [];
  await leia.waitForEvent((e) => {
    if (
      e.type === "broadcast" || e.type === "private" || e.type === "room" ||
      e.type === "channel_message"
    ) heard.push(`${e.type}:${e.text}`);
    return e.type === "broadcast" && e.text === "last";
  });
  assertEquals(heard, [
    "broadcast:only once",
    "private:hello once",
    "room:in the room",
    "channel_message:in the channel",
    "broadcast:last",
  ]);
  // Delivered live, so nothing waits in the offline queue for leia's next login.
  await quit(leia);
  const back = await loggedIn(other.port, "leia");
  await expectReply(back, "WHO", 200);
  assertEquals(back.queuedEvents.filter((e) => e.type === "private_offline"), []);
  const history = await expectReply(back, "HISTORY yoda", 200);
  assertEquals(history.lines.filter((l) => l.endsWith("hello once")).length, 1);
  await Promise.all([quit(again), quit(back)]);
}

Deno.test("a request id makes BROADCAST, MSG, ROOM SAY and SAY happen once, whatever the retries", async () => {
  await using t = await startTestServer();
  await everyKind(t);
});

Deno.test("request ids across the nodes of a cluster", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir({ prefix: "labchat-request-id-" });
  const a = await startTestServer({ cluster: redis.url, node: "a" }, dir);
  const b = await startTestServer({ cluster: redis.url, node: "b" }, dir);
  try {
    await everyKind(a, b);
  } finally {
    await a.server.shutdown();
    await b.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a malformed request id is refused with the rule, and the connection goes on", async () => {
  await using t = await startTestServer();
  const yoda = await connect(t.port);
  for (
    const [line, text] of [
      ["@id= BROADCAST x", /^A request id is 1 to 64 letters/],
      [`@id=${"x".repeat(65)} BROADCAST x`, /^A request id is 1 to 64/],
      ["@id=a b BROADCAST x", /Invalid command "b"/],
      ["@label=1 WHO", /^Unknown request tag "label": the only one is @id=ID$/],
      ["@id=ok", /^A request id needs a command after it$/],
      ["@", /^Unknown request tag/],
    ] as const
  ) {
    const reply = await yoda.request(line);
    assertMatch(reply.text, text, line);
  }
  await expectReply(yoda, "REGISTER yoda yoda-secret", 200);
  // An id on a command that stores nothing is harmless.
  await expectReply(yoda, "@id=w WHO", 200);
  await quit(yoda);
});
