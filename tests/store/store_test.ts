import { assert, assertEquals, assertRejects } from "@std/assert";
import { hashPassword } from "../../lib/auth/password.ts";
import { KV_SCHEMA, migrateKv } from "../../lib/store/kv_migrations.ts";
import { KvStore } from "../../lib/store/kv_store.ts";
import { connectRedis } from "../../lib/store/redis_client.ts";
import { RedisStore } from "../../lib/store/redis_store.ts";
import { RequestIdReusedError, type Store } from "../../lib/store/store.ts";
import { foldName } from "../../lib/protocol/names.ts";
import { must } from "../../testing/must.ts";
import { TestRedis } from "../../testing/redis_server.ts";

/** The embedded store and the cluster's Redis store keep the same promises: each test runs on both. */
function storeTest(name: string, fn: (store: Store) => Promise<void>): void {
  Deno.test(`KvStore: ${name}`, async () => {
    const kv = await Deno.openKv(":memory:");
    await migrateKv(kv);
    await using store = new KvStore(kv);
    await store.load();
    await fn(store);
  });
  Deno.test(`RedisStore: ${name}`, async () => {
    await using redis = await TestRedis.start();
    const client = await connectRedis({ url: redis.url, role: "store", log: () => {} });
    await using store = await RedisStore.open(client, { prefix: "test:" });
    await fn(store);
  });
}

const user = async (name: string) => ({
  name,
  password: await hashPassword("pw", 16),
  role: "user" as const,
  createdAt: 0,
});

storeTest("accounts are found in any case and unique whatever the case", async (store) => {
  assertEquals(await store.createUser(await user("Alice")), true);
  assertEquals(await store.createUser(await user("alice")), false);
  assertEquals((await store.getUser("ALICE"))?.name, "Alice");
  assertEquals(await store.updateUser("alice", { role: "admin" }), true);
  assertEquals((await store.getUser("Alice"))?.role, "admin");
  await store.updateLockout("ALICE", "10.0.0.9", () => ({ failures: 2, blockedUntil: 0 }));
  assertEquals((await store.getLockout("alice", "10.0.0.9")).failures, 2);
  assertEquals(await store.deleteUser("aLiCe"), true);
  assertEquals(await store.getLockout("alice", "10.0.0.9"), { failures: 0, blockedUntil: 0 });
  assertEquals(await store.updateUser("alice", { role: "user" }), false);
});

storeTest("history pages by number and time, and reads its own writes", async (store) => {
  for (let i = 1; i <= 250; i++) void store.appendBroadcast("yoda", `b${i}`, i * 1000);
  // Not awaited: reads wait for writes queued before them.
  const newest = await store.listBroadcasts({ limit: 100 });
  assertEquals([newest[0].number, newest.at(-1)?.number], [151, 250]);
  const before = await store.listBroadcasts({ limit: 100, before: 151 });
  assertEquals([before[0].number, before.at(-1)?.number], [51, 150]);
  const since = await store.listBroadcasts({ limit: 1000, since: 240_000 });
  assertEquals(since.map((m) => m.number), [240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250]);
  const all = [];
  for await (const m of store.allBroadcasts()) all.push(m.number);
  assertEquals(all.length, 250);
});

storeTest(
  "the offline queue is read in pages and cleared only up to what was delivered",
  async (store) => {
    const sent = [];
    for (let i = 0; i < 5; i++) {
      sent.push((await store.appendPrivate("yoda", "hans", `m${i}`, i, true)).value);
    }
    const first = await store.listOffline("hans", 0, 3);
    assertEquals(first.map((m) => m.text), ["m0", "m1", "m2"]);
    await store.ackOffline("hans", first[2].number);
    assertEquals((await store.listOffline("hans", 0, 10)).map((m) => m.text), ["m3", "m4"]);
    const privates = [];
    for await (const m of store.allPrivate()) privates.push(m.text);
    assertEquals(privates, ["m0", "m1", "m2", "m3", "m4"], "each message once, in order");
    assertEquals(sent.length, 5);
  },
);

storeTest(
  "a removed thread is gone at once; a new one of the same name is another",
  async (store) => {
    const old = must(await store.createThread("t", "alice", 0), "a new thread");
    await store.addPost(old, "alice", "old post", 1);
    const file = must(
      await store.addFile(old, {
        uploader: "alice",
        filename: "f.txt",
        size: 1,
        sha256: "0".repeat(64),
        blob: crypto.randomUUID(),
        at: 2,
      }),
      "the attached file",
    );
    assertEquals(await store.removeThread(old), true);
    assertEquals(await store.getThread("t"), undefined);
    assertEquals(await store.removeThread(old), false, "removed once only");
    const fresh = must(await store.createThread("t", "carol", 3), "a thread of the same name");
    assert(fresh.id !== old.id);
    // Writes naming the old thread fail, even though a thread "t" exists again.
    assertEquals(await store.addPost(old, "bob", "late", 4), undefined);
    assertEquals(await store.listThreadItems(fresh), []);
    assertEquals(await store.collectRemovedThreads(), [file.blob]);
    assertEquals(await store.listLiveBlobs(), new Set());
    await store.forgetDoomedBlobs([file.blob]);
    assertEquals(await store.listDoomedBlobs(), []);
  },
);

