/**
 * Channels in a cluster, at the level of the service: every node applies every operation in one
 * order (a stand-in for the Redis stream, with the nodes' appends interleaved as a test says),
 * so two nodes that change one channel at the same moment end with the same channel.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { ChannelService } from "../../lib/server/services/channels.ts";
import type { ChannelSnapshot } from "../../lib/server/services/channel.ts";
import type { LoggedOp } from "../../lib/server/services/channel_ops.ts";
import { ProtocolError } from "../../lib/protocol/protocol_error.ts";
import type { ChannelStore } from "../../lib/store/store.ts";
import { StoreUnavailableError } from "../../lib/store/store_unavailable.ts";

/** The channels never store a message in these tests. */
const noMessages: ChannelStore = {
  appendChannelMessage: () => Promise.reject(new Error("not in these tests")),
  listChannelMessages: () => Promise.resolve([]),
};

/** One stream, and the nodes that append to it and apply it. */
class Stream {
  readonly entries: { id: string; entry: LoggedOp }[] = [];
  readonly nodes: ChannelService[] = [];
  readonly saved = new Map<string, { version: string; snapshot?: ChannelSnapshot }>();
  #next = 1;
  /** Appended, not yet applied by every node. */
  #unread = 0;
  /** The entry being applied. */
  #current = "0-0";

  /** While set, appends fail as they do while Redis is away. */
  away = false;

