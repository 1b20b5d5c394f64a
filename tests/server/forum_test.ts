import { assertEquals, assertMatch, assertRejects } from "@std/assert";
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { ChecksumError, downloadFile, uploadFile } from "../../lib/client/transfers.ts";
import { hashFile } from "../../lib/fs/hash_file.ts";
import { connect, expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";
import { openKvStore } from "../../lib/store/kv_store.ts";
import type { ThreadRecord } from "../../lib/store/store.ts";
import { randomBytes } from "../../testing/random_bytes.ts";
import { spawnServer } from "../../testing/server_process.ts";

const encode = (text: string) => new TextEncoder().encode(text);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function tempFile(
  bytes: Uint8Array,
  name = "notes.txt",
): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-files-" });
  const path = join(dir, name);
  await Deno.writeFile(path, bytes);
  return { dir, path };
}

/** Blobs committed and uploads unfinished in a server's data directory. */
async function blobFiles(dataDir: string) {
  const list = async (dir: string) => {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
    return names;
  };
  return {
    blobs: await list(join(dataDir, "blobs")),
    temporary: await list(join(dataDir, "blobs", "tmp")),
  };
}

Deno.test("threads and posts follow the forum's rules and texts", async () => {
  await using t = await startTestServer();
  const mike = await registered(t.port, "mike");
  const lang = await registered(t.port, "lang");
  await expectReply(mike, "THREAD LIST", 200, "No threads to list");
  await expectReply(mike, "THREAD CREATE a", 200, "Thread a created");
  await expectReply(lang, "THREAD CREATE a", 406, "Thread a already exists");
  await expectReply(lang, "THREAD CREATE ../a", 414, /Cannot use "..\/a" as a thread name/);
  await expectReply(mike, "THREAD READ a", 200, "Thread a is empty");
  await expectReply(mike, "POST b hello", 404, "Thread b does not exist");
  await expectReply(mike, "POST a hi im mike", 200, "Message posted to a thread");
  await expectReply(lang, "POST a hi", 200);
  await expectReply(lang, "EDIT a 2 hi im lang", 200, "Message has been edited");
  await expectReply(
    lang,
    "EDIT a 1 not mine",
    402,
    "The message belongs to another user and cannot be edited",
  );
  await expectReply(lang, "EDIT a 9 nope", 404, "Invalid message number");
  await expectReply(lang, "EDIT a x nope", 404, "Invalid message number");
  await expectReply(lang, "POST a nice to meet you", 200);
  await expectReply(lang, "POST a nice to meet you", 200);
  await expectReply(
    mike,
    "DELETE a 3",
    402,
    "The message belongs to another user and cannot be deleted",
  );
  await expectReply(lang, "DELETE a 3", 200, "Message has been deleted");
  await expectReply(lang, "POST a nice to meet you too", 200);
  const read = await expectReply(mike, "THREAD READ a", 200, "Thread a: 4 messages, 0 files");
  assertEquals(read.lines.slice(0, -1), [
    "1 mike: hi im mike",
    "2 lang: hi im lang",
    "3 lang: nice to meet you",
    "4 lang: nice to meet you too",
  ]);
  await expectReply(lang, "THREAD CREATE b", 200);
  const list = await expectReply(mike, "THREAD LIST", 200, "2 threads");
  assertEquals(list.lines.slice(0, -1), ["a", "b"]);
  await expectReply(
    lang,
    "THREAD REMOVE a",
    402,
    "The thread was created by another user and cannot be removed",
  );
  await expectReply(mike, "THREAD REMOVE a", 200, "The thread has been removed");
  await expectReply(mike, "THREAD READ a", 404, "Thread a does not exist");
  await expectReply(mike, "THREAD REMOVE a", 404, "Thread a does not exist");
  await expectReply(mike, "THREAD CREATE a", 200, "Thread a created");
  await expectReply(mike, "THREAD READ a", 200, "Thread a is empty");
  await Promise.all([quit(mike), quit(lang)]);
});

