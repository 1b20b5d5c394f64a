/**
 * A bare fan-out with no chat server around it: a listener that answers each connection's first
 * line with `200` (what the native receiver waits for after REGISTER), then writes rounds of
 * broadcast lines to every connection it accepted, at most 96 writes in flight (as the server's
 * write gate). Lines are due on a fixed schedule and stamped with the time they were due, so a
 * receiver's latency is what the rounds cost. Run on the main thread or in workers, each with its
 * own `reusePort` listener on one port, it says what spreading the writes over threads gives.
 * @module
 */

/** What one thread is asked to do. */
export interface WriteRoundsPlan {
  port: number;
  /** Epoch ms of the first line; lines are due every `1000 / rate` ms after it. */
  start: number;
  rate: number;
  seconds: number;
}

/** What one thread did. */
export interface WriteRoundsResult {
  connections: number;
  rounds: number;
  writes: number;
  /** Mean time of a round's writes, ms. */
  roundMs: number;
}

const IN_FLIGHT = 96;

/** Listens on `plan.port` (shared with `reusePort`), then writes the plan's lines in rounds. */
export async function writeRounds(plan: WriteRoundsPlan): Promise<WriteRoundsResult> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: plan.port, reusePort: true });
  const conns: Deno.Conn[] = [];
  const accepting = acceptAll(listener, conns);
  try {
    await sleep(plan.start - Date.now());
    const interval = 1000 / plan.rate;
    const total = Math.round(plan.rate * plan.seconds);
    const encoder = new TextEncoder();
    let sent = 0;
    const result: WriteRoundsResult = { connections: 0, rounds: 0, writes: 0, roundMs: 0 };
    while (sent < total) {
      const now = Date.now();
      const due = Math.min(total, Math.floor((now - plan.start) / interval) + 1);
      if (due <= sent) {
        await sleep(plan.start + sent * interval - now);
        continue;
      }
      let text = "";
      for (let i = sent; i < due; i++) {
        text += `602 [#${i}] bench: x t=${plan.start + i * interval}\n`;
      }
      sent = due;
      const bytes = encoder.encode(text);
      const began = performance.now();
      const round = conns.slice();
      for (let i = 0; i < round.length; i += IN_FLIGHT) {
        const batch = round.slice(i, i + IN_FLIGHT);
        await Promise.all(batch.map((conn) => conn.write(bytes).catch(() => 0)));
      }
      result.roundMs += performance.now() - began;
      result.rounds++;
      result.writes += round.length;
    }
    result.connections = conns.length;
    result.roundMs /= Math.max(1, result.rounds);
    return result;
  } finally {
    listener.close();
    await accepting;
    for (const conn of conns) conn.close();
  }
}

async function acceptAll(listener: Deno.Listener, conns: Deno.Conn[]): Promise<void> {
  try {
    for await (const conn of listener) {
      (conn as Deno.TcpConn).setNoDelay(true);
      conns.push(conn);
      answerFirstLine(conn);
    }
  } catch {
    // the listener closed
  }
}

/** Replies `200` to the first bytes the connection sends, then reads and drops the rest. */
async function answerFirstLine(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(512);
  let answered = false;
  try {
    while ((await conn.read(buffer)) !== null) {
      if (!answered) {
        answered = true;
        await conn.write(new TextEncoder().encode("200 ok\n"));
      }
    }
  } catch {
    // closed at the end of the run
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
