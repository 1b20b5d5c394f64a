/**
 * Request round trips, one at a time on one idle connection: how long a person waits for an
 * answer. The native protocol (`NAMES` of a channel nobody is in: a 404 the server answers at
 * once), and IRC `PING` on labchat's gateway and on ngircd (when installed), with one raw client.
 * @module
 */

import { percentile, type Row, startServer } from "../common.ts";
import { labchatThenNgircd } from "../ngircd.ts";

/** Round trips timed on each connection. */
const ROUNDS = 500;

const encoder = new TextEncoder();

/** A connection that times one line out and the first line back matching `answer`. */
class LineClient {
  readonly #conn: Deno.TcpConn;
  readonly #buffer = new Uint8Array(64 * 1024);
  readonly #decoder = new TextDecoder();
  #seen = "";

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(port: number): Promise<LineClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new LineClient(conn);
  }

  /** Sends `line` and reads until a line matching `answer`; the milliseconds it took. */
  async time(line: string, answer: RegExp): Promise<number> {
    const started = performance.now();
    await this.#conn.write(encoder.encode(line + "\r\n"));
    await this.until(answer);
    return performance.now() - started;
  }

  /** Reads until a line matches `answer`, dropping the lines before it. */
  async until(answer: RegExp): Promise<string> {
    while (true) {
      const lines = this.#seen.split("\n");
      for (let i = 0; i < lines.length - 1; i++) {
        if (answer.test(lines[i])) {
          this.#seen = lines.slice(i + 1).join("\n");
          return lines[i];
        }
      }
      this.#seen = lines[lines.length - 1];
      const n = await this.#conn.read(this.#buffer);
      if (n === null) throw new Error(`closed before ${answer}`);
      this.#seen += this.#decoder.decode(this.#buffer.subarray(0, n), { stream: true });
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** `ROUNDS` round trips of `line` on `client`: p50 and p99 in ms. */
async function timed(client: LineClient, line: string, answer: RegExp) {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await client.time(line, answer));
  times.sort((a, b) => a - b);
  return {
    "p50 ms": +percentile(times, 0.5).toFixed(3),
    "p99 ms": +percentile(times, 0.99).toFixed(3),
  };
}

/** The native protocol's round trip, then IRC's PING on labchat and on ngircd. */
export async function roundTrips(): Promise<Row[]> {
  const rows: Row[] = [];
  const server = await startServer();
  try {
    const client = await LineClient.open(server.port);
    try {
      await client.time("REGISTER rt pw", /^200 /);
      rows.push({
        scenario: `labchat native: request round trip, one at a time (${ROUNDS})`,
        figures: await timed(client, "NAMES #nobody-here", /^404 /),
      });
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
  }
  rows.push(
    ...await labchatThenNgircd(async (label, port) => {
      const client = await LineClient.open(port);
      try {
        await client.time("NICK rt\r\nUSER rt 0 * :rt", / 001 /);
        await client.until(/ (376|422) /); // the end of the welcome
        return [{
          scenario: `${label}: PING round trip, one at a time (${ROUNDS})`,
          figures: await timed(client, "PING rt", /PONG/),
        }];
      } finally {
        client.close();
      }
    }),
  );
  return rows;
}