Deno.test("a file uploads, shows in the thread in order, downloads intact; its name is taken", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const { dir, path } = await tempFile(encode("hello, forum\n"));
  try {
    await expectReply(yoda, "THREAD CREATE a", 200);
    await expectReply(yoda, "POST a before", 200);
    const reply = await uploadFile(yoda, "a", path);
    assertEquals([reply.code, reply.text], [200, "yoda uploaded file notes.txt to a thread"]);
    await expectReply(yoda, "POST a after", 200);
    const read = await expectReply(yoda, "THREAD READ a", 200, "Thread a: 2 messages, 1 file");
    assertEquals(read.lines.slice(0, -1), [
      "1 yoda: before",
      "yoda uploaded notes.txt",
      "2 yoda: after",
    ]);
    const again = await uploadFile(yoda, "a", path);
    assertEquals([again.code, again.text], [406, "notes.txt already exists in thread a"]);
    const downloads = join(dir, "downloads");
    const first = await downloadFile(yoda, "a", "notes.txt", downloads);
    assertEquals(first.savedAs, join(downloads, "notes.txt"));
    assertEquals(await Deno.readTextFile(join(downloads, "notes.txt")), "hello, forum\n");
    const second = await downloadFile(yoda, "a", "notes.txt", downloads);
    assertEquals(second.savedAs, join(downloads, "notes (1).txt"), "never overwrites");
    const missing = await downloadFile(yoda, "a", "nope.txt", downloads);
    assertEquals([missing.reply.code, missing.reply.text, missing.savedAs], [
      404,
      "File nope.txt does not exist in thread a",
      undefined,
    ]);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(downloads))).length,
      2,
      "no partial files left",
    );
    await expectReply(yoda, "WHO", 200, "1 user online");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await quit(yoda);
  }
});

Deno.test("upload refusals: too large, bad hash, hostile names, unknown thread", async () => {
  await using t = await startTestServer({ maxUploadBytes: 1024 });
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "THREAD CREATE a", 200);
  const hash = "0".repeat(64);
  await expectReply(
    yoda,
    `UPLOAD a big.bin 1025 ${hash}`,
    415,
    "File is larger than the limit of 1.0 KiB",
  );
  await expectReply(yoda, `UPLOAD b x.bin 1 ${hash}`, 404, "Thread b does not exist");
  for (const name of ["../../x", "/etc/passwd", "..", ".", "a\\b", "bad\u200fname"]) {
    await expectReply(yoda, `UPLOAD a ${name} 1 ${hash}`, 414, /as a file name: no paths/);
  }
  // Control characters do not even make it into a request line.
  await expectReply(yoda, `UPLOAD a bad\u001bname 1 ${hash}`, 407, /control characters/);
  await expectReply(yoda, `UPLOAD a x.bin ten ${hash}`, 414, /as a size/);
  await expectReply(yoda, "UPLOAD a x.bin 1 abc", 414, /SHA-256/);
  // Right size, wrong hash: the bytes are read, then refused, and nothing is stored.
  const reply = await yoda.upload(
    `UPLOAD a x.bin 5 ${hash}`,
    (async function* () {
      yield encode("hello");
    })(),
  );
  assertEquals([reply.code, reply.text], [
    416,
    "Upload failed: the SHA-256 does not match; nothing was stored",
  ]);
  assertEquals(await blobFiles(t.dataDir), { blobs: [], temporary: [] });
  await expectReply(yoda, "THREAD READ a", 200, "Thread a is empty");
  await expectReply(yoda, "DOWNLOAD a ../../etc/passwd", 414, /as a file name: no paths/);
  await expectReply(
    yoda,
    "DOWNLOAD a nothing.txt",
    404,
    "File nothing.txt does not exist in thread a",
  );
  await quit(yoda);
});

