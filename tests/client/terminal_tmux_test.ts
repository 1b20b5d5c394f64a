/**
 * The client in a real terminal, driven through tmux: what a person sees.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { dataDirWith, expectReply, quit, registered, startTestServer } from "../helpers.ts";
import { openTmux, type TmuxTerminal } from "../../testing/tmux_terminal.ts";
import { spawnServer } from "../../testing/server_process.ts";
import { runClientScript } from "../client_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A terminal of 100x30 running the client (with `extra` arguments). */
function openTerminal(port: number, ...extra: string[]): Promise<TmuxTerminal> {
  const command =
    `${Deno.execPath()} run --allow-net --allow-read --allow-write --allow-env --allow-sys client.ts 127.0.0.1 ${port} ${
      extra.join(" ")
    }; sleep 30`;
  return openTmux(command, ROOT);
}

/** The line the cursor is on: the last non-empty line of the screen. */
const promptLine = (screen: string) => screen.trimEnd().split("\n").at(-1) ?? "";

Deno.test("in a terminal: masked password, events above the line being typed, tab completion", async () => {
  await using t = await startTestServer();
  const hans = await registered(t.port, "hans");
  const term = await openTerminal(t.port);
  try {
    await term.waitFor((s) => s.includes("Username:"), "the Username prompt");
    await term.type("yoda");
    await term.keys("Enter");
    await term.waitFor(
      (s) => s.includes("Enter new password for yoda:"),
      "the new password prompt",
    );
    await term.type("wise@!man");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("Confirm the password:"), "the confirmation prompt");
    await term.type("wise@!man");
    await term.keys("Enter");
    let screen = await term.waitFor((s) => s.includes("Welcome to labchat, yoda!"), "the welcome");
    assert(!screen.includes("wise@!man"), `the password was echoed:\n${screen}`);
    assertMatch(screen, /Enter new password for yoda: \*{9}\n/);

    // An event arrives while a command is half typed: it appears above, the typing survives.
    await term.waitFor((s) => promptLine(s) === "labchat>", "the prompt");
    await term.type("BROADCAST half typ");
    await term.waitFor((s) => promptLine(s) === "labchat> BROADCAST half typ", "the typed text");
    await expectReply(hans, "MSG yoda hi there", 200);
    screen = await term.waitFor((s) => s.includes("hans: hi there"), "the message");
    assertEquals(promptLine(screen), "labchat> BROADCAST half typ");
    const lines = screen.trimEnd().split("\n");
    assertEquals(lines.at(-2), "hans: hi there");
    await term.type("ed");
    await term.keys("Enter");
    await hans.waitForEvent((e) => e.type === "broadcast" && e.text === "half typed");

    // Completion of a command word, then of an online user name.
    await term.type("ms");
    await term.keys("Tab");
    await term.waitFor((s) => promptLine(s) === "labchat> MSG", "the completed command");
    await term.type("ha");
    await term.keys("Tab");
    await term.waitFor((s) => promptLine(s) === "labchat> MSG hans", "the completed user name");
    await term.type("done");
    await term.keys("Enter");
    await hans.waitForEvent((e) => e.type === "private" && e.text === "done");

    // An upload shows a progress bar with speed and time left, then leaves a clean prompt.
    const files = await Deno.makeTempDir({ prefix: "labchat-tty-" });
    try {
      await Deno.writeFile(`${files}/big.bin`, new Uint8Array(4 * 1024 * 1024));
      await expectReply(hans, "THREAD CREATE t", 200);
      await term.record(`${files}/terminal.log`);
      await term.type(`UPLOAD t ${files}/big.bin`);
      await term.keys("Enter");
      screen = await term.waitFor(
        (s) => s.includes("yoda uploaded file big.bin to t thread"),
        "the upload result",
      );
      const written = await Deno.readTextFile(`${files}/terminal.log`);
      assertMatch(written, /big\.bin \[#{20}\] 100% 4\.0 MiB\/4\.0 MiB [\d.]+ \w+\/s ETA 00:00/);
      await term.waitFor((s) => promptLine(s) === "labchat>", "a clean prompt after the transfer");
    } finally {
      await Deno.remove(files, { recursive: true });
    }

    // History: up arrow brings back the last command.
    await term.keys("Up");
    await term.keys("Up");
    await term.waitFor((s) => promptLine(s) === "labchat> MSG hans done", "the recalled command");
    await term.keys("C-u", "C-d");
    await hans.waitForEvent((e) => e.type === "logout" && e.user === "yoda");
  } finally {
    await term.close();
  }
  await quit(hans);
});

Deno.test("in a terminal: after LOGOUT the masked login comes back, and passwords never reach history", async () => {
  await using t = await startTestServer({ sessionsPerUser: 1 });
  await quit(await registered(t.port, "yoda"));
  const hans = await registered(t.port, "hans");
  const term = await openTerminal(t.port);
  try {
    await term.waitFor((s) => s.includes("Username:"), "the Username prompt");
    // hans is online elsewhere: say so, ask again, and do not offer an account for what follows.
    await term.type("hans");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("hans is already logged in elsewhere"), "the refusal");
    await term.type("p4ssw0rd");
    await term.keys("Enter");
    await term.waitFor(
      (s) => promptLine(s) === "There is no account p4ssw0rd. Create it? [y/N]",
      "a question before any account is made",
    );
    await term.keys("Enter");
    await term.waitFor((s) => promptLine(s) === "Username:", "the Username prompt again");
    await term.type("yoda");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("Password:"), "the password prompt");
    await term.type("yoda-secret");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("Welcome to labchat, yoda!"), "the welcome");
    await term.type("PASSWD yoda-secret newer-secret");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("Password changed"), "the password change");
    await term.type("WHO");
    await term.keys("Enter");
    await term.type("LOGOUT");
    await term.keys("Enter");
    // The login flow again, masked: not LOGIN typed in clear.
    await term.waitFor((s) => promptLine(s) === "Username:", "the login flow after LOGOUT");
    await term.type("yoda");
    await term.keys("Enter");
    await term.waitFor((s) => promptLine(s) === "Password:", "the password prompt");
    await term.type("newer-secret");
    await term.keys("Enter");
    const screen = await term.waitFor(
      (s) => s.split("Welcome to labchat, yoda!").length === 3,
      "the second welcome",
    );
    assertMatch(screen, /Username: yoda\nPassword: \*{12}\nWelcome to labchat, yoda!/);
    // Up goes back through LOGOUT and WHO, and never to the PASSWD line.
    await term.keys("Up", "Up", "Up");
    await term.waitFor((s) => promptLine(s) === "labchat> WHO", "the oldest recalled command");
    await term.keys("Up");
    const after = await term.waitFor((s) => promptLine(s).startsWith("labchat>"), "the prompt");
    assertEquals(promptLine(after), "labchat> WHO", "the PASSWD line is not in the history");
    await term.keys("C-u", "C-d");
  } finally {
    await term.close();
  }
  await quit(hans);
});

