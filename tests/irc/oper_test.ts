/**
 * Operators as IRC knows them: OPER for labchat admins, KILL, WALLOPS with user mode +w, DIE.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { IrcTestClient } from "../../testing/irc_client.ts";
import { dataDirWith, expectReply, loggedIn, quit, registered } from "../helpers.ts";
import { startIrcServer } from "./irc_helpers.ts";

const accounts = [
  { name: "root", password: "root-secret", admin: true },
  { name: "hans", password: "hans-secret" },
  { name: "ops", password: "ops-secret", admin: true },
];

Deno.test("IRC: OPER makes an admin an operator (381, +o); others get 491 or 464", async () => {
  await using server = await startIrcServer({}, await dataDirWith(accounts));
  await using root = await IrcTestClient.connect(server.ircPort);
  await root.register("root", "root-secret");
  await root.drain(50);
  await root.send("OPER root wrong-password");
  await root.expect("464");
  await root.send("OPER root root-secret");
  const { message: mode } = await root.expect("MODE");
  assertEquals(mode.params, ["root", "+o"]);
  await root.expect("381");
  await root.send("MODE root");
  assertEquals((await root.expect("221")).message.params[1], "+io");
  await using hans = await IrcTestClient.connect(server.ircPort);
  await hans.register("hans", "hans-secret");
  await hans.drain(50);
  await hans.send("OPER hans hans-secret");
  await hans.expect("491");
  await hans.send("OPER root root-secret");
  await hans.expect("491");
  // WHOIS and WHO show the admin.
  await hans.send("WHOIS root");
  await hans.expect("313");
  await hans.send("WHO root");
  assertMatch((await hans.expect("352")).message.params[6], /^H\*/);
});

Deno.test("IRC: KILL ends a session with the reason shown to all; WALLOPS reaches admins and +w; DIE stops the server; all refused to others", async () => {
  await using server = await startIrcServer({}, await dataDirWith(accounts));
  await using root = await IrcTestClient.connect(server.ircPort);
  await root.register("root", "root-secret");
  await using hans = await IrcTestClient.connect(server.ircPort);
  await hans.register("hans", "hans-secret");
  await using guest = await IrcTestClient.connect(server.ircPort);
  await guest.register("visitor");
  await Promise.all([root.drain(50), hans.drain(50), guest.drain(50)]);
  // Not an admin: 481 for each.
  for (const line of ["KILL visitor :go", "WALLOPS :hello", "DIE"]) {
    await hans.send(line);
    await hans.expect("481");
  }
  // WALLOPS: to admins, and to those who asked with +w.
  await guest.send("MODE visitor +w");
  assertEquals((await guest.expect("MODE")).message.params, ["visitor", "+w"]);
  await root.send("WALLOPS :the lab reboots at noon");
  const { message: got } = await guest.expect("WALLOPS");
  assertEquals([got.source?.split("!")[0], got.params[0]], ["root", "the lab reboots at noon"]);
  const tcpRoot = await loggedIn(server.port, "ops");
  // KILL: the victim is told why, everyone sees the QUIT with the killer and reason.
  const tcpUser = await registered(server.port, "mallory");
  await root.expect("JOIN", (m) => m.source?.startsWith("mallory!") === true);
  await root.send("KILL mallory :spamming the lab");
  const ended = await tcpUser.waitForEvent((e) => e.type === "disconnect");
  assertEquals(
    ended.type === "disconnect" && ended.text,
    "You were disconnected by root: spamming the lab",
  );
  const { message: quitLine } = await hans.expect(
    "QUIT",
    (m) => m.source?.startsWith("mallory!") === true,
  );
  assertEquals(quitLine.params[0], "Killed (root (spamming the lab))");
  await root.send("KILL nobody :x");
  await root.expect("401");
  // The line protocol has the same commands, for admins.
  await expectReply(tcpRoot, "WALLOPS from the terminal", 200);
  await guest.expect("WALLOPS");
  const hansTcp = await registered(server.port, "carol");
  await expectReply(hansTcp, "KILL visitor", 402);
  await quit(hansTcp);
  await quit(tcpRoot);
  // DIE is SHUTDOWN.
  await root.send("DIE");
  assert(await hans.waitClosed(), "the server stopped");
  assertEquals(await server.server.finished, "SHUTDOWN by root");
});