Deno.test("a 50 MiB file makes the round trip with its SHA-256 intact", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const size = 50 * 1024 * 1024;
  const bytes = randomBytes(size);
  const { dir, path } = await tempFile(bytes, "big.bin");
  const expected = sha256(bytes);
  try {
    await expectReply(yoda, "THREAD CREATE big", 200);
    let lastProgress = 0;
    const up = await uploadFile(yoda, "big", path, (done) => lastProgress = done);
    assertEquals(up.code, 200, up.text);
    assertEquals(lastProgress, size);
    const down = await downloadFile(
      yoda,
      "big",
      "big.bin",
      join(dir, "dl"),
      (done) => lastProgress = done,
    );
    assertEquals(down.savedAs, join(dir, "dl", "big.bin"));
    assertEquals(await hashFile(join(dir, "dl", "big.bin")), { size, sha256: expected });
    assertEquals((await blobFiles(t.dataDir)).blobs.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await quit(yoda);
  }
});

Deno.test("two clients upload at once into one thread", async () => {
  await using t = await startTestServer();
  const a = await registered(t.port, "alice");
  const b = await registered(t.port, "bob");
  const one = await tempFile(new Uint8Array(3 * 1024 * 1024).fill(1), "one.bin");
  const two = await tempFile(new Uint8Array(3 * 1024 * 1024).fill(2), "two.bin");
  try {
    await expectReply(a, "THREAD CREATE shared", 200);
    const [ra, rb] = await Promise.all([
      uploadFile(a, "shared", one.path),
      uploadFile(b, "shared", two.path),
    ]);
    assertEquals([ra.code, rb.code], [200, 200]);
    const read = await expectReply(
      a,
      "THREAD READ shared",
      200,
      "Thread shared: 0 messages, 2 files",
    );
    assertEquals(read.lines.slice(0, -1).sort(), [
      "alice uploaded one.bin",
      "bob uploaded two.bin",
    ]);
    for (const [chat, name, file] of [[a, "two.bin", two], [b, "one.bin", one]] as const) {
      const got = await downloadFile(chat, "shared", name, join(file.dir, "dl"));
      const other = name === "one.bin" ? one : two;
      assertEquals(await hashFile(got.savedAs ?? ""), await hashFile(other.path));
    }
  } finally {
    await Deno.remove(one.dir, { recursive: true });
    await Deno.remove(two.dir, { recursive: true });
    await Promise.all([quit(a), quit(b)]);
  }
});

