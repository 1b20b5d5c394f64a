/**
 * Rooms: ROOM SAY acknowledged and delivered per second.
 * @module
 */

import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { type Row, startServer, untilReceived } from "../common.ts";
import { LoadClient } from "../load_client.ts";

/** ROOM SAY pipelined by one member into a room of `members`; acks/s and deliveries/s. */
export async function roomThroughput(members: number, messages: number): Promise<Row> {
  const server = await startServer(["--scrypt-cost", "2"]);
  try {
    const sender = await ChatConnection.connect({ hostname: "127.0.0.1", port: server.port });
    await sender.request("REGISTER speaker pw");
    const others: LoadClient[] = [];
    for (let i = 0; i < members - 1; i++) {
      others.push(await LoadClient.register(server.port, `m${i}`, false, "603"));
    }
    const created = await sender.request(`ROOM CREATE ${others.map((_, i) => `m${i}`).join(" ")}`);
    if (created.code !== 200) throw new Error(`ROOM CREATE failed: ${created.text}`);
    const start = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < messages; i++) {
      acks.push(sender.request(`ROOM SAY 1 message ${i}`));
      if (acks.length >= 64) await acks.shift();
    }
    await Promise.all(acks);
    const acked = (performance.now() - start) / 1000;
    const got = await untilReceived(others, messages * others.length, 60_000);
    const delivered = (performance.now() - start) / 1000;
    await Promise.all([sender.close(), ...others.map((o) => o.close())]);
    return {
      scenario: `room of ${members}: ROOM SAY pipelined by one member (64 in flight)`,
      figures: {
        messages,
        "acks/s": Math.round(messages / acked),
        "deliveries/s": Math.round(got / delivered),
        lost: messages * others.length - got,
      },
    };
  } finally {
    await server.stop();
  }
}
