import { assertEquals } from "@std/assert";
import { Client, type ClientOutput } from "../../lib/server/client.ts";

Deno.test("a reader held back by pending replies goes on once fewer than the limit are pending", async () => {
  const client = new Client("tcp", "127.0.0.1", 1, {} as ClientOutput);
  const gates = Array.from({ length: 4 }, () => Promise.withResolvers<void>());
  const done: number[] = [];
  gates.forEach((gate, i) =>
    client.inTurn(async () => {
      await gate.promise;
      done.push(i);
    })
  );
  assertEquals(client.pendingReplies, 4);
  let resumed = false;
  const below = client.repliesBelow(2).then(() => resumed = true);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  gates[0].resolve();
  gates[1].resolve();
  await settle();
  assertEquals([done, resumed], [[0, 1], false], "two still pending: not yet");
  gates[2].resolve();
  await below;
  assertEquals([done, client.pendingReplies], [[0, 1, 2], 1], "resumed with one still pending");
  gates[3].resolve();
  await client.repliesSent();
  assertEquals(await client.repliesBelow(1).then(() => "at once"), "at once");
});
