import { assert, assertEquals, assertMatch } from "@std/assert";
import { expectReply, quit, registered, startTestServer } from "../helpers.ts";
import { runClientScript, spawnClient } from "../client_helpers.ts";
import { spawnServer } from "../process_helpers.ts";

const NO_COLOR = { NO_COLOR: "1" };

Deno.test("a new user registers by typing the password twice; a mismatch asks again", async () => {
  await using t = await startTestServer();
  const run = await runClientScript(
    ["127.0.0.1", String(t.port)],
    ["mike", "a", "b", "mike", "secret", "secret", "BROADCAST hi", "WHO"],
    NO_COLOR,
  );
  assertEquals(run.code, 0, run.lines.join("\n"));
  assert(run.stderr.includes("Passwords do not match. Please try again"), run.lines.join("\n"));
  assert(run.stdout.includes("Welcome to labchat, mike!"));
  assertMatch(run.stdout.join("\n"), /Broadcast message, #1 broadcast at/);
  assert(run.stdout.includes("1 user online"));
  // QUIT was sent at the end of input: mike can log in again at once.
  const again = await runClientScript(["127.0.0.1", String(t.port), "--user", "mike"], [
    "secret",
    "WHO",
  ], NO_COLOR);
  assertEquals(again.code, 0, again.lines.join("\n"));
});

Deno.test("wrong passwords are asked again until the server blocks the account", async () => {
  await using t = await startTestServer();
  await quit(await registered(t.port, "obiwan"));
  const run = await runClientScript(
    ["127.0.0.1", String(t.port)],
    ["obiwan", "iamyourfather", "obiwan", "youshallnotpass", "never read"],
    NO_COLOR,
  );
  assertEquals(run.code, 1);
  assertEquals(run.stderr, [
    "Invalid Password. Please try again",
    "Invalid Password. Please try again",
    "Invalid Password. Your account has been blocked. Please try again later",
  ]);
  const blocked = await runClientScript(["127.0.0.1", String(t.port)], ["obiwan", "aa"], NO_COLOR);
  assertEquals(blocked.code, 1);
  assertEquals(blocked.stderr, [
    "Your account is blocked due to multiple login failures. Please try again later",
  ]);
});

Deno.test("an unknown user name is refused when registration is closed, then asked again", async () => {
  const open = await startTestServer();
  await quit(await registered(open.port, "hans"));
  await using t = await open.restart({ registration: false });
  const run = await runClientScript(["127.0.0.1", String(t.port)], [
    "ethan",
    "hans",
    "hans-pw",
    "WHO",
  ], NO_COLOR);
  assertEquals(run.stderr, ["Invalid Username. Please try again"]);
  assertEquals(run.stdout[0], "Welcome to labchat, hans!");
  assertMatch(
    run.stdout[1],
    /^hans, 127\.0\.0\.1, \d+, active since /,
    "the client reported its UDP port",
  );
  assertEquals(run.stdout[2], "1 user online");
  assertEquals(run.code, 0);
});

Deno.test("--exec runs commands for scripts; a failing command makes the exit status 1", async () => {
  await using t = await startTestServer();
  await quit(await registered(t.port, "yoda"));
  const env = { ...NO_COLOR, LABCHAT_PASSWORD: "yoda-pw" };
  const ok = await runClientScript(
    ["127.0.0.1", String(t.port), "--user", "yoda", "--exec", "BROADCAST scripted; HISTORY"],
    [],
    env,
  );
  assertEquals(ok.code, 0, ok.lines.join("\n"));
  assertEquals(ok.stdout[0], "Welcome to labchat, yoda!");
  assertMatch(ok.stdout.join("\n"), /1; .*; yoda; scripted\n1 broadcast/);
  const bad = await runClientScript(
    ["127.0.0.1", String(t.port), "--user", "yoda", "--exec", "MSG nobody hi; WHO"],
    [],
    env,
  );
  assertEquals(bad.code, 1);
  assertEquals(bad.stderr, ["either the user does not exist or is not logged in"]);
  assert(bad.stdout.includes("1 user online"), "commands after a failure still run");
  const wrong = await runClientScript(
    ["127.0.0.1", String(t.port), "--user", "yoda", "--exec", "WHO"],
    [],
    {
      ...NO_COLOR,
      LABCHAT_PASSWORD: "nope",
    },
  );
  assertEquals(wrong.code, 1);
  assertEquals(wrong.stderr, ["Invalid Password. Please try again"]);
  const anonymous = await runClientScript(
    ["127.0.0.1", String(t.port), "--exec", "MOTD"],
    [],
    NO_COLOR,
  );
  assertEquals([anonymous.code, anonymous.stdout], [0, ["One can never be too rich"]]);
});

Deno.test("usage errors and an unreachable server exit with status 2 and a clear message", async () => {
  const usage = await runClientScript(["--dialect", "irc"], []);
  assertEquals(usage.code, 2);
  assertMatch(usage.stderr[0], /^chat-client: Cannot use "irc" for --dialect/);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const refused = await runClientScript(["127.0.0.1", String(port)], []);
  assertEquals(refused.code, 2);
  assertEquals(refused.stderr, [
    `chat-client: Cannot connect to 127.0.0.1:${port}: connection refused (is the server running?)`,
  ]);
  const help = await runClientScript(["--help"], []);
  assertEquals(help.code, 0);
  assertMatch(help.stdout[0], /^chat-client: terminal client/);
});

Deno.test("server shutdown ends the client with the notice and status 4; a crash gives status 3", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-cli-" });
  try {
    {
      await using server = await spawnServer(dataDir, ["--admin", "root", "--quiet"]);
      await using client = spawnClient(["127.0.0.1", String(server.port)], NO_COLOR);
      await client.write("john", "john01", "john01");
      await client.waitFor(/^Welcome to labchat, john!$/);
      const root = await registered(server.port, "root");
      await expectReply(root, "SHUTDOWN", 200);
      await client.waitFor(/^210 the server is about to shutdown \.\.\.$/);
      assertEquals(await client.exitCode, 4);
      assert(!client.lines.some((l) => /error|at .*\.ts:\d+/i.test(l)), client.lines.join("\n"));
      await root.close();
    }
    await using server = await spawnServer(dataDir, ["--quiet"]);
    await using client = spawnClient(["127.0.0.1", String(server.port)], NO_COLOR);
    await client.write("john", "john01");
    await client.waitFor(/^Welcome to labchat, john!$/);
    server.child.kill("SIGKILL");
    assertEquals(await client.exitCode, 3);
    assertEquals(client.stderr.at(-1), "Connection to the server was lost");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("messages with terminal escape sequences are printed without them", async () => {
  await using t = await startTestServer();
  const hans = await registered(t.port, "hans");
  await using client = spawnClient(["127.0.0.1", String(t.port), "--user", "yoda"], {});
  await client.write("yoda-pw", "yoda-pw");
  await client.waitFor(/Welcome to labchat, yoda!/);
  await expectReply(
    hans,
    "MSG yoda \u001b[2J\u001b]0;owned\u0007hello\u001b[31m red\u001b[0m",
    200,
  );
  const line = await client.waitFor(/^hans: /);
  assertEquals(line, "hans: hello red");
  await expectReply(hans, "BROADCAST \u001b[1A\u001b[2Kfake prompt", 200);
  await client.waitFor(/^#1 hans: fake prompt$/);
  await client.end();
  assertEquals(await client.exitCode, 0);
  assert(
    !client.lines.join("\n").includes("\u001b"),
    "no escape reached the output (not a TTY: no colour either)",
  );
  await quit(hans);
});
