import { assert, assertEquals, assertMatch } from "@std/assert";
import { join } from "node:path";
import { downloadFile, uploadFile } from "../../lib/client/transfers.ts";
import { connect, expectReply, quit } from "../helpers.ts";
import { spawnServer } from "../../testing/server_process.ts";
import { TestRedis } from "../../testing/redis_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs the operator tool as a process, with `stdin` piped in. */
async function admin(
  args: string[],
  stdin = "",
  viaTask = false,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: viaTask ? ["task", "-q", "admin", ...args] : ["run", "-A", "admin.ts", ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  const lines = (bytes: Uint8Array) =>
    new TextDecoder().decode(bytes).split("\n").filter((l) => l !== "");
  return { code: output.code, out: lines(output.stdout), err: lines(output.stderr) };
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "labchat-admin-" });
}

Deno.test("user add, list, passwd, role, unlock and delete, with the server running", async () => {
  const dir = await tempDir();
  const data = join(dir, "data");
  try {
    const added = await admin(["--data", data, "user", "add", "root", "--admin"], "root01\n");
    assertEquals([added.code, added.out.at(-1)], [0, "Created root (admin)"]);
    assertEquals((await admin(["--data", data, "user", "add", "john"], "john01\n")).code, 0);
    const taken = await admin(["--data", data, "user", "add", "JOHN"], "x\n");
    assertEquals([taken.code, taken.err], [1, ["admin: User john already exists"]]);
    await using server = await spawnServer(data, ["--quiet", "--max-failures", "2"]);
    const root = await connect(server.port);
    await expectReply(root, "LOGIN root root01", 200, "Welcome to labchat, root! (admin)");
    const john = await connect(server.port);
    await expectReply(john, "LOGIN john wrong", 410);
    await expectReply(john, "LOGIN john wrong", 411);
    const list = await admin(["--data", data, "user", "list"]);
    assertEquals(list.code, 0);
    assertMatch(list.out[0], /^NAME\s+ADMIN\s+CREATED\s+LAST LOGIN\s+LOCKED$/);
    assertMatch(list.out[1], /^john\s+no\s+\d\d \w{3} \d{4} [\d:]{8}\s+never\s+yes$/);
    assertMatch(list.out[2], /^root\s+yes\s+.*\d\d:\d\d:\d\d\s+no$/);
    assertEquals(list.out[3], "2 accounts");
    assertEquals((await admin(["--data", data, "user", "unlock", "john"])).out, ["Unlocked john"]);
    await expectReply(john, "LOGIN john john01", 200, "Welcome to labchat, john!");
    await quit(john);
    assertEquals((await admin(["--data", data, "user", "passwd", "john"], "new01\n")).code, 0);
    assertEquals((await admin(["--data", data, "user", "role", "john", "admin"])).code, 0);
    const again = await connect(server.port);
    await expectReply(again, "LOGIN john john01", 410);
    await expectReply(again, "LOGIN john new01", 200, "Welcome to labchat, john! (admin)");
    await quit(again);
    assertEquals((await admin(["--data", data, "user", "delete", "john"])).code, 0);
    const gone = await connect(server.port);
    await expectReply(gone, "LOGIN john new01", 410);
    await Promise.all([gone.close(), quit(root)]);
    const missing = await admin(["--data", data, "user", "delete", "john"]);
    assertEquals([missing.code, missing.err], [1, ["admin: No such user: john"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("user import loads the seeds' credential files; bad lines are reported by number", async () => {
  const dir = await tempDir();
  const data = join(dir, "data");
  try {
    const shipped = await admin(["--data", data, "user", "import", "examples/yamotd_users.txt"]);
    assertEquals(shipped.code, 0, shipped.err.join("\n"));
    assertEquals(shipped.out.slice(-2), [
      "Weak passwords (under 8 characters) for root, john, david, mary: change them with: deno task admin user passwd NAME",
      "Imported examples/yamotd_users.txt: 4 created, 0 replaced, 0 skipped, 0 bad line(s)",
    ]);
    const kv = await Deno.readFile(join(data, "labchat.kv"));
    assert(!new TextDecoder().decode(kv).includes("root01"), "plain passwords are not stored");
    const file = join(dir, "credentials.txt");
    await Deno.writeTextFile(
      file,
      "hans falcon\nroot newroot admin\nbad\nx y z w\nluke sky wizard\n../x pw\nhans again\n",
    );
    const mixed = await admin(["--data", data, "user", "import", file]);
    assertEquals(mixed.code, 1, "bad lines make the import fail, after the good ones are in");
    assertEquals(mixed.err, [
      `${file}:3: expected "username password" (and optionally "admin")`,
      `${file}:4: expected "username password" (and optionally "admin")`,
      `${file}:5: the third word must be "admin" or "user", not "wizard"`,
      `${file}:6: Cannot use "../x" as a user name: use letters, digits and _ . - ! @ # $ % ? (not # or - first)`,
      `${file}:7: hans is already on line 1`,
    ]);
    assertEquals(mixed.out.at(-3), `${file}:2: root exists; skipped (--replace to overwrite)`);
    assertEquals(
      mixed.out.at(-2),
      "Weak password (under 8 characters) for hans: change it with: deno task admin user passwd NAME",
    );
    assertMatch(mixed.out.at(-1) ?? "", /1 created, 0 replaced, 1 skipped, 5 bad line/);
    const replaced = await admin(["--data", data, "user", "import", file, "--replace"]);
    assertMatch(replaced.out.at(-1) ?? "", /0 created, 2 replaced, 0 skipped/);
    await using server = await spawnServer(data, ["--quiet"]);
    const root = await connect(server.port);
    await expectReply(root, "LOGIN root newroot", 200, "Welcome to labchat, root! (admin)");
    const mary = await connect(server.port);
    await expectReply(mary, "LOGIN mary mary01", 200);
    await Promise.all([quit(root), quit(mary)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export writes toom's logs and JSON lines of everything, no password hashes", async () => {
  const dir = await tempDir();
  const data = join(dir, "data");
  try {
    {
      await using server = await spawnServer(data, ["--quiet"]);
      const yoda = await connect(server.port);
      await expectReply(yoda, "REGISTER yoda wise@!man", 200);
      await expectReply(yoda, "UDP 8001", 200);
      const obiwan = await connect(server.port);
      await expectReply(obiwan, "REGISTER obiwan jedi-knight", 200);
      await expectReply(yoda, "BROADCAST Hello", 200);
      await expectReply(yoda, "BROADCAST Morning", 200);
      await expectReply(yoda, "ROOM CREATE obiwan", 200);
      await expectReply(yoda, "ROOM SAY 1 hi", 200);
      await expectReply(yoda, "MSG obiwan psst", 200);
      await expectReply(yoda, "THREAD CREATE t", 200);
      await expectReply(obiwan, "POST t first", 200);
      await Promise.all([quit(yoda), quit(obiwan)]);
    }
    const out = join(dir, "export");
    const run = await admin(["--data", data, "export", "--out", out]);
    assertEquals(run.code, 0, run.err.join("\n"));
    const read = (name: string) =>
      Deno.readTextFile(join(out, name)).then((t) => t.trimEnd().split("\n"));
    const userlog = await read("userlog.txt");
    assertMatch(userlog[0], /^1; \d\d \w{3} \d{4} [\d:]{8}; yoda; 127\.0\.0\.1; 8001$/);
    assertMatch(userlog[1], /^2; .*; obiwan; 127\.0\.0\.1; -$/);
    const messages = await read("messagelog.txt");
    assertMatch(messages[0], /^1; .*; yoda; Hello$/);
    assertMatch(messages[1], /^2; .*; yoda; Morning$/);
    assertMatch((await read("SR_1_messageLog.txt"))[0], /^1; .*; yoda; hi$/);
    const privates = (await read("private.jsonl")).map((l) => JSON.parse(l));
    assertEquals(privates.map((p) => [p.from, p.to, p.text]), [["yoda", "obiwan", "psst"]]);
    const posts = (await read("posts.jsonl")).map((l) => JSON.parse(l));
    assertEquals([posts[0].thread, posts[0].number, posts[0].text], ["t", 1, "first"]);
    const users = await Deno.readTextFile(join(out, "users.jsonl"));
    assert(!/hash|salt|wise|jedi/.test(users), users);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backup while the server runs, restore into an empty directory: everything comes back", async () => {
  const dir = await tempDir();
  const data = join(dir, "data");
  const archive = join(dir, "lab.tar");
  const restored = join(dir, "restored");
  try {
    const file = join(dir, "notes.bin");
    await Deno.writeFile(file, crypto.getRandomValues(new Uint8Array(50_000)));
    {
      await using server = await spawnServer(data, ["--quiet"]);
      const yoda = await connect(server.port);
      await expectReply(yoda, "REGISTER yoda wise@!man", 200);
      await expectReply(yoda, "BROADCAST before the backup", 200);
      await expectReply(yoda, "THREAD CREATE t", 200);
      assertEquals((await uploadFile(yoda, "t", file)).code, 200);
      await expectReply(yoda, "MSG ghost x", 420);
      // Traffic goes on during the backup: the snapshot is consistent anyway.
      const busy = Array.from({ length: 200 }, (_, i) => yoda.request(`BROADCAST during ${i}`));
      const made = await admin(["--data", data, "backup", archive], "", true);
      assertEquals(made.code, 0, made.err.join("\n"));
      assertMatch(made.out.at(-1) ?? "", /^Wrote .*lab\.tar: database and 1 forum file\(s\)/);
      await Promise.all(busy);
      await quit(yoda);
    }
    const listing = new TextDecoder().decode(
      (await new Deno.Command("tar", { args: ["tf", archive], stdout: "piped" }).output()).stdout,
    ).trim().split("\n");
    assertEquals(listing.slice(0, 2), [
      "labchat-backup/manifest.json",
      "labchat-backup/labchat.kv",
    ]);
    const back = await admin(["--data", restored, "restore", archive], "", true);
    assertEquals(back.code, 0, back.err.join("\n"));
    await using server = await spawnServer(restored, ["--quiet"]);
    const yoda = await connect(server.port);
    await expectReply(yoda, "LOGIN yoda wise@!man", 200);
    const history = await expectReply(yoda, "HISTORY b limit 1000", 200);
    assertMatch(history.lines[0], /; yoda; before the backup$/);
    const numbers = history.lines.slice(0, -1).map((l) => Number(l.split(";")[0]));
    assertEquals(numbers, numbers.map((_, i) => i + 1), "a prefix of the broadcasts, no holes");
    await expectReply(yoda, "BROADCAST after", 200, new RegExp(`#${numbers.length + 1} `));
    const saved = await downloadFile(yoda, "t", "notes.bin", join(dir, "dl"));
    assertEquals(await Deno.readFile(saved.savedAs ?? ""), await Deno.readFile(file));
    await quit(yoda);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("clear errors: no data directory, locked database, not a backup, non-empty target", async () => {
  const dir = await tempDir();
  try {
    const missing = await admin(["--data", join(dir, "nowhere"), "user", "list"]);
    assertEquals(missing.code, 1);
    assertMatch(missing.err[0], /^admin: No labchat data in .*nowhere: start the server once/);
    assertEquals((await admin(["--data", join(dir, "data"), "user", "add", "a"], "pw\n")).code, 0);
    const junk = join(dir, "junk.tar");
    await Deno.writeTextFile(junk, "this is not a tar file at all".repeat(40));
    const bad = await admin(["--data", join(dir, "new"), "restore", junk]);
    assertEquals(bad.code, 1);
    assertMatch(bad.err[0], /^admin: Cannot restore .*junk\.tar: /);
    const full = await admin(["--data", join(dir, "data"), "restore", junk]);
    assertMatch(full.err[0], /^admin: Cannot restore into .*data: it is not empty$/);
    const usage = await admin(["user", "add"]);
    assertEquals(usage.code, 2);
    assertEquals(usage.err[0], "admin: Wrong number of arguments to user add");
    const locker = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { DatabaseSync } from "node:sqlite";
         const db = new DatabaseSync(${JSON.stringify(join(dir, "data", "labchat.kv"))});
         db.exec("BEGIN EXCLUSIVE"); console.log("locked");
         await new Promise((r) => setTimeout(r, 10000));`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = locker.stdout.getReader();
    await reader.read();
    const locked = await admin(["--data", join(dir, "data"), "user", "list"]);
    locker.kill();
    await locker.status;
    reader.releaseLock();
    await locker.stdout.cancel();
    assertEquals([locked.code, locked.err], [
      1,
      ["admin: The database is locked by another process; try again in a moment"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every command explains itself with --help", async () => {
  const top = await admin(["--help"]);
  assertEquals(top.code, 0);
  assertMatch(top.out[0], /^labchat operator tool$/);
  for (
    const command of [
      ["user", "add"],
      ["user", "passwd"],
      ["user", "delete"],
      ["user", "list"],
      ["user", "unlock"],
      ["user", "role"],
      ["user", "import"],
      ["export"],
      ["backup"],
      ["restore"],
    ]
  ) {
    const help = await admin([...command, "--help"]);
    assertEquals(help.code, 0);
    assertMatch(
      help.out[0],
      new RegExp(`^Usage: deno task admin \\[--data DIR\\] ${command.join(" ")}`),
    );
  }
});

Deno.test("with --cluster the tool manages a cluster's accounts; running nodes see changes at once", async () => {
  await using redis = await TestRedis.start();
  const dir = await tempDir();
  try {
    const cluster = ["--cluster", redis.url];
    const added = await admin([...cluster, "user", "add", "root", "--admin"], "root01\n", true);
    assertEquals([added.code, added.out.at(-1)], [0, "Created root (admin)"], added.err.join("\n"));
    await using node = await spawnServer(join(dir, "data"), ["--cluster", redis.url, "--quiet"]);
    const root = await connect(node.port);
    await expectReply(root, "LOGIN root root01", 200, "Welcome to labchat, root! (admin)");
    await quit(root);
    assertEquals((await admin([...cluster, "user", "passwd", "root"], "root02\n", true)).code, 0);
    await expectReply(await connect(node.port), "LOGIN root root01", 410);
    const yoda = await connect(node.port);
    await expectReply(yoda, "REGISTER yoda yoda-pw1", 200);
    // The node caches accounts it has looked up; a deleted one is gone there at once all the same.
    assertEquals((await admin([...cluster, "user", "add", "hans"], "hans01\n", true)).code, 0);
    await expectReply(yoda, "MSG hans are you there", 200, /hans is offline/);
    assertEquals((await admin([...cluster, "user", "delete", "hans"], "", true)).code, 0);
    await expectReply(yoda, "MSG hans still there", 420);
    await quit(yoda);
    const list = await admin([...cluster, "user", "list"], "", true);
    assertMatch(list.out[1] ?? "", /^root\s+yes/);
    const bad = await admin(["--cluster", "not-a-url", "user", "list"], "", true);
    assertEquals(bad.code, 2);
    assertMatch(bad.err[0] ?? "", /--cluster: "not-a-url" is not a URL/);
    const backup = await admin([...cluster, "backup", join(dir, "b.tar")], "", true);
    assertEquals(backup.code, 1);
    assertMatch(backup.err.join(" "), /keeps its data in Redis/);
    // A user's sessions: listed from Redis, and one ended by the operator.
    const [first, second] = [await connect(node.port), await connect(node.port)];
    await expectReply(first, "LOGIN root root02", 200);
    await expectReply(second, "LOGIN root root02", 200);
    const sessions = await admin([...cluster, "sessions", "root"], "", true);
    assertEquals(sessions.out.at(-1), "2 sessions of root", sessions.err.join("\n"));
    const ids = sessions.out.slice(1, -1).map((line) => line.split(/\s+/)[0]);
    const mine = (await expectReply(second, "SESSIONS", 200)).lines.find((l) =>
      l.endsWith("(this one)")
    )?.split(" ")[0];
    const ended = await admin([...cluster, "sessions", "end", "root", mine ?? "?"], "", true);
    assertEquals(ended.code, 0, ended.err.join("\n"));
    const told = await second.waitForEvent((e) => e.type === "disconnect");
    assertEquals(told.type === "disconnect" && told.text, "This session was ended by the operator");
    await expectReply(first, "WHO root", 200, /^root, /);
    assert(ids.includes(mine ?? ""), ids.join(","));
    const none = await admin([...cluster, "sessions", "end", "root", "nope"], "", true);
    assertEquals([none.code, none.err[0]], [
      1,
      "admin: root has no session nope; sessions root lists them",
    ]);
    await quit(first);
    const local = await admin(["--data", join(dir, "single"), "sessions", "root"], "", true);
    assertMatch(local.err.join(" "), /single server keeps its sessions in memory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reindex rebuilds the search index from the store, and refuses while a server runs", async () => {
  const dir = await tempDir();
  const data = join(dir, "data");
  try {
    {
      await using server = await spawnServer(data, ["--quiet"]);
      const yoda = await connect(server.port);
      await expectReply(yoda, "REGISTER yoda wise@!man", 200);
      await expectReply(yoda, "BROADCAST throughput one", 200);
      await expectReply(yoda, "BROADCAST throughput two", 200);
      await expectReply(yoda, "JOIN #perf", 200);
      await expectReply(yoda, "SAY #perf throughput in a channel", 200);
      const busy = await admin(["--data", data, "reindex"]);
      assertEquals(busy.code, 1);
      assertMatch(busy.err[0], /^admin: the data directory .* is in use by labchat server/);
      await quit(yoda);
    }
    // Damaged: reindex builds it anew (and a server would too).
    await Deno.writeTextFile(join(data, "search.sqlite"), "not a database at all");
    const rebuilt = await admin(["--data", data, "reindex"]);
    assertEquals([rebuilt.code, rebuilt.out.at(-1)], [
      0,
      `Rebuilt the search index of ${data}: 3 entries`,
    ]);
    await using server = await spawnServer(data, ["--quiet"]);
    const yoda = await connect(server.port);
    await expectReply(yoda, "LOGIN yoda wise@!man", 200);
    // The channel ended with the server; as HISTORY, its words are for those in it.
    assertEquals((await expectReply(yoda, "SEARCH throughput", 200)).text, "2 results");
    await expectReply(yoda, "JOIN #perf", 200);
    assertEquals((await expectReply(yoda, "SEARCH throughput", 200)).text, "3 results");
    await quit(yoda);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
