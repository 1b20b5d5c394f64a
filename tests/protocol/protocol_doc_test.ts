import { assert, assertStringIncludes } from "@std/assert";
import { Event, Reply } from "../../lib/protocol/codes.ts";
import { renderCommandReference } from "../../scripts/protocol_doc.ts";

const doc = await Deno.readTextFile(new URL("../../docs/PROTOCOL.md", import.meta.url));

/** `deno fmt` pads table cells; compare tables with padding removed. */
const normalize = (text: string): string =>
  text.split("\n").filter((l) => l.trim() !== "").map((l) =>
    l.replace(/ +\|/g, " |").replace(/\| +/g, "| ").replace(/-{3,}/g, "---").trim()
  ).join("\n");

Deno.test("docs/PROTOCOL.md has the command reference of the current command table", () => {
  assert(
    normalize(doc).includes(normalize(renderCommandReference())),
    "run `deno task docs` to regenerate it",
  );
});

Deno.test("docs/PROTOCOL.md documents every reply and event code", () => {
  const normalized = normalize(doc);
  for (const code of [...Object.values(Reply), ...Object.values(Event)]) {
    assertStringIncludes(normalized, `| ${code} |`);
  }
});
