import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { COMMANDS, helpLines, usageOf } from "../../lib/protocol/commands.ts";
import { ProtocolError } from "../../lib/protocol/protocol_error.ts";
import { parseRequest } from "../../lib/protocol/request.ts";

Deno.test("parseRequest is case-insensitive and keeps the spacing of the rest argument", () => {
  const r = parseRequest("msg hans  hello,   hans ");
  assertEquals(r.command.name, "MSG");
  assertEquals(r.args, ["hans", "hello,   hans"]);
});

Deno.test("parseRequest matches two-word commands before one-word ones", () => {
  assertEquals(parseRequest("ROOM SAY 3 hi there").command.name, "ROOM SAY");
  assertEquals(parseRequest("room say 3 hi there").args, ["3", "hi there"]);
  assertEquals(parseRequest("MOTD").command.name, "MOTD");
  assertEquals(parseRequest("MOTD add Worse is better.").args, ["Worse is better."]);
});

Deno.test("parseRequest gives optional arguments only when present", () => {
  assertEquals(parseRequest("WHOELSE").args, []);
  assertEquals(parseRequest("WHOELSE 10").args, ["10"]);
  assertEquals(parseRequest("HISTORY 2 01 Jun 2022 16:00:00").args, ["2", "01 Jun 2022 16:00:00"]);
});

Deno.test("parseRequest refuses unknown commands with 400 and wrong arity with the usage", () => {
  const unknown = assertThrows(() => parseRequest("FROB x"), ProtocolError);
  assertEquals(unknown.code, 400);
  assertEquals(unknown.message, 'Error. Invalid command "FROB"');
  const usage = assertThrows(() => parseRequest("MSG hans"), ProtocolError);
  assertEquals([usage.code, usage.message], [403, "Usage: MSG <user> <text...>"]);
  const extra = assertThrows(() => parseRequest("WHO yoda hans"), ProtocolError);
  assertEquals(extra.code, 403);
  assertEquals(assertThrows(() => parseRequest("   "), ProtocolError).code, 400);
});

Deno.test("every command has a usage, a summary and an example that parses", () => {
  for (const command of COMMANDS) {
    assertEquals(parseRequest(command.example).command.name, command.name, command.example);
    assertEquals(usageOf(command).startsWith(command.name), true);
  }
  assertEquals(helpLines("room")?.length, 9);
  assertEquals(helpLines("nope"), undefined);
});

Deno.test("the client's help speaks of what users do, not of wire details", () => {
  const client = (helpLines(undefined, "client") ?? []).join("\n");
  for (const wire of [/\b350\b/, /\b201\b/, /\b4\d\d\b/, /^PEER /m, /^USER /m, /^UDP /m, /token/]) {
    assert(!wire.test(client), `${wire} in the client's help`);
  }
  // IRC users through the service nick: nothing their client does, no byte streams, no UDP.
  const irc = (helpLines(undefined, "irc") ?? []).join("\n");
  for (
    const notForIrc of [/\b350\b/, /^UPLOAD /m, /^SENDFILE /m, /^PEER /m, /^LOGIN /m, /^QUIT /m]
  ) {
    assert(!notForIrc.test(irc), `${notForIrc} in the IRC help`);
  }
  assertMatch(irc, /^THREAD LIST +The forum's threads/m);
  assertEquals(
    helpLines("thread read", "irc")?.[0],
    "Usage: /msg labchat THREAD READ <thread> [before N...]",
  );
  assertMatch(client, /^UPLOAD <thread> <file> +Attach a local file to a thread/m);
  const server = (helpLines() ?? []).join("\n");
  assertMatch(server, /^PEER <user> <file\|private>/m);
  assertMatch(server, /350, then exactly size raw bytes/);
});
