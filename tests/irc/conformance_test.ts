import { assert, assertEquals, assertMatch } from "@std/assert";
import { IrcTestClient } from "../../testing/irc_client.ts";
import { makeCertificates } from "../tls_helpers.ts";
import { quit, registered } from "../helpers.ts";
import { ircUser, startIrcServer } from "./irc_helpers.ts";

Deno.test("IRC: CAP LIST, NAK for unknown capabilities, LS without 302 has no values", async () => {
  await using server = await startIrcServer();
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("CAP LIST");
  const { message: empty } = await irc.expect("CAP");
  assertEquals(empty.params, ["*", "LIST", ""]);
  await irc.send("CAP LS");
  const { message: ls } = await irc.expect("CAP");
  assert(!ls.params[2].includes("="), ls.params[2]);
  await irc.send("CAP REQ :server-time no-such-cap");
  const { message: nak } = await irc.expect("CAP");
  assertEquals(nak.params.slice(1), ["NAK", "server-time no-such-cap"]);
  await irc.send("CAP");
  const { message: bare } = await irc.expect("461");
  assertEquals(bare.params.slice(1), ["CAP", "Not enough parameters"]);
  await irc.send("CAP FOO");
  const { message: unknown } = await irc.expect("410");
  assertEquals(unknown.params.slice(1, 2), ["FOO"]);
  await irc.send("NICK poe", "USER poe 0 * :Poe");
  // Registration waits for CAP END.
  assertEquals(await irc.drain(200), []);
  await irc.send("CAP END");
  await irc.expect("001");
});

Deno.test("IRC: INVITE, LIST, NAMES, TOPIC query and the errors of each", async () => {
  await using server = await startIrcServer();
  await using op = await ircUser(server.ircPort, "mace");
  await using other = await ircUser(server.ircPort, "windu");
  await op.send("JOIN #council", "MODE #council +i");
  await op.expect("MODE");
  await other.send("JOIN #council");
  const { message: inviteOnly } = await other.expect("473");
  assertEquals(inviteOnly.params.slice(1, 2), ["#council"]);
  await op.send("INVITE windu #council");
  const { message: inviting } = await op.expect("341");
  assertEquals(inviting.params.slice(1), ["windu", "#council"]);
  const { message: invited } = await other.expect("INVITE");
  assertEquals(invited.params, ["windu", "#council"]);
  await other.send("JOIN #council");
  await other.expect("366");
  await op.send("INVITE windu #council");
  await op.expect("443");
  await op.send("INVITE nobody #council");
  await op.expect("401");
  await op.send("TOPIC #council");
  await op.expect("331");
  await op.send("LIST");
  const { before } = await op.expect("323");
  const listed = before.filter((m) => m.command === "322").map((m) => [m.params[1], m.params[2]]);
  assertEquals(listed, [["#lab", "2"], ["#council", "2"]]);
  await op.send("NAMES #council");
  const { message: names } = await op.expect("353");
  assertEquals(names.params[3].split(" ").sort(), ["@mace", "windu"]);
  await op.send("JOIN #senate", "MODE #senate +v windu");
  await op.expect("366", (m) => m.params[1] === "#senate");
  const { message: notIn } = await op.expect("441");
  assertEquals(notIn.params.slice(1, 3), ["windu", "#senate"]);
  await op.send("JOIN");
  await op.expect("461");
  await op.send("NICK windu");
  await op.expect("433"); // someone has it
  await op.send("OPER admin secret");
  await op.expect("491");
});

