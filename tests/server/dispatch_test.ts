import { assertEquals } from "@std/assert";
import { COMMANDS } from "../../lib/protocol/commands.ts";
import { HANDLERS } from "../../lib/server/dispatch.ts";

Deno.test("every command in the table has a handler and every handler a command", () => {
  const commands = COMMANDS.filter((c) => !c.clientOnly).map((c) => c.name).sort();
  assertEquals(Object.keys(HANDLERS).sort(), commands);
});
