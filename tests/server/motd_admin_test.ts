import { assert, assertEquals } from "@std/assert";
import {
  connect,
  dataDirWith,
  expectReply,
  quit,
  registered,
  startTestServer,
} from "../helpers.ts";

Deno.test("MOTD rotates through data/motd.txt and MOTD ADD joins the rotation", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-test-" });
  await Deno.writeTextFile(`${dataDir}/motd.txt`, "Worse is better.\n\ntoo thin\n");
  await using t = await startTestServer({}, dataDir);
  const anon = await connect(t.port);
  await expectReply(anon, "MOTD", 200, "Worse is better.");
  await expectReply(anon, "MOTD", 200, "too thin");
  await expectReply(anon, "MOTD", 200, "Worse is better.");
  await expectReply(
    anon,
    "MOTD ADD YA ALLAH",
    401,
    "You are not currently logged in, login first.",
  );
  await anon.close();
  const john = await registered(t.port, "john");
  await expectReply(john, "MOTD ADD MASHALLAH", 200, "OK");
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) seen.add((await expectReply(john, "MOTD", 200)).text);
  assertEquals(seen, new Set(["Worse is better.", "too thin", "MASHALLAH"]));
  await quit(john);
});

Deno.test("SHUTDOWN by a plain user is refused with 402", async () => {
  await using t = await startTestServer({ adminPassword: "shutdown" });
  const john = await registered(t.port, "john");
  await expectReply(john, "SHUTDOWN", 402, "User not allowed to execute this command.");
  await expectReply(john, "SHUTDOWN SHUtdown", 402, "Incorrect password");
  await expectReply(john, "WHO", 200, "1 user online");
  await quit(john);
});

Deno.test("SHUTDOWN by an admin tells every client with 210 and stops the server", async () => {
  const dataDir = await dataDirWith([{ name: "root", password: "root01", admin: true }]);
  const t = await startTestServer({}, dataDir);
  const root = await connect(t.port);
  await expectReply(root, "LOGIN root root01", 200, "Welcome to labchat, root! (admin)");
  const john = await registered(t.port, "john");
  const anon = await connect(t.port);
  await expectReply(root, "SHUTDOWN", 200, "OK");
  for (const chat of [root, john, anon]) {
    assertEquals(await chat.waitForEvent((e) => e.type === "shutdown"), {
      type: "shutdown",
      text: "the server is about to shutdown ...",
    });
    await chat.done;
  }
  assertEquals(await t.server.finished, "SHUTDOWN by root");
  await t[Symbol.asyncDispose]();
});

Deno.test("SHUTDOWN with the admin password works for any logged-in user", async () => {
  const t = await startTestServer({ adminPassword: "shutdown" });
  const lang = await registered(t.port, "lang");
  await expectReply(lang, "SHUTDOWN shutdown", 200, "OK");
  await lang.waitForEvent((e) => e.type === "shutdown");
  await lang.done;
  assertEquals(await t.server.finished, "SHUTDOWN by lang");
  await t[Symbol.asyncDispose]();
});

Deno.test("an idle user is logged out, told why and disconnected; receiving is not activity", async () => {
  await using t = await startTestServer({ idleTimeoutMs: 300 });
  const idle = await registered(t.port, "idle");
  const busy = await registered(t.port, "busy");
  // busy keeps messaging idle, who only receives. Were receiving activity, idle would stay
  // online and the loop would run out of tries.
  let delivered = 0;
  for (let tries = 0; tries < 100; tries++) {
    const reply = await expectReply(busy, "MSG idle ping", 200);
    if (reply.text !== "Message sent to idle") break;
    delivered++;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert(delivered >= 3, `idle received ${delivered} messages before timing out`);
  const event = await idle.waitForEvent((e) => e.type === "idle");
  assertEquals(event, {
    type: "idle",
    text: "You have been logged out after 300 ms of inactivity",
  });
  await idle.done;
  assertEquals(idle.isClosed, true);
  await quit(busy);
});

Deno.test("a connection that never logs in is dropped when idle", async () => {
  await using t = await startTestServer({ idleTimeoutMs: 200 });
  const anon = await connect(t.port);
  assertEquals(await anon.waitForEvent(() => true), {
    type: "disconnect",
    text: "Disconnected after 200 ms of inactivity",
  });
  await anon.done;
});

Deno.test("HELP lists every command and explains one", async () => {
  await using t = await startTestServer();
  const chat = await connect(t.port);
  const all = await expectReply(chat, "HELP", 200);
  assertEquals(all.lines.some((l) => l.startsWith("MSG <user> <text...>")), true);
  const one = await expectReply(chat, "HELP msg", 200);
  assertEquals(one.lines[0], "Usage: MSG <user> <text...>");
  await expectReply(chat, "HELP frob", 404, 'No such command "frob"; try HELP');
  await chat.close();
});
