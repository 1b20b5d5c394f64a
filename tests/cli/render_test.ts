import { assertEquals } from "@std/assert";
import { parseClientArgs } from "../../lib/cli/client_args.ts";
import { formatProgress } from "../../lib/cli/progress.ts";
import { palette, renderEvent, renderReply, wantsColor } from "../../lib/cli/render.ts";
import { stripControl } from "../../lib/cli/sanitize.ts";

Deno.test("stripControl removes escape sequences and control characters", () => {
  assertEquals(stripControl("hi\u001b[2J\u001b[31mred\u001b[0m"), "hired");
  assertEquals(stripControl("a\u001b]0;pwned title\u0007b"), "ab");
  assertEquals(stripControl("a\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\b"), "alinkb");
  assertEquals(stripControl("bell\u0007 back\bspace\r cr \u009b2J c1"), "bell backspace cr  c1");
  assertEquals(stripControl("tab\tand ünïcode ✓"), "tab\tand ünïcode ✓");
});

Deno.test("events are rendered without the sender's control sequences", () => {
  const plain = palette(false);
  assertEquals(
    renderEvent({ type: "private", from: "hans", text: "\u001b[2Jhello\u001b[1A" }, plain),
    "hans: hello",
  );
  assertEquals(
    renderEvent({ type: "shutdown", text: "the server is about to shutdown ..." }, plain),
    "210 the server is about to shutdown ...",
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
  assertEquals([d.host, d.port, d.dialect, d.exec, d.tls], [
    "localhost",
    4000,
    "labchat",
    undefined,
    false,
  ]);
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
    const bad of [["--dialect", "irc"], ["h", "99999"], ["--udp-port", "x"], ["a", "1", "extra"]]
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
});
