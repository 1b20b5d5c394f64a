import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { nameOfNick, nickOf } from "../../lib/protocol/nicks.ts";
import { usernameProblem } from "../../lib/protocol/names.ts";

Deno.test("IRC nicks: plain names are their own nick; the others are escaped, and every nick gives its name back", () => {
  assertEquals(nickOf("ann_b-2"), "ann_b-2");
  assertEquals(nickOf("2ann"), "\\32ann");
  assertEquals(nickOf("-x"), "\\2dx");
  assertEquals(nickOf("a.b!c"), "a\\2eb\\21c");
  const names = fc.stringMatching(/^[A-Za-z0-9_.!@#$%?-]{1,16}$/).filter((name) =>
    usernameProblem(name) === undefined
  );
  fc.assert(fc.property(names, (name) => {
    const nick = nickOf(name);
    assertEquals(nameOfNick(nick), { name });
    assertEquals(/^[A-Za-z0-9_\\-]+$/.test(nick), true);
  }));
});
