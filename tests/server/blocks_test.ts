import { assertEquals } from "@std/assert";
import { BlockService } from "../../lib/server/services/blocks.ts";
import { openKvStore } from "../../lib/store/kv_store.ts";
import type { BlockStore } from "../../lib/store/store.ts";

/** Two nodes' block services over one store, as a cluster's share Redis. */
async function withTwoNodes(
  fn: (store: BlockStore, a: BlockService, b: BlockService) => Promise<void>,
  wrap: (store: BlockStore) => BlockStore = (store) => store,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-blocks-" });
  const { store } = await openKvStore(dir);
  try {
    const a = await BlockService.open(store);
    const b = await BlockService.open(wrap(store));
    await fn(store, a, b);
    await Promise.all([a.settled(), b.settled()]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("blocks: a block and an unblock made on two nodes at once leave both with what the store kept", async () => {
  await withTwoNodes(async (store, a, b) => {
    // hans blocks yoda on node a while, from another client on node b, he unblocks him.
    await b.unblock("hans", "yoda");
    await a.block("hans", "yoda"); // stored last
    // Each node is told of the other's change after its own: applied as told, they would differ.
    b.applied("hans", "yoda", true);
    a.applied("hans", "yoda", false);
    await Promise.all([a.settled(), b.settled()]);
    assertEquals(await store.isBlocked("hans", "yoda"), true);
    assertEquals([a.has("hans", "yoda"), b.has("hans", "yoda")], [true, true]);
    assertEquals([...b.blockersOf("yoda")], ["hans"]);
  });
});

Deno.test("blocks: a read from the store that a change here overtook is read again", async () => {
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  let reads = 0;
  // Node b's store answers the first read with what it held before the change that follows.
  const slowFirstRead = (store: BlockStore): BlockStore => ({
    loadBlocks: () => store.loadBlocks(),
    setBlocked: (blocker, blocked, on) => store.setBlocked(blocker, blocked, on),
    isBlocked: async (blocker, blocked) => {
      const value = await store.isBlocked(blocker, blocked);
      if (reads++ === 0) await gate;
      return value;
    },
  });
  await withTwoNodes(async (_store, a, b) => {
    await a.block("hans", "yoda");
    b.applied("hans", "yoda", true); // b reads it back: true, held at the gate
    await new Promise((resolve) => setTimeout(resolve, 20));
    await b.unblock("hans", "yoda"); // stored and applied meanwhile
    release();
    await b.settled();
    assertEquals(b.has("hans", "yoda"), false, "the stale read was not applied");
    assertEquals(reads, 2, "the overtaken read was made again");
  }, slowFirstRead);
});

Deno.test("blocks: reload learns blocks stored but never told, and drops lifted ones", async () => {
  await withTwoNodes(async (_store, a, b) => {
    await a.block("hans", "yoda");
    await a.block("luke", "vader");
    await b.reload();
    assertEquals([b.has("hans", "yoda"), b.has("luke", "vader")], [true, true]);
    await a.unblock("luke", "vader"); // never told to b
    await b.reload();
    assertEquals([b.has("hans", "yoda"), b.has("luke", "vader")], [true, false]);
    assertEquals([...b.blockersOf("vader")], []);
    assertEquals([...b.blockedBy("hans")], ["yoda"]);
  });
});

Deno.test("blocks: a store that cannot be read leaves what another node told", async () => {
  const broken = (store: BlockStore): BlockStore => ({
    loadBlocks: () => store.loadBlocks(),
    setBlocked: (blocker, blocked, on) => store.setBlocked(blocker, blocked, on),
    isBlocked: () => Promise.reject(new Error("Redis is away")),
  });
  await withTwoNodes(async (_store, a, b) => {
    await a.block("hans", "yoda");
    b.applied("hans", "yoda", true);
    await b.settled();
    assertEquals(b.has("hans", "yoda"), true);
  }, broken);
});
