import { assertEquals } from "@std/assert";
import {
  DIALECT_NAMES,
  dialectHelp,
  forumWording,
  getDialect,
  type LinePlan,
  planLine,
  requestLine,
  requestsFor,
} from "../../lib/cli/dialects.ts";

/** The request lines a fully typed dialect line turns into. */
function requests(dialect: string, line: string): string[] | LinePlan {
  const plan = planLine(getDialect(dialect as (typeof DIALECT_NAMES)[number]), line);
  if (plan.kind !== "dialect") return plan;
  return requestsFor(plan.command, plan.given).map(requestLine);
}

Deno.test("toom commands map onto the canonical protocol", () => {
  assertEquals(requests("toom", "BCM Hello there"), ["BROADCAST Hello there"]);
  assertEquals(requests("toom", "ATU"), ["WHO"]);
  assertEquals(requests("toom", "SRB obiwan gandalf"), ["ROOM CREATE obiwan gandalf"]);
  assertEquals(requests("toom", "SRM 256 hi"), ["ROOM SAY 256 hi"]);
  assertEquals(requests("toom", "RDM b"), ["HISTORY b"]);
  assertEquals(requests("toom", "RDM b 1 Jun 2022 16:00:00"), ["HISTORY b 1 Jun 2022 16:00:00"]);
  assertEquals(requests("toom", "RDM s 1 Jun 2022 16:00:00"), ["HISTORY s 1 Jun 2022 16:00:00"]);
  assertEquals(requests("toom", "RDM s 3 1 Jun 2022"), ["HISTORY 3 1 Jun 2022"]);
  assertEquals(requests("toom", "OUT"), ["LOGOUT", "QUIT"]);
  assertEquals(requests("toom", "UPD obiwan example1.mp4"), ["SENDFILE obiwan example1.mp4"]);
  assertEquals(requests("toom", "bcm lower case works"), ["BROADCAST lower case works"]);
});

Deno.test("messenger, forum, chatroom and yamotd commands map onto the canonical protocol", () => {
  assertEquals(requests("messenger", "message hans hello, hans"), ["MSG hans hello, hans"]);
  assertEquals(requests("messenger", "whoelsesince 10"), ["WHOELSE 10"]);
  assertEquals(requests("messenger", "unlock yoda"), ["UNBLOCK yoda"]);
  assertEquals(requests("messenger", "startprivate hans"), ["PRIVATE START hans"]);
  assertEquals(requests("messenger", "logout"), ["QUIT"]);
  assertEquals(requests("forum", "MSG a hi im mike"), ["POST a hi im mike"]);
  assertEquals(requests("forum", "EDT a 1 hi im lang"), ["EDIT a 1 hi im lang"]);
  assertEquals(requests("forum", "SHT SHUtdown"), ["SHUTDOWN SHUtdown"]);
  assertEquals(requests("forum", "XIT"), ["QUIT"]);
  assertEquals(requests("chatroom", "CH"), ["HISTORY b", "HISTORY p"]);
  assertEquals(requests("yamotd", "MSGGET"), ["MOTD"]);
  assertEquals(requests("yamotd", "LOGIN root root01"), ["LOGIN root root01"]);
});

Deno.test("missing arguments are prompted for where the system prompted, refused otherwise", () => {
  const send = planLine(getDialect("yamotd"), "SEND");
  assertEquals(send.kind === "dialect" && send.missing.map((a) => a.prompt), [
    "please enter the username:",
    "please enter the secret message:",
  ]);
  const login = planLine(getDialect("yamotd"), "LOGIN root");
  assertEquals(login.kind === "dialect" && login.missing.map((a) => a.secret), [true]);
  assertEquals(planLine(getDialect("toom"), "SRM 3"), {
    kind: "error",
    message: "Error. Invalid command. Usage: SRM <roomID> <message...>",
  });
  assertEquals(planLine(getDialect("toom"), "BCMX hi").kind, "error");
});

Deno.test("canonical commands still work in every dialect", () => {
  for (const name of DIALECT_NAMES) {
    assertEquals(planLine(getDialect(name), "  HISTORY b  "), {
      kind: "canonical",
      line: "HISTORY b",
      exits: false,
    }, name);
  }
  assertEquals(planLine(getDialect("labchat"), "quit"), {
    kind: "canonical",
    line: "quit",
    exits: true,
  });
  assertEquals(planLine(getDialect("labchat"), ""), { kind: "empty" });
});

Deno.test("dialect help lists each command with its canonical meaning", () => {
  assertEquals(dialectHelp(getDialect("toom"), "srm"), [
    "SRM <roomID> <message...>          Message a separate room (ROOM SAY <roomID> <message>)",
  ]);
  assertEquals(dialectHelp(getDialect("toom"), "nope"), undefined);
});

Deno.test("the forum dialect speaks the seed's words for labchat's plain English", () => {
  assertEquals(forumWording("Thread a does not exist"), "Thread a not exists");
  assertEquals(forumWording("Thread a already exists"), "Thread a exists");
  assertEquals(forumWording("x.txt already exists in thread a"), "x.txt already exist in Thread a");
  assertEquals(
    forumWording("File x.txt does not exist in thread a"),
    "File does not exist in Thread a",
  );
  assertEquals(forumWording("Thread a created"), "Thread a created");
});