storeTest(
  "private messages are numbered in each user's own mailbox: nobody's numbers tell of others' traffic",
  async (store) => {
    // Others talk a lot...
    for (let i = 0; i < 20; i++) {
      await store.appendPrivate("luke", "leia", `chatter ${i}`, i, false);
    }
    // ...which hans's and yoda's numbers do not show.
    const first = await store.appendPrivate("hans", "yoda", "one", 100, true);
    const second = await store.appendPrivate("yoda", "hans", "two", 101, false);
    await second.committed;
    assertEquals([first.value.number, second.value.number], [1, 2]);
    const hans = await store.listPrivate("hans", { limit: 10 });
    assertEquals(hans.map((m) => [m.number, m.text]), [[1, "one"], [2, "two"]]);
    const yoda = await store.listPrivate("yoda", { limit: 10 });
    assertEquals(yoda.map((m) => [m.number, m.text]), [[1, "one"], [2, "two"]]);
    assertEquals((await store.listOffline("yoda", 0, 10)).map((m) => m.number), [1]);
    assertEquals((await store.listPrivate("leia", { limit: 1 }))[0].number, 20);
    // Paging by a mailbox's own numbers.
    assertEquals((await store.listPrivate("hans", { limit: 10, before: 2 })).map((m) => m.text), [
      "one",
    ]);
  },
);

storeTest("a file removed from a thread frees its name and dooms its blob", async (store) => {
  const thread = must(await store.createThread("t", "alice", 0), "a new thread");
  const attach = (blob: string) =>
    store.addFile(thread, {
      uploader: "alice",
      filename: "f.txt",
      size: 1,
      sha256: "0".repeat(64),
      blob,
      at: 1,
    });
  const file = must(await attach("blob-1"), "the attached file");
  assertEquals(await attach("blob-2"), undefined, "the name is taken");
  assertEquals(await store.removeFile(thread, file), true);
  assertEquals(await store.removeFile(thread, file), false, "removed once only");
  assertEquals(await store.listThreadItems(thread), []);
  assertEquals(await store.listDoomedBlobs(), ["blob-1"]);
  assertEquals(await store.listLiveBlobs(), new Set());
  assertEquals((await attach("blob-2"))?.blob, "blob-2", "the name is free again");
  await store.forgetDoomedBlobs(["blob-1"]);
  assertEquals(await store.listDoomedBlobs(), []);
});

Deno.test("KvStore: migration from the first layout folds user keys and keys threads by id", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["user", "Alice"], await user("Alice"));
    await kv.set(["thread", "t"], { name: "t", creator: "Alice", createdAt: 0 });
    await kv.set(["thread_item", "t", 1], {
      kind: "post",
      id: 1,
      author: "Alice",
      text: "hi",
      at: 0,
    });
    await migrateKv(kv);
    assertEquals((await kv.get(["meta", "schema"])).value, KV_SCHEMA);
    const store = new KvStore(kv);
    await store.load();
    assertEquals((await store.getUser("alice"))?.name, "Alice");
    const thread = must(await store.getThread("t"), "the migrated thread");
    assert(thread.id > 0);
    assertEquals((await store.listThreadItems(thread)).map((i) => i.kind === "post" && i.text), [
      "hi",
    ]);
  } finally {
    kv.close();
  }
});

