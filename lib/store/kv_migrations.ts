/**
 * Upgrades a Deno KV database written by an earlier labchat to the current layout, once, at open.
 *
 * - Schema 1 → 2: account and lockout keys become case-folded (user names are unique whatever
 *   their case), and forum threads get an id that their items are keyed by (so removing a thread
 *   can be finished after a crash without touching a new thread of the same name).
 * @module
 */

import { foldName } from "../protocol/names.ts";

/** The layout this code reads and writes. */
export const KV_SCHEMA = 2;

interface OldThread {
  readonly id?: number;
  readonly name: string;
  readonly creator: string;
  readonly createdAt: number;
}

/** Brings the database to {@linkcode KV_SCHEMA}; a no-op when it is there already. */
export async function migrateKv(kv: Deno.Kv): Promise<void> {
  const schema = (await kv.get<number>(["meta", "schema"])).value;
  if (schema === KV_SCHEMA) return;
  if (schema !== null && schema > KV_SCHEMA) {
    throw new Error(
      `Cannot open the database: it was written by a newer labchat (schema ${schema})`,
    );
  }
  await foldAccountKeys(kv, "user");
  await foldAccountKeys(kv, "lockout");
  await keyThreadsById(kv);
  await kv.set(["meta", "schema"], KV_SCHEMA);
}

async function foldAccountKeys(kv: Deno.Kv, prefix: string): Promise<void> {
  for await (const entry of kv.list({ prefix: [prefix] })) {
    const name = entry.key[1] as string;
    const folded = foldName(name);
    if (folded === name) continue;
    // Two accounts differing only in case: the first one keeps the name, the other is kept as is
    // and can still be deleted by the operator.
    await kv.atomic().check({ key: [prefix, folded], versionstamp: null })
      .set([prefix, folded], entry.value).delete(entry.key).commit();
  }
}

async function keyThreadsById(kv: Deno.Kv): Promise<void> {
  let lastId = Number((await kv.get<Deno.KvU64>(["counter", "thread"])).value?.value ?? 0n);
  for await (const entry of kv.list<OldThread>({ prefix: ["thread"] })) {
    if (entry.value.id !== undefined) continue;
    const id = ++lastId;
    const name = entry.value.name;
    for await (const item of kv.list({ prefix: ["thread_item", name] })) {
      await kv.atomic().set(["thread_item", id, item.key[2]], item.value).delete(item.key).commit();
    }
    for await (const file of kv.list({ prefix: ["thread_file", name] })) {
      await kv.atomic().set(["thread_file", id, file.key[2]], file.value).delete(file.key).commit();
    }
    await kv.atomic().set(entry.key, { ...entry.value, id })
      .max(["counter", "thread"], BigInt(id)).commit();
  }
}
