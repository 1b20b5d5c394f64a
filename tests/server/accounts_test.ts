import { assert, assertEquals } from "@std/assert";
import {
  connect,
  dataDirWith,
  expectReply,
  loggedIn,
  quit,
  registered,
  startTestServer,
} from "../helpers.ts";

Deno.test("USER tells a new name from an existing one, then REGISTER and LOGIN work", async () => {
  await using t = await startTestServer();
  const chat = await connect(t.port);
  await expectReply(chat, "USER yoda", 332, /^New user yoda/);
  await expectReply(chat, "REGISTER yoda wise@!man", 200, "Welcome to labchat, yoda!");
  await expectReply(chat, "LOGOUT", 200, "Bye, yoda!");
  await expectReply(chat, "USER yoda", 331, "Password required for yoda");
  await expectReply(chat, "LOGIN yoda wise@!man", 200, "Welcome to labchat, yoda!");
  await expectReply(chat, "REGISTER other pw", 409, /already logged in as yoda/);
  await quit(chat);
});

Deno.test("passwords with spaces and punctuation work", async () => {
  await using t = await startTestServer();
  const chat = await connect(t.port);
  await expectReply(chat, "REGISTER obiwan (jedi master)", 200);
  await expectReply(chat, "LOGOUT", 200);
  await expectReply(chat, "LOGIN obiwan (jedi master)", 200);
  await quit(chat);
});

