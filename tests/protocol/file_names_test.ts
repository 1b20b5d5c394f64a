import { assertEquals, assertNotEquals } from "@std/assert";
import {
  fileNameProblem,
  safeLocalName,
  threadNameProblem,
} from "../../lib/protocol/file_names.ts";

Deno.test("file names are labels: paths, dot names and control characters are refused", () => {
  for (const ok of ["notes.txt", "example1.mp4", "résumé (final).pdf", ".hidden", "a b"]) {
    assertEquals(fileNameProblem(ok), undefined, ok);
  }
  for (
    const bad of [
      "",
      ".",
      "..",
      "../../x",
      "/etc/passwd",
      "a\\b",
      "x\u0000y",
      "x\u001b[2Jy",
      "x".repeat(256),
    ]
  ) {
    assertNotEquals(fileNameProblem(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("thread names are short words", () => {
  assertEquals(threadNameProblem("networks_2026"), undefined);
  for (const bad of ["", "../a", "a b", ".hidden", "x".repeat(65)]) {
    assertNotEquals(threadNameProblem(bad), undefined, bad);
  }
});

Deno.test("safeLocalName keeps only a harmless last path component", () => {
  assertEquals(safeLocalName("notes.txt"), "notes.txt");
  assertEquals(safeLocalName("../../x"), "x");
  assertEquals(safeLocalName("/etc/passwd"), "passwd");
  assertEquals(safeLocalName("..\\..\\windows\\evil.exe"), "evil.exe");
  assertEquals(safeLocalName(".."), "download");
  assertEquals(safeLocalName(""), "download");
  assertEquals(safeLocalName(".bashrc"), "_bashrc");
  assertEquals(safeLocalName("a\u001b[31mb"), "a_[31mb");
  assertEquals(safeLocalName('co:n<>|?*"'), "co_n______");
});
