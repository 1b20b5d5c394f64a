import { assert, assertEquals, assertMatch } from "@std/assert";
import { parseClientArgs } from "../../lib/cli/client_args.ts";
import { formatProgress, throttledProgress } from "../../lib/cli/progress.ts";
import {
  palette,
  presenceSummary,
  renderEvent,
  renderReply,
  wantsColor,
  wrapWords,
} from "../../lib/cli/render.ts";
import { sanitize, sanitizeLine } from "../../lib/cli/sanitize.ts";

Deno.test("sanitize removes escape sequences and control characters", () => {
  assertEquals(sanitize("hi\u001b[2J\u001b[31mred\u001b[0m"), "hired");
  assertEquals(sanitize("a\u001b]0;pwned title\u0007b"), "ab");
  assertEquals(sanitize("a\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\b"), "alinkb");
  assertEquals(sanitize("bell\u0007 back\bspace\r cr \u009b2J c1"), "bell backspace cr  c1");
  assertEquals(sanitize("tab\tand ünïcode ✓"), "tab\tand ünïcode ✓");
});

Deno.test("sanitize removes what the issue's attacker sent: OSC title and clipboard, clear, C1", () => {
  const hostile = "x\u001b]0;title\u0007y\u001b]52;c;cGF3bmVk\u0007z\u001b[2J!";
  assertEquals(sanitize(hostile), "xyz!");
  assertEquals(sanitize("a\u009d0;title\u009cb\u0085c\u0090dcs\u009c"), "abcdcs");
  assertEquals(sanitize("a\u001bPq#0;2;0;0;0\u001b\\b"), "ab", "DCS (sixel) is removed whole");
});

Deno.test("sanitize removes bidirectional overrides and isolates so names cannot display reversed", () => {
  for (
    const c of [
      "\u202a",
      "\u202b",
      "\u202c",
      "\u202d",
      "\u202e",
      "\u2066",
      "\u2067",
      "\u2068",
      "\u2069",
    ]
  ) {
    assertEquals(sanitize(`evil${c}gpj.exe`), "evilgpj.exe", JSON.stringify(c));
  }
  assertEquals(sanitize("שלום עולם"), "שלום עולם", "right-to-left text itself stays");
});

Deno.test("sanitizeLine keeps the palette's colours and nothing else", () => {
  const red = palette(true).red;
  assertEquals(sanitizeLine(red("a\u001b[2Jb")), red("ab"));
  assertEquals(sanitizeLine("x\u001b]0;t\u0007y"), "xy");
});

Deno.test("events are rendered without the sender's control sequences", () => {
  const plain = palette(false);
  assertEquals(
    renderEvent({ type: "private", from: "hans", text: "\u001b[2Jhello\u001b[1A" }, plain),
    "hans: hello",
  );
  assertEquals(
    renderEvent({ type: "shutdown", text: "the server is about to shutdown ..." }, plain),
    "The server is shutting down; your session has ended",
  );
  const colored = renderEvent(
    { type: "broadcast", from: "a", number: 1, text: "x" },
    palette(true),
  );
  assertEquals(colored, "\u001b[36m#1 a: x\u001b[39m");
});

Deno.test("replies render as text, or with yamotd's codes", () => {
  const plain = palette(false);
  const motd = { code: 200, lines: ["Worse is better."], text: "Worse is better.", ok: true };
  assertEquals(renderReply(motd, false, plain), ["Worse is better."]);
  assertEquals(renderReply(motd, true, plain), ["200 OK", "Worse is better."]);
  const ok = { code: 200, lines: ["OK"], text: "OK", ok: true };
  assertEquals(renderReply(ok, true, plain), ["200 OK"]);
  const err = {
    code: 401,
    lines: ["You are not currently logged in, login first."],
    text: "",
    ok: false,
  };
  assertEquals(renderReply(err, true, plain), [
    "401 You are not currently logged in, login first.",
  ]);
});

Deno.test("colour follows NO_COLOR and whether output is a terminal", () => {
  assertEquals(wantsColor(true, undefined), true);
  assertEquals(wantsColor(true, ""), true);
  assertEquals(wantsColor(true, "1"), false);
  assertEquals(wantsColor(false, undefined), false);
});

