/**
 * Logins at the production scrypt cost.
 * @module
 */

import { connectUsers, inBatches, type Row, startServer } from "../common.ts";

export async function logins(count: number): Promise<Row> {
  const server = await startServer(["--scrypt-cost", "16384"]); // what a real server pays
  try {
    const users = await connectUsers(server.port, Math.min(count, 20), "l");
    await Promise.all(users.map((u) => u.request("LOGOUT")));
    const start = performance.now();
    await inBatches(count, 20, async (i) => {
      const chat = users[i % users.length];
      await chat.request(`LOGIN l${i % users.length} pw`);
      await chat.request("LOGOUT");
    });
    const elapsed = (performance.now() - start) / 1000;
    await Promise.all(users.map((u) => u.close()));
    return {
      scenario: "logins with scrypt N=2^14 (20 in parallel)",
      figures: { logins: count, "logins/s": Math.round(count / elapsed) },
    };
  } finally {
    await server.stop();
  }
}
