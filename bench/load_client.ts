/**
 * A lean receiving client for load tests: raw socket, counts broadcast events by scanning bytes,
 * and decodes text only when sampling latency. The full ChatConnection parses every line into
 * objects, which on 2 cores costs as much CPU as the server it is measuring.
 * @module
 */

const LF = 0x0a;
const encoder = new TextEncoder();

/** What the fan-out scenarios read from a receiving client, whatever it is connected over. */
export interface Receiver {
  /** Broadcast events received. */
  received: number;
  /** Latencies (ms) of sampled broadcasts. */
  readonly latencies: number[];
  close(): Promise<void>;
}

/** A logged-in connection that counts the events of one code (602 broadcasts by default). */
export class LoadClient implements Receiver {
  readonly #conn: Deno.TcpConn;
  /** Broadcast events received. */
  received = 0;
  /** Latencies (ms) of broadcasts whose text carries `t=<epoch ms>`, when sampling. */
  readonly latencies: number[] = [];
  readonly #sample: boolean;
  readonly #code: Uint8Array;
  #atLineStart = true;
  #head = new Uint8Array(4);
  #headLength = 0;
  #partial = "";
  readonly #decoder = new TextDecoder();
  #loop: Promise<void> | undefined;

  private constructor(conn: Deno.TcpConn, sample: boolean, code: string) {
    this.#conn = conn;
    this.#sample = sample;
    this.#code = encoder.encode(code);
  }

  /**
   * Connects and registers `name` (or logs in, `login`: another session of someone registered);
   * counting starts right after the welcome.
   */
  static async register(
    port: number,
    name: string,
    sample: boolean,
    code = "602",
    login = false,
  ): Promise<LoadClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, encoder.encode(`${login ? "LOGIN" : "REGISTER"} ${name} pw\n`));
    // Read the reply to REGISTER byte by byte so nothing after it is consumed here; others'
    // login notices (6xx events) may come first.
    const one = new Uint8Array(1);
    let line = "";
    while (line === "" || line.startsWith("6")) {
      line = "";
      while (true) {
        const n = await conn.read(one);
        if (n === null) throw new Error(`Connection closed while registering ${name}`);
        if (one[0] === LF) break;
        line += String.fromCharCode(one[0]);
      }
    }
    if (!line.startsWith("200 ")) throw new Error(`REGISTER ${name} failed: ${line}`);
    const client = new LoadClient(conn, sample, code);
    client.#loop = client.#read();
    return client;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (let n = await this.#conn.read(buffer); n !== null; n = await this.#conn.read(buffer)) {
        this.#scan(buffer.subarray(0, n));
      }
    } catch {
      // closed
    }
  }

  /** Counts lines that start with "602 " across chunk boundaries. */
  #scan(bytes: Uint8Array): void {
    if (this.#sample) this.#sampleLines(bytes);
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.#atLineStart || this.#headLength > 0) {
        this.#head[this.#headLength++] = b;
        this.#atLineStart = false;
        if (this.#headLength === 4) {
          const h = this.#head;
          const c = this.#code;
          if (h[0] === c[0] && h[1] === c[1] && h[2] === c[2] && h[3] === 0x20) this.received++;
          this.#headLength = 0;
        }
      }
      if (b === LF) {
        this.#atLineStart = true;
        this.#headLength = 0;
      }
    }
  }

  #sampleLines(bytes: Uint8Array): void {
    const text = this.#partial + this.#decoder.decode(bytes, { stream: true });
    const lines = text.split("\n");
    this.#partial = lines.pop() ?? "";
    const now = performance.timeOrigin + performance.now();
    for (const line of lines) {
      const sent = /^602 .* t=(\d+(?:\.\d+)?)$/.exec(line)?.[1];
      if (sent) this.latencies.push(now - Number(sent));
    }
  }

  /** Closes the connection and waits for the reader. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#loop;
  }
}

/** Writes all of `bytes` (a write may take only part). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}
