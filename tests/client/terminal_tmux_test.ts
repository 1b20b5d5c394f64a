/**
 * The client in a real terminal, driven through tmux: what a person sees.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { dataDirWith, expectReply, quit, registered, startTestServer } from "../helpers.ts";
import { openTmux, type TmuxTerminal } from "../../testing/tmux_terminal.ts";
import { spawnServer } from "../../testing/server_process.ts";

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
  await using t = await startTestServer();
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
    await term.type("yoda-pw");
    await term.keys("Enter");
    await term.waitFor((s) => s.includes("Welcome to labchat, yoda!"), "the welcome");
    await term.type("PASSWD yoda-pw newer-pw");
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
    await term.type("newer-pw");
    await term.keys("Enter");
    const screen = await term.waitFor(
      (s) => s.split("Welcome to labchat, yoda!").length === 3,
      "the second welcome",
    );
    assertMatch(screen, /Username: yoda\nPassword: \*{8}\nWelcome to labchat, yoda!/);
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
