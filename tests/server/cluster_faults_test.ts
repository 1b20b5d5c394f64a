/**
 * The cluster under ordinary faults: a node frozen longer than its lease (SIGSTOP, as a long GC
 * pause, swapping or a VM migration does) comes back whole, and a user who logged in elsewhere
 * meanwhile keeps that session; a node frozen while more shared changes passed than their stream
 * keeps reads them from the store.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { connect, expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";
import { TestRedis } from "../../testing/redis_server.ts";
import { spawnServer } from "../../testing/server_process.ts";
import { closeQuietly, connectRedis } from "../../lib/store/redis_client.ts";
import { appendChange, CHANGES_LENGTH } from "../../lib/server/cluster/changes_stream.ts";

/** A node's lease runs out 4 s after its last heartbeat; a freeze outlasts it. */
const FREEZE_MS = 6000;

const freeze = async (pid: number, ms: number) => {
  Deno.kill(pid, "SIGSTOP");
  await new Promise((resolve) => setTimeout(resolve, ms));
  Deno.kill(pid, "SIGCONT");
};

Deno.test("cluster: a node frozen past its lease claims its users again, in their channels; they hear and are heard", async () => {
  await using redis = await TestRedis.start();
  // The steady node's test server removes the shared directory when it is disposed of.
  const dir = await Deno.makeTempDir({ prefix: "labchat-faults-" });
  await using a = await startTestServer({ cluster: redis.url, node: "steady" }, dir);
  await using frozen = await spawnServer(dir, ["--cluster", redis.url, "--node", "frozen"]);
  {
    const watcher = await registered(a.port, "watcher");
    const sleeper = await registered(frozen.port, "sleeper");
    await watcher.waitForEvent((e) => e.type === "login" && e.user === "sleeper");
    await expectReply(watcher, "JOIN #net", 200);
    await expectReply(sleeper, "JOIN #net", 200, /^Joined #net: @watcher sleeper/);
    await watcher.waitForEvent((e) => e.type === "channel_join" && e.user === "sleeper");
    await freeze(frozen.child.pid, FREEZE_MS);
    // The steady node took the frozen one for dead; once awake it claims its user again.
    await watcher.waitForEvent((e) => e.type === "logout" && e.user === "sleeper", 5000);
    const started = Date.now();
    await watcher.waitForEvent((e) => e.type === "login" && e.user === "sleeper", 5000);
    const healed = (Date.now() - started) / 1000;
    assert(healed < 5, `presence healed in ${healed} s`);
    // Heard: a message is delivered live, not queued; a broadcast arrives.
    await expectReply(watcher, "MSG sleeper are you back?", 200, "Message sent to sleeper");
    const got = await sleeper.waitForEvent((e) => e.type === "private");
    assertEquals(got.type === "private" && got.text, "are you back?");
    await expectReply(watcher, "BROADCAST welcome back", 200);
    await sleeper.waitForEvent((e) => e.type === "broadcast" && e.text === "welcome back");
    // Taken out of #net with the logout, sleeper is put back in it: the channel hears of it,
    // both nodes list both, and what is said there reaches sleeper.
    await watcher.waitForEvent((e) => e.type === "channel_join" && e.user === "sleeper", 5000);
    for (const person of [watcher, sleeper]) {
      await expectReply(person, "NAMES #net", 200, "#net: @watcher sleeper");
    }
    await expectReply(watcher, "SAY #net still here?", 200);
    await sleeper.waitForEvent((e) => e.type === "channel_message" && e.text === "still here?");
    // One person still: a second session on the steady node is listed with the first, once.
    const second = await loggedIn(a.port, "sleeper");
    const who = await expectReply(watcher, "WHO", 200);
    assertEquals(who.lines.filter((l) => l.startsWith("sleeper,")).length, 1);
    assertMatch(
      frozen.output.join("\n"),
      /lease had run out.*rejoining the cluster[\s\S]*Presence repaired: 1 session\(s\) of this node online again/,
    );
    await Promise.all([quit(watcher), quit(sleeper), quit(second)]);
  }
});

Deno.test("cluster, one session per user: a user who logged in elsewhere while their node was frozen keeps that session; the old one ends saying why", async () => {
  await using redis = await TestRedis.start();
  // The steady node's test server removes the shared directory when it is disposed of.
  const dir = await Deno.makeTempDir({ prefix: "labchat-faults-" });
  const one = { cluster: redis.url, node: "steady", sessionsPerUser: 1 };
  await using a = await startTestServer(one, dir);
  await using frozen = await spawnServer(dir, [
    "--cluster",
    redis.url,
    "--node",
    "frozen",
    "--sessions-per-user",
    "1",
  ]);
  {
    const watcher = await registered(a.port, "watcher");
    const old = await registered(frozen.port, "mover");
    await watcher.waitForEvent((e) => e.type === "login" && e.user === "mover");
    Deno.kill(frozen.child.pid, "SIGSTOP");
    await watcher.waitForEvent((e) => e.type === "logout" && e.user === "mover", 10_000);
    const moved = await loggedIn(a.port, "mover");
    Deno.kill(frozen.child.pid, "SIGCONT");
    const ended = await old.waitForEvent((e) => e.type === "disconnect", 10_000);
    assertMatch(
      ended.type === "disconnect" ? ended.text : "",
      /^You logged in elsewhere while this server was cut off from the cluster/,
    );
    // The session that won goes on, and nobody was told the user left.
    await expectReply(watcher, "MSG mover still here?", 200, "Message sent to mover");
    await moved.waitForEvent((e) => e.type === "private");
    const who = await expectReply(watcher, "WHO", 200);
    assertEquals(who.lines.filter((l) => l.startsWith("mover,")).length, 1);
    await Promise.all([quit(watcher), quit(moved)]);
  }
});

Deno.test("cluster: a message acknowledged for a user on a node that dies is not lost; one delivered live is not handed over again", async () => {
  await using redis = await TestRedis.start();
  // The steady node's test server removes the shared directory when it is disposed of.
  const dir = await Deno.makeTempDir({ prefix: "labchat-faults-" });
  await using a = await startTestServer({ cluster: redis.url, node: "steady" }, dir);
  await using doomed = await spawnServer(dir, ["--cluster", redis.url, "--node", "doomed"]);
  {
    const sender = await registered(a.port, "sender");
    const victim = await registered(doomed.port, "victim");
    await sender.waitForEvent((e) => e.type === "login" && e.user === "victim");
    // Live, across nodes: delivered once, and not kept for later.
    await expectReply(sender, "MSG victim live one", 200, "Message sent to victim");
    await victim.waitForEvent((e) => e.type === "private" && e.text === "live one");
    await expectReply(victim, "WHO", 200); // the handover is settled by the next request
    // The node dies; until it is found dead its user still looks online.
    doomed.child.kill("SIGKILL");
    await doomed.status;
    await expectReply(sender, "MSG victim sent into the void", 200, "Message sent to victim");
    await sender.waitForEvent((e) => e.type === "logout" && e.user === "victim", 10_000);
    // Back on the steady node: the message acknowledged meanwhile is there, the live one is not.
    const back = await connect(a.port);
    await expectReply(back, "LOGIN victim victim-secret", 200);
    const kept = await back.waitForEvent((e) => e.type === "private_offline");
    assertEquals(kept.type === "private_offline" && kept.text, "sent into the void");
    await expectReply(back, "WHO", 200);
    assertEquals(back.queuedEvents.filter((e) => e.type === "private_offline").length, 0);
    await Promise.all([quit(sender), quit(back)]);
    await victim.close();
  }
});

/**
 * A TCP relay to Redis that, once armed, cuts the connection carrying the next EXEC: before
 * passing it on (`"request"`: the transaction is never carried out) or after, instead of passing
 * its reply back (`"reply"`: carried out, unbeknown to the client). Either way the client only sees
 * its connection close under way, an outcome it cannot know, as when Redis is SIGTERMed.
 */
class ExecCutter implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #pipes: Promise<void>[] = [];
  readonly #accepting: Promise<void>;
  armed: "request" | "reply" | undefined;
  cuts = 0;

  constructor(redisPort: number) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.#accepting = (async () => {
      for await (const client of listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: redisPort });
        this.#conns.add(client).add(server);
        const pair = { cutReply: false };
        this.#pipes.push(this.#pipe(client, server, pair, true), this.#pipe(server, client, pair));
      }
    })().catch(() => {});
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  async #pipe(
    from: Deno.TcpConn,
    to: Deno.TcpConn,
    pair: { cutReply: boolean },
    upstream = false,
  ): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        const chunk = buffer.subarray(0, n);
        if (!upstream && pair.cutReply) break;
        if (upstream && this.armed && new TextDecoder().decode(chunk).includes("EXEC\r\n")) {
          const mode = this.armed;
          this.armed = undefined;
          this.cuts++;
          if (mode === "request") break;
          pair.cutReply = true;
        }
        for (let at = 0; at < n;) at += await to.write(chunk.subarray(at));
      }
    } catch {
      // the other side went
    }
    for (const conn of [from, to]) {
      if (this.#conns.delete(conn)) conn.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
    await Promise.all(this.#pipes);
  }
}

Deno.test("cluster: a private or channel message whose delivery was cut off under way still reaches its online recipients, once", async () => {
  await using redis = await TestRedis.start();
  await using cutter = new ExecCutter(redis.port);
  const dir = await Deno.makeTempDir({ prefix: "labchat-cluster-" });
  const a = await startTestServer({ cluster: cutter.url, node: "n1" }, dir);
  const b = await startTestServer({ cluster: redis.url, node: "n2" }, dir);
  try {
    const yoda = await registered(a.port, "yoda");
    const hans = await registered(b.port, "hans");
    await new Promise((r) => setTimeout(r, 300)); // presence has travelled
    const privates = async (count: number) => {
      const texts: string[] = [];
      while (texts.length < count) {
        const event = await hans.waitForEvent((e) => e.type === "private", 10_000);
        if (event.type === "private") texts.push(event.text);
      }
      return texts;
    };
    // The MSG is stored; the transaction passing it to node 2 is cut before Redis ran it.
    cutter.armed = "request";
    await expectReply(yoda, "MSG hans through the cut", 200);
    assertEquals(await privates(1), ["through the cut"]);
    // Cut after Redis ran it: passed on again, and the session that has it passes over the repeat.
    cutter.armed = "reply";
    await expectReply(yoda, "MSG hans once only", 200);
    await expectReply(yoda, "MSG hans and then", 200);
    assertEquals(await privates(2), ["once only", "and then"]);
    // A channel's message: numbered, so handed out once however often it is passed on.
    await expectReply(hans, "JOIN #cut", 200);
    await expectReply(yoda, "JOIN #cut", 200);
    await new Promise((r) => setTimeout(r, 300));
    cutter.armed = "request";
    await expectReply(yoda, "SAY #cut said through the cut", 200);
    const said = await hans.waitForEvent((e) => e.type === "channel_message", 10_000);
    assertEquals(said.type === "channel_message" && said.text, "said through the cut");
    assertEquals(cutter.cuts, 3, "every transaction armed for was cut");
    await Promise.all([quit(yoda), quit(hans)]);
  } finally {
    await a.server.shutdown();
    await b.server.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("cluster: a node frozen while more shared changes passed than their stream keeps learns of a block and a login trimmed unread", async () => {
  await using redis = await TestRedis.start();
  const dir = await Deno.makeTempDir({ prefix: "labchat-faults-" });
  await using a = await startTestServer({ cluster: redis.url, node: "steady" }, dir);
  await using frozen = await spawnServer(dir, ["--cluster", redis.url, "--node", "frozen"]);
  const admin = await connectRedis({ url: redis.url, role: "test", log: () => {} });
  try {
    const hans = await registered(a.port, "hans");
    const yoda = await registered(frozen.port, "yoda");
    await hans.waitForEvent((e) => e.type === "login" && e.user === "yoda");
    // Another node's change that only makes a node forget a cached account.
    const harmless = JSON.stringify({ node: "other", change: { kind: "account", name: "nobody" } });
    // Shorter than the lease: the cluster does not take the node for gone.
    Deno.kill(frozen.child.pid, "SIGSTOP");
    try {
      // The first change after the freeze began ends the frozen node's blocked read: it waits
      // in its socket. The block after it is trimmed from the stream before the node wakes.
      await appendChange(admin, harmless);
      await expectReply(hans, "BLOCK yoda", 200);
      await quit(await registered(a.port, "leia"));
      for (let i = 0; i < CHANGES_LENGTH + 200; i += 100) {
        await Promise.all(Array.from({ length: 100 }, () => appendChange(admin, harmless)));
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      Deno.kill(frozen.child.pid, "SIGCONT");
    }
    let refused = false;
    for (const deadline = Date.now() + 10_000; !refused && Date.now() < deadline;) {
      refused = (await yoda.request("MSG hans after")).code === 405;
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    assert(refused, "the frozen node learnt of the block once awake");
    // And of a login and logout the stream told while it was frozen.
    await expectReply(yoda, "WHOELSE 600", 200, /leia/);
    assertMatch(
      frozen.output.join("\n"),
      /This node stalled for \d+\.\d s: reading shared state again/,
    );
    await Promise.all([quit(hans), quit(yoda)]);
  } finally {
    await closeQuietly(admin);
  }
});
