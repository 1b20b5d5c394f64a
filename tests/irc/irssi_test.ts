/**
 * A real IRC client: irssi (Debian's package) in a terminal driven through tmux, talking with a
 * user of the line protocol (what chat-client speaks) and a user of the web client's WebSocket.
 */
import { assertEquals } from "@std/assert";
import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { WebSocketTransport } from "../../lib/client/websocket_transport.ts";
import { hasTmux, openTmux } from "../../testing/tmux_terminal.ts";
import { expectReply, quit, registered } from "../helpers.ts";
import { startWebServer } from "../web/web_helpers.ts";

async function hasIrssi(): Promise<boolean> {
  try {
    return (await new Deno.Command("irssi", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * The irssi lines README.md gives (its ```irssi blocks), for this server and account: the test
 * types exactly what a newcomer would copy.
 */
async function readmeIrssiBlocks(port: number, name: string, password: string) {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  return [...readme.matchAll(/```irssi\n([\s\S]*?)```/g)].map((block) =>
    block[1].trim().split("\n").map((line) =>
      line.replaceAll("SERVER", "127.0.0.1").replaceAll("6667", String(port))
        .replaceAll("YOUR-PASSWORD", password).replaceAll("YOUR-NAME", name)
    )
  );
}

/** Removes irssi's home: irssi, told to quit or hung up on, may write its files a moment more. */
async function removeWhenIdle(home: string): Promise<void> {
  for (let tries = 0; tries < 20; tries++) {
    try {
      return await Deno.remove(home, { recursive: true });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await Deno.remove(home, { recursive: true });
}

const ready = await hasTmux() && await hasIrssi();
if (!ready) console.warn("irssi or tmux is not installed: the irssi test is skipped");

Deno.test({
  name:
    "irssi, with README's lines, logs in by password or SASL, joins #lab, and talks with TCP and web users",
  ignore: !ready,
  async fn() {
    await using server = await startWebServer({ irc: true, ircPort: 0 });
    const ircPort = server.server.ircAddr?.port as number;
    const tcp = await registered(server.port, "hans");
    const web = new ChatConnection(
      await WebSocketTransport.open(`${server.web.replace("http", "ws")}/ws`),
    );
    await expectReply(web, "REGISTER leia leia-secret", 200);
    // yoda's account exists; irssi logs in to it with PASS.
    const setup = await registered(server.port, "yoda");
    await quit(setup);
    const home = await Deno.makeTempDir({ prefix: "labchat-irssi-" });
    const [withPassword, withSasl] = await readmeIrssiBlocks(ircPort, "yoda", "yoda-secret");
    assertEquals(withPassword.length, 1, "README gives irssi's /connect line");
    assertEquals(withSasl.length, 3, "README gives irssi's SASL lines");
    // irssi with no server: the README's line connects it.
    const term = await openTmux(`irssi --home=${home} -n someone; sleep 30`, home, 160, 30);
    try {
      await term.waitFor((s) => s.includes("[(status)]"), "irssi's status window", 15_000);
      await term.type(withPassword[0]);
      await term.keys("Enter");
      await tcp.waitForEvent((e) => e.type === "login" && e.user === "yoda", 15_000);
      await term.waitFor((s) => s.includes("End of /MOTD"), "the welcome", 15_000);
      // irssi's window 2 is #lab: a broadcast from the TCP user shows with its number.
      await term.keys("M-2");
      await term.waitFor((s) => s.includes("[#lab"), "the #lab window");
      await expectReply(tcp, "BROADCAST hello irssi", 200);
      await term.waitFor((s) => s.includes("[#1] hello irssi"), "the broadcast");
      // irssi says something in #lab: both other users get the broadcast.
      await term.type("greetings from irssi");
      await term.keys("Enter");
      for (const chat of [tcp, web]) {
        const event = await chat.waitForEvent((e) => e.type === "broadcast" && e.from === "yoda");
        assertEquals(event, {
          type: "broadcast",
          from: "yoda",
          number: 2,
          text: "greetings from irssi",
        });
      }
      // Private messages both ways with the web user.
      await term.type("/msg leia hi leia, from irssi");
      await term.keys("Enter");
      const privateEvent = await web.waitForEvent((e) => e.type === "private");
      assertEquals(privateEvent, { type: "private", from: "yoda", text: "hi leia, from irssi" });
      await expectReply(web, "MSG yoda hello yoda, from the web", 200);
      await term.type("/window goto leia");
      await term.keys("Enter");
      await term.waitFor((s) => s.includes("hello yoda, from the web"), "the private message");
      // And with the TCP user.
      await expectReply(tcp, "MSG yoda and from chat-client", 200);
      await term.type("/window goto hans");
      await term.keys("Enter");
      await term.waitFor((s) => s.includes("and from chat-client"), "the TCP user's message");
      await term.type("/quit");
      await term.keys("Enter");
      await tcp.waitForEvent((e) => e.type === "logout" && e.user === "yoda");
    } finally {
      await term.close();
    }
    // The SASL recipe, line by line as README gives it.
    const sasl = await openTmux(`irssi --home=${home} -n someone; sleep 30`, home, 160, 30);
    try {
      await sasl.waitFor((s) => s.includes("[(status)]"), "irssi's status window", 15_000);
      for (const line of withSasl) {
        await sasl.type(line);
        await sasl.keys("Enter");
      }
      await tcp.waitForEvent((e) => e.type === "login" && e.user === "yoda", 15_000);
      await sasl.waitFor((s) => s.includes("SASL authentication succeeded"), "SASL's success");
      await sasl.waitFor((s) => s.includes("End of /MOTD"), "the welcome");
      await sasl.type("/msg hans logged in with SASL");
      await sasl.keys("Enter");
      const got = await tcp.waitForEvent((e) => e.type === "private");
      assertEquals(got, { type: "private", from: "yoda", text: "logged in with SASL" });
      await sasl.type("/quit");
      await sasl.keys("Enter");
      await tcp.waitForEvent((e) => e.type === "logout" && e.user === "yoda");
    } finally {
      await sasl.close();
      await quit(tcp);
      await quit(web);
      await removeWhenIdle(home);
    }
  },
});
