import { assert, assertEquals } from "@std/assert";
import { hashPassword } from "../../lib/auth/password.ts";
import { KV_SCHEMA, migrateKv } from "../../lib/store/kv_migrations.ts";
import { KvStore } from "../../lib/store/kv_store.ts";
import { must } from "../../testing/must.ts";

async function memoryStore(): Promise<KvStore> {
  const kv = await Deno.openKv(":memory:");
  await migrateKv(kv);
  const store = new KvStore(kv);
  await store.load();
  return store;
}

const user = async (name: string) => ({
  name,
  password: await hashPassword("pw", 16),
  role: "user" as const,
  createdAt: 0,
});

Deno.test("KvStore: accounts are found in any case and unique whatever the case", async () => {
  await using store = await memoryStore();
  assertEquals(await store.createUser(await user("Alice")), true);
  assertEquals(await store.createUser(await user("alice")), false);
  assertEquals((await store.getUser("ALICE"))?.name, "Alice");
  assertEquals(await store.updateUser("alice", { role: "admin" }), true);
  assertEquals((await store.getUser("Alice"))?.role, "admin");
  await store.setLockout("ALICE", { failures: 2, blockedUntil: 0 });
  assertEquals((await store.getLockout("alice")).failures, 2);
  assertEquals(await store.deleteUser("aLiCe"), true);
  assertEquals(await store.getLockout("alice"), { failures: 0, blockedUntil: 0 });
  assertEquals(await store.updateUser("alice", { role: "user" }), false);
});

Deno.test("KvStore: history pages by number and time, and reads its own writes", async () => {
  await using store = await memoryStore();
  for (let i = 1; i <= 250; i++) store.appendBroadcast("yoda", `b${i}`, i * 1000);
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

Deno.test("KvStore: the offline queue is read in pages and cleared only up to what was delivered", async () => {
  await using store = await memoryStore();
  const sent = [];
  for (let i = 0; i < 5; i++) {
    sent.push(store.appendPrivate("yoda", "hans", `m${i}`, i, true).value);
  }
  const first = await store.listOffline("hans", 0, 3);
  assertEquals(first.map((m) => m.text), ["m0", "m1", "m2"]);
  await store.ackOffline("hans", first[2].number);
  assertEquals((await store.listOffline("hans", 0, 10)).map((m) => m.text), ["m3", "m4"]);
  const privates = [];
  for await (const m of store.allPrivate()) privates.push(m.text);
  assertEquals(privates, ["m0", "m1", "m2", "m3", "m4"], "each message once, in order");
  assertEquals(sent.length, 5);
});

Deno.test("KvStore: a removed thread is gone at once; a new one of the same name is another", async () => {
  await using store = await memoryStore();
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
