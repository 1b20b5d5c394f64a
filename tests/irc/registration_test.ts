import { assert, assertEquals, assertMatch } from "@std/assert";
import { IrcTestClient } from "../../testing/irc_client.ts";
import { dataDirWith, expectReply, quit, registered } from "../helpers.ts";
import { ircUser, startIrcServer } from "./irc_helpers.ts";

Deno.test("IRC: a nick without a password joins as a guest, with the whole welcome burst", async () => {
  await using server = await startIrcServer();
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("NICK yoda", "USER yoda 0 * :Master Yoda");
  const { message: welcome } = await irc.expect("001");
  assertEquals(welcome.params[0], "yoda");
  const burst = await irc.expect("366");
  const commands = burst.before.map((m) => m.command);
  for (const code of ["002", "003", "004", "005", "251", "255"]) {
    assert(commands.includes(code), `missing ${code} in ${commands}`);
  }
  assert(commands.includes("422") || commands.includes("376"));
  const isupport = burst.before.filter((m) => m.command === "005").flatMap((m) => m.params);
  assert(isupport.includes("CASEMAPPING=ascii"));
  assert(isupport.includes("PREFIX=(ov)@+"));
  const join = burst.before.find((m) => m.command === "JOIN");
  assertEquals(join?.params, ["#lab"]);
  assertEquals(join?.source?.split("!")[0], "yoda");
  const names = burst.before.find((m) => m.command === "353");
  assertEquals(names?.params.slice(2), ["#lab", "yoda"]);
});

Deno.test("IRC: lines sent right behind USER are answered in order, each with its own reply", async () => {
  // The welcome reads the MOTD from a file while a JOIN sent with NICK and USER is already
  // being handled: the two replies must not cross.
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-test-" });
  await Deno.writeTextFile(`${dataDir}/motd.txt`, "Lab rules: be kind\n");
  await using server = await startIrcServer({}, dataDir);
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("NICK quick", "USER quick 0 * :Quick", "JOIN #fast", "MOTD", "JOIN #faster");
  const motd = (await irc.expect("376")).before.filter((m) => m.command === "372");
  assertEquals(motd.map((m) => m.params[1]), ["- Lab rules: be kind"]);
  const { before } = await irc.expect("366", (m) => m.params[1] === "#faster");
  const shown = before.filter((m) => ["JOIN", "366", "376", "NOTICE"].includes(m.command))
    .map((m) => m.command === "JOIN" ? `JOIN ${m.params[0]}` : `${m.command} ${m.params[1]}`);
  assertEquals(shown, [
    "JOIN #lab",
    "366 #lab",
    "JOIN #fast",
    "366 #fast",
    "376 End of /MOTD command.",
    "JOIN #faster",
  ]);
  const secondMotd = before.filter((m) => m.command === "372").map((m) => m.params[1]);
  assertEquals(secondMotd, ["- Lab rules: be kind"]);
});

Deno.test("IRC: PING is answered, QUIT ends with ERROR and a close", async () => {
  await using server = await startIrcServer();
  await using irc = await ircUser(server.ircPort, "hans");
  await irc.send("PING :abc 123");
  const { message: pong } = await irc.expect("PONG");
  assertEquals(pong.params, ["labchat", "abc 123"]);
  await irc.send("PING");
  const { message: noOrigin } = await irc.expect("409");
  assertEquals(noOrigin.params[0], "hans");
  await irc.send("QUIT :bye");
  await irc.expect("ERROR");
  assert(await irc.waitClosed());
});

Deno.test("IRC: PASS logs in to an account, a wrong one gets 464 and ERROR", async () => {
  const dataDir = await dataDirWith([
    { name: "obiwan", password: "kenobi99" },
    { name: "quigon", password: "jinn1234" },
  ]);
  await using server = await startIrcServer({}, dataDir);
  await using ok = await IrcTestClient.connect(server.ircPort);
  const welcome = await ok.register("obiwan", "kenobi99");
  assertEquals(welcome.params[0], "obiwan");
  await using bad = await IrcTestClient.connect(server.ircPort);
  await bad.send("PASS wrong", "NICK quigon", "USER q 0 * :Q");
  const { message } = await bad.expect("464");
  assertEquals(message.params[0], "quigon");
  await bad.expect("ERROR");
  assert(await bad.waitClosed());
});

