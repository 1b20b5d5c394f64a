import { assertEquals } from "@std/assert";
import { Event } from "../../lib/protocol/codes.ts";
import { type ChatEvent, formatEvent, parseEvent } from "../../lib/protocol/events.ts";
import { formatReply, parseReplyLine } from "../../lib/protocol/reply.ts";
import {
  formatBytes,
  formatDuration,
  formatTimestamp,
  parseTimestamp,
} from "../../lib/protocol/timestamp.ts";

Deno.test("formatReply writes single and SMTP-style multi-line replies", () => {
  assertEquals(formatReply(200, "OK"), "200 OK\n");
  assertEquals(formatReply(200, ["a", "b", "2 users"]), "200-a\n200-b\n200 2 users\n");
  assertEquals(formatReply(400, "bad\r\nline"), "400 bad line\n");
});

Deno.test("parseReplyLine tells continuation lines from final ones", () => {
  assertEquals(parseReplyLine("200-yoda"), { code: 200, more: true, text: "yoda" });
  assertEquals(parseReplyLine("200 OK"), { code: 200, more: false, text: "OK" });
  assertEquals(parseReplyLine("hello"), undefined);
});

Deno.test("events survive a format and parse round trip", () => {
  const events: ChatEvent[] = [
    { type: "private", from: "hans", text: "hello: yoda" },
    { type: "private_offline", from: "yoda", sentAt: "03 Aug 2022 23:25:03", text: "hi (you)" },
    { type: "broadcast", from: "yoda", number: 2, text: "Morning" },
    { type: "room", room: 3, from: "obiwan", text: "hi" },
    { type: "room_created", room: 3, by: "yoda", members: ["obiwan", "yoda"] },
    { type: "login", user: "hans" },
    {
      type: "peer",
      from: "yoda",
      host: "127.0.0.1",
      port: 8001,
      token: "0123456789abcdef0123456789abcdef",
      purpose: "file",
    },
    { type: "logout", user: "hans" },
    { type: "presence", logins: ["luke", "leia"], logouts: [] },
    { type: "presence", logins: [], logouts: ["hans"] },
    { type: "shutdown", text: "the server is about to shutdown ..." },
    { type: "idle", text: "You have been logged out" },
  ];
  for (const event of events) {
    const line = formatEvent(event);
    const match = /^(\d{3}) (.*)\n$/s.exec(line);
    if (!match) throw new Error(`Not an event line: ${line}`);
    assertEquals(parseEvent(Number(match[1]), match[2]), event);
  }
  assertEquals(
    formatEvent({ type: "shutdown", text: "the server is about to shutdown ..." }),
    "210 the server is about to shutdown ...\n",
  );
  assertEquals(parseEvent(Event.PRIVATE, "no colon here").type, "unknown");
});

Deno.test("timestamps read like the seeds and parse back", () => {
  const t = new Date(2022, 7, 3, 23, 25, 3);
  assertEquals(formatTimestamp(t), "03 Aug 2022 23:25:03");
  assertEquals(parseTimestamp("03 Aug 2022 23:25:03"), t.getTime());
  assertEquals(parseTimestamp("1 Jun 2022 16:00:00"), new Date(2022, 5, 1, 16).getTime());
  assertEquals(parseTimestamp("1 jun 2022"), new Date(2022, 5, 1).getTime());
  assertEquals(parseTimestamp("2022-06-01T16:00:00Z"), Date.UTC(2022, 5, 1, 16));
  for (const bad of ["31 Feb 2022", "1 Foo 2022", "yesterday", "2022-13-45", "1 Jun 2022 25:00"]) {
    assertEquals(parseTimestamp(bad), undefined, bad);
  }
});

Deno.test("durations read naturally", () => {
  assertEquals(formatDuration(300), "300 ms");
  assertEquals(formatDuration(10_000), "10 seconds");
  assertEquals(formatDuration(1000), "1 second");
  assertEquals(formatDuration(600_000), "10 minutes");
  assertEquals(formatDuration(90_500), "91 seconds");
});

Deno.test("byte counts read naturally", () => {
  assertEquals(formatBytes(512), "512 B");
  assertEquals(formatBytes(1024), "1.0 KiB");
  assertEquals(formatBytes(100 * 1024 * 1024), "100.0 MiB");
  assertEquals(formatBytes(1.5 * 1024 ** 3), "1.5 GiB");
});
