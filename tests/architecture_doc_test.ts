/** docs/ARCHITECTURE.md names files and folders that exist: the map stays true to the code. */
import { assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url).pathname;

/** Every file and folder of the repository, as paths from its root (`lib/server/hub.ts`). */
async function paths(dir = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(ROOT + dir)) {
    if (entry.name.startsWith(".") || entry.name === "node_modules" || entry.name === "dist") {
      continue;
    }
    const path = dir + entry.name;
    out.push(path);
    if (entry.isDirectory) out.push(...await paths(path + "/"));
  }
  return out;
}

Deno.test("every file and folder docs/ARCHITECTURE.md names exists", async () => {
  const text = await Deno.readTextFile(`${ROOT}docs/ARCHITECTURE.md`);
  const all = await paths();
  // `lib/server/hub.ts`, `io/outbound.ts`, `names.ts`, `lib/server/irc/`: a path, or its end.
  const named = [...text.matchAll(/`([\w./-]+\.ts|[\w.-]+(?:\/[\w.-]+)*\/)`/g)].map((m) => m[1]);
  const missing = named.filter((name) => {
    const path = name.replace(/\/$/, "");
    return !all.some((p) => p === path || p.endsWith(`/${path}`));
  });
  assertEquals([...new Set(missing)], []);
});
