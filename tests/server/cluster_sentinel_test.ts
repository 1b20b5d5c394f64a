/**
 * The cluster on a replicated Redis watched by Redis Sentinel: the URL, the relay to the primary
 * of the moment, and a failover under load that loses nothing acknowledged (`--cluster-acks`).
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  parseSentinelUrl,
  readResp,
  redactSentinelUrl,
  sentinelUrlWithPassword,
} from "../../lib/store/sentinel.ts";
import { redisUrlProblem } from "../../lib/store/redis_client.ts";
import { TestSentinelGroup } from "../../testing/redis_sentinel.ts";
import type { ChatConnection } from "../../lib/client/chat_connection.ts";
import { expectReply, quit, registered, startTestServer } from "../helpers.ts";

Deno.test("sentinel URLs: sentinels, group and password read; anything else refused with the reason", () => {
  assertEquals(parseSentinelUrl("redis-sentinel://10.0.0.1:26379,sentinel-b:26380/labchat"), {
    sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "sentinel-b", port: 26380 }],
    group: "labchat",
    password: undefined,
    username: undefined,
  });
  assertEquals(parseSentinelUrl("redis-sentinel://:s%40cret@[::1]:26379/g"), {
    sentinels: [{ host: "::1", port: 26379 }],
    group: "g",
    password: "s@cret",
    username: undefined,
  });
  for (
    const bad of [
      "redis-sentinel://h:26379",
      "redis-sentinel://h/labchat",
      "redis-sentinel://h:99999/labchat",
      "redis-sentinel://h:1,/labchat",
      "redis-sentinel://h:1/two words",
    ]
  ) {
    assert(typeof parseSentinelUrl(bad) === "string", bad);
    assert(redisUrlProblem(bad) !== undefined, bad);
  }
  assertEquals(redisUrlProblem("redis-sentinel://a:1,b:2/labchat"), undefined);
  const withSecret = sentinelUrlWithPassword("redis-sentinel://a:1,b:2/labchat", "pw:d");
  assertEquals(withSecret, "redis-sentinel://:pw%3Ad@a:1,b:2/labchat");
  assertEquals(
    sentinelUrlWithPassword("redis-sentinel://:given@a:1/labchat", "other"),
    "redis-sentinel://:given@a:1/labchat",
  );
  assertEquals(redactSentinelUrl(withSecret), "redis-sentinel://:***@a:1,b:2/labchat");
});

Deno.test("the sentinels' replies are read whole or not at all", () => {
  const reply = new TextEncoder().encode("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n");
  assertEquals(readResp(reply)?.value, ["127.0.0.1", "6379"]);
  for (let cut = 0; cut < reply.length; cut++) {
    assertEquals(readResp(reply.subarray(0, cut)), undefined, `cut at ${cut}`);
  }
  assertEquals(readResp(new TextEncoder().encode("*-1\r\n"))?.value, null);
  assertMatch(
    String(readResp(new TextEncoder().encode("-ERR no such group\r\n"))?.value),
    /no such/,
  );
});

/** Sends broadcasts until stopped; what each reply said, by text. */
function sendUntil(chat: ChatConnection, prefix: string, stop: { done: boolean }) {
  const outcomes: { text: string; code: number; reply: string; at: number }[] = [];
  const run = (async () => {
    for (let i = 0; !stop.done; i++) {
      const text = `${prefix} ${i}`;
      const reply = await chat.request(`BROADCAST ${text}`);
      outcomes.push({ text, code: reply.code, reply: reply.text, at: Date.now() });
      if (reply.code !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return { outcomes, run };
}

/** Every broadcast text in HISTORY, oldest first. */
async function allBroadcasts(chat: ChatConnection): Promise<string[]> {
  const texts: string[] = [];
  let before: number | undefined;
  while (true) {
    const reply = await expectReply(
      chat,
      before === undefined ? "HISTORY b limit 1000" : `HISTORY b before ${before} limit 1000`,
      200,
    );
    const lines = reply.lines.slice(0, -1);
    const page = lines.map((line) => /^(\d+); [^;]+; [^;]+; (.*)$/.exec(line)).filter((m) =>
      m !== null
    ) as RegExpExecArray[];
    texts.unshift(...page.map((m) => m[2]));
    if (page.length < 1000) return texts;
    before = Number(page[0][1]);
  }
}

Deno.test("cluster on Sentinel: the primary dies under load; after the failover both nodes go on and nothing acknowledged is lost", async () => {
  // Two replicas: with --cluster-acks 1, the new primary still has one to wait for.
  await using group = await TestSentinelGroup.start(2, 1000);
  const dir = await Deno.makeTempDir({ prefix: "labchat-sentinel-" });
  const a = await startTestServer({ cluster: group.url, node: "a", clusterAcks: 1 }, dir);
  const b = await startTestServer({ cluster: group.url, node: "b", clusterAcks: 1 }, dir);
  try {
    const anna = await registered(a.port, "anna");
    const bert = await registered(b.port, "bert");
    await expectReply(anna, "BROADCAST before the failover", 200);

    const stop = { done: false };
    const fromA = sendUntil(anna, "anna", stop);
    const fromB = sendUntil(bert, "bert", stop);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const primary = await group.primary();
    const killedAt = Date.now();
    await primary.stop(true);
    await group.waitForFailover(primary.port);
    // Both nodes write again once the relay has found the new primary.
    const back = (outcomes: { code: number; at: number }[]) => {
      const firstRefusal = outcomes.find((o) => o.at > killedAt && o.code !== 200);
      return outcomes.filter((o) => firstRefusal && o.at > firstRefusal.at && o.code === 200);
    };
    const deadline = Date.now() + 20_000;
    while (
      (back(fromA.outcomes).length < 5 || back(fromB.outcomes).length < 5) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    stop.done = true;
    await Promise.all([fromA.run, fromB.run]);
    assert(back(fromA.outcomes).length >= 5, "node a writes again");
    assert(back(fromB.outcomes).length >= 5, "node b writes again");
    const unavailable = Math.max(back(fromA.outcomes)[0].at, back(fromB.outcomes)[0].at) -
      killedAt;
    console.log(`both nodes wrote again ${unavailable} ms after the primary died`);

    // Every acknowledged broadcast is in the history once; none is there twice.
    const history = await allBroadcasts(anna);
    const counts = new Map<string, number>();
    for (const text of history) counts.set(text, (counts.get(text) ?? 0) + 1);
    for (const outcome of [...fromA.outcomes, ...fromB.outcomes]) {
      const seen = counts.get(outcome.text) ?? 0;
      if (outcome.code === 200) assertEquals(seen, 1, `acknowledged "${outcome.text}"`);
      // A reply that says it was not done is never contradicted by the history.
      if (/not carried out/.test(outcome.reply)) assertEquals(seen, 0, `refused "${outcome.text}"`);
    }
    assertEquals(counts.get("before the failover"), 1);
    assert([...counts.values()].every((n) => n === 1), "nothing twice");
    await Promise.all([quit(anna), quit(bert)]);
  } finally {
    await a.server.shutdown();
    await b.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
