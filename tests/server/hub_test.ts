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

Deno.test("LocalHub: with a limit of 1, one live session per user, released only by its holder", async () => {
  const hub = new LocalHub();
  const [a, b] = [new Inbox(), new Inbox()];
  assertEquals(await hub.claim(user("yoda"), a, 1), "first");
  assertEquals(await hub.claim(user("yoda"), b, 1), "taken");
  assertEquals(await hub.release("yoda", b), false);
  assertEquals(hub.online("yoda")?.name, "yoda", "b never held yoda");
  await hub.setUdpPort("yoda", 8001, a);
  assertEquals(hub.online("yoda")?.udpPort, 8001);
  assertEquals(await hub.release("yoda", a), true);
  assertEquals([hub.online("yoda"), hub.size], [undefined, 0]);
});

Deno.test("LocalHub: a person's sessions up to the limit; each gets the person's events; the last release ends them", async () => {
  const hub = new LocalHub();
  const [a, b, c] = [new Inbox(), new Inbox(), new Inbox()];
  assertEquals(await hub.claim(user("yoda"), a, 2), "first");
  assertEquals(await hub.claim(user("yoda"), b, 2), "more");
  assertEquals(await hub.claim(user("yoda"), c, 2), "full");
  assertEquals([hub.size, hub.online("yoda")?.sessions], [1, 2], "one person, two sessions");
  hub.deliver("yoda", new OutboundEvent({ type: "private", from: "ann", text: "hi" }));
  assertEquals([a.got, b.got, c.got], [["600 ann: hi"], ["600 ann: hi"], []]);
  // The peer endpoint is the session that reported a UDP port.
  await hub.setUdpPort("yoda", 9000, b);
  assertEquals(hub.online("yoda")?.udpPort, 9000);
  assertEquals(hub.recipientOf("yoda") !== undefined, true);
  assertEquals(await hub.release("yoda", a), false, "b stays");
  assertEquals(hub.online("yoda")?.sessions, 1);
  assertEquals(await hub.release("yoda", b), true, "the last one");
  assertEquals(hub.size, 0);
  // A guest's name has one session, whatever the limit.
  assertEquals(await hub.claim({ ...user("gus"), guest: true }, a, 16), "first");
  assertEquals(await hub.claim({ ...user("gus"), guest: true }, b, 16), "taken");
  assertEquals(await hub.claim(user("GUS"), b, 16), "taken", "nor an account spelled like it");
});

Deno.test("LocalHub: a kept private message goes once to each session not handed it with the offline queue", async () => {
  class Mailbox extends Inbox {
    readonly handed = new Set<number>();
    privateOnce(number: number): boolean {
      if (this.handed.has(number)) return false;
      this.handed.add(number);
      return true;
    }
  }
  const hub = new LocalHub();
  const kept: number[] = [];
  hub.attach({ keptDelivered: (_user, number) => kept.push(number) });
  const [a, b] = [new Mailbox(), new Mailbox()];
  await hub.claim(user("yoda"), a, 16);
  await hub.claim(user("yoda"), b, 16);
  a.privateOnce(7); // a had number 7 in its offline handover
  const event = new OutboundEvent({ type: "private", from: "ann", text: "seven" });
  const place = hub.hold();
  assertEquals(place.deliver("yoda", event, 7), true);
  assertEquals([a.got, b.got, kept], [[], ["600 ann: seven"], [7]]);
  b.privateOnce(8);
  a.privateOnce(8);
  assertEquals(place.deliver("yoda", event, 8), true, "every session had it: nothing to do");
  assertEquals(kept, [7]);
});

Deno.test("LocalHub: an event is encoded once and reaches those accepted, in login order", async () => {
  const hub = new LocalHub();
  const inboxes = ["a", "b", "c"].map((name) => [name, new Inbox()] as const);
  for (const [name, inbox] of inboxes) await hub.claim(user(name), inbox, 16);
  const event = new OutboundEvent({ type: "broadcast", from: "a", number: 1, text: "hi" });
  hub.fanout(event, (name) => name !== "a");
  assertEquals(inboxes.map(([, inbox]) => inbox.got), [[], ["602 #1 a: hi"], ["602 #1 a: hi"]]);
  assertEquals(event.line, event.line, "the same bytes for everyone");
  assertEquals([...hub.list()].map((u) => u.name), ["a", "b", "c"]);
  assertEquals(hub.deliver("nobody", event), false);
  const closed = new Inbox(false);
  await hub.claim(user("d"), closed, 16);
  assertEquals(hub.deliver("d", event), false);
});

Deno.test("LocalHub: operators are the online admins, in login order, as grants and logouts change", async () => {
  const hub = new LocalHub();
  const at = (name: string, loginAt: number, admin?: boolean) => ({
    ...user(name),
    loginAt,
    admin,
  });
  await hub.claim(at("root", 3, true), new Inbox(), 16);
  await hub.claim(at("ann", 1), new Inbox(), 16);
  const boss = new Inbox();
  await hub.claim(at("boss", 2, true), boss, 16);
  assertEquals(hub.operators().map((u) => u.name), ["boss", "root"]);
  await hub.update("ann", { admin: true });
  await hub.update("root", { admin: false });
  assertEquals(hub.operators().map((u) => u.name), ["ann", "boss"]);
  await hub.release("boss", new Inbox()); // not boss's session: nothing changes
  assertEquals(hub.operators().map((u) => u.name), ["ann", "boss"]);
  await hub.release("boss", boss);
  assertEquals(hub.operators().map((u) => u.name), ["ann"]);
});
