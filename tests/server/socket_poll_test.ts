import { assertEquals } from "@std/assert";
import { SocketPoll } from "../../lib/server/io/socket_poll.ts";

/** A connected pair of TCP sockets on loopback. */
async function socketPair(): Promise<{ near: Deno.Conn; far: Deno.Conn; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [near, far] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  return {
    near,
    far,
    close() {
      near.close();
      far.close();
    },
  };
}

Deno.test("SocketPoll: a socket that became readable during a chain of microtasks is read once the chain waits for a turn", async () => {
  const pair = await socketPair();
  const poll = new SocketPoll();
  try {
    let read = false;
    const reading = pair.far.read(new Uint8Array(16)).then(() => read = true);
    await pair.near.write(new Uint8Array([1, 2, 3])); // taken by the kernel at once
    // A chain of microtasks, as a fan-out of writes the kernel takes at once is: no read gets in.
    for (let i = 0; i < 1000; i++) await Promise.resolve();
    assertEquals(read, false);
    await poll.wait();
    assertEquals(read, true);
    await reading;
  } finally {
    poll.close();
    pair.close();
  }
});

Deno.test("SocketPoll: waits in a row each resolve, and after close a timer stands in", async () => {
  const poll = new SocketPoll();
  for (let i = 0; i < 50; i++) await poll.wait();
  const together = await Promise.all([poll.wait(), poll.wait()]);
  assertEquals(together.length, 2);
  poll.close();
  await poll.wait(); // no socket any more: resolves after a timer
});
