import { assert, assertEquals } from "@std/assert";
import type { ServerContext } from "../../lib/server/context.ts";
import { IrcSession } from "../../lib/server/irc/irc_session.ts";
import { LineConnection } from "../../lib/server/tcp/line_connection.ts";

const decoder = new TextDecoder();

/** A session over a real loopback connection, recording what it hands to the connection. */
async function sessionOverLoopback() {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const connection = new LineConnection(await listener.accept(), {
    maxLineBytes: 512,
    maxSendQueueBytes: 1 << 20,
    onSlowReader: () => {},
  });
  const handed: string[] = [];
  const handOver = connection.sendBytes.bind(connection);
  connection.sendBytes = (bytes) => {
    handed.push(decoder.decode(bytes));
    return handOver(bytes);
  };
  // Sending a prepared message reads nothing of the server around it.
  const ctx = {} as unknown as ServerContext;
  const session = new IrcSession({ ctx, connection, startedAt: 0 });
  return { client, connection, session, handed };
}

const line = (text: string) => ({ source: "labchat", command: "NOTICE", params: ["ann", text] });

Deno.test("IrcSession: the lines of one turn go out as one buffer, in order with shared bytes", async () => {
  const { client, connection, session, handed } = await sessionOverLoopback();
  assert(session.send(line("one")));
  assert(session.send(line("two")));
  assertEquals(handed, [], "gathered until the turn ends");
  session.sendBytes(new TextEncoder().encode(":ann!ann@h PRIVMSG #lab :shared\r\n"));
  assertEquals(handed, [
    ":labchat NOTICE ann one\r\n:labchat NOTICE ann two\r\n",
    ":ann!ann@h PRIVMSG #lab :shared\r\n",
  ]);
  session.send(line("three"));
  await Promise.resolve(); // the end of the turn
  assertEquals(handed.length, 3);
  assertEquals(handed[2], ":labchat NOTICE ann three\r\n");

  session.send(line("last words"));
  await session.close(true); // what was gathered still goes out before the close
  assertEquals(session.send(line("too late")), false);
  let received = "";
  const buffer = new Uint8Array(4096);
  for (let n = await client.read(buffer); n !== null; n = await client.read(buffer)) {
    received += decoder.decode(buffer.subarray(0, n));
  }
  client.close();
  assertEquals(received.split("\r\n").filter((l) => l !== "").map((l) => l.split(" ").pop()), [
    "one",
    "two",
    ":shared",
    "three",
    "words",
  ]);
  assert(connection.isClosed);
});
