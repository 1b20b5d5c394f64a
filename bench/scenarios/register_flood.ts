/**
 * A REGISTER flood: many unauthenticated connections loop `REGISTER junkN pw` at the production
 * scrypt cost while a normal user logs in and out. Measures the login's latency (target: p99
 * under 250 ms), how much of the flood was refused as busy, and the server's memory.
 * @module
 */

import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { percentile, type Row, rssOf, startServer } from "../common.ts";

/** Runs the flood with `attackers` connections for `seconds`, logging in meanwhile. */
export async function registerFlood(attackers: number, seconds: number): Promise<Row> {
  const server = await startServer(["--scrypt-cost", "16384", "--auth-rate", "0"]);
  try {
    const user = await ChatConnection.connect({ hostname: "127.0.0.1", port: server.port });
    await user.request("REGISTER hans falcon");
    await user.request("LOGOUT");
    const rssBefore = await rssOf(server.pid);
    const until = performance.now() + seconds * 1000;
    const counts = { registered: 0, busy: 0, other: 0 };
    let serial = 0;
    const flood = await Promise.all(
      Array.from(
        { length: attackers },
        () => ChatConnection.connect({ hostname: "127.0.0.1", port: server.port }),
      ),
    );
    const loops = flood.map(async (chat) => {
      while (performance.now() < until) {
        const reply = await chat.request(`REGISTER junk${serial++} pw`);
        if (reply.code === 200) {
          counts.registered++;
          await chat.request("LOGOUT");
        } else if (reply.code === 421) counts.busy++;
        else counts.other++;
      }
    });
    const latencies: number[] = [];
    let peakRss = rssBefore;
    await new Promise((r) => setTimeout(r, 500)); // the flood is under way
    while (performance.now() < until - 500) {
      const start = performance.now();
      const reply = await user.request("LOGIN hans falcon");
      latencies.push(performance.now() - start);
      if (reply.code !== 200) throw new Error(`LOGIN failed during the flood: ${reply.text}`);
      await user.request("LOGOUT");
      peakRss = Math.max(peakRss, await rssOf(server.pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(loops);
    await Promise.all([user.close(), ...flood.map((c) => c.close())]);
    latencies.sort((a, b) => a - b);
    return {
      scenario: `REGISTER flood from ${attackers} connections, LOGIN meanwhile (scrypt 2^14)`,
      figures: {
        logins: latencies.length,
        "login p50 ms": +percentile(latencies, 0.5).toFixed(1),
        "login p99 ms": +percentile(latencies, 0.99).toFixed(1),
        registered: counts.registered,
        "refused busy": counts.busy,
        "RSS before MiB": +(rssBefore / 1048576).toFixed(1),
        "RSS peak MiB": +(peakRss / 1048576).toFixed(1),
      },
    };
  } finally {
    await server.stop();
  }
}