Deno.test("in a terminal: yamotd lists its commands above the prompt; no prompt under a shutdown", async () => {
  const dataDir = await dataDirWith([{ name: "root", password: "root01", admin: true }]);
  await using t = await startTestServer({}, dataDir);
  const term = await openTerminal(t.port, "--dialect", "yamotd");
  try {
    const menu = "['MSGGET', 'MSGSTORE', 'SHUTDOWN', 'LOGIN', 'LOGOUT', 'QUIT', 'WHO', 'SEND']";
    let screen = await term.waitFor(
      (s) => promptLine(s) === "please choose a cmd from the above options:",
      "the yamotd prompt",
    );
    assertEquals(screen.trimEnd().split("\n").at(-2), menu);
    await term.type("LOGIN root root01");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("Welcome to labchat, root! (admin)"), "the login");
    await term.type("SHUTDOWN");
    await term.keys("Enter");
    screen = await term.waitFor(
      (s) => s.includes("210 the server is about to shutdown ..."),
      "the shutdown notice",
    );
    await new Promise((r) => setTimeout(r, 300));
    screen = await term.screen();
    const tail = screen.trimEnd().split("\n");
    assertEquals(tail.at(-1), "210 the server is about to shutdown ...", screen);
  } finally {
    await term.close();
  }
});

