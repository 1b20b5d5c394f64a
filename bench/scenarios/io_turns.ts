/**
 * How many socket writes Deno completes per turn of its event loop. A fan-out to `n` receivers
 * is `n` writes; if a turn completes at most a fixed number of them (Tokio's cooperative budget
 * in Deno's op driver: 128), the last receiver waits `n / 128` turns whatever the server does.
 * This measures that bound on the machine at hand, with no server involved.
 * @module
 */

import { percentile, type Row } from "../common.ts";

/** Writes 60 bytes to each of `n` loopback connections at once, `rounds` times. */
export async function ioTurns(n: number, rounds = 5): Promise<Row> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.TcpConn[] = [];
  const clients: Deno.TcpConn[] = [];
  const readers: Promise<void>[] = [];
  try {
    const accepting = (async () => {
      for (let i = 0; i < n; i++) accepted.push(await listener.accept());
    })();
    for (let i = 0; i < n; i++) {
      clients.push(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
    }
    await accepting;
    for (const client of clients) readers.push(drain(client));
    const data = new Uint8Array(60).fill(0x41);
    const turns: number[] = [];
    const most: number[] = [];
    const lastMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const perTurn = new Map<number, number>();
      let turn = 0;
      let ticking = true;
      const tick = () => {
        if (!ticking) return;
        turn++;
        setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      const start = performance.now();
      let last = 0;
      await Promise.all(accepted.map((conn) =>
        conn.write(data).then(() => {
          perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
          last = performance.now() - start;
        })
      ));
      ticking = false;
      turns.push(perTurn.size);
      most.push(Math.max(...perTurn.values()));
      lastMs.push(last);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sorted = lastMs.sort((a, b) => a - b);
    return {
      scenario: `${n} socket writes at once (Deno's event loop, no server)`,
      figures: {
        "turns to complete": Math.max(...turns),
        "most per turn": Math.max(...most),
        "ms for the last, median": +percentile(sorted, 0.5).toFixed(1),
      },
    };
  } finally {
    for (const conn of [...accepted, ...clients]) {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
    listener.close();
    await Promise.all(readers);
  }
}

async function drain(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(4096);
  try {
    while ((await conn.read(buffer)) !== null) {
      // discard
    }
  } catch {
    // closed
  }
}