Deno.test("REGISTER refuses taken names, bad names and is off with --no-registration", async () => {
  await using t = await startTestServer();
  await (await registered(t.port, "yoda")).close();
  const chat = await connect(t.port);
  await expectReply(chat, "REGISTER yoda x", 406, "User yoda already exists");
  await expectReply(chat, "REGISTER ../etc x", 414, /Cannot use "..\/etc" as a user name/);
  await expectReply(chat, "USER a#b", 200 + 132); // `#` is fine inside a name (332: new user)
  await expectReply(chat, "USER #a", 414, /not # or - first/);
  await chat.close();
  await using closed = await startTestServer({ registration: false });
  const other = await connect(closed.port);
  await expectReply(other, "REGISTER hans falcon", 413, "Registration is closed on this server");
  await expectReply(other, "USER hans", 410, "Invalid Username. Please try again");
  await other.close();
});

Deno.test("LOGIN with a wrong password or unknown user gets 410 with the seeds' texts", async () => {
  await using t = await startTestServer();
  await quit(await registered(t.port, "yoda"));
  const chat = await connect(t.port);
  await expectReply(chat, "LOGIN nobody x", 410, "Invalid Password. Please try again");
  await expectReply(chat, "LOGIN yoda wrong", 410, "Invalid Password. Please try again");
  await expectReply(chat, "LOGIN yoda yoda-secret", 200);
  await quit(chat);
});

Deno.test("three failures block the account across reconnects until the block expires", async () => {
  await using t = await startTestServer({ lockoutMs: 400 });
  await quit(await registered(t.port, "obiwan"));
  const first = await connect(t.port);
  await expectReply(first, "LOGIN obiwan iamyourfather", 410, "Invalid Password. Please try again");
  await expectReply(first, "LOGIN obiwan obiwan", 410, "Invalid Password. Please try again");
  await expectReply(
    first,
    "LOGIN obiwan youshallnotpass",
    411,
    "Invalid Password. Your account has been blocked. Please try again later",
  );
  await first.close();
  // A new connection, even with the right password, is refused while the block holds.
  const second = await connect(t.port);
  const blocked = "Your account is blocked due to multiple login failures. Please try again later";
  await expectReply(second, "LOGIN obiwan obiwan-secret", 412, blocked);
  await expectReply(second, "USER obiwan", 412, blocked);
  const until = Date.now() + 2000;
  let reply = await second.request("LOGIN obiwan obiwan-secret");
  while (reply.code === 412 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    reply = await second.request("LOGIN obiwan obiwan-secret");
  }
  assertEquals(reply.code, 200, "login works again once the block is over");
  await quit(second);
});

Deno.test("a successful login resets the failure count", async () => {
  await using t = await startTestServer();
  await quit(await registered(t.port, "hans"));
  const chat = await connect(t.port);
  await expectReply(chat, "LOGIN hans a", 410);
  await expectReply(chat, "LOGIN hans b", 410);
  await expectReply(chat, "LOGIN hans hans-secret", 200);
  await expectReply(chat, "LOGOUT", 200);
  await expectReply(chat, "LOGIN hans c", 410, "Invalid Password. Please try again");
  await expectReply(chat, "LOGIN hans d", 410, "Invalid Password. Please try again");
  await quit(chat);
});

Deno.test("the lockout holds across a server restart", async () => {
  const t1 = await startTestServer({ lockoutMs: 60_000 });
  await quit(await registered(t1.port, "obiwan"));
  const chat = await connect(t1.port);
  for (let i = 0; i < 2; i++) await expectReply(chat, "LOGIN obiwan bad", 410);
  await expectReply(chat, "LOGIN obiwan bad", 411);
  await chat.close();
  await using t2 = await t1.restart();
  const again = await connect(t2.port);
  await expectReply(again, "LOGIN obiwan obiwan-secret", 412);
  await again.close();
});

Deno.test("--sessions-per-user 1: a second login is refused while the first lasts", async () => {
  await using t = await startTestServer({ sessionsPerUser: 1 });
  const first = await registered(t.port, "yoda");
  const second = await connect(t.port);
  await expectReply(second, "USER yoda", 409, "yoda is already logged in elsewhere");
  await expectReply(second, "LOGIN yoda yoda-secret", 409, "yoda is already logged in elsewhere");
  await quit(first);
  await expectReply(second, "LOGIN yoda yoda-secret", 200);
  await quit(second);
});

Deno.test("a client that vanishes is logged out at once and can log in again", async () => {
  await using t = await startTestServer();
  const watcher = await registered(t.port, "hans");
  const crashing = await registered(t.port, "yoda");
  await watcher.waitForEvent((e) => e.type === "login" && e.user === "yoda");
  await crashing.close(); // like Ctrl+C or kill: no QUIT
  await watcher.waitForEvent((e) => e.type === "logout" && e.user === "yoda");
  const back = await loggedIn(t.port, "yoda");
  await quit(back);
  await quit(watcher);
});

Deno.test("PASSWD changes the password after checking the old one", async () => {
  await using t = await startTestServer();
  const chat = await registered(t.port, "yoda");
  await expectReply(chat, "PASSWD wrong new-secret", 410, "Invalid Password. Please try again");
  await expectReply(chat, "PASSWD yoda-secret new passphrase", 200, "Password changed");
  await expectReply(chat, "LOGOUT", 200);
  await expectReply(chat, "LOGIN yoda yoda-secret", 410);
  await expectReply(chat, "LOGIN yoda new passphrase", 200);
  await quit(chat);
});

Deno.test("QUIT says goodbye and closes the connection; LOGOUT keeps it", async () => {
  await using t = await startTestServer();
  const chat = await registered(t.port, "yoda");
  await expectReply(chat, "LOGOUT", 200);
  await expectReply(chat, "LOGOUT", 401, "You are not currently logged in, login first.");
  await expectReply(chat, "WHO", 200);
  await expectReply(chat, "QUIT", 200, "Goodbye");
  await chat.done;
  assertEquals(chat.isClosed, true);
});

Deno.test("--admin cannot be claimed by registering the name: it is reserved and grants nothing", async () => {
  await using t = await startTestServer({ admins: ["root"] });
  const mallory = await connect(t.port);
  await expectReply(mallory, "REGISTER root x", 413, /reserved for the operator/);
  await expectReply(mallory, "REGISTER ROOT x", 413, /reserved for the operator/);
  await expectReply(
    mallory,
    "REGISTER mallory mallory-secret",
    200,
    "Welcome to labchat, mallory!",
  );
  await expectReply(mallory, "SHUTDOWN", 402, "User not allowed to execute this command.");
  await quit(mallory);
});

Deno.test("admin comes from the operator's grant or --admin of an existing account, never from storage left by a flag", async () => {
  const dataDir = await dataDirWith([
    { name: "root", password: "root01", admin: true },
    { name: "john", password: "john01" },
  ]);
  const first = await startTestServer({ admins: ["john"] }, dataDir);
  const john = await connect(first.port);
  await expectReply(john, "LOGIN john john01", 200, "Welcome to labchat, john! (admin)");
  await quit(john);
  // Without the flag, john is a user again: nothing of the flag was stored.
  await using t = await first.restart({});
  const again = await connect(t.port);
  await expectReply(again, "LOGIN john john01", 200, "Welcome to labchat, john!");
  await expectReply(again, "SHUTDOWN", 402);
  await quit(again);
  const root = await connect(t.port);
  await expectReply(root, "LOGIN root root01", 200, "Welcome to labchat, root! (admin)");
  await quit(root);
});

Deno.test("LOGIN answers an unknown user exactly like a wrong password, after the same work", async () => {
  await using t = await startTestServer({ scryptCost: 1 << 12 });
  await quit(await registered(t.port, "yoda"));
  const chat = await connect(t.port);
  const timeOf = async (line: string) => {
    const start = performance.now();
    const reply = await chat.request(line);
    return { ms: performance.now() - start, code: reply.code, text: reply.text };
  };
  const known = [];
  const unknown = [];
  for (let i = 0; i < 2; i++) {
    known.push(await timeOf("LOGIN yoda wrong"));
    unknown.push(await timeOf(`LOGIN ghost${i} wrong`));
  }
  for (const r of [...known, ...unknown]) {
    assertEquals([r.code, r.text], [410, "Invalid Password. Please try again"]);
  }
  // Not a timing assertion on speed: both kinds must do a hash, which is far from free at 2^12.
  const cheapest = Math.min(...unknown.map((r) => r.ms));
  assert(cheapest > Math.min(...known.map((r) => r.ms)) / 4, JSON.stringify({ known, unknown }));
  // Unknown names are locked out like real ones, so the third failure does not tell either.
  await expectReply(chat, "LOGIN ghost0 wrong", 410, "Invalid Password. Please try again");
  await expectReply(chat, "LOGIN ghost0 wrong", 411, /has been blocked/);
  await expectReply(chat, "LOGIN ghost0 wrong", 412, /is blocked/);
  await chat.close();
});

Deno.test("user names are unique whatever their case, and any case finds the account", async () => {
  await using t = await startTestServer();
  const alice = await registered(t.port, "alice");
  const other = await connect(t.port);
  await expectReply(other, "REGISTER Alice x", 406, "User Alice already exists");
  await expectReply(other, "USER ALICE", 331, "Password required for alice");
  await expectReply(other, "LOGIN ALICE alice-secret", 200, "Welcome to labchat, alice!");
  await quit(alice);
  const bob = await registered(t.port, "bob");
  await expectReply(bob, "MSG ALICE hi", 200, "Message sent to alice");
  await alice.close();
  await Promise.all([quit(other), quit(bob)]);
});

Deno.test("wrong old passwords in PASSWD count towards the lockout and end the session", async () => {
  await using t = await startTestServer();
  const yoda = await registered(t.port, "yoda");
  await expectReply(yoda, "PASSWD bad1 new", 410, "Invalid Password. Please try again");
  await expectReply(yoda, "PASSWD bad2 new", 410);
  await expectReply(yoda, "PASSWD bad3 new", 411, /has been blocked/);
  await expectReply(yoda, "WHO", 200, "0 users online");
  const again = await connect(t.port);
  await expectReply(again, "LOGIN yoda yoda-secret", 412, /is blocked/);
  await Promise.all([yoda.close(), again.close()]);
});

Deno.test("USER, LOGIN and REGISTER are rate-limited per address", async () => {
  await using t = await startTestServer({ authRatePerIp: 2 });
  const chat = await connect(t.port);
  const codes: number[] = [];
  for (let i = 0; i < 8; i++) codes.push((await chat.request(`USER someone${i}`)).code);
  assert(codes.slice(0, 4).every((c) => c === 332), codes.join(","));
  assert(codes.includes(421), `the burst of 4 is followed by refusals: ${codes.join(",")}`);
  const refused = await chat.request("LOGIN someone x");
  assertEquals([refused.code, refused.text], [
    421,
    "Too many sign-in attempts from your address; wait a moment and try again",
  ]);
  await chat.close();
});