Deno.test("a client killed mid-upload leaves nothing behind and the name stays free", async () => {
  await using t = await startTestServer();
  const watcher = await registered(t.port, "watcher");
  await expectReply(watcher, "THREAD CREATE a", 200);
  const dying = await connect(t.port);
  await expectReply(dying, "REGISTER dying password1", 200);
  await expectReply(
    dying,
    `UPLOAD a half.bin ${10 * 1024 * 1024} ${"0".repeat(64)}`,
    350,
    `Send ${10 * 1024 * 1024} bytes`,
  );
  await dying.writeRaw(new Uint8Array(1024 * 1024));
  await dying.close();
  await watcher.waitForEvent((e) => e.type === "logout" && e.user === "dying");
  const until = Date.now() + 5000;
  while ((await blobFiles(t.dataDir)).temporary.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assertEquals(await blobFiles(t.dataDir), { blobs: [], temporary: [] });
  await expectReply(watcher, "THREAD READ a", 200, "Thread a is empty");
  const { dir, path } = await tempFile(encode("complete"), "half.bin");
  try {
    assertEquals((await uploadFile(watcher, "a", path)).code, 200);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await quit(watcher);
});

Deno.test("events sent during a download wait until its bytes are through", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  const bytes = new Uint8Array(8 * 1024 * 1024);
  crypto.getRandomValues(bytes.subarray(0, 65536));
  const { dir, path } = await tempFile(bytes, "blob.bin");
  try {
    await expectReply(yoda, "THREAD CREATE a", 200);
    assertEquals((await uploadFile(yoda, "a", path)).code, 200);
    const download = downloadFile(yoda, "a", "blob.bin", join(dir, "dl"));
    const chatter = (async () => {
      for (let i = 0; i < 50; i++) await expectReply(hans, `MSG yoda ping ${i}`, 200);
    })();
    const result = await download;
    await chatter;
    assertEquals(await hashFile(result.savedAs ?? ""), await hashFile(path));
    for (let i = 0; i < 50; i++) {
      await yoda.waitForEvent((e) => e.type === "private" && e.text === `ping ${i}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Promise.all([quit(yoda), quit(hans)]);
  }
});

Deno.test("removing a thread deletes its files; threads and files survive a restart", async () => {
  const first = await startTestServer();
  const mike = await registered(first.port, "mike");
  const { dir, path } = await tempFile(encode("kept"), "kept.txt");
  try {
    await expectReply(mike, "THREAD CREATE keep", 200);
    await expectReply(mike, "THREAD CREATE drop", 200);
    await expectReply(mike, "POST keep still here", 200);
    assertEquals((await uploadFile(mike, "keep", path)).code, 200);
    assertEquals((await uploadFile(mike, "drop", path)).code, 200);
    assertEquals((await blobFiles(first.dataDir)).blobs.length, 2);
    await expectReply(mike, "THREAD REMOVE drop", 200);
    assertEquals((await blobFiles(first.dataDir)).blobs.length, 1);
    await quit(mike);
    await using t = await first.restart();
    const again = await connect(t.port);
    await expectReply(again, "LOGIN mike mike-secret", 200);
    const read = await expectReply(again, "THREAD READ keep", 200);
    assertEquals(read.lines.slice(0, -1), ["1 mike: still here", "mike uploaded kept.txt"]);
    const got = await downloadFile(again, "keep", "kept.txt", join(dir, "dl"));
    assertEquals(await Deno.readTextFile(got.savedAs ?? ""), "kept");
    await expectReply(again, "THREAD READ drop", 404);
    await quit(again);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a download whose bytes do not match the announced hash is not kept", async () => {
  // A fake server answers DOWNLOAD with a wrong hash.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(1024);
    await conn.read(buffer);
    await conn.write(encode(`201 5 ${"0".repeat(64)} x.bin\nhello`));
    await conn.read(buffer).catch(() => null);
    conn.close();
  })();
  const chat = await ChatConnection.connect({ port: listener.addr.port });
  const dir = await Deno.makeTempDir({ prefix: "labchat-files-" });
  try {
    await assertRejects(() => downloadFile(chat, "a", "x.bin", dir), ChecksumError);
    assertEquals(await Array.fromAsync(Deno.readDir(dir)), []);
  } finally {
    await chat.close();
    listener.close();
    await serve;
    await Deno.remove(dir, { recursive: true });
  }
});

/** Reads lines off a raw socket until one matches `until` (or 5 s pass); returns them all. */
async function readUntil(conn: Deno.Conn, until: RegExp): Promise<string[]> {
  const lines: string[] = [];
  let pending = "";
  const buffer = new Uint8Array(64 * 1024);
  const deadline = setTimeout(() => conn.close(), 5000);
  try {
    while (!lines.some((l) => until.test(l))) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`Connection closed; lines so far:\n${lines.join("\n")}`);
      pending += new TextDecoder().decode(buffer.subarray(0, n));
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      lines.push(...parts);
    }
  } finally {
    clearTimeout(deadline);
  }
  return lines;
}

/** The replies among lines (events are 6xx). */
const repliesOf = (lines: readonly string[]) => lines.filter((l) => !/^6\d\d /.test(l));

Deno.test("an empty file uploads and the client goes on with the next command", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "THREAD CREATE a", 200);
  const { dir, path } = await tempFile(new Uint8Array(0), "empty.txt");
  try {
    // 350 and 200 arrive in one read: the client must be waiting for both already.
    const reply = await uploadFile(yoda, "a", path);
    assertEquals([reply.code, reply.text], [200, "yoda uploaded file empty.txt to a thread"]);
    await expectReply(yoda, "MOTD", 200);
    const saved = await downloadFile(yoda, "a", "empty.txt", join(dir, "dl"));
    assertEquals(await Deno.readFile(saved.savedAs ?? ""), new Uint8Array(0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await quit(yoda);
});

Deno.test("UPLOAD's 350 keeps request order behind pipelined replies", async () => {
  await using t = await startTestServer({ requestRate: 0 });
  const noisy = await registered(t.port, "noisy");
  const chatty = Array.from({ length: 50 }, (_, i) => noisy.request(`BROADCAST noise ${i}`));
  const yoda = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  const body = encode("hello");
  const lines = [
    "REGISTER yoda password1",
    "THREAD CREATE a",
    ...Array.from({ length: 50 }, (_, i) => `BROADCAST x${i}`),
    `UPLOAD a h.txt 5 ${sha256(body)}`,
  ];
  await yoda.write(encode(lines.map((l) => l + "\n").join("")));
  const replies = repliesOf(await readUntil(yoda, /^350 /));
  assertEquals(replies.length, 53, replies.join("\n"));
  assertEquals(replies.at(-1), "350 Send 5 bytes");
  await yoda.write(body);
  const final = repliesOf(await readUntil(yoda, /^\d\d\d yoda uploaded/)).at(-1);
  assertEquals(final, "200 yoda uploaded file h.txt to a thread");
  await Promise.all(chatty);
  yoda.close();
  await quit(noisy);
});

Deno.test("an upload racing THREAD REMOVE is refused, its blob deleted, and a new thread stays clean", async () => {
  await using t = await startTestServer();
  const alice = await registered(t.port, "alice");
  const carol = await registered(t.port, "carol");
  await expectReply(alice, "THREAD CREATE t", 200);
  const bytes = randomBytes(1024 * 1024);
  const bob = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  await bob.write(
    encode(`REGISTER bob password1\nUPLOAD t big.bin ${bytes.length} ${sha256(bytes)}\n`),
  );
  const start = repliesOf(await readUntil(bob, /^350 /));
  assertEquals(start[1], `350 Send ${bytes.length} bytes`);
  await bob.write(bytes.subarray(0, 512 * 1024));
  await expectReply(alice, "THREAD REMOVE t", 200, "The thread has been removed");
  await expectReply(carol, "THREAD CREATE t", 200);
  await bob.write(bytes.subarray(512 * 1024));
  const final = repliesOf(await readUntil(bob, /^404 /)).at(-1);
  assertEquals(final, "404 Thread t was removed during the upload; nothing was stored");
  await expectReply(carol, "THREAD READ t", 200, "Thread t is empty");
  await expectReply(carol, "DOWNLOAD t big.bin", 404);
  assertEquals(await blobFiles(t.dataDir), { blobs: [], temporary: [] });
  bob.close();
  await Promise.all([quit(alice), quit(carol)]);
});

Deno.test("a crash during THREAD REMOVE leaves no file behind once the server is back", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-crash-" });
  try {
    {
      await using server = await spawnServer(dataDir, ["--quiet", "--request-rate", "0"]);
      const yoda = await connect(server.port);
      await expectReply(yoda, "REGISTER yoda password1", 200);
      await expectReply(yoda, "THREAD CREATE big", 200);
      const body = encode("a small file");
      for (let i = 0; i < 300; i++) {
        const reply = await yoda.upload(
          `UPLOAD big f${i}.txt ${body.length} ${sha256(body)}`,
          (async function* () {
            yield body;
          })(),
        );
        assertEquals(reply.code, 200);
      }
      assertEquals((await blobFiles(dataDir)).blobs.length, 300);
      void yoda.request("THREAD REMOVE big").catch(() => {});
      await new Promise((r) => setTimeout(r, 15));
      server.child.kill("SIGKILL");
      await server.status;
      await yoda.close();
    }
    await using again = await spawnServer(dataDir, ["--quiet"]);
    const check = await connect(again.port);
    await expectReply(check, "LOGIN yoda password1", 200);
    const read = await check.request("THREAD READ big");
    const listed = read.code === 200 ? read.lines.filter((l) => / uploaded /.test(l)).length : 0;
    // Either the removal happened (nothing left) or it did not (everything still there).
    const { blobs } = await blobFiles(dataDir);
    assertEquals(blobs.length, read.code === 404 ? 0 : 300, `thread: ${read.code} ${read.text}`);
    if (read.code === 200) assertEquals(listed, Math.min(300, 100));
    await quit(check);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("file name limits are in bytes and hold end to end", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "THREAD CREATE a", 200);
  const hash = "0".repeat(64);
  // 100 CJK characters are 300 bytes: more than any file system takes in one name.
  await expectReply(yoda, `UPLOAD a ${"漢".repeat(100)}.txt 1 ${hash}`, 414, /1 to 255 bytes/);
  const name = `${"漢".repeat(80)}.txt`; // 244 bytes
  const { dir, path } = await tempFile(encode("cjk"), name);
  try {
    assertEquals((await uploadFile(yoda, "a", path)).code, 200);
    const saved = await downloadFile(yoda, "a", name, join(dir, "dl"));
    assertEquals(await Deno.readTextFile(saved.savedAs ?? ""), "cjk");
    // A second download must not overwrite, and its " (1)" still fits in 255 bytes.
    const again = await downloadFile(yoda, "a", name, join(dir, "dl"));
    assertEquals(new TextEncoder().encode(basename(again.savedAs ?? "")).length <= 255, true);
    assertEquals(again.savedAs === saved.savedAs, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await expectReply(yoda, `THREAD CREATE ${"á".repeat(33)}`, 414, /1 to 64 bytes/);
  await quit(yoda);
});

Deno.test("THREAD READ shows the last 100 items and pages back with before N", async () => {
  await using t = await startTestServer({ requestRate: 0 });
  const mike = await registered(t.port, "mike");
  await expectReply(mike, "THREAD CREATE a", 200);
  await Promise.all(Array.from({ length: 150 }, (_, i) => mike.request(`POST a post ${i + 1}`)));
  const last = await expectReply(
    mike,
    "THREAD READ a",
    200,
    "Thread a: 150 messages, 0 files; earlier ones: THREAD READ a before 51",
  );
  assertEquals(last.lines[0], "51 mike: post 51");
  const first = await expectReply(
    mike,
    "THREAD READ a before 51",
    200,
    "Thread a: 150 messages, 0 files",
  );
  assertEquals([first.lines[0], first.lines.at(-2)], ["1 mike: post 1", "50 mike: post 50"]);
  await expectReply(mike, "THREAD READ a later", 403, "Usage: THREAD READ <thread> [before N]");
  await quit(mike);
});

Deno.test("start-up finishes a removal a crash interrupted, and deletes files nothing refers to", async () => {
  const first = await startTestServer();
  const yoda = await registered(first.port, "yoda");
  await expectReply(yoda, "THREAD CREATE doomed", 200);
  await expectReply(yoda, "THREAD CREATE kept", 200);
  const body = encode("file");
  for (const thread of ["doomed", "doomed", "kept"]) {
    const name = `f${(await blobFiles(first.dataDir)).blobs.length}.txt`;
    const reply = await yoda.upload(
      `UPLOAD ${thread} ${name} ${body.length} ${sha256(body)}`,
      (async function* () {
        yield body;
      })(),
    );
    assertEquals(reply.code, 200);
  }
  await quit(yoda);
  await first.server.shutdown();
  // What a crash right after the atomic removal leaves: the thread gone, its items and files not.
  const { store } = await openKvStore(first.dataDir);
  const doomed = await store.getThread("doomed");
  assertEquals(await store.removeThread(doomed as ThreadRecord), true);
  await store.close();
  // And a blob nothing refers to, from long ago (a crash between rename and record).
  const stray = join(first.dataDir, "blobs", crypto.randomUUID());
  await Deno.writeTextFile(stray, "stray");
  await Deno.utime(stray, 0, 0);
  await using t = await startTestServer({}, first.dataDir);
  assertEquals((await blobFiles(t.dataDir)).blobs.length, 1, "only kept's file is left");
  const check = await loggedIn(t.port, "yoda");
  await expectReply(check, "THREAD READ kept", 200, "Thread kept: 0 messages, 1 file");
  await expectReply(check, "THREAD CREATE doomed", 200);
  await expectReply(check, "THREAD READ doomed", 200, "Thread doomed is empty");
  await quit(check);
});

Deno.test("a file's uploader (or the thread's creator) removes it, and may upload it anew; its bytes go", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  const { dir, path } = await tempFile(encode("first version\n"));
  try {
    await expectReply(yoda, "THREAD CREATE a", 200);
    assertEquals((await uploadFile(hans, "a", path)).code, 200);
    assertEquals((await blobFiles(t.dataDir)).blobs.length, 1);
    await expectReply(
      hans,
      "FILE REMOVE a other.txt",
      404,
      "File other.txt does not exist in thread a",
    );
    const carol = await registered(t.port, "carol");
    await expectReply(
      carol,
      "FILE REMOVE a notes.txt",
      402,
      "notes.txt was uploaded by hans; only they or the thread's creator can remove it",
    );
    await expectReply(hans, "FILE REMOVE a notes.txt", 200, "hans removed notes.txt from thread a");
    assertEquals(await blobFiles(t.dataDir), { blobs: [], temporary: [] });
    await expectReply(hans, "THREAD READ a", 200, "Thread a is empty");
    // Replaced: the same name again, new bytes.
    await Deno.writeTextFile(path, "second version\n");
    assertEquals((await uploadFile(hans, "a", path)).code, 200);
    const downloads = join(dir, "downloads");
    const got = await downloadFile(carol, "a", "notes.txt", downloads);
    assertEquals(await Deno.readTextFile(got.savedAs ?? ""), "second version\n");
    // The thread's creator may tidy up any file in it.
    await expectReply(yoda, "FILE REMOVE a notes.txt", 200, "yoda removed notes.txt from thread a");
    await expectReply(yoda, "FILE REMOVE nosuch x.txt", 404, "Thread nosuch does not exist");
    await quit(carol);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await quit(yoda);
    await quit(hans);
  }
});

Deno.test("UPLOAD with - takes the SHA-256 after the bytes: the file is read once; a wrong or missing one keeps nothing", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "THREAD CREATE a", 200);
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  const send = (line: string, ...parts: string[]) =>
    yoda.upload(
      line,
      (async function* () {
        for (const part of parts) yield encode(part);
      })(),
    );
  const good = await send("UPLOAD a notes.txt 5 -", "hel", "lo", `${sha("hello")}\n`);
  assertEquals([good.code, good.text], [200, "yoda uploaded file notes.txt to a thread"]);
  // The hash split across pieces, and arriving with the last bytes, is read the same.
  const split = await send(
    "UPLOAD a two.txt 3 -",
    `abc${sha("abc").slice(0, 10)}`,
    `${sha("abc").slice(10)}\n`,
  );
  assertEquals(split.code, 200, split.text);
  const wrong = await send("UPLOAD a bad.txt 5 -", "hello", `${sha("HELLO")}\n`);
  assertEquals([wrong.code, wrong.text], [
    416,
    "Upload failed: the SHA-256 does not match; nothing was stored",
  ]);
  const garbled = await send("UPLOAD a odd.txt 5 -", "hello", `${"z".repeat(64)}\n`);
  assertEquals(garbled.code, 414, garbled.text);
  assertMatch(garbled.text, /followed by their SHA-256/);
  // The connection is still in step: the next request gets its own reply.
  const read = await expectReply(yoda, "THREAD READ a", 200);
  assertEquals(read.lines, [
    "yoda uploaded notes.txt",
    "yoda uploaded two.txt",
    "Thread a: 0 messages, 2 files",
  ]);
  assertEquals((await blobFiles(t.dataDir)).temporary, []);
  const chunks: Uint8Array[] = [];
  const got = await yoda.download("DOWNLOAD a notes.txt", {
    write: (chunk) => {
      chunks.push(chunk.slice());
      return Promise.resolve();
    },
  });
  assertEquals(got.code, 201);
  assertEquals(new TextDecoder().decode(chunks[0]), "hello");
  await quit(yoda);
});
