import { assertEquals } from "@std/assert";
import { SeenService } from "../../lib/server/services/seen.ts";
import { openKvStore } from "../../lib/store/kv_store.ts";
import type { AccountStore, SeenRecord } from "../../lib/store/store.ts";

/** `store`, its writes of last-seen records held until `release` is called. */
function heldWrites(store: AccountStore): { store: AccountStore; release: () => void } {
  const { promise, resolve } = Promise.withResolvers<void>();
  const held = new Proxy(store, {
    get(target, key) {
      if (key === "setSeen") {
        return async (record: SeenRecord) => {
          await promise;
          await target.setSeen(record);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: held, release: resolve };
}

Deno.test("last seen: reload learns logins stored but never told, and keeps a newer one recorded here", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-seen-" });
  const { store } = await openKvStore(dir);
  try {
    // Two nodes' services over one store, as a cluster's share Redis.
    const a = await SeenService.open(store);
    const slow = heldWrites(store);
    const b = await SeenService.open(slow.store);
    await a.loggedIn("leia", 1000, "10.0.0.1");
    await a.loggedOut("leia", 1000, 2000);
    await a.loggedIn("hans", 3000, "10.0.0.2");
    // hans logs out on b while the store still has his login only (b's write is under way).
    const logout = b.loggedOut("hans", 3000, 4000);
    await b.reload();
    slow.release();
    await logout;
    const seen = new Map([...b.all()].map((r) => [r.name, [r.lastLogin, r.lastLogout]]));
    assertEquals(seen.get("leia"), [1000, 2000], "learnt from the store");
    assertEquals(seen.get("hans"), [3000, 4000], "the newer record here was kept");
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