  node(here: (user: string) => boolean = () => false): ChannelService {
    const node = new ChannelService(noMessages);
    node.isHere = here;
    node.replicate({
      append: (entry) => {
        if (this.away) return Promise.reject(new StoreUnavailableError(new Error("away")));
        this.entries.push({ id: `${this.#next++}-0`, entry: structuredClone(entry) });
        this.#unread++;
        return Promise.resolve();
      },
      // What the cluster's log writes after a while, as of the entry applied last.
      changed: (name) =>
        this.saved.set(name, { version: this.#current, snapshot: node.snapshotOf(name) }),
    });
    this.nodes.push(node);
    return node;
  }

  /** Every node applies what was appended since, in the stream's order; then promises settle. */
  async deliver(): Promise<void> {
    while (this.#unread > 0) {
      const batch = this.entries.slice(this.entries.length - this.#unread);
      this.#unread = 0;
      for (const { id, entry } of batch) {
        this.#current = id;
        for (const node of this.nodes) node.applyLogged(entry);
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

const names = (node: ChannelService, channel: string) =>
  node.view(channel)?.members.map((m) => `${m.op ? "@" : ""}${m.name}`).join(" ");

Deno.test("channels in a cluster: two nodes making one channel at the same moment end with the same channel, the first in the stream its operator", async () => {
  const stream = new Stream();
  const a = stream.node();
  const b = stream.node();
  // Neither node has heard of #dev when its user joins.
  const yoda = a.join("yoda", "#dev", undefined, "yoda!yoda@a", 1);
  const hans = b.join("hans", "#dev", undefined, "hans!hans@b", 2);
  await stream.deliver();
  assertEquals((await yoda).created, true);
  assertEquals((await hans).created, false);
  assertEquals((await hans).channel.members.map((m) => m.name), ["yoda", "hans"]);
  assertEquals(names(a, "#dev"), "@yoda hans");
  assertEquals(names(b, "#dev"), "@yoda hans");
  // Leaving and joining again at once on two nodes: still one channel, the same on both.
  const parted = b.part("hans", "#dev");
  const topic = a.setTopic("#dev", "yoda", "plans", 3);
  const again = b.join("hans", "#DEV", undefined, "hans!hans@b", 4);
  await stream.deliver();
  await Promise.all([parted, topic, again]);
  for (const node of [a, b]) {
    assertEquals(names(node, "#dev"), "@yoda hans");
    assertEquals(node.view("#dev")?.topic, "plans");
  }
});

Deno.test("channels in a cluster: a refusal comes from the order, and is the same on every node", async () => {
  const stream = new Stream();
  const a = stream.node();
  const b = stream.node();
  const made = a.join("yoda", "#dev", undefined, "yoda!yoda@a", 1);
  await stream.deliver();
  await made;
  // The key is set in the stream before hans's JOIN, which b sent without knowing of it.
  const keyed = a.setModes("#dev", "yoda", "+k", ["sesame"], () => undefined, 2);
  const hans = b.join("hans", "#dev", undefined, "hans!hans@b", 3);
  hans.catch(() => {}); // looked at below
  await stream.deliver();
  assertEquals((await keyed).modes, "+k");
  const refused = await assertRejects(() => hans, ProtocolError);
  assertEquals(refused.reason, "bad_key");
  for (const node of [a, b]) assertEquals(names(node, "#dev"), "@yoda");
  // What is refused as things stand is refused at once, without the stream.
  const before = stream.entries.length;
  await assertRejects(() => b.part("hans", "#dev"), ProtocolError, "not on #dev");
  await assertRejects(() => b.join("hans", "#dev", "wrong", "hans!hans@b", 4), ProtocolError);
  assertEquals(stream.entries.length, before);
  // A MODE naming someone not in the channel changes nothing, the flags before it neither.
  const failed = a.setModes("#dev", "yoda", "+io", ["hans"], (u) => u, 5);
  failed.catch(() => {}); // looked at below
  await stream.deliver();
  await assertRejects(() => failed, ProtocolError, "hans is not on #dev");
  assertEquals(a.view("#dev")?.modes, "+ntk");
});

Deno.test("channels in a cluster: a user the cluster took for gone while online here is put back with their ranks once back online, and the channel hears of it", async () => {
  for (const backFirst of [false, true]) {
    const stream = new Stream();
    const steady = stream.node();
    const frozen = stream.node((user) => user === "sleeper");
    const rejoined: string[] = [];
    frozen.rejoined = (user, channels) => rejoined.push(`${user} ${channels.join(",")}`);
    steady.join("watcher", "#net", undefined, "watcher!w@s", 1);
    await stream.deliver();
    frozen.join("sleeper", "#net", undefined, "sleeper!s@f", 2);
    frozen.join("sleeper", "#ops", undefined, "sleeper!s@f", 3);
    await stream.deliver();
    assertEquals(names(steady, "#net"), "@watcher sleeper");
    // The frozen node's users are online again before it reads the steady node's logout of
    // them, or after: either way they end up where they were.
    if (backFirst) frozen.back("sleeper");
    // The steady node reaps the frozen node's users; the frozen one still holds sleeper.
    const leaving = steady.leaveAll("sleeper");
    await stream.deliver();
    assertEquals(await leaving, ["#net", "#ops"]);
    if (!backFirst) {
      assertEquals(rejoined, [], "not before the cluster has sleeper online again");
      assertEquals(names(frozen, "#net"), "@watcher");
      frozen.back("sleeper");
      await stream.deliver();
    }
    assertEquals(rejoined, ["sleeper #net,#ops"]);
    for (const node of [steady, frozen]) {
      assertEquals(names(node, "#net"), "@watcher sleeper");
      assertEquals(names(node, "#ops"), "@sleeper");
    }
    // A logout the node itself made is not undone.
    const out = frozen.leaveAll("sleeper");
    await stream.deliver();
    assertEquals(await out, ["#net", "#ops"]);
    frozen.back("sleeper");
    await stream.deliver();
    for (const node of [steady, frozen]) {
      assertEquals(names(node, "#net"), "@watcher");
      assertEquals(node.view("#ops"), undefined);
    }
  }
});

Deno.test("channels in a cluster: a node that starts later takes the kept states and replays the stream past them", async () => {
  const stream = new Stream();
  const a = stream.node();
  a.join("yoda", "#dev", undefined, "yoda!y@a", 1);
  a.join("yoda", "#gone", undefined, "yoda!y@a", 2);
  await stream.deliver();
  a.setTopic("#dev", "yoda", "first", 3);
  a.part("yoda", "#gone");
  await stream.deliver();
  assertEquals(stream.saved.get("#gone")?.snapshot, undefined);
  assertEquals(stream.saved.get("#dev")?.version, "3-0");
  // More happens after the states were kept (a node that has not saved yet, say).
  const kept = new Map(stream.saved);
  a.join("hans", "#dev", undefined, "hans!h@a", 5);
  await stream.deliver();
  // The late node reads the kept states, then the whole stream; older entries leave the
  // channels they are kept for alone (#dev's topic is not set twice, #gone stays gone).
  const late = new ChannelService(noMessages);
  late.loaded([...kept].flatMap(([key, { snapshot }]) => snapshot ? [[key, snapshot]] : []));
  for (const { id, entry } of stream.entries) {
    late.applyLogged(entry, (key) => {
      const version = kept.get(key)?.version;
      return version !== undefined && Number.parseInt(version) >= Number.parseInt(id);
    });
  }
  const states = (node: ChannelService) => node.names().map((key) => node.snapshotOf(key));
  assertEquals(states(late), states(a));
  assert(late.view("#gone") === undefined);
  assertEquals(names(late, "#dev"), "@yoda hans");
});

Deno.test("channels in a cluster: an operation not applied in time, or not appended, is reported to its user", async () => {
  const node = new ChannelService(noMessages);
  node.replicate({
    append: () => Promise.reject(new Error("Redis is away")),
    changed: () => {},
  });
  await assertRejects(() => node.join("yoda", "#dev", undefined, "yoda!y@a", 1), Error, "away");
  assertEquals(node.view("#dev"), undefined);
});

Deno.test("channels in a cluster: an operation asked for after the server closed is refused at once, with no timer left", async () => {
  const stream = new Stream();
  const node = stream.node();
  node.close();
  const refused = await assertRejects(
    () => node.join("yoda", "#dev", undefined, "yoda!y@a", 1),
    StoreUnavailableError,
  );
  assertEquals(refused.outcome, "not_done");
  assertEquals(stream.entries.length, 0, "nothing appended");
  // Deno's sanitizer fails this test if a 10 s wait for the outcome were still set.
});

Deno.test("channels in a cluster: a logout made while Redis is away is made again once operations flow, unless the user is back online", async () => {
  const stream = new Stream();
  const a = stream.node();
  const online = new Set<string>();
  a.isOnline = (user) => online.has(user);
  for (const user of ["yoda", "hans", "luke"]) a.join(user, "#dev", undefined, `${user}!u@a`, 1);
  await stream.deliver();
  stream.away = true;
  await assertRejects(() => a.leaveAll("hans"), StoreUnavailableError);
  await assertRejects(() => a.leaveAll("luke"), StoreUnavailableError);
  assertEquals(names(a, "#dev"), "@yoda hans luke", "nothing changed while Redis was away");
  stream.away = false;
  online.add("luke"); // luke logged in again meanwhile: the channel is theirs again
  a.setTopic("#dev", "yoda", "back", 2);
  await stream.deliver();
  assertEquals(names(a, "#dev"), "@yoda luke");
});
