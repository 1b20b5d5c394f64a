import { assertEquals } from "@std/assert";
import {
  ChatModel,
  parseBroadcastNumber,
  parseHistoryLine,
  parseRoomCreated,
  parseRoomLine,
  parseSearchHit,
  parseThread,
  snippetParts,
} from "../../web/model.ts";
import { mentionsMe, segments } from "../../web/rich_text.ts";

Deno.test("the web model reads the server's history, room, broadcast and thread lines", () => {
  assertEquals(parseHistoryLine("3; 03 Aug 2022 23:25:03; yoda; a; b"), {
    number: 3,
    time: "03 Aug 2022 23:25:03",
    from: "yoda",
    to: undefined,
    text: "a; b",
  });
  assertEquals(parseHistoryLine("1; 03 Aug 2022 23:25:03; yoda -> hans; hi")?.to, "hans");
  assertEquals(parseHistoryLine("2 broadcasts"), undefined);
  assertEquals(parseRoomLine("1: obiwan,yoda (created by yoda at 03 Aug 2022 23:25:03)"), {
    id: 1,
    members: ["obiwan", "yoda"],
  });
  assertEquals(
    parseRoomCreated("Separate chat room has been created, room ID: 2, users in this room: a,b"),
    { id: 2, members: ["a", "b"] },
  );
  assertEquals(parseBroadcastNumber("Broadcast message, #12 broadcast at 03 Aug 2022"), 12);
  assertEquals(
    parseThread(["1 yoda: uploaded x", "hans uploaded notes.txt", "Thread a: 1 message, 1 file"]),
    [
      { kind: "post", number: 1, author: "yoda", text: "uploaded x" },
      { kind: "file", uploader: "hans", name: "notes.txt" },
    ],
  );
});

Deno.test("unread counts grow off screen, not in the shown conversation or for one's own messages", () => {
  const model = new ChatModel();
  model.reset("alice");
  const shown = "b";
  model.apply({ type: "broadcast", from: "bob", number: 1, text: "hi" }, shown);
  model.apply({ type: "private", from: "bob", text: "psst" }, shown);
  model.apply({ type: "private", from: "bob", text: "again" }, shown);
  assertEquals(model.conversations.get("b")?.unread, 0);
  assertEquals(model.conversations.get("b")?.messages.length, 1);
  assertEquals(model.conversations.get("@bob")?.unread, 2);
  assertEquals(model.unread, 2);
  // Not loaded and not shown: the messages come with its history when it opens.
  assertEquals(model.conversations.get("@bob")?.messages, []);
  model.apply(
    { type: "room_created", room: 4, by: "bob", members: ["alice", "bob", "carol"] },
    shown,
  );
  assertEquals(model.conversations.get("room:4")?.title, "Room 4: bob, carol");
  model.apply({ type: "room", room: 4, from: "alice", text: "mine" }, shown);
  assertEquals(model.conversations.get("room:4")?.unread, 0, "one's own messages are read");
});

Deno.test("presence and earlier private chats fill the lists", () => {
  const model = new ChatModel();
  model.reset("alice");
  model.setOnline(["bob, 127.0.0.1, -, active since 03 Aug 2022 23:25:03", "1 user online"]);
  model.apply({ type: "login", user: "carol" }, undefined);
  model.apply({ type: "logout", user: "bob" }, undefined);
  assertEquals([...model.online.keys()], ["carol"]);
  model.addPrivateChats([
    "1; 03 Aug 2022 23:25:03; alice -> dave; hi",
    "2; 03 Aug 2022 23:25:04; erin -> alice; yo",
    "2 private messages",
  ]);
  assertEquals([...model.conversations.keys()], ["b", "@dave", "@erin"]);
  model.reset("bob");
  assertEquals([...model.conversations.keys()], ["b"]);
});

Deno.test("history loaded late goes before the messages that arrived meanwhile, without repeats", () => {
  const model = new ChatModel();
  model.reset("alice");
  const chat = model.conversation("private", "bob");
  model.apply({ type: "private", from: "bob", text: "already stored" }, "@bob");
  model.apply({ type: "private", from: "bob", text: "new one" }, "@bob");
  model.setHistory(chat, [
    "1; 03 Aug 2022 23:25:03; alice -> bob; hi",
    "2; 03 Aug 2022 23:25:04; bob -> alice; already stored",
    "2 private messages",
  ]);
  assertEquals(chat.messages.map((m) => m.text), ["hi", "already stored", "new one"]);
  assertEquals(chat.loaded, true);
});

Deno.test("the web model reads SEARCH's lines: where, when, who, and the words found", () => {
  assertEquals(
    parseSearchHit("broadcast #16; 03 Dec 2026 14:02:11; hans; the [iperf] figure is [941]"),
    {
      place: { kind: "broadcast", number: 16 },
      where: "broadcast #16",
      time: "03 Dec 2026 14:02:11",
      from: "hans",
      snippet: "the [iperf] figure is [941]",
    },
  );
  assertEquals(parseSearchHit("private with yoda; 03 Dec 2026 14:02:11; hans; hi")?.place, {
    kind: "private",
    with: "yoda",
  });
  assertEquals(parseSearchHit("room 3 #7; 03 Dec 2026 14:02:11; hans; hi")?.place, {
    kind: "room",
    room: "3",
    number: 7,
  });
  assertEquals(parseSearchHit("#net #2; 03 Dec 2026 14:02:11; hans; hi")?.place, {
    kind: "channel",
    channel: "#net",
    number: 2,
  });
  assertEquals(parseSearchHit("thread lab notes post 4; 03 Dec 2026 14:02:11; hans; x")?.place, {
    kind: "thread",
    thread: "lab notes",
    post: 4,
  });
  assertEquals(parseSearchHit("1 result"), undefined);
  assertEquals(snippetParts("a [b] c [d]"), [
    { text: "a ", found: false },
    { text: "b", found: true },
    { text: " c ", found: false },
    { text: "d", found: true },
  ]);
  assertEquals(snippetParts("<img onerror=x>"), [{ text: "<img onerror=x>", found: false }]);
});

Deno.test("a message's links (http and https only) and mentions of the reader are found; the rest stays text", () => {
  assertEquals(segments("see https://lab.example/x?a=1. and @Yoda, not @yodas", "yoda"), [
    { kind: "text", text: "see " },
    { kind: "link", text: "https://lab.example/x?a=1", href: "https://lab.example/x?a=1" },
    { kind: "text", text: ". and " },
    { kind: "mention", text: "@Yoda" },
    { kind: "text", text: ", not @yodas" },
  ]);
  assertEquals(segments("javascript:alert(1) <b>x</b>", "yoda"), [
    { kind: "text", text: "javascript:alert(1) <b>x</b>" },
  ]);
  assertEquals(mentionsMe("ping @hans", "hans"), true);
  assertEquals(mentionsMe("email hans@lab", "hans"), false);
});
