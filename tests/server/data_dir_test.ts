import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { uploadFile } from "../../lib/client/transfers.ts";
import { expectReply, quit, registered, startTestServer } from "../helpers.ts";
import { spawnServer } from "../../testing/server_process.ts";

const modeOf = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o777;

Deno.test("the data directory is 0700 and every file in it 0600, whatever the umask", async () => {
  const parent = await Deno.makeTempDir({ prefix: "labchat-modes-" });
  const dataDir = join(parent, "data");
  const files = await Deno.makeTempDir({ prefix: "labchat-modes-files-" });
  try {
    // A umask of 000 would make a careless server create everything world-readable.
    await using server = await spawnServer(dataDir, ["--quiet"], {}, "000");
    const yoda = await registered(server.port, "yoda");
    await expectReply(yoda, "THREAD CREATE a", 200);
    await Deno.writeTextFile(join(files, "x.txt"), "secret");
    assertEquals((await uploadFile(yoda, "a", join(files, "x.txt"))).code, 200);
    await expectReply(yoda, "MSG yoda2 x", 420);
    await quit(yoda);
    assertEquals(await modeOf(dataDir), 0o700);
    const seen: string[] = [];
    const walk = async (dir: string) => {
      for await (const entry of Deno.readDir(dir)) {
        const path = join(dir, entry.name);
        seen.push(entry.name);
        if (entry.isDirectory) {
          assertEquals(await modeOf(path), 0o700, path);
          await walk(path);
        } else {
          assertEquals(await modeOf(path), 0o600, path);
        }
      }
    };
    await walk(dataDir);
    for (const name of ["labchat.kv", "blobs", "logs", "server.log"]) {
      assert(seen.includes(name), `${name} among ${seen.join(", ")}`);
    }
  } finally {
    await Deno.remove(parent, { recursive: true });
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("a data directory open to others (a fresh checkout's data/) is made owner-only at start, saying so", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-wide-" });
  try {
    await Deno.chmod(dataDir, 0o755);
    await using server = await spawnServer(dataDir, ["--quiet"]);
    await server.waitForLine(
      /Warning: Data directory .* was open to other users \(mode 755\); it is now 700, owner only/,
    );
    assertEquals(await modeOf(dataDir), 0o700);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the library server makes the same private modes", async () => {
  await using t = await startTestServer();
  assertEquals(await modeOf(t.dataDir), 0o700);
  assertEquals(await modeOf(join(t.dataDir, "labchat.kv")), 0o600);
  assertEquals(await modeOf(join(t.dataDir, "blobs")), 0o700);
});
