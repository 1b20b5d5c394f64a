import { assert, assertEquals, assertMatch } from "@std/assert";
import { join } from "node:path";
import { escapeLogLine, RotatingLog } from "../../lib/server/log_file.ts";
import { connect, expectReply, quit } from "../helpers.ts";
import { spawnServer } from "../../testing/server_process.ts";

Deno.test("the log file rotates by size and keeps the newest files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-log-" });
  try {
    const log = await RotatingLog.open(dir, { maxBytes: 1000, keep: 2 });
    for (let i = 0; i < 60; i++) {
      log.write(`line ${String(i).padStart(3, "0")} ${"x".repeat(80)}`);
      if (i % 5 === 4) await log.flush();
    }
    await log.close();
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assertEquals(names, ["server.log", "server.log.1", "server.log.2"]);
    const newest = await Deno.readTextFile(join(dir, "server.log"));
    assertMatch(newest.trimEnd().split("\n").at(-1) ?? "", /^line 059 x+$/);
    for (const name of names) {
      assert((await Deno.stat(join(dir, name))).size <= 1000, `${name} over the limit`);
      assertEquals(((await Deno.stat(join(dir, name))).mode ?? 0) & 0o777, 0o600);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a line logged while the log closes is written, and leaves no timer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-log-" });
  try {
    const log = await RotatingLog.open(dir);
    log.write("before the close");
    const closing = log.close();
    log.write("during the close"); // a shutdown's last words
    await closing;
    log.write("after the close"); // dropped: the file is shut
    const text = await Deno.readTextFile(join(dir, "server.log"));
    assertEquals(text, "before the close\nduring the close\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log lines show what users sent as escapes, never as terminal control", () => {
  assertEquals(escapeLogLine("a\u001b[2Jb\u0007c\u202ed"), "a\\u{1b}[2Jb\\u{7}c\\u{202e}d");
  assertEquals(escapeLogLine("plain ünïcode"), "plain ünïcode");
});

Deno.test("data/logs/server.log gets the same lines as standard output", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-log-" });
  try {
    {
      await using server = await spawnServer(dataDir);
      const yoda = await connect(server.port);
      await expectReply(yoda, "REGISTER yoda password1", 200);
      await expectReply(yoda, "WHO", 200);
      await quit(yoda);
      await server.waitForLine(/^yoda logout$/);
      server.child.kill("SIGTERM");
      await server.status;
      const file = await Deno.readTextFile(join(dataDir, "logs", "server.log"));
      const stamped = file.trimEnd().split("\n");
      for (const line of server.output.filter((l) => !l.startsWith("Server stopped"))) {
        assert(
          stamped.some((l) => l.endsWith(` ${line}`) && /^\d{4}-\d\d-\d\dT/.test(l)),
          `"${line}" is in the file`,
        );
      }
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