Deno.test("IRC: bad bytes get an answer and the session goes on; escapes never reach others", async () => {
  await using server = await startIrcServer();
  await using a = await ircUser(server.ircPort, "ahsoka");
  await using b = await ircUser(server.ircPort, "rex");
  await a.sendBytes(new Uint8Array([0x50, 0x52, 0x49, 0xff, 0xfe, 0x0d, 0x0a]));
  const { message: fail } = await a.expect("FAIL");
  assertEquals(fail.params.slice(0, 2), ["*", "INVALID_UTF8"]);
  await a.send("PRIVMSG rex :\x1b]0;pwned\x07\x1b[2Jhello \x02bold\x02 \x01ACTION waves\x01");
  const { message } = await b.expect("PRIVMSG");
  assertEquals(message.params[1], "]0;pwned[2Jhello \x02bold\x02 \x01ACTION waves\x01");
  await a.send("AWAY :\x1b[31mred");
  await a.expect("306");
  await b.send("WHOIS ahsoka");
  const { message: away } = await b.expect("301");
  assertMatch(away.params[2], /^\[31mred$/);
  await a.send("PING :ok");
  await a.expect("PONG");
});

Deno.test("IRC over TLS with the server's certificate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-irc-tls-" });
  try {
    const certs = await makeCertificates(dir);
    await using server = await startIrcServer({ tlsCert: certs.cert, tlsKey: certs.key });
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: server.ircPort,
      caCerts: [certs.ca],
    });
    try {
      await conn.write(new TextEncoder().encode("NICK tls\r\nUSER tls 0 * :TLS\r\n"));
      const buffer = new Uint8Array(4096);
      let text = "";
      while (!text.includes(" 001 ")) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      assertMatch(text, /:labchat 001 tls :Welcome/);
    } finally {
      conn.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("IRC: a PRIVMSG to more than MAXTARGETS reaches the first four; the rest get 407 by name", async () => {
  await using server = await startIrcServer();
  await using a = await ircUser(server.ircPort, "obiwan");
  await using b = await ircUser(server.ircPort, "cody");
  await a.send("PRIVMSG cody,nobody1,nobody2,nobody3,cody2,cody3 :hello");
  const { message } = await b.expect("PRIVMSG");
  assertEquals(message.params, ["cody", "hello"]);
  const { before, message: last } = await a.expect("407", (m) => m.params[1] === "cody3");
  const refused = [...before, last].filter((m) => m.command === "407").map((m) => m.params[1]);
  assertEquals(refused, ["cody2", "cody3"]);
  const missing = before.filter((m) => m.command === "401").map((m) => m.params[1]);
  assertEquals(missing, ["nobody1", "nobody2", "nobody3"]);
  // A NOTICE is never answered, over the limit or not.
  await a.send("NOTICE cody,x1,x2,x3,x4 :quiet", "PING :done");
  const { before: quiet } = await a.expect("PONG");
  assertEquals(quiet.filter((m) => m.command === "407"), []);
});

Deno.test("IRC: MOTD, TIME, VERSION and LUSERS answer for this server only; any other is 402", async () => {
  await using server = await startIrcServer();
  await using irc = await ircUser(server.ircPort, "cody");
  await irc.send("MOTD elsewhere.example");
  assertEquals((await irc.expect("402")).message.params.slice(1), [
    "elsewhere.example",
    "No such server",
  ]);
  await irc.send("TIME lab*", "VERSION cody", "LUSERS * nowhere", "MOTD labchat");
  await irc.expect("391");
  await irc.expect("351");
  assertEquals((await irc.expect("402")).message.params[1], "nowhere");
  await irc.expect("376");
});

Deno.test("IRC: a PRIVMSG to yourself comes back once, as on other IRC servers; NOTICE too", async () => {
  await using server = await startIrcServer();
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("CAP REQ :echo-message", "CAP END");
  await irc.register("rex");
  await irc.drain(50);
  await irc.send("PRIVMSG Rex :note to self", "NOTICE rex :and a notice", "PING :end");
  const { before } = await irc.expect("PONG");
  const shown = before.map((m) => `${m.source?.split("!")[0]} ${m.command} ${m.params.join(" ")}`);
  assertEquals(shown, ["rex PRIVMSG rex note to self", "rex NOTICE rex and a notice"]);
});

Deno.test("IRC: WHO #Chan names the channel as it is spelled; LUSERS counts unknown connections and keeps maxima; WHOWAS has the last session's fields; NICK of another case is a no-op said so", async () => {
  await using server = await startIrcServer();
  await using alice = await IrcTestClient.connect(server.ircPort);
  await alice.send("USER ali 0 * :Alice Liddell", "NICK alice");
  await alice.expect("001");
  await alice.send("JOIN #networks");
  await alice.expect("366");
  await alice.send("WHO #NETWORKS");
  const { message: row } = await alice.expect("352");
  assertEquals(row.params[1], "#networks");
  // An unregistered connection, and a peak that outlives its users.
  await using lurker = await IrcTestClient.connect(server.ircPort);
  await lurker.send("NICK lurker");
  const bob = await IrcTestClient.connect(server.ircPort);
  await bob.register("bob");
  await bob.send("QUIT :bye");
  await bob.waitClosed();
  await bob.close();
  await alice.drain(100);
  await alice.send("LUSERS");
  const { message: unknown } = await alice.expect("253");
  assertEquals(unknown.params[1], "1");
  const { message: local } = await alice.expect("265");
  assertEquals(local.params.slice(1, 3), ["1", "2"]);
  const { message: global } = await alice.expect("266");
  assertEquals(global.params.slice(1, 3), ["1", "2"]);
  // An account's last session, as WHOWAS gives it: nick, username, host, *, real name.
  const tcp = await registered(server.port, "carol");
  await quit(tcp);
  await alice.send("WHOWAS carol");
  const { message: was } = await alice.expect("314");
  assertEquals(was.params.slice(1), ["carol", "carol", "127.0.0.1", "*", "carol"]);
  await alice.expect("369");
  // A change of case only: the same name; the client is told, nothing else changes.
  await alice.send("NICK Alice");
  const { message: nick } = await alice.expect("NICK");
  assertEquals([nick.source?.split("!")[0], nick.params[0]], ["alice", "Alice"]);
  // A guest may take another name (accounts may not: see registration_test.ts).
  await alice.send("NICK someoneelse");
  const { message: renamed } = await alice.expect("NICK");
  assertEquals([renamed.source?.split("!")[0], renamed.params[0]], ["Alice", "someoneelse"]);
});
