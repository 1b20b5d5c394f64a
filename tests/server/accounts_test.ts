import { assertEquals } from "@std/assert";
import { connect, expectReply, loggedIn, quit, registered, startTestServer } from "../helpers.ts";

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
  await expectReply(chat, "LOGIN yoda yoda-pw", 200);
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
  await expectReply(second, "LOGIN obiwan obiwan-pw", 412, blocked);
  await expectReply(second, "USER obiwan", 412, blocked);
  const until = Date.now() + 2000;
  let reply = await second.request("LOGIN obiwan obiwan-pw");
  while (reply.code === 412 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    reply = await second.request("LOGIN obiwan obiwan-pw");
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
  await expectReply(chat, "LOGIN hans hans-pw", 200);
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
  await expectReply(again, "LOGIN obiwan obiwan-pw", 412);
  await again.close();
});

Deno.test("one live session per user: a second login is refused while the first lasts", async () => {
  await using t = await startTestServer();
  const first = await registered(t.port, "yoda");
  const second = await connect(t.port);
  await expectReply(second, "USER yoda", 409, "yoda is already logged in elsewhere");
  await expectReply(second, "LOGIN yoda yoda-pw", 409, "yoda is already logged in elsewhere");
  await quit(first);
  await expectReply(second, "LOGIN yoda yoda-pw", 200);
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
  await expectReply(chat, "PASSWD wrong new-pw", 410, "Invalid Password. Please try again");
  await expectReply(chat, "PASSWD yoda-pw new pw", 200, "Password changed");
  await expectReply(chat, "LOGOUT", 200);
  await expectReply(chat, "LOGIN yoda yoda-pw", 410);
  await expectReply(chat, "LOGIN yoda new pw", 200);
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
