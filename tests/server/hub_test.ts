import { assertEquals } from "@std/assert";
import { OutboundEvent } from "../../lib/protocol/events.ts";
import { LocalHub, type Recipient } from "../../lib/server/hub.ts";

class Inbox implements Recipient {
  readonly got: string[] = [];
  constructor(readonly open = true) {}
  deliver(event: OutboundEvent): boolean {
    if (this.open) this.got.push(new TextDecoder().decode(event.line).trim());
    return this.open;
  }
}

const user = (name: string) => ({ name, ip: "127.0.0.1", loginAt: 0 });

Deno.test("LocalHub: one live session per user, released only by its holder", async () => {
  const hub = new LocalHub();
  const [a, b] = [new Inbox(), new Inbox()];
  assertEquals(await hub.claim(user("yoda"), a), true);
  assertEquals(await hub.claim(user("yoda"), b), false);
  await hub.release("yoda", b);
  assertEquals(hub.online("yoda")?.name, "yoda", "b never held yoda");
  await hub.setUdpPort("yoda", 8001);
  assertEquals(hub.online("yoda")?.udpPort, 8001);
  await hub.release("yoda", a);
  assertEquals([hub.online("yoda"), hub.size], [undefined, 0]);
});

Deno.test("LocalHub: an event is encoded once and reaches those accepted, in login order", async () => {
  const hub = new LocalHub();
  const inboxes = ["a", "b", "c"].map((name) => [name, new Inbox()] as const);
  for (const [name, inbox] of inboxes) await hub.claim(user(name), inbox);
  const event = new OutboundEvent({ type: "broadcast", from: "a", number: 1, text: "hi" });
  hub.fanout(event, (name) => name !== "a");
  assertEquals(inboxes.map(([, inbox]) => inbox.got), [[], ["602 #1 a: hi"], ["602 #1 a: hi"]]);
  assertEquals(event.line, event.line, "the same bytes for everyone");
  assertEquals([...hub.list()].map((u) => u.name), ["a", "b", "c"]);
  assertEquals(hub.deliver("nobody", event), false);
  const closed = new Inbox(false);
  await hub.claim(user("d"), closed);
  assertEquals(hub.deliver("d", event), false);
});

Deno.test("LocalHub: operators are the online admins, in login order, as grants and logouts change", async () => {
  const hub = new LocalHub();
  const at = (name: string, loginAt: number, admin?: boolean) => ({
    ...user(name),
    loginAt,
    admin,
  });
  await hub.claim(at("root", 3, true), new Inbox());
  await hub.claim(at("ann", 1), new Inbox());
  const boss = new Inbox();
  await hub.claim(at("boss", 2, true), boss);
  assertEquals(hub.operators().map((u) => u.name), ["boss", "root"]);
  await hub.update("ann", { admin: true });
  await hub.update("root", { admin: false });
  assertEquals(hub.operators().map((u) => u.name), ["ann", "boss"]);
  await hub.release("boss", new Inbox()); // not boss's session: nothing changes
  assertEquals(hub.operators().map((u) => u.name), ["ann", "boss"]);
  await hub.release("boss", boss);
  assertEquals(hub.operators().map((u) => u.name), ["ann"]);
});
