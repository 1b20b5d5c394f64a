/**
 * Idle connections: RSS per connection that is open but not logged in.
 * @module
 */

import { type Row, rssOf, startServer } from "../common.ts";

/** RSS per connection for `n` connections that are open but not logged in (no presence, no KV). */
export async function idleConnections(n: number): Promise<Row> {
  const server = await startServer();
  try {
    const base = await rssOf(server.pid);
    const conns: Deno.TcpConn[] = [];
    for (let i = 0; i < n; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const rss = await rssOf(server.pid);
    for (const conn of conns) conn.close();
    return {
      scenario: `${n} idle connections, not logged in`,
      figures: {
        "server RSS MiB": +(rss / 1048576).toFixed(1),
        "RSS per connection KiB": +((rss - base) / n / 1024).toFixed(2),
      },
    };
  } finally {
    await server.stop();
  }
}
