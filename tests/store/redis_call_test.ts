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