Deno.test("in a terminal: when the server dies, the client reconnects and logs in again by itself", async () => {
  const data = await dataDirWith([{ name: "yoda", password: "wise@!man" }]);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  let server = await spawnServer(data, ["--port", String(port), "--quiet"]);
  const term = await openTerminal(port);
  try {
    await term.waitFor((s) => s.includes("Username:"), "the Username prompt");
    await term.type("yoda");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("Password:"), "the password prompt");
    await term.type("wise@!man");
    await term.keys("Enter");
    await term.waitFor((s) => promptLine(s) === "labchat>", "the prompt");
    // The server is killed outright, and comes back a moment later on the same port.
    server.child.kill("SIGKILL");
    await server.status;
    await term.waitFor((s) => s.includes("Reconnecting"), "the reconnecting notice");
    server = await spawnServer(data, ["--port", String(port), "--quiet"]);
    const screen = await term.waitFor(
      (s) => s.includes("Reconnected as yoda") && promptLine(s) === "labchat>",
      "the session back",
    );
    assert(!screen.includes("wise@!man"), `the password was shown:\n${screen}`);
    const hans = await registered(server.port, "hans");
    await term.type("MSG hans back again");
    await term.keys("Enter");
    const got = await hans.waitForEvent((e) => e.type === "private");
    assertEquals(got.type === "private" && got.text, "back again");
    await quit(hans);
  } finally {
    await term.close();
    server.child.kill("SIGTERM");
    await server.status;
    await Deno.remove(data, { recursive: true });
  }
});

/**
 * A scripted stand-in for a server that answers the login and then goes quiet (a hung server,
 * or one that stops reading an upload): what Ctrl+C must still get the person out of.
 */
function quietServer(): { port: number; lines: string[]; [Symbol.asyncDispose](): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const lines: string[] = [];
  const conns: Deno.Conn[] = [];
  const answer = (line: string): string | undefined => {
    const word = line.split(" ")[0];
    if (word === "ACTIVE") return "200 No idle timeout";
    if (word === "USER") return "331 Password required for yoda";
    if (word === "LOGIN") return "200 Welcome to labchat, yoda!";
    if (word === "UDP") return "200 OK";
    if (word === "WHO") return "200-yoda, 127.0.0.1, 1, 01 Jan 2026 00:00:00\n200 1 user online";
    if (word === "UPLOAD") return "350 Send 268435456 bytes";
    return undefined; // anything else: never answered
  };
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      void (async () => {
        const buffer = new Uint8Array(4096);
        let text = "";
        while (true) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) return;
          text += new TextDecoder().decode(buffer.subarray(0, n));
          let end;
          while ((end = text.indexOf("\n")) >= 0) {
            const line = text.slice(0, end);
            text = text.slice(end + 1);
            lines.push(line);
            const reply = answer(line);
            if (reply) await conn.write(new TextEncoder().encode(`${reply}\n`)).catch(() => 0);
            // After the 350 it stops reading, as a stuck server would: the upload stalls.
            if (line.startsWith("UPLOAD")) return;
          }
        }
      })();
    }
  })();
  return {
    port: listener.addr.port,
    lines,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed by the client
        }
      }
      await serving.catch(() => {});
    },
  };
}