Deno.test("client arguments: defaults, positional host and port, dialect, exec", () => {
  const d = parseClientArgs([]);
  assertEquals([d.host, d.port, d.dialect, d.exec, d.tls, d.udpEngine], [
    "localhost",
    4000,
    "labchat",
    undefined,
    false,
    "auto",
  ]);
  assertEquals(parseClientArgs(["--udp-engine", "deno"]).udpEngine, "deno");
  const a = parseClientArgs([
    "10.0.0.5",
    "4001",
    "--udp-port",
    "8001",
    "--dialect",
    "toom",
    "--exec",
    "WHO; MOTD;",
  ]);
  assertEquals([a.host, a.port, a.udpPort, a.dialect, a.exec], ["10.0.0.5", 4001, 8001, "toom", [
    "WHO",
    "MOTD",
  ]]);
  for (
    const bad of [
      ["--dialect", "irc"],
      ["h", "99999"],
      ["--udp-port", "x"],
      ["a", "1", "extra"],
      ["--udp-engine", "dpdk"],
    ]
  ) {
    let threw = false;
    try {
      parseClientArgs(bad);
    } catch {
      threw = true;
    }
    assertEquals(threw, true, bad.join(" "));
  }
});

Deno.test("progress lines show bar, percentage, bytes, speed and time left", () => {
  assertEquals(
    formatProgress("a.bin", 512, 1024, 1000, 10),
    "a.bin [#####-----] 50% 512 B/1.0 KiB 512 B/s ETA 00:01",
  );
  assertEquals(
    formatProgress("big", 0, 1024 * 1024, 0, 4),
    "big [----] 0% 0 B/1.0 MiB 0 B/s ETA --:--",
  );
  assertEquals(
    formatProgress("done", 2 * 1024 * 1024, 2 * 1024 * 1024, 500, 4),
    "done [####] 100% 2.0 MiB/2.0 MiB 4.0 MiB/s ETA 00:00",
  );
  // A resumed peer-to-peer transfer: the rate counts only this run, and loss is shown.
  assertEquals(
    formatProgress("r.bin", 3 * 1024, 4 * 1024, 1000, 4, { lossPercent: 4.94, startedAt: 2048 }),
    "r.bin [###-] 75% 3.0 KiB/4.0 KiB 1.0 KiB/s ETA 00:01 loss 4.9%",
  );
});

Deno.test("a storm's presence notice lists a few names and counts the rest", () => {
  const names = Array.from({ length: 11 }, (_, i) => `u${i}`);
  assertEquals(
    presenceSummary(names, ["hans"]),
    "11 logged in: u0, u1, u2, u3, u4, u5, u6, u7 and 3 more; 1 logged out: hans",
  );
  assertEquals(presenceSummary([], ["a", "b"]), "2 logged out: a, b");
});

Deno.test("throttled progress: a lone final report has a rate; a resumed one counts only new bytes", async () => {
  const lines: string[] = [];
  throttledProgress("small", (line) => lines.push(line), 0)(100, 100);
  assertMatch(lines[0], /100% 100 B\/100 B [1-9][\d.]* (B|KiB|MiB|GiB)\/s ETA 00:00$/);
  const mib = 1024 * 1024;
  const show = throttledProgress("resumed", (line) => lines.push(line), 0);
  show(10 * mib, 20 * mib); // half was there from a broken transfer
  await new Promise((r) => setTimeout(r, 100));
  show(20 * mib, 20 * mib);
  // 10 MiB moved in at least 100 ms: at most 100 MiB/s (counting the old half would say 200).
  const rate = /([\d.]+) MiB\/s/.exec(lines.at(-1) ?? "");
  assert(rate && Number(rate[1]) > 0 && Number(rate[1]) <= 100, lines.at(-1));
});

Deno.test("help lines wrap at spaces, never inside a word, under their second column", () => {
  const line = "  WHO [user]" + " ".repeat(35) +
    "Who is online: name, address, UDP port, since when";
  assertEquals(wrapWords(line, 60, 47), [
    "  WHO [user]" + " ".repeat(35) + "Who is",
    " ".repeat(40) + "online: name,",
    " ".repeat(40) + "address, UDP port,",
    " ".repeat(40) + "since when",
  ]);
  assertEquals(wrapWords("short", 60, 4), ["short"]);
  assertEquals(wrapWords(line, undefined, 47), [line], "not a terminal: whole lines");
  // A word longer than the width stands alone rather than being cut.
  assertEquals(wrapWords(`a ${"x".repeat(40)} b`, 30, 2), ["a", `  ${"x".repeat(40)}`, "  b"]);
});
