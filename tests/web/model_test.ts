import { assertEquals } from "@std/assert";
import type { UserView } from "../../lib/protocol/reply_data.ts";
import { ChatModel, snippetParts } from "../../web/model.ts";
import { mentionsMe, segments } from "../../web/rich_text.ts";

Deno.test("unread counts grow off screen, not in the shown conversation or for one's own messages", () => {
  const model = new ChatModel();
  model.reset("alice");
  const shown = "b";
  model.apply({ type: "broadcast", from: "bob", number: 1, text: "hi" }, shown, 1000);
  model.apply({ type: "private", from: "bob", text: "psst" }, shown, 1000);
  model.apply({ type: "private", from: "bob", text: "again" }, shown, 1000);
  assertEquals(model.conversations.get("b")?.unread, 0);
  assertEquals(model.conversations.get("b")?.messages.length, 1);
  assertEquals(model.conversations.get("@bob")?.unread, 2);
  assertEquals(model.unread, 2);
  // Not loaded and not shown: the messages come with its history when it opens.
  assertEquals(model.conversations.get("@bob")?.messages, []);
  model.apply(
    { type: "room_created", room: 4, by: "bob", members: ["alice", "bob", "carol"] },
    shown,
    1000,
  );
  assertEquals(model.conversations.get("room:4")?.title, "Room 4: bob, carol");
  model.apply({ type: "room", room: 4, from: "alice", text: "mine" }, shown, 1000);
  assertEquals(model.conversations.get("room:4")?.unread, 0, "one's own messages are read");
});

Deno.test("presence and earlier private chats fill the lists", () => {
  const model = new ChatModel();
  model.reset("alice");
  const user = (name: string): UserView => ({
    name,
    ip: "127.0.0.1",
    loginAt: 500,
    away: "",
    guest: false,
    admin: false,
    activeAt: 500,
  });
  model.setOnline([user("bob")]);
  assertEquals(model.online.get("bob"), { since: 500 });
  model.apply({ type: "login", user: "carol" }, undefined, 1000);
  model.apply({ type: "logout", user: "bob" }, undefined, 1000);
  assertEquals([...model.online.keys()], ["carol"]);
  model.addPrivateChats([
    { number: 1, at: 1, from: "alice", to: "dave", text: "hi" },
    { number: 2, at: 2, from: "erin", to: "alice", text: "yo" },
  ]);
  assertEquals([...model.conversations.keys()], ["b", "@dave", "@erin"]);
  model.reset("bob");
  assertEquals([...model.conversations.keys()], ["b"]);
});

Deno.test("history loaded late goes before the messages that arrived meanwhile, without repeats", () => {
  const model = new ChatModel();
  model.reset("alice");
  const chat = model.conversation("private", "bob");
  model.apply({ type: "private", from: "bob", text: "already stored" }, "@bob", 1000);
  model.apply({ type: "private", from: "bob", text: "new one" }, "@bob", 1000);
  model.setHistory(chat, [
    { number: 1, at: 900, from: "alice", to: "bob", text: "hi" },
    { number: 2, at: 950, from: "bob", to: "alice", text: "already stored" },
  ]);
  assertEquals(chat.messages.map((m) => m.text), ["hi", "already stored", "new one"]);
  assertEquals(chat.messages.map((m) => m.at), [900, 950, 1000]);
  assertEquals(chat.loaded, true);
});

Deno.test("a search snippet splits into plain text and the words found, never markup", () => {
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

Deno.test("a small markdown subset: code as typed, bold and italics, never inside words or links", () => {
  assertEquals(segments("run `ip -br a` then **check** the *MTU*", "yoda"), [
    { kind: "text", text: "run " },
    { kind: "code", text: "ip -br a", block: false },
    { kind: "text", text: " then " },
    { kind: "text", text: "check", bold: true },
    { kind: "text", text: " the " },
    { kind: "text", text: "MTU", italic: true },
  ]);
  assertEquals(segments("```tc qdisc add dev eth0 **root** tbf``` done", "yoda"), [
    { kind: "code", text: "tc qdisc add dev eth0 **root** tbf", block: true },
    { kind: "text", text: " done" },
  ]);
  assertEquals(segments("snake_case_name and a*b*c stay; _ask @yoda_", "yoda"), [
    { kind: "text", text: "snake_case_name and a*b*c stay; " },
    { kind: "text", text: "ask ", italic: true },
    { kind: "mention", text: "@yoda", italic: true },
  ]);
  assertEquals(segments("see https://lab.example/_a_/b*c* now", "yoda"), [
    { kind: "text", text: "see " },
    { kind: "link", text: "https://lab.example/_a_/b*c*", href: "https://lab.example/_a_/b*c*" },
    { kind: "text", text: " now" },
  ]);
  assertEquals(segments("`<script>alert(1)</script>` ** not bold **", "yoda"), [
    { kind: "code", text: "<script>alert(1)</script>", block: false },
    { kind: "text", text: " ** not bold **" },
  ]);
});

Deno.test("a guest's new nick replaces the old one in the online list and in channel members", () => {
  const model = new ChatModel();
  model.reset("alice");
  model.apply({ type: "login", user: "visitor" }, undefined, 100);
  const channel = model.addChannel("#networks", {
    name: "#networks",
    createdAt: 1,
    topic: "",
    topicBy: "",
    topicAt: 0,
    members: [{ name: "visitor", op: true, voice: false }, {
      name: "alice",
      op: false,
      voice: false,
    }],
    modes: "+nt",
    modeArgs: [],
    secret: false,
  });
  model.apply({ type: "nick", user: "visitor", name: "visitor2" }, undefined, 200);
  assertEquals([...model.online.entries()], [["visitor2", { since: 100 }]]);
  assertEquals(channel.members?.map((m) => [m.name, m.op]), [["visitor2", true], ["alice", false]]);
});
