import { assertEquals } from "@std/assert";
import { parseKeys } from "../../lib/cli/keys.ts";
import { LineEditor } from "../../lib/cli/line_editor.ts";

function type(editor: LineEditor, input: string) {
  return parseKeys(input).map((k) => editor.feed(k));
}

Deno.test("parseKeys decodes text, arrows, home/end, delete and control keys", () => {
  assertEquals(parseKeys("ab\u001b[D\u001b[3~\u001b[1;5C\u0001\u0005\r\n\t\u0003\u007f"), [
    { name: "text", text: "ab" },
    { name: "left" },
    { name: "delete" },
    { name: "right" },
    { name: "home" },
    { name: "end" },
    { name: "enter" },
    { name: "tab" },
    { name: "ctrl-c" },
    { name: "backspace" },
  ]);
});

Deno.test("LineEditor edits in the middle of the line and submits", () => {
  const editor = new LineEditor();
  editor.start();
  type(editor, "MSG hans hi");
  type(editor, "\u001b[D\u001b[D");
  type(editor, "oh ");
  assertEquals(editor.view(), { text: "MSG hans oh hi", cursor: 12 });
  type(editor, "\u0001\u001b[3~\u001b[3~\u001b[3~\u001b[3~");
  assertEquals(editor.line, "hans oh hi");
  type(editor, "\u0017"); // ctrl-w at the start deletes nothing
  type(editor, "\u0005\u0017");
  assertEquals(editor.line, "hans oh ");
  assertEquals(type(editor, "\r").at(-1), { type: "submit", line: "hans oh " });
  assertEquals(editor.line, "");
});

Deno.test("LineEditor masks passwords and keeps them out of history", () => {
  const editor = new LineEditor();
  editor.start({ mask: true });
  type(editor, "wise@!man");
  assertEquals(editor.view(), { text: "*********", cursor: 9 });
  type(editor, "\r");
  assertEquals(editor.history, []);
  assertEquals(type(editor, "\u001b[A"), [{ type: "bell" }]);
});

Deno.test("LineEditor recalls history with up and down and restores the draft", () => {
  const editor = new LineEditor();
  editor.start();
  type(editor, "WHO\r");
  editor.start();
  type(editor, "MOTD\r");
  editor.start();
  type(editor, "draft");
  type(editor, "\u001b[A");
  assertEquals(editor.line, "MOTD");
  type(editor, "\u001b[A");
  assertEquals(editor.line, "WHO");
  assertEquals(type(editor, "\u001b[A"), [{ type: "bell" }]);
  type(editor, "\u001b[B\u001b[B");
  assertEquals(editor.line, "draft");
});

Deno.test("LineEditor completes a unique match, a common prefix, or lists candidates", () => {
  const editor = new LineEditor();
  const completer = (_before: string, wordStart: number) =>
    wordStart === 0 ? ["MSG", "MOTD", "WHO", "WHOELSE"] : ["hans", "han_solo", "yoda"];
  editor.start({ completer });
  type(editor, "ms\t");
  assertEquals(editor.line, "MSG ");
  type(editor, "y\t");
  assertEquals(editor.line, "MSG yoda ");
  editor.start({ completer });
  type(editor, "MSG h\t");
  assertEquals(editor.line, "MSG han");
  assertEquals(type(editor, "\t"), [{ type: "candidates", candidates: ["hans", "han_solo"] }]);
  editor.start({ completer });
  type(editor, "WH\t");
  assertEquals(editor.line, "WHO");
  assertEquals(type(editor, "x\t"), [{ type: "edit" }, { type: "bell" }]);
});

Deno.test("LineEditor: Ctrl+C clears a half-typed line and leaves on an empty one; Ctrl+D only on an empty line", () => {
  const editor = new LineEditor();
  editor.start();
  assertEquals(type(editor, "\u0004"), [{ type: "eof" }]);
  type(editor, "ab\u0001");
  assertEquals(type(editor, "\u0004"), [{ type: "edit" }]);
  assertEquals(editor.line, "b");
  assertEquals(type(editor, "\u0003"), [{ type: "edit" }]);
  assertEquals(editor.view(), { text: "", cursor: 0 });
  assertEquals(type(editor, "\u0003"), [{ type: "interrupt" }]);
});
