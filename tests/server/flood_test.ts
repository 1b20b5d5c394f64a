import { assert, assertEquals } from "@std/assert";
import { TokenBucket } from "../../lib/server/io/token_bucket.ts";
import { connect, expectReply, quit, registered, startTestServer } from "../helpers.ts";

Deno.test("TokenBucket: bursts pass, then waits grow, then it refuses", () => {
  const bucket = new TokenBucket(10, 2, 500);
  assertEquals(bucket.take(0), { kind: "now" });
  assertEquals(bucket.take(0), { kind: "now" });
  assertEquals(bucket.take(0), { kind: "wait", ms: 100 });
  assertEquals(bucket.take(0), { kind: "wait", ms: 200 });
  for (let i = 0; i < 3; i++) bucket.take(0);
  assertEquals(bucket.take(0), { kind: "exceeded" }, "would be 600 ms behind");
  assertEquals(bucket.take(1000).kind, "now", "tokens come back with time");
});

Deno.test("a flooding client is slowed, then disconnected with a reason; others are unaffected", async () => {
  await using t = await startTestServer({ requestRate: 20, floodLimitMs: 500 });
  const calm = await registered(t.port, "calm");
  const flood = await registered(t.port, "flood");
  // 200 requests at once: 40 pass, the rest are paced at 20/s and the debt passes 500 ms.
  const line = new TextEncoder().encode("WHO\n".repeat(200));
  await flood.writeRaw(line);
  const event = await flood.waitForEvent((e) => e.type === "disconnect", 10_000);
  assertEquals(event, {
    type: "disconnect",
    text: "Disconnected: more than 20 requests per second for too long (flooding)",
  });
  await flood.done;
  await calm.waitForEvent((e) => e.type === "logout" && e.user === "flood");
  await expectReply(calm, "WHO", 200, "1 user online");
  await quit(calm);
});

Deno.test("a client just over the rate is paced, not dropped: every request is answered", async () => {
  await using t = await startTestServer({ requestRate: 50, floodLimitMs: 5000 });
  const chat = await registered(t.port, "steady");
  const started = performance.now();
  const replies = await Promise.all(Array.from({ length: 150 }, () => chat.request("WHO")));
  assert(replies.every((r) => r.code === 200));
  // 100 in the burst, 50 more at 50/s: the last ones waited about a second.
  assert(performance.now() - started >= 800, "requests past the burst were paced");
  await quit(chat);
});

Deno.test("new connections from one address are rate limited", async () => {
  await using t = await startTestServer({ connectRatePerIp: 5 });
  const chats = [];
  for (let i = 0; i < 10; i++) chats.push(await connect(t.port));
  const refused = await connect(t.port);
  assertEquals(await refused.waitForEvent(() => true), {
    type: "unknown",
    code: 421,
    text: "Too many new connections from your address; slow down",
  });
  await refused.done;
  await expectReply(chats[0], "WHO", 200);
  await Promise.all(chats.map((c) => c.close()));
});

Deno.test("a REGISTER flood is bounded: excess is refused as busy and logins go first", async () => {
  // A real scrypt cost, so hashing is the bottleneck, as in production.
  await using t = await startTestServer({ scryptCost: 1 << 14, requestRate: 0 });
  const hans = await connect(t.port);
  await expectReply(hans, "REGISTER hans millennium-falcon", 200);
  await expectReply(hans, "LOGOUT", 200);
  const flood = await Promise.all(Array.from({ length: 60 }, () => connect(t.port)));
  const order: string[] = [];
  const full = Promise.withResolvers<void>();
  const registrations = flood.map((chat, i) =>
    chat.request(`REGISTER junk${i} password1`).then((reply) => {
      order.push(reply.code === 200 ? "registered" : `${reply.code}`);
      if (reply.code === 421) full.resolve();
      return reply;
    })
  );
  // The login arrives once the flood has filled the queue (the first refusal says so).
  await full.promise;
  const login = hans.request("LOGIN hans millennium-falcon").then((reply) => {
    order.push("login");
    return reply;
  });
  assertEquals((await login).code, 200);
  const replies = await Promise.all(registrations);
  const busy = replies.filter((r) => r.code === 421);
  assert(busy.length > 0, "beyond the small queue, registrations are refused at once");
  assertEquals(busy[0].text, "Server busy: too many sign-ins at once; try again shortly");
  const loginAt = order.indexOf("login");
  assert(
    order.slice(loginAt + 1).includes("registered"),
    `the login overtook queued registrations: ${order.join(" ")}`,
  );
  await Promise.all([quit(hans), ...flood.map((c) => c.close())]);
});