Deno.test("IRC: a guest cannot take an account's nick without its password: a notice says how to log in, then 433", async () => {
  const dataDir = await dataDirWith([{ name: "obiwan", password: "kenobi99" }]);
  await using server = await startIrcServer({}, dataDir);
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("NICK obiwan", "USER o 0 * :O");
  const { message, before } = await irc.expect("433");
  assertEquals(message.params[1], "obiwan");
  // Said first, in a notice a client shows, with the command that logs in.
  const notice = before.find((m) => m.command === "NOTICE");
  assertEquals(
    notice?.params[1],
    `obiwan is a labchat account and needs its password. Reconnect with it: /connect 127.0.0.1 ${server.ircPort} YOUR-PASSWORD obiwan (irssi), or set it as the server password or for SASL in your client`,
  );
  await irc.send("NICK ben");
  const { message: welcome } = await irc.expect("001");
  assertEquals(welcome.params[0], "ben");
});

Deno.test("IRC: SASL PLAIN logs in; a wrong password is 904", async () => {
  const dataDir = await dataDirWith([{ name: "leia", password: "organa77" }]);
  await using server = await startIrcServer({}, dataDir);
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("CAP LS 302", "NICK leia", "USER leia 0 * :Leia");
  const { message: ls } = await irc.expect("CAP");
  assert(ls.params[2].split(" ").includes("sasl=PLAIN"), ls.params[2]);
  await irc.send("CAP REQ :sasl server-time");
  const { message: ack } = await irc.expect("CAP");
  assertEquals(ack.params.slice(1), ["ACK", "sasl server-time"]);
  await irc.send("AUTHENTICATE PLAIN");
  await irc.expect("AUTHENTICATE", (m) => m.params[0] === "+");
  await irc.send(`AUTHENTICATE ${btoa("\0leia\0wrong")}`);
  await irc.expect("904");
  await irc.send("AUTHENTICATE PLAIN");
  await irc.expect("AUTHENTICATE");
  await irc.send(`AUTHENTICATE ${btoa("leia\0leia\0organa77")}`);
  const { message: loggedIn } = await irc.expect("900");
  assertEquals(loggedIn.params[2], "leia");
  await irc.expect("903");
  await irc.send("CAP END");
  const { message: welcome } = await irc.expect("001");
  assertEquals(welcome.params[0], "leia");
});

Deno.test("IRC: commands before registration get 451; a long line gets 417 and the session goes on", async () => {
  await using server = await startIrcServer();
  await using irc = await IrcTestClient.connect(server.ircPort);
  await irc.send("PRIVMSG #lab :hi");
  await irc.expect("451");
  await irc.send("NICK bad[nick]");
  await irc.expect("432");
  await irc.send("USER x 0 * :");
  await irc.expect("461");
  await irc.register("luke");
  await irc.send(`PRIVMSG #lab :${"x".repeat(600)}`);
  await irc.expect("417");
  await irc.send("PING :still");
  await irc.expect("PONG");
  await irc.send("FROBNICATE");
  const { message } = await irc.expect("421");
  assertEquals(message.params.slice(0, 2), ["luke", "FROBNICATE"]);
});

Deno.test("IRC: a busy IRC port stops the start with a message that names it and the way out", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-test-" });
  const error = await startIrcServer({ ircPort: port }, dataDir).then(
    () => undefined,
    (e: unknown) => e,
  );
  await Deno.remove(dataDir, { recursive: true });
  assert(error instanceof Deno.errors.AddrInUse, String(error));
  const message = error instanceof Error ? error.message : "";
  assert(message.includes(`${port}`) && message.includes("--no-irc"), message);
});