storeTest("rooms, blocks, logins, last seen, MOTD and web sessions round-trip", async (store) => {
  const first = await store.createRoom(["yoda", "hans"], "yoda", 1);
  assertEquals(first.created, true);
  const again = await store.createRoom(["hans", "yoda"], "hans", 2);
  assertEquals([again.created, again.room.id], [false, first.room.id], "same members, same room");
  const said = await store.appendRoomMessage(first.room.id, "yoda", "hi", 3);
  await said.committed;
  assertEquals((await store.listRoomMessages(first.room.id, { limit: 10 })).map((m) => m.text), [
    "hi",
  ]);
  assertEquals((await store.listRooms()).map((r) => r.members), [["hans", "yoda"]]);
  await store.setBlocked("yoda", "hans", true);
  await store.setBlocked("yoda", "luke", true);
  await store.setBlocked("yoda", "luke", false);
  assertEquals(await store.loadBlocks(), new Map([["yoda", new Set(["hans"])]]));
  const login = await store.appendLogin({ at: 5, user: "yoda", ip: "127.0.0.1" });
  await store.setLoginUdpPort(login, 4000);
  const logins = [];
  for await (const l of store.listLogins()) logins.push(l);
  assertEquals(logins, [{ number: login, at: 5, user: "yoda", ip: "127.0.0.1", udpPort: 4000 }]);
  await store.setSeen({ name: "yoda", lastLogin: 5, lastLogout: 6 });
  assertEquals((await store.loadSeen()).get("yoda")?.lastLogout, 6);
  await store.addMotd("one");
  await store.addMotd("two");
  await store.setMotdCursor(1);
  assertEquals([await store.listMotd(), await store.getMotdCursor()], [["one", "two"], 1]);
  const session = { user: "yoda", createdAt: 0, expiresAt: Date.now() + 60_000, passwordMark: "m" };
  await store.putWebSession("abc", session);
  assertEquals(await store.getWebSession("abc"), session);
  await store.deleteWebSession("abc");
  assertEquals(await store.getWebSession("abc"), undefined);
  const pm = await store.appendPrivate("yoda", "hans", "to hans", 7, false);
  await store.appendPrivate("luke", "yoda", "to yoda", 8, false);
  await pm.committed;
  assertEquals((await store.listPrivate("yoda", { limit: 10 }, "hans")).map((m) => m.text), [
    "to hans",
  ]);
  assertEquals((await store.listPrivate("yoda", { limit: 10, after: pm.value.number })).length, 1);
});

storeTest(
  "accounts created at once: one per name wins, the others are told it is taken",
  async (store) => {
    // All asked for in one turn; the first goes alone, the rest share the next group commit.
    const names = ["zed", "Ann", "ann", "ANN", "bob", "carl", "aNN"];
    const records = await Promise.all(names.map(user));
    const made = await Promise.all(records.map((record) => store.createUser(record)));
    assertEquals(made.filter((ok, i) => ok && foldName(names[i]) === "ann").length, 1);
    assertEquals([made[0], made[4], made[5]], [true, true, true], "other names are made");
    assertEquals((await store.listUsers()).length, 4);
  },
);

storeTest("lockout changes made at once are all counted", async (store) => {
  await store.createUser(await user("yoda"));
  const bump = (s: { failures: number; blockedUntil: number }) => ({
    ...s,
    failures: s.failures + 1,
  });
  await Promise.all(Array.from({ length: 20 }, () => store.updateLockout("YODA", "::1", bump)));
  assertEquals((await store.getLockout("yoda", "::1")).failures, 20);
  assertEquals(await store.updateLockout("yoda", "::1", () => ({ failures: 0, blockedUntil: 0 })), {
    failures: 0,
    blockedUntil: 0,
  });
  assertEquals(await store.getLockout("yoda", "::1"), { failures: 0, blockedUntil: 0 }, "cleared");
});

storeTest(
  "failures count per account and address; the operator's unlock clears them all",
  async (store) => {
    await store.createUser(await user("yoda"));
    await store.updateLockout("yoda", "10.0.0.66", () => ({ failures: 0, blockedUntil: 99 }));
    await store.updateLockout("yoda", "10.0.0.67", () => ({ failures: 2, blockedUntil: 0 }));
    assertEquals(await store.getLockout("yoda", "10.0.0.5"), { failures: 0, blockedUntil: 0 });
    assertEquals((await store.listLockouts("YODA")).length, 2);
    await store.clearLockouts("Yoda");
    assertEquals(await store.listLockouts("yoda"), []);
    assertEquals(await store.getLockout("yoda", "10.0.0.66"), { failures: 0, blockedUntil: 0 });
  },
);

