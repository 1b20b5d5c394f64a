import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  connect,
  dataDirWith,
  expectReply,
  quit,
  registered,
  startTestServer,
} from "../helpers.ts";
import { encodePacket, PacketType, tokenFromHex } from "../../lib/p2p/packet.ts";
import { parsePeerIntroduction } from "../../lib/protocol/replies.ts";
import { runClientScript, spawnClient } from "../client_helpers.ts";
import { spawnServer } from "../../testing/server_process.ts";

const NO_COLOR = { NO_COLOR: "1" };

Deno.test("a new user registers by typing the password twice; a mismatch asks again", async () => {
  await using t = await startTestServer();
  const run = await runClientScript(
    ["127.0.0.1", String(t.port)],
    ["mike", "a", "b", "secret-pw1", "secret-pw1", "BROADCAST hi", "WHO"],
    NO_COLOR,
  );
  assertEquals(run.code, 0, run.lines.join("\n"));
  assert(run.stderr.includes("Passwords do not match. Please try again"), run.lines.join("\n"));
  assert(run.stdout.includes("Welcome to labchat, mike!"));
  assertMatch(run.stdout.join("\n"), /Broadcast message, #1 broadcast at/);
  assert(run.stdout.includes("1 user online"));
  // QUIT was sent at the end of input: mike can log in again at once.
  const again = await runClientScript(["127.0.0.1", String(t.port), "--user", "mike"], [
    "secret-pw1",
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
    "hans-secret",
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
  const env = { ...NO_COLOR, LABCHAT_PASSWORD: "yoda-secret" };
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
  assertEquals([anonymous.code, anonymous.stdout], [0, [
    "One can never be too rich, too thin, or have too much bandwidth.",
  ]]);
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
  // The UDP port for peers is taken: said before anything else happens.
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const udpPort = (udp.addr as Deno.NetAddr).port;
  try {
    for (const engine of ["deno", "auto"]) {
      const taken = await runClientScript([
        "127.0.0.1",
        String(server.addr.port),
        "--udp-port",
        String(udpPort),
        "--udp-engine",
        engine,
      ], []);
      assertEquals(taken.code, 2, engine);
      assertEquals(taken.stderr.length, 1, taken.stderr.join("\n"));
      assertMatch(
        taken.stderr[0],
        new RegExp(`^chat-client: Cannot open UDP port ${udpPort}: Address already in use`),
      );
    }
  } finally {
    udp.close();
    server.close();
  }
  const help = await runClientScript(["--help"], []);
  assertEquals(help.code, 0);
  assertMatch(help.stdout[0], /^chat-client: terminal client/);
});

Deno.test("pointed at a port that is not labchat, the client says so within seconds", async () => {
  // One that speaks first (an IRC server), one that answers the probe (a web port), one silent.
  const speaker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const serve = async (listener: Deno.Listener, greeting: string | undefined) => {
    for await (const conn of listener) {
      held.push(conn);
      if (greeting) await conn.write(new TextEncoder().encode(greeting)).catch(() => 0);
    }
  };
  const serving = [
    serve(speaker, ":irc.example NOTICE * :*** Looking up your hostname\r\n"),
    serve(silent, undefined),
  ];
  try {
    const irc = await runClientScript(["127.0.0.1", String(speaker.addr.port)], ["yoda"]);
    assertEquals(irc.code, 2);
    assertMatch(
      irc.stderr.join("\n"),
      new RegExp(
        `^chat-client: Cannot connect to 127\\.0\\.0\\.1:${speaker.addr.port}: This is not a labchat server .*it said: ":irc\\.example NOTICE`,
      ),
    );
    const started = Date.now();
    const quiet = await runClientScript(["127.0.0.1", String(silent.addr.port)], ["yoda"]);
    assertEquals(quiet.code, 2);
    assertMatch(
      quiet.stderr.join("\n"),
      /This is not a labchat server .*did not answer within 5 s/,
    );
    assert(Date.now() - started < 15_000);
  } finally {
    speaker.close();
    silent.close();
    for (const conn of held) conn.close();
    await Promise.allSettled(serving);
  }
});

Deno.test("server shutdown ends the client with the notice and status 4; a crash gives status 3", async () => {
  const dataDir = await dataDirWith([{ name: "root", password: "root01", admin: true }]);
  try {
    {
      await using server = await spawnServer(dataDir, ["--quiet"]);
      await using client = spawnClient(["127.0.0.1", String(server.port)], NO_COLOR);
      await client.write("john", "john0123", "john0123");
      await client.waitFor(/^Welcome to labchat, john!$/);
      const root = await connect(server.port);
      await expectReply(root, "LOGIN root root01", 200);
      await expectReply(root, "SHUTDOWN", 200);
      await client.waitFor(/^The server is shutting down; your session has ended$/);
      assertEquals(await client.exitCode, 4);
      assert(!client.lines.some((l) => /error|at .*\.ts:\d+/i.test(l)), client.lines.join("\n"));
      await root.close();
    }
    await using server = await spawnServer(dataDir, ["--quiet"]);
    await using client = spawnClient(["127.0.0.1", String(server.port)], NO_COLOR);
    await client.write("john", "john0123");
    await client.waitFor(/^Welcome to labchat, john!$/);
    server.child.kill("SIGKILL");
    assertEquals(await client.exitCode, 3);
    assertEquals(client.stderr.at(-1), "Connection to the server was lost");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Escape sequences and bidirectional controls an attacker would use. */
const HOSTILE = "\u001b[2J\u001b]0;owned\u0007\u001b]52;c;cGF3bmVk\u0007\u009b1A\u202eexe.txt";

/** Whether printed output carries anything that could act on a terminal. */
function unsafe(lines: readonly string[]): boolean {
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(
    lines.join("\n"),
  );
}

/** A fake server that logs anyone in and then sends hostile events and replies. */
function hostileServer(): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const write = (text: string) => conn.write(encoder.encode(text));
    const buffer = new Uint8Array(4096);
    let pending = "";
    try {
      for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
        pending += new TextDecoder().decode(buffer.subarray(0, n));
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (line.startsWith("USER")) await write("331 Password required\n");
          else if (line.startsWith("LOGIN")) {
            await write(`200 Welcome ${HOSTILE}!\n`);
            await write(`600 hans: hi ${HOSTILE}\n602 #1 ev${HOSTILE}il: b\n607 bye${HOSTILE}\n`);
          } else if (line.startsWith("WHO")) await write(`200-x${HOSTILE}, 1.2.3.4, -, z\n200 1\n`);
          else await write(`200 ok ${HOSTILE}\n`);
        }
      }
    } catch {
      // the client went away
    } finally {
      conn.close();
    }
  })();
  return { port: (listener.addr as Deno.NetAddr).port, done };
}

Deno.test("text from a hostile server is printed without escapes, C1 or bidirectional controls", async () => {
  const server = hostileServer();
  const run = await runClientScript(["127.0.0.1", String(server.port), "--user", "yoda"], [
    "pw",
    "WHO",
  ]);
  await server.done;
  assert(run.lines.some((l) => l.startsWith("hans: hi")), run.lines.join("\n"));
  assert(run.lines.some((l) => l.includes("exe.txt")), "the visible text is kept");
  assertEquals(unsafe(run.lines), false, JSON.stringify(run.lines));
});

Deno.test("the server refuses control characters in request lines, so nc users are safe too", async () => {
  await using t = await startTestServer();
  const hans = await registered(t.port, "hans");
  await expectReply(hans, "BROADCAST \u001b[2Jcleared", 407, /control characters/);
  await expectReply(hans, "BROADCAST tab\tis fine", 200);
  await expectReply(hans, "HISTORY", 200, "1 broadcast");
  await quit(hans);
});

Deno.test("a peer's offered name and ABORT reason reach the terminal sanitised", async () => {
  await using t = await startTestServer();
  await using yoda = spawnClient(["127.0.0.1", String(t.port), "--user", "yoda"], NO_COLOR);
  await yoda.write("yoda-secret", "yoda-secret");
  await yoda.waitFor(/Welcome to labchat, yoda!/);
  // mallory speaks raw UDP, as an attacker would.
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  using _closeUdp = { [Symbol.dispose]: () => udp.close() };
  const mallory = await registered(t.port, "mallory");
  await expectReply(mallory, `UDP ${(udp.addr as Deno.NetAddr).port}`, 200);
  await yoda.write("WHO"); // yoda's client has reported its UDP port once WHO answers
  await yoda.waitFor(/^yoda, /);
  const intro = parsePeerIntroduction((await expectReply(mallory, "PEER yoda file", 200)).text);
  if (!intro) throw new Error("PEER did not introduce yoda");
  const token = tokenFromHex(intro.token) as Uint8Array;
  const to = { transport: "udp" as const, hostname: intro.host, port: intro.port };
  const sha256 = new Uint8Array(32);
  const offer = encodePacket(token, {
    type: PacketType.OFFER,
    transfer: 1,
    size: 10,
    sha256,
    chunk: 1444,
    name: HOSTILE,
  });
  // Like a real sender, repeat the offer until it is heard.
  const incoming = yoda.waitFor(/is sending you/);
  let offered = false;
  incoming.then(() => offered = true, () => {});
  for (let i = 0; i < 160 && !offered; i++) {
    await udp.send(offer, to);
    await new Promise((r) => setTimeout(r, 50));
  }
  await incoming;
  // An attacker repeats itself until it is heard.
  const abort = encodePacket(token, {
    type: PacketType.ABORT,
    transfer: 1,
    reason: `no${HOSTILE}`,
  });
  const failed = yoda.waitFor(/failed: mallory stopped sending/);
  let heard = false;
  failed.then(() => heard = true, () => {});
  for (let i = 0; i < 160 && !heard; i++) {
    await udp.send(abort, to);
    await new Promise((r) => setTimeout(r, 50));
  }
  assertMatch(
    await failed,
    /stopped sending exe\.txt: noexe\.txt; what arrived is kept: send it again to resume$/,
  );
  assertEquals(unsafe(yoda.lines), false, JSON.stringify(yoda.lines));
  await quit(mallory);
});

Deno.test("UPLOAD takes quoted file names with spaces, and says local file errors in words", async () => {
  await using t = await startTestServer();
  const hans = await registered(t.port, "hans");
  await expectReply(hans, "THREAD CREATE lab", 200);
  const dir = await Deno.makeTempDir({ prefix: "labchat-names-" });
  try {
    await Deno.writeTextFile(`${dir}/lab notes.txt`, "iperf: 941 Mbit/s\n");
    await quit(await registered(t.port, "yoda"));
    const run = await runClientScript(
      [
        "127.0.0.1",
        String(t.port),
        "--user",
        "yoda",
        "--exec",
        `UPLOAD lab "${dir}/lab notes.txt"; UPLOAD lab ${dir}; UPLOAD lab ${dir}/nothing.txt`,
      ],
      [],
      { ...NO_COLOR, LABCHAT_PASSWORD: "yoda-secret" },
    );
    assertEquals(run.code, 1, run.lines.join("\n"));
    assert(run.stdout.includes("Uploading lab notes.txt as lab_notes.txt (no spaces)"));
    assert(run.stdout.includes("yoda uploaded file lab_notes.txt to lab thread"));
    assertEquals(run.stderr, [
      `Cannot read "${dir}": it is a directory`,
      `Cannot read "${dir}/nothing.txt": no such file`,
    ]);
    await expectReply(hans, "THREAD READ lab", 200, "Thread lab: 0 messages, 1 file");
  } finally {
    await quit(hans);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pipe without --user that runs dry at the login is told what a script needs", async () => {
  await using t = await startTestServer();
  const run = await runClientScript(["127.0.0.1", String(t.port)], ["WHO"], NO_COLOR);
  assertEquals(run.code, 1);
  assertMatch(
    run.stderr.join("\n"),
    /Not logged in: standard input ended at the login\. A script gives --user NAME \(the password in LABCHAT_PASSWORD\)/,
  );
});
