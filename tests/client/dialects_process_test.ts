import { assert, assertEquals, assertMatch } from "@std/assert";
import { dataDirWith, quit, registered, startTestServer } from "../helpers.ts";
import { runClientScript, spawnClient } from "../client_helpers.ts";

/**
 * The seeds' sessions, as their reports show them, use passwords like "a": shorter than labchat
 * lets people choose by default, and what --min-password-length 1 allows an operator to keep.
 */
const SEED_RULES = { minPasswordLength: 1 } as const;

const NO_COLOR = { NO_COLOR: "1" };

/** A UDP port nobody uses right now (the client binds it again, a moment later). */
function freeUdpPort(): number {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

Deno.test("toom dialect: the seed's session of BCM, ATU, SRB, SRM, RDM and OUT", async () => {
  await using t = await startTestServer(SEED_RULES);
  await quit(await registered(t.port, "obiwan"));
  const [yodaUdp, obiwanUdp] = [freeUdpPort(), freeUdpPort()];
  const toom = (udp: number) =>
    spawnClient(
      ["127.0.0.1", String(t.port), "--dialect", "toom", "--udp-port", String(udp)],
      NO_COLOR,
    );
  await using yoda = toom(yodaUdp);
  await yoda.write("yoda", "wise@!man", "wise@!man");
  await yoda.waitFor(/^Welcome to Toom!$/);
  await yoda.write("ATU");
  await yoda.waitFor(/^no other active user$/);
  await using obiwan = toom(obiwanUdp);
  await obiwan.write("obiwan", "obiwan-secret");
  await obiwan.waitFor(/^Welcome to Toom!$/);
  await yoda.waitFor(/^obiwan logged in$/);
  await yoda.write("BCM Morning");
  await yoda.waitFor(/^Broadcast message, #1 broadcast at \d\d \w{3} \d{4} [\d:]{8}\.$/);
  await obiwan.waitFor(/^#1 yoda: Morning$/);
  const mark = obiwan.stdout.length;
  await obiwan.write("ATU");
  const atu = await obiwan.waitFor(
    new RegExp(`^yoda, 127\\.0\\.0\\.1, ${yodaUdp}, active since \\d\\d \\w{3} \\d{4} [\\d:]{8}$`),
  );
  // Only the others, as toom lists them: no line for obiwan, no count.
  await obiwan.write("BCM after");
  await obiwan.waitFor(/^Broadcast message, #2 /);
  const shown = obiwan.stdout.slice(mark, obiwan.stdout.indexOf(atu) + 1);
  assertEquals(shown.filter((l) => /active since|users? online/.test(l)), [atu]);
  await yoda.write("SRB obiwan");
  await yoda.waitFor(
    /^Separate chat room has been created, room ID: 1, users in this room: obiwan,yoda$/,
  );
  await obiwan.write("SRB yoda");
  await obiwan.waitFor(/^a separate room \(ID: 1\) already created for these users$/);
  await yoda.write("SRM 1 hi");
  await obiwan.waitFor(/^room 1 yoda: hi$/);
  await obiwan.write("RDM s 1 Jun 2022 16:00:00");
  await obiwan.waitFor(/^room 1: 1; \d\d \w{3} \d{4} [\d:]{8}; yoda; hi$/);
  await obiwan.write("RDM b");
  await obiwan.waitFor(/^1; .*; yoda; Morning$/);
  await yoda.write("OUT");
  await yoda.waitFor(/^Bye, yoda!$/);
  assertEquals(await yoda.exitCode, 0, yoda.lines.join("\n"));
  assertEquals(yoda.lines.includes("Goodbye"), false, "toom's OUT says Bye, and no more");
  await obiwan.waitFor(/^yoda logged out$/);
  await obiwan.write("BCM Hel lo", "OUT");
  assertEquals(
    await obiwan.exitCode,
    1,
    "a piped session with a refused command (SRB yoda) exits 1",
  );
});

Deno.test("messenger dialect: message, block, unblock, whoelse, whoelsesince and the error texts", async () => {
  await using t = await startTestServer(SEED_RULES);
  await using yoda = spawnClient(["127.0.0.1", String(t.port), "--dialect", "messenger"], NO_COLOR);
  await yoda.write("yoda", "wise", "wise");
  await yoda.waitFor(/^Welcome to the greatest messaging application ever!$/);
  await using hans = spawnClient(["127.0.0.1", String(t.port), "--dialect", "messenger"], NO_COLOR);
  await hans.write("hans", "falcon", "falcon");
  await yoda.waitFor(/^hans logged in$/);
  await hans.write("message yoda hello, yoda");
  await yoda.waitFor(/^hans: hello, yoda$/);
  await hans.write("block yoda");
  await hans.waitFor(/^yoda has been blocked$/);
  await yoda.write("message hans hello, hans");
  await yoda.waitFor(/^Your message could not be delivered as the recipient has blocked you$/);
  await yoda.write("broadcast hi");
  await yoda.waitFor(/Your message could not be delivered to some recipients$/);
  await hans.write("unblock yoda");
  await hans.waitFor(/^Has unblocked yoda$/);
  await yoda.write("message hans hello, hans");
  await hans.waitFor(/^yoda: hello, hans$/);
  await hans.write("whoelse");
  await hans.waitFor(/^yoda$/);
  await yoda.write(
    "message yoda",
    "message yoda hello",
    "message bbb hello",
    "block yoda",
    "block bbb",
    "unlock yoda",
    "unlock hans",
    "unlock bbb",
  );
  await yoda.waitFor(/^Error\. Cannot find this user$/);
  assertEquals(yoda.stderr.slice(-8), [
    "Error. Invalid command. Usage: message <user> <message...>",
    "The receiver can not be yourself.",
    "either the user does not exist or is not logged in",
    "Error. Cannot block self",
    "Error. Cannot find the person",
    "Error. Cannot unblock self",
    "Error. This user was not already blocked",
    "Error. Cannot find this user",
  ]);
  await yoda.write("logout");
  assertEquals(await yoda.exitCode, 1, "the session had failed commands");
  await hans.waitFor(/^yoda logged out$/);
  await hans.write("whoelsesince 100");
  await hans.waitFor(/^yoda$/);
  await hans.write("logout");
  assertEquals(await hans.exitCode, 0);
});

Deno.test("chatroom dialect: BM and PM prompt for what is missing; CH shows history; EX exits", async () => {
  await using t = await startTestServer(SEED_RULES);
  const jerry = await registered(t.port, "Jerry");
  await using jack = spawnClient(["127.0.0.1", String(t.port), "--dialect", "chatroom"], NO_COLOR);
  await jack.write("Jack", "pw", "pw");
  await jack.waitFor(/^Welcome to labchat, Jack!$/);
  await jack.write("BM", "hello everyone");
  await jack.waitFor(/^Broadcast message, #1 broadcast at/);
  await jerry.waitForEvent((e) => e.type === "broadcast" && e.text === "hello everyone");
  await jack.write("PM");
  await jack.waitFor(/^Jerry, 127\.0\.0\.1, -, active since /); // the list of online users first
  await jack.write("Jerry", "just for you");
  await jack.waitFor(/^Message sent to Jerry$/);
  const pm = await jerry.waitForEvent((e) => e.type === "private");
  assertEquals(pm, { type: "private", from: "Jack", text: "just for you" });
  await jack.write("CH");
  await jack.waitFor(/^1 private message$/);
  assertMatch(
    jack.stdout.join("\n"),
    /1; .*; Jack; hello everyone\n1 broadcast\n\d+; .*; Jack -> Jerry; just for you/,
  );
  await jack.write("EX");
  assertEquals(await jack.exitCode, 0);
  await quit(jerry);
});

Deno.test("yamotd dialect: MSGGET, MSGSTORE, WHO, LOGIN, SEND and SHUTDOWN as in the seed", async () => {
  const dataDir = await dataDirWith([
    { name: "root", password: "root01", admin: true },
    { name: "john", password: "john01" },
    { name: "david", password: "david01" },
  ]);
  // yamotd's own messages of the day, as its server kept them.
  await Deno.writeTextFile(
    `${dataDir}/motd.txt`,
    "One can never be too rich\ntoo thin\nor have too much bandwidth\nWorse is better.\n",
  );
  await using t = await startTestServer(SEED_RULES, dataDir);
  await using john = spawnClient(["127.0.0.1", String(t.port), "--dialect", "yamotd"], NO_COLOR);
  await john.write("MSGGET");
  await john.waitFor(/^One can never be too rich$/);
  assertEquals(john.stdout.slice(0, 2), ["200 OK", "One can never be too rich"]);
  await john.write("MSGSTORE");
  await john.waitFor(/^401 You are not currently logged in, login first\.$/);
  await john.write("WHO");
  await john.waitFor(/^0 users online$/);
  await john.write("LOGIN", "john", "wrong");
  await john.waitFor(/^410 Wrong UserID or Password$/);
  await john.write("LOGIN", "john", "john01");
  await john.waitFor(/^Welcome to labchat, john!$/);
  let mark = john.lines.length;
  await john.write("MSGSTORE", "MASHALLAH");
  await john.waitFor(/^200 OK$/, 10_000, mark + 1);
  assertEquals(john.lines.slice(mark, mark + 2), ["200 OK", "200 OK"], "asked, then stored");
  // The rotation goes on where it was; the new message joins its end.
  const motd: string[] = [];
  for (let i = 0; i < 5; i++) {
    mark = john.lines.length;
    await john.write("MSGGET");
    motd.push(await john.waitFor(/^(?!200 OK)/, 10_000, mark));
  }
  assertEquals(motd, [
    "too thin",
    "or have too much bandwidth",
    "Worse is better.",
    "MASHALLAH",
    "One can never be too rich",
  ]);
  await using root = spawnClient(["127.0.0.1", String(t.port), "--dialect", "yamotd"], NO_COLOR);
  await root.write("LOGIN root root01");
  await root.waitFor(/^Welcome to labchat, root! \(admin\)$/);
  // SEND answers at once whether the user is there; the next command is not swallowed.
  mark = root.lines.length;
  await root.write("SEND", "david", "WHO");
  await root.waitFor(/^420 either the user does not exist or is not logged in$/, 10_000, mark);
  await root.waitFor(/^2 users online$/, 10_000, mark);
  await root.write("SEND", "john", "HI JOHN");
  await john.waitFor(/^200 OK you have a new message from root$/);
  await john.waitFor(/^HI JOHN$/);
  await john.write("SEND root HELLO ROOT");
  await root.waitFor(/^200 OK you have a new message from john$/);
  await root.waitFor(/^HELLO ROOT$/);
  await john.write("SHUTDOWN");
  await john.waitFor(/^402 User not allowed to execute this command\.$/);
  await root.write("SHUTDOWN");
  for (const client of [root, john]) {
    await client.waitFor(/^210 the server is about to shutdown \.\.\.$/);
    assertEquals(await client.exitCode, 4);
  }
  assertEquals(await t.server.finished, "SHUTDOWN by root");
  assert(root.stdout.includes("200 OK"));
});

Deno.test("forum dialect: CRT, MSG, EDT, DLT, LST, RDT, UPD, DWN, RMV, XIT and SHT as in the seed", async () => {
  await using t = await startTestServer({ ...SEED_RULES, adminPassword: "SHUtdown" });
  const files = await Deno.makeTempDir({ prefix: "labchat-forum-" });
  try {
    await Deno.writeTextFile(`${files}/notes.txt`, "forum notes\n");
    await using mike = spawnClient(["127.0.0.1", String(t.port), "--dialect", "forum"], NO_COLOR);
    await mike.write("mike", "a");
    await mike.write("CRT a", "MSG a hi im mike", "MSG a nice to meet you");
    await mike.waitFor(/^Thread a created$/);
    await using lang = spawnClient(
      ["127.0.0.1", String(t.port), "--dialect", "forum", "--downloads", `${files}/dl`],
      NO_COLOR,
    );
    await lang.write("lang", "a");
    await lang.write("CRT a");
    await lang.waitFor(/^Thread a exists$/);
    await lang.write("MSG a hi", "EDT a 3 hi im lang", "EDT a 1 hello");
    await lang.waitFor(/^The message belongs to another user and cannot be edited$/);
    assertEquals(lang.stdout.filter((l) => l === "Message has been edited").length, 1);
    await lang.write("MSG a nice to meet you", "MSG a nice to meet you", "DLT a 4");
    await lang.waitFor(/^Message has been deleted$/);
    await lang.write("MSG a nice to meet you too", "DLT a 9");
    await lang.waitFor(/^Invalid message number$/);
    await mike.write(`UPD a ${files}/notes.txt`);
    await mike.waitFor(/^mike uploaded file notes\.txt to a thread$/);
    await lang.write("LST", "RDT a", "DWN a notes.txt");
    await lang.waitFor(/^notes\.txt successfully downloaded to /);
    assertEquals(await Deno.readTextFile(`${files}/dl/notes.txt`), "forum notes\n");
    const read = lang.stdout.slice(lang.stdout.indexOf("1 mike: hi im mike"));
    assertEquals(read.slice(0, 7), [
      "1 mike: hi im mike",
      "2 mike: nice to meet you",
      "3 lang: hi im lang",
      "4 lang: nice to meet you",
      "5 lang: nice to meet you too",
      "mike uploaded notes.txt",
      "Thread a: 5 messages, 1 file",
    ]);
    await lang.write("RMV a");
    await lang.waitFor(/^The thread was created by another user and cannot be removed$/);
    await mike.write("RMV a");
    await mike.waitFor(/^The thread has been removed$/);
    await mike.write("XIT");
    await mike.waitFor(/^Goodbye$/);
    assertEquals(await mike.exitCode, 0);
    await lang.write("SHT nope");
    await lang.waitFor(/^Incorrect password$/);
    await lang.write("SHT SHUtdown");
    await lang.waitFor(/^Goodbye\. Server shutting down$/);
    assertEquals(await lang.exitCode, 4);
  } finally {
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("toom UPD sends a file peer to peer: 'has uploaded' and 'Received … from yoda'", async () => {
  await using t = await startTestServer(SEED_RULES);
  const dir = await Deno.makeTempDir({ prefix: "labchat-upd-" });
  try {
    const video = `${dir}/example1.mp4`;
    await Deno.writeFile(video, new Uint8Array(185_695).map((_, i) => i % 251));
    await using obiwan = spawnClient(
      ["127.0.0.1", String(t.port), "--dialect", "toom", "--downloads", `${dir}/obiwan`],
      NO_COLOR,
    );
    await obiwan.write("obiwan", "pw", "pw");
    await obiwan.waitFor(/^Welcome to Toom!$/);
    await using yoda = spawnClient(["127.0.0.1", String(t.port), "--dialect", "toom"], NO_COLOR);
    await yoda.write("yoda", "pw", "pw");
    await yoda.waitFor(/^Welcome to Toom!$/);
    await yoda.write(`UPD obiwan ${video}`);
    await yoda.waitFor(/^example1\.mp4 has uploaded$/);
    await obiwan.waitFor(/^Received example1\.mp4 from yoda$/);
    assertEquals(
      await Deno.readFile(`${dir}/obiwan/yoda_example1.mp4`),
      await Deno.readFile(video),
    );
    await yoda.write(`UPD luke ${video}`, `UPD obiwan ${dir}/missing.mp4`, "OUT");
    assertEquals(await yoda.exitCode, 1);
    assertEquals(yoda.stderr, [
      "either the user does not exist or is not logged in",
      `Cannot read "${dir}/missing.mp4": no such file`,
    ]);
    await obiwan.write("OUT");
    assertEquals(await obiwan.exitCode, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("messenger startprivate, private and stopprivate go peer to peer", async () => {
  await using t = await startTestServer(SEED_RULES);
  await using hans = spawnClient(["127.0.0.1", String(t.port), "--dialect", "messenger"], NO_COLOR);
  await hans.write("hans", "falcon", "falcon");
  await hans.waitFor(/^Welcome to the greatest messaging application ever!$/);
  await using yoda = spawnClient(["127.0.0.1", String(t.port), "--dialect", "messenger"], NO_COLOR);
  await yoda.write("yoda", "wise", "wise");
  await yoda.waitFor(/^Welcome to the greatest messaging application ever!$/);
  await yoda.write("private hans too early");
  await yoda.waitFor(/^Error\. Private messaging to hans not enabled$/);
  await yoda.write("startprivate hans");
  await yoda.waitFor(/^Start private messaging with hans$/);
  await yoda.write("private hans hi, hans", "message hans hi, hans");
  await hans.waitFor(/^yoda \(private\): hi, hans$/);
  await hans.waitFor(/^yoda: hi, hans$/);
  await hans.write("private yoda hi, yoda");
  await yoda.waitFor(/^hans \(private\): hi, yoda$/);
  await yoda.write("private luke hello");
  await yoda.waitFor(/^Error\. Private messaging to luke not enabled$/);
  await yoda.write("stopprivate hans");
  await yoda.waitFor(/^Stopped private messaging with hans$/);
  await hans.waitFor(/^Private messaging with yoda ended: yoda stopped private messaging$/);
  await hans.write("private yoda are you there?");
  await hans.waitFor(/^Error\. Private messaging to yoda not enabled$/);
  const mark = yoda.lines.length;
  await yoda.write("startprivate hans");
  await yoda.waitFor(/^Start private messaging with hans$/, 10_000, mark);
  await hans.write("logout");
  // hans's client says BYE as it leaves; the server's logout notice may come first or second.
  await yoda.waitFor(
    /^Private messaging with hans ended: hans (logged out|stopped private messaging)$/,
    10_000,
    mark,
  );
  await yoda.waitFor(/^hans logged out$/);
  await yoda.write("logout");
  assertEquals(await yoda.exitCode, 1, "there were failed commands");
});

Deno.test("forum dialect: wrong word counts say 'Incorrect syntax', and names like Han!Solo work", async () => {
  await using t = await startTestServer(SEED_RULES);
  await using han = spawnClient(["127.0.0.1", String(t.port), "--dialect", "forum"], NO_COLOR);
  await han.write("Han!Solo", "falcon");
  await han.write("CRT a b", "LST extra", "CRT", "CRT lab#1!", "MSG lab#1! never tell me the odds");
  await han.waitFor(/^Message posted to lab#1! thread$/);
  assertEquals(han.stderr.slice(0, 3), [
    "Incorrect syntax for CRT",
    "Incorrect syntax for LST",
    "Incorrect syntax for CRT",
  ]);
  await han.write("LST", "XIT");
  await han.waitFor(/^lab#1!$/);
  assertEquals(await han.exitCode, 1, "the refused commands count as failures");
  await using again = spawnClient(["127.0.0.1", String(t.port), "--dialect", "forum"], NO_COLOR);
  await again.write("han!solo", "falcon");
  await again.waitFor(/^Welcome to the forum$/);
  await again.write("XIT");
  assertEquals(await again.exitCode, 0);
});

Deno.test("--exec never registers a mistyped --user, unless --register says so", async () => {
  await using t = await startTestServer(SEED_RULES);
  const args = ["127.0.0.1", String(t.port), "--user", "typo", "--exec", "WHO"];
  const refused = await runClientScript(args, [], { NO_COLOR: "1", LABCHAT_PASSWORD: "pw" });
  assertEquals(refused.code, 1);
  assertEquals(refused.stderr, ["There is no account typo (--register creates one)"]);
  const made = await runClientScript([...args, "--register"], [], {
    NO_COLOR: "1",
    LABCHAT_PASSWORD: "pw",
  });
  assertEquals(made.code, 0, made.lines.join("\n"));
  assertEquals(made.stdout[0], "Welcome to labchat, typo!");
});

Deno.test("help in a dialect lists its own words, and no canonical command they hide", async () => {
  await using t = await startTestServer(SEED_RULES);
  const forum = await runClientScript(
    ["127.0.0.1", String(t.port), "--dialect", "forum", "--exec", "help"],
    [],
    { NO_COLOR: "1" },
  );
  assertEquals(forum.code, 0, forum.lines.join("\n"));
  const text = forum.stdout.join("\n");
  assertMatch(text, /^ {2}MSG <thread> <message\.\.\.> +Post a message to a thread/m);
  assert(
    !/^ {2}MSG <user>/m.test(text),
    `the canonical MSG is listed in the forum dialect:\n${text}`,
  );
  assert(!/\b4\d\d\b/.test(text), `a reply code in the help:\n${text}`);
});
