/**
 * A registration storm over IRC: `n` clients send NICK and USER, 50 at a time, each reading
 * until its 001 and on in the background. Against labchat's gateway and against ngircd (when
 * installed) with the same clients: seconds until all are registered, RSS per client after.
 * @module
 */

import { type Row, rssOf } from "../common.ts";
import { labchatThenNgircd } from "../ngircd.ts";

/** Registrations under way at once. */
const AT_ONCE = 50;

const encoder = new TextEncoder();

/** A client that registered, still reading what the server sends. */
interface Registered {
  readonly conn: Deno.TcpConn;
  readonly reading: Promise<void>;
}

/** Registers `nick` and keeps reading, so the server never waits on this client. */
async function register(port: number, nick: string): Promise<Registered> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`));
  const buffer = new Uint8Array(16 * 1024);
  const decoder = new TextDecoder();
  let seen = "";
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`${nick}: closed before 001: ${seen}`);
    seen += decoder.decode(buffer.subarray(0, n), { stream: true });
    if (/ 001 /.test(seen)) break;
    seen = seen.slice(-16); // a "001" split across two reads is still found
  }
  const reading = (async () => {
    try {
      while ((await conn.read(buffer)) !== null) { /* read and dropped */ }
    } catch {
      // closed at the end of the run
    }
  })();
  return { conn, reading };
}

/** The storm against one server listening on `port`. */
async function stormOn(label: string, port: number, pid: number, n: number): Promise<Row> {
  const baseRss = await rssOf(pid);
  const clients: Registered[] = [];
  let next = 0;
  const started = performance.now();
  try {
    const worker = async () => {
      while (next < n) clients.push(await register(port, `u${next++}`));
    };
    await Promise.all(Array.from({ length: AT_ONCE }, worker));
    const seconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 2000)); // 2 s after the storm, as the memory target says
    const rss = await rssOf(pid);
    return {
      scenario: `${label}: ${n} IRC clients registering, ${AT_ONCE} at a time`,
      figures: {
        "all registered in s": +seconds.toFixed(2),
        "server RSS MiB": +(rss / 1048576).toFixed(1),
        "RSS per client KiB": +((rss - baseRss) / n / 1024).toFixed(1),
      },
    };
  } finally {
    for (const client of clients) {
      try {
        client.conn.close();
      } catch {
        // already closed
      }
    }
    await Promise.all(clients.map((c) => c.reading));
  }
}

/** labchat's IRC gateway, then ngircd (when installed), `n` registrations each. */
export function ircRegister(n: number): Promise<Row[]> {
  return labchatThenNgircd(async (label, port, pid) => [await stormOn(label, port, pid, n)]);
}