Deno.test("in a terminal: Ctrl+C clears a half-typed line, cancels a stalled upload when confirmed, and gets out of a request that hangs", async () => {
  await using server = quietServer();
  const files = await Deno.makeTempDir({ prefix: "labchat-tty-cancel-" });
  const term = await openTerminal(server.port, "--user", "yoda");
  try {
    await term.waitFor((s) => promptLine(s) === "Password:", "the password prompt");
    await term.type("wise@!man");
    await term.keys("Enter");
    await term.waitFor((s) => promptLine(s) === "labchat>", "the prompt");
    // Ctrl+C on a half-typed line clears it, as a shell does.
    await term.type("BROADCAST never mind");
    await term.keys("C-c");
    await term.waitFor((s) => promptLine(s) === "labchat>", "the cleared line");

    // An upload the server stops reading: Ctrl+C asks, and yes cancels it.
    await Deno.writeFile(`${files}/big.bin`, new Uint8Array(256 * 1024 * 1024));
    await term.type(`UPLOAD t ${files}/big.bin`);
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("big.bin ["), "the progress bar");
    await term.keys("C-c");
    await term.waitFor(
      (s) => promptLine(s) === "Cancel the upload of big.bin? (y/N)",
      "the question",
    );
    await term.type("y");
    await term.keys("Enter");
    await term.waitFor(
      (s) => s.includes("Cancelled the upload of big.bin; nothing of it was kept"),
      "the cancellation",
    );
    await term.waitFor(
      (s) => s.includes("Reconnected as yoda") && promptLine(s) === "labchat>",
      "the session back on a new connection",
    );

    // A request the server never answers: Ctrl+C leaves instead of waiting for ever.
    await term.type("HISTORY b");
    await term.keys("Enter");
    await term.keys("C-c");
    await term.waitFor((s) => s.includes("Interrupted; leaving"), "the way out");
    assert(server.lines.includes("HISTORY b"), server.lines.join("\n"));
  } finally {
    await term.close();
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("in a terminal: logged out for idling, the client offers to log in again; toom's OUT leaves", async () => {
  await using t = await startTestServer({ idleTimeoutMs: 1500 });
  await quit(await registered(t.port, "yoda"));
  const term = await openTerminal(t.port, "--user", "yoda");
  try {
    await term.waitFor((s) => promptLine(s) === "Password:", "the password prompt");
    await term.type("yoda-secret");
    await term.keys("Enter");
    await term.waitFor((s) => promptLine(s) === "labchat>", "the prompt");
    // Typing without sending is using the client: twice the timeout of it keeps yoda in.
    for (let i = 0; i < 10; i++) {
      await term.type("x");
      await new Promise((r) => setTimeout(r, 300));
    }
    assert(!(await term.screen()).includes("inactivity"), await term.screen());
    await term.keys("C-u");
    await term.waitFor(
      (s) => promptLine(s) === "Press Enter to log in again, or Ctrl+D to leave:",
      "the offer to come back",
    );
    assertMatch(await term.screen(), /You have been logged out after 2 seconds of inactivity/);
    await term.keys("Enter");
    await term.waitFor(
      (s) => s.includes("Reconnected as yoda") && promptLine(s) === "labchat>",
      "the session back",
    );
  } finally {
    await term.close();
  }

  const toom = await openTerminal(t.port, "--dialect", "toom", "--user", "yoda");
  try {
    await toom.waitFor((s) => promptLine(s) === "Password:", "the password prompt");
    await toom.type("yoda-secret");
    await toom.keys("Enter");
    await toom.waitFor((s) => s.includes("Welcome to Toom!"), "the welcome");
    await toom.type("OUT");
    await toom.keys("Enter");
    const screen = await toom.waitFor((s) => s.includes("Bye"), "the goodbye");
    await new Promise((r) => setTimeout(r, 500));
    const after = await toom.screen();
    assert(!after.includes("Username:"), `a login prompt came back after OUT:\n${screen}`);
  } finally {
    await toom.close();
  }
});

Deno.test("in a terminal: a peer's file is taken only when the person says yes, and the line being typed survives the question", async () => {
  await using t = await startTestServer();
  await quit(await registered(t.port, "hans"));
  await quit(await registered(t.port, "yoda"));
  const files = await Deno.makeTempDir({ prefix: "labchat-tty-offer-" });
  const term = await openTerminal(t.port, "--user", "hans", "--downloads", `${files}/in`);
  try {
    await term.waitFor((s) => promptLine(s) === "Password:", "the password prompt");
    await term.type("hans-secret");
    await term.keys("Enter");
    await term.waitFor((s) => promptLine(s) === "labchat>", "the prompt");
    await term.type("BROADCAST half typed");
    await Deno.writeTextFile(`${files}/notes.txt`, "iperf figures\n");
    const sender = runClientScript(
      ["127.0.0.1", String(t.port), "--user", "yoda", "--exec", `SENDFILE hans ${files}/notes.txt`],
      [],
      { NO_COLOR: "1", LABCHAT_PASSWORD: "yoda-secret" },
    );
    await term.waitFor(
      (s) => promptLine(s) === "yoda wants to send you notes.txt (14 B). Accept? [y/N]",
      "the question",
    );
    await term.type("y");
    await term.keys("Enter");
    const sent = await sender;
    assertEquals(sent.code, 0, sent.lines.join("\n"));
    assertMatch(
      sent.stdout.join("\n"),
      /Waiting for hans to accept notes\.txt…\nnotes\.txt has uploaded/,
    );
    await term.waitFor(
      (s) =>
        s.includes("Received notes.txt from yoda") &&
        promptLine(s) === "labchat> BROADCAST half typed",
      "the file, and the half-typed line back",
    );
    assertEquals(await Deno.readTextFile(`${files}/in/yoda_notes.txt`), "iperf figures\n");
    await term.keys("C-u", "C-d");
  } finally {
    await term.close();
    await Deno.remove(files, { recursive: true });
  }
});
