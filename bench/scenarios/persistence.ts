/**
 * Stored messages: MSG acknowledged per second, each acknowledgement after the commit.
 * @module
 */

import { connectUsers, type Row, startServer } from "../common.ts";

export async function persistence(messages: number): Promise<Row> {
  const server = await startServer();
  try {
    const [a, b] = await connectUsers(server.port, 2, "p");
    const start = performance.now();
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < messages; i++) {
      acks.push(a.request(`MSG p1 message ${i}`));
      if (acks.length >= 64) await acks.shift();
    }
    await Promise.all(acks);
    const elapsed = (performance.now() - start) / 1000;
    await Promise.all([a.close(), b.close()]);
    return {
      scenario: "private messages (MSG) stored and acknowledged (64 in flight)",
      figures: { messages, "acks/s": Math.round(messages / elapsed) },
    };
  } finally {
    await server.stop();
  }
}