Deno.test("IRC: above --irc-lab-limit users, #lab lists operators and yourself, logins are no JOINs, WHO lists everyone", async () => {
  const dataDir = await dataDirWith([{ name: "root", password: "root0001", admin: true }]);
  await using server = await startIrcServer({ ircLabLimit: 3 }, dataDir);
  await using root = await ircUser(server.ircPort, "root", "root0001");
  await using ann = await ircUser(server.ircPort, "ann");
  await using bob = await ircUser(server.ircPort, "bob");
  const { message: joined } = await ann.expect("JOIN");
  assertEquals(joined.source?.split("!")[0], "bob"); // three online: within the limit
  const rootSaw = (await root.drain(200)).filter((m) => m.command === "JOIN");
  assertEquals(rootSaw.map((m) => m.source?.split("!")[0]), ["ann", "bob"]);

  await using cid = await IrcTestClient.connect(server.ircPort);
  await cid.send("NICK cid", "USER cid 0 * :Cid");
  const { message: ops } = await cid.expect("252");
  assertEquals(ops.params[1], "1", "LUSERS counts the operator online");
  const { message: names } = await cid.expect("353");
  assertEquals(names.params[3], "@root cid");
  await cid.expect("366");
  const { message: notice } = await cid.expect("NOTICE");
  assertMatch(notice.params[1], /4 users are online, more than 3: .*WHO #lab lists everyone/);
  for (const other of [root, ann, bob]) {
    const seen = await other.drain(300);
    assertEquals(seen.filter((m) => m.command === "JOIN"), []);
  }

  await ann.send("NAMES #lab");
  const { message: annNames } = await ann.expect("353");
  assertEquals(annNames.params[3], "@root ann");
  await root.send("NAMES #lab");
  const { message: rootNames } = await root.expect("353");
  assertEquals(rootNames.params[3], "@root", "an operator is listed once");
  await ann.send("WHO #lab");
  const { before } = await ann.expect("315");
  const listed = before.filter((m) => m.command === "352").map((m) => m.params[5]).sort();
  assertEquals(listed, ["ann", "bob", "cid", "root"]);
  await ann.send("LIST #lab");
  const { message: row } = await ann.expect("322");
  assertEquals(row.params.slice(1, 3), ["#lab", "4"]);

  // Logouts still reach everyone as QUIT: channels and private queries need them.
  await cid.send("QUIT :bye");
  const { message: quit } = await bob.expect("QUIT");
  assertEquals(quit.source?.split("!")[0], "cid");
});

Deno.test("IRC: the whole welcome (001-005, LUSERS, MOTD, the #lab JOIN and NAMES) comes before the answer to anything sent right after", async () => {
  await using server = await startIrcServer();
  for (const after of ["PING :sync", "USERHOST sync", "MODE sync", "WHO sync", "CAP LS"]) {
    await using irc = await IrcTestClient.connect(server.ircPort);
    await irc.send("NICK sync", "USER sync 0 * :Sync", after);
    const answer = after.startsWith("PING")
      ? "PONG"
      : after.startsWith("USERHOST")
      ? "302"
      : after.startsWith("MODE")
      ? "221"
      : after.startsWith("WHO")
      ? "315"
      : "CAP";
    const { before } = await irc.expect(answer);
    const seen = before.map((m) => m.command);
    for (const part of ["001", "005", "251", "376", "JOIN", "366"]) {
      assert(seen.includes(part), `${part} before the answer to ${after}: ${seen.join(" ")}`);
    }
  }
});

Deno.test("IRC SASL: registration completing mid-AUTHENTICATE aborts SASL (906) and registers; SASL needs CAP REQ; a guest is not 'already authenticated'; long passwords in 400-byte chunks", async () => {
  const long = "correct-horse-battery-staple-".repeat(40).slice(0, 1000);
  const dataDir = await dataDirWith([{ name: "leia", password: long }]);
  await using server = await startIrcServer({}, dataDir);
  // irssi after a SASL timeout: CAP END while AUTHENTICATE is under way.
  await using late = await IrcTestClient.connect(server.ircPort);
  await late.send("CAP LS 302", "CAP REQ :sasl", "NICK visitor", "USER v 0 * :V");
  await late.expect("CAP", (m) => m.params[1] === "ACK");
  await late.send("AUTHENTICATE PLAIN");
  await late.expect("AUTHENTICATE");
  await late.send("CAP END");
  await late.expect("906");
  const { message: welcome } = await late.expect("001");
  assertEquals(welcome.params[0], "visitor");
  // Registered as a guest: SASL now is a failure, not "already authenticated".
  await late.send("AUTHENTICATE PLAIN");
  const { message: after } = await late.expect("904");
  assertMatch(after.params[1], /registered already/);
  // AUTHENTICATE without having asked for sasl.
  await using unasked = await IrcTestClient.connect(server.ircPort);
  await unasked.send("AUTHENTICATE PLAIN");
  const { message: refused } = await unasked.expect("904");
  assertMatch(refused.params[1], /CAP REQ :sasl/);
  // A password manager's long password, sent in 400-byte chunks.
  await using leia = await IrcTestClient.connect(server.ircPort);
  await leia.send("CAP LS 302", "CAP REQ :sasl", "NICK leia", "USER leia 0 * :Leia");
  await leia.expect("CAP", (m) => m.params[1] === "ACK");
  await leia.send("AUTHENTICATE PLAIN");
  await leia.expect("AUTHENTICATE");
  const encoded = btoa(`leia\0leia\0${long}`);
  const chunks = encoded.match(/.{1,400}/g) ?? [];
  assert(chunks.length >= 3);
  for (const chunk of chunks) await leia.send(`AUTHENTICATE ${chunk}`);
  if (chunks.at(-1)?.length === 400) await leia.send("AUTHENTICATE +");
  await leia.expect("903");
  await leia.send("CAP END");
  assertEquals((await leia.expect("001")).message.params[0], "leia");
});

Deno.test("a guest changes nick: it hears its NICK, those who were shown it hear the same, its channel place goes with it; taken names and accounts get 433, an account's nick stays (447)", async () => {
  await using server = await startIrcServer();
  const hans = await registered(server.port, "hans");
  await expectReply(hans, "LOGOUT", 200); // an account that is not online
  const tcp = await registered(server.port, "tcpwatch");
  await using visitor = await ircUser(server.ircPort, "visitor");
  await using watcher = await ircUser(server.ircPort, "watcher");
  await visitor.send("JOIN #networks");
  await visitor.expect("366");
  await watcher.send("JOIN #networks");
  await watcher.expect("366");
  await visitor.expect("JOIN", (m) => m.source?.startsWith("watcher!") === true);

  await visitor.send("NICK visitor2");
  const { message: own } = await visitor.expect("NICK");
  assertEquals([own.source, own.params], ["visitor!visitor@127.0.0.1", ["visitor2"]]);
  const { message: seen } = await watcher.expect("NICK");
  assertEquals([seen.source, seen.params], ["visitor!visitor@127.0.0.1", ["visitor2"]]);
  assertEquals(
    await tcp.waitForEvent((e) => e.type === "nick"),
    { type: "nick", user: "visitor", name: "visitor2" },
  );
  // The channel's operator is still its operator, under the new name.
  await watcher.send("NAMES #networks");
  const { message: names } = await watcher.expect("353");
  assertEquals(names.params[3].split(" ").sort(), ["@visitor2", "watcher"]);
  await watcher.send("PRIVMSG visitor2 :found you");
  const { message: found } = await visitor.expect("PRIVMSG");
  assertEquals(found.params, ["visitor2", "found you"]);
  await watcher.send("PRIVMSG visitor :still there?");
  await watcher.expect("401");
  await visitor.send("PRIVMSG #networks :said under the new name");
  const { message: said } = await watcher.expect("PRIVMSG");
  assertEquals(said.source?.split("!")[0], "visitor2");

  // Names someone has, or accounts, are not to be had; the guest keeps its name.
  await visitor.send("NICK watcher");
  const { message: taken } = await visitor.expect("433");
  assertEquals(taken.params[1], "watcher");
  await visitor.send("NICK hans");
  await visitor.expect("433");
  await visitor.send("NICK bad[nick]");
  await visitor.expect("432");
  await visitor.send("NICK LabChat"); // the service's nick is nobody's
  await visitor.expect("432");
  await visitor.send("WHOIS visitor2");
  await visitor.expect("311");
  assertEquals(await tcp.request("WHO visitor").then((r) => r.code), 420);

  // An account's nick is its name: it stays.
  await using acct = await ircUser(server.ircPort, "hans", "hans-secret");
  await acct.send("NICK hans2");
  const { message: fixed } = await acct.expect("447");
  assertMatch(fixed.params.at(-1) ?? "", /an account's name is fixed/);
  await quit(tcp);
});
