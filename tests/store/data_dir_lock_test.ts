import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { join } from "node:path";
import {
  DataDirInUse,
  DataDirLock,
  LOCK_FILE,
  parseHolder,
} from "../../lib/store/data_dir_lock.ts";
import { expectReply, quit, registered } from "../helpers.ts";
import { serverCommand, spawnServer } from "../../testing/server_process.ts";

/** Runs a server that is expected not to start: its exit status and everything it printed. */
async function failedStart(dataDir: string, extra: string[] = []) {
  const out = await serverCommand(dataDir, ["--quiet", ...extra]).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, text: decode(out.stdout) + decode(out.stderr) };
}

Deno.test("a second server on the same data directory refuses to start and names the first; SIGKILL leaves no stale lock", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-lock-" });
  try {
    const first = await spawnServer(dataDir, ["--quiet"]);
    const yoda = await registered(first.port, "yoda");
    await expectReply(yoda, "BROADCAST one", 200, /^Broadcast message, #1 /);

    const second = await failedStart(dataDir);
    assertEquals(second.code, 1, second.text);
    assertMatch(
      second.text,
      new RegExp(
        `Cannot start: the data directory ${dataDir} is in use by labchat server \\(pid ${first.child.pid}, since .+\\): stop it first, or give another --data`,
      ),
    );
    // The first server went on as if nothing happened.
    await expectReply(yoda, "BROADCAST two", 200, /^Broadcast message, #2 /);
    await yoda.close();

    // The kernel drops the lock with the process: a SIGKILL leaves nothing to clean up.
    first.child.kill("SIGKILL");
    await first.status;
    await using third = await spawnServer(dataDir, ["--quiet"]);
    const again = await registered(third.port, "obiwan");
    await expectReply(again, "BROADCAST three", 200, /^Broadcast message, #3 /);
    await quit(again);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the lock: exclusive keeps everyone out, shared ones (a cluster's nodes) keep out only an exclusive one", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-lock-" });
  try {
    const server = await DataDirLock.acquire(dataDir, "exclusive", "server");
    const refused = await assertRejects(
      () => DataDirLock.acquire(dataDir, "shared", "server"),
      DataDirInUse,
    );
    assertEquals(refused.holder?.pid, Deno.pid);
    assertEquals(refused.holder?.program, "server");
    assertEquals((await DataDirLock.holder(dataDir) as { pid: number }).pid, Deno.pid);
    server.release();
    server.release(); // idempotent
    assertEquals(await DataDirLock.holder(dataDir), undefined);

    using nodeA = await DataDirLock.acquire(dataDir, "shared", "server");
    using nodeB = await DataDirLock.acquire(dataDir, "shared", "server");
    const embedded = await assertRejects(
      () => DataDirLock.acquire(dataDir, "exclusive", "server"),
      DataDirInUse,
    );
    assertMatch(embedded.message, /is in use by the nodes of a cluster/);
    assertEquals(await DataDirLock.holder(dataDir), "cluster");
    assert(nodeA && nodeB);
    assertEquals(((await Deno.stat(join(dataDir, LOCK_FILE))).mode ?? 0) & 0o777, 0o600);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a lock file's contents are read defensively", () => {
  assertEquals(parseHolder(""), undefined);
  assertEquals(parseHolder("garbage{"), undefined);
  assertEquals(parseHolder('{"program":1,"pid":"x"}'), undefined);
  assertEquals(
    parseHolder(`{"program":"${"x".repeat(100)}","pid":7,"since":0}`)?.program,
    "x".repeat(40),
  );
});

Deno.test("a busy port is named with the flag that moves it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-port-" });
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const tcp = await failedStart(dataDir, ["--port", String(port)]);
    assertEquals(tcp.code, 1);
    assertMatch(
      tcp.text,
      new RegExp(
        `Cannot start: the TCP port 127\\.0\\.0\\.1:${port} is in use by another program \\(choose another with --port N\\)`,
      ),
    );
    const web = await failedStart(dataDir, ["--http-port", String(port)]);
    assertMatch(
      web.text,
      new RegExp(
        `the web port 127\\.0\\.0\\.1:${port} is in use by another program \\(choose another with --http-port N, or --no-http\\)`,
      ),
    );
    // Nothing was left held: the next start on the same directory works.
    await using server = await spawnServer(dataDir, ["--quiet"]);
    assert(server.port > 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