storeTest(
  "a name without an account counts failures atomically, and forgets them",
  async (store) => {
    const bump = (s: { failures: number; blockedUntil: number }) => ({
      ...s,
      failures: s.failures + 1,
    });
    await Promise.all(
      Array.from({ length: 10 }, () => store.updateGhostLockout("Nobody", bump, 60_000)),
    );
    assertEquals((await store.getGhostLockout("NOBODY")).failures, 10);
    assertEquals(
      (await store.getLockout("nobody", "127.0.0.1")).failures,
      0,
      "apart from accounts' lockouts",
    );
    await store.updateGhostLockout("brief", bump, 50);
    assertEquals((await store.getGhostLockout("brief")).failures, 1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assertEquals(await store.getGhostLockout("brief"), { failures: 0, blockedUntil: 0 }, "expired");
  },
);

storeTest(
  "the change feed names each log and thread that changed, once, with its last number",
  async (store) => {
    const start = await store.changesSince(0);
    assertEquals(start.changed, []);
    await (await store.appendBroadcast("yoda", "one", 1)).committed;
    await (await store.appendBroadcast("yoda", "two", 2)).committed;
    await (await store.appendPrivate("yoda", "Leia", "hi", 3, false)).committed;
    const { room } = await store.createRoom(["yoda", "leia"], "yoda", 4);
    await (await store.appendRoomMessage(room.id, "yoda", "in the room", 5)).committed;
    await (await store.appendChannelMessage("#lab", "yoda", "in the channel", 6)).committed;
    const thread = must(await store.createThread("lab", "yoda", 7), "a thread");
    const post = must(await store.addPost(thread, "yoda", "a post", 8), "a post");
    const first = await store.changesSince(start.head);
    assertEquals(first.epoch, start.epoch);
    const byName = (changes: typeof first) =>
      Object.fromEntries(changes.changed.map((log) => [JSON.stringify(log), true]));
    assertEquals(byName(first), {
      [JSON.stringify({ kind: "broadcast", last: 2 })]: true,
      [JSON.stringify({ kind: "private", user: "yoda", last: 1 })]: true,
      [JSON.stringify({ kind: "private", user: "Leia", last: 1 })]: true,
      [JSON.stringify({ kind: "room", room: room.id, last: 1 })]: true,
      [JSON.stringify({ kind: "channel", channel: "#lab", last: 1 })]: true,
      [JSON.stringify({ kind: "thread", thread: thread.id })]: true,
    });
    assertEquals((await store.changesSince(first.head)).changed, []);
    assertEquals(await store.listChannelLogs(), ["#lab"]);

    // Only what changed after a position; a write refused (a removed thread) changes nothing.
    await store.editPost(thread, post, "edited");
    const second = await store.changesSince(first.head);
    assertEquals(second.changed, [{ kind: "thread", thread: thread.id }]);
    assert(await store.removeThread(thread));
    assertEquals(await store.editPost(thread, post, "again"), false);
    const third = await store.changesSince(second.head);
    assertEquals(third.changed, [{ kind: "thread", thread: thread.id }]);
    assertEquals((await store.changesSince(third.head)).changed, []);
  },
);

storeTest(
  "a request id stores a message once: a retry gets the first's number, another message with it is refused",
  async (store) => {
    const request = { user: "Yoda", id: "req-1" };
    const first = await store.appendBroadcast("yoda", "once", 1, request);
    await first.committed;
    const again = await store.appendBroadcast("yoda", "once", 2, { user: "yoda", id: "req-1" });
    assertEquals([again.repeated, again.value.number, again.value.at], [
      true,
      first.value.number,
      1,
    ]);
    await assertRejects(
      () => store.appendBroadcast("yoda", "something else", 3, request),
      RequestIdReusedError,
    );
    // Another user's id of the same name is theirs.
    const other = await store.appendBroadcast("leia", "once", 4, { user: "leia", id: "req-1" });
    assertEquals(other.repeated, undefined);
    // Sent twice at once: stored once.
    const [a, b] = await Promise.all([
      store.appendPrivate("yoda", "leia", "hi", 5, true, { user: "yoda", id: "req-2" }),
      store.appendPrivate("yoda", "leia", "hi", 5, true, { user: "yoda", id: "req-2" }),
    ]);
    await Promise.all([a.committed, b.committed]);
    assertEquals([a.value.number, a.receivedNumber], [b.value.number, b.receivedNumber]);
    assertEquals([!!a.repeated, !!b.repeated].sort(), [false, true]);
    assertEquals((await store.listPrivate("leia", { limit: 10 })).length, 1);
    assertEquals((await store.listBroadcasts({ limit: 10 })).map((m) => m.text), ["once", "once"]);
    const room = (await store.createRoom(["yoda", "leia"], "yoda", 6)).room;
    const said = await store.appendRoomMessage(room.id, "yoda", "r", 7, { user: "yoda", id: "r" });
    await said.committed;
    assertEquals(
      (await store.appendRoomMessage(room.id, "yoda", "r", 8, { user: "yoda", id: "r" })).repeated,
      true,
    );
    const chan = await store.appendChannelMessage("#lab", "yoda", "c", 9, {
      user: "yoda",
      id: "c",
    });
    await chan.committed;
    assertEquals(
      (await store.appendChannelMessage("#lab", "yoda", "c", 9, { user: "yoda", id: "c" })).value,
      chan.value,
    );
  },
);
