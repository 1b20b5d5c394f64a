import { assertEquals, assertRejects } from "@std/assert";
import { ClientOfflineError, SocketClosedUnexpectedlyError } from "redis";
import { redisCall, StoreUnavailableError } from "../../lib/store/redis_client.ts";

const failing = (error: unknown) => () => redisCall(() => Promise.reject(error));

Deno.test("a Redis error tells whether the request was carried out: not when nothing was sent, maybe when the connection broke under way", async () => {
  const offline = await assertRejects(failing(new ClientOfflineError()), StoreUnavailableError);
  assertEquals(offline.outcome, "not_done");
  const cut = await assertRejects(
    failing(new SocketClosedUnexpectedlyError()),
    StoreUnavailableError,
  );
  assertEquals(cut.outcome, "unknown");
  const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  assertEquals((await assertRejects(failing(reset), StoreUnavailableError)).outcome, "unknown");
  // A command Redis refused is not a connection problem: it passes as it is.
  const refused = new Error("WRONGTYPE Operation against a key holding the wrong kind of value");
  assertEquals(await assertRejects(failing(refused)), refused);
});

Deno.test("a call under way when its owner closes ends at once, its timer with it; one after is not sent", async () => {
  const closing = new AbortController();
  let sent = 0;
  // A reply that never comes (Redis away, the client waiting to reconnect).
  const never = () => {
    sent++;
    return new Promise<string>(() => {});
  };
  const underWay = redisCall(never, 60_000, closing.signal);
  closing.abort();
  const ended = await assertRejects(() => underWay, StoreUnavailableError);
  assertEquals(ended.outcome, "unknown");
  const after = await assertRejects(() => redisCall(never, 60_000, closing.signal));
  assertEquals((after as StoreUnavailableError).outcome, "not_done");
  assertEquals(sent, 1, "nothing sent after the close");
  // Deno's sanitizer fails this test if either 60 s timer were still set.
});
