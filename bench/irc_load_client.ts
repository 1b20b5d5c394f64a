/**
 * A lean IRC client for load runs, the same for labchat's gateway and other IRC servers: it
 * registers, joins a channel, counts the PRIVMSGs to it by scanning bytes, and decodes text only
 * to sample latency (`t=<epoch ms>` at the end of the message).
 * @module
 */

import { type Receiver, writeAll } from "./load_client.ts";

const encoder = new TextEncoder();

/** An IRC connection in a channel that counts the messages said there. */
export class IrcLoadClient implements Receiver {
  readonly #conn: Deno.TcpConn;
  received = 0;
  readonly latencies: number[] = [];
  readonly #sample: boolean;
  /** What starts a message to the channel: ` PRIVMSG #chan :`. */
  readonly #mark: Uint8Array;
  readonly #stamp: RegExp;
  /** Bytes of the mark matched so far across reads. */
  #matched = 0;
  #partial = "";
  readonly #decoder = new TextDecoder();
  #loop: Promise<void> | undefined;

  private constructor(conn: Deno.TcpConn, sample: boolean, channel: string) {
    this.#conn = conn;
    this.#sample = sample;
    this.#mark = encoder.encode(` PRIVMSG ${channel} :`);
    this.#stamp = new RegExp(` PRIVMSG ${escapeRegExp(channel)} :.* t=(\\d+(?:\\.\\d+)?)$`);
  }

  /**
   * Connects, registers `nick`, joins `channel` and waits for its names list (labchat joins `#lab`
   * by itself; JOIN again is harmless there).
   */
  static async join(
    port: number,
    nick: string,
    sample: boolean,
    channel = "#lab",
  ): Promise<IrcLoadClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, encoder.encode(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`));
    const buffer = new Uint8Array(16 * 1024);
    let text = "";
    const decoder = new TextDecoder();
    let joined = false;
    const namesEnd = new RegExp(` 366 \\S+ ${escapeRegExp(channel)} `, "i");
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`Connection closed while ${nick} registered: ${text}`);
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
      if (!joined && / 00[14] /.test(text)) {
        await writeAll(conn, encoder.encode(`JOIN ${channel}\r\n`));
        joined = true;
      }
      if (namesEnd.test(text)) break;
      if (/^:\S+ 4(?!2[12])\d\d /m.test(text)) {
        throw new Error(`${nick} cannot register: ${text.slice(0, 500)}`);
      }
    }
    const client = new IrcLoadClient(conn, sample, channel);
    client.#loop = client.#read();
    return client;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch {
        return;
      }
      if (n === null) return;
      const bytes = buffer.subarray(0, n);
      this.#count(bytes);
      if (this.#sample) this.#sampleLatency(bytes);
    }
  }

  #count(bytes: Uint8Array): void {
    const mark = this.#mark;
    let matched = this.#matched;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === mark[matched]) {
        if (++matched === mark.length) {
          this.received++;
          matched = 0;
        }
      } else matched = bytes[i] === mark[0] ? 1 : 0;
    }
    this.#matched = matched;
  }

  #sampleLatency(bytes: Uint8Array): void {
    const now = performance.timeOrigin + performance.now();
    const lines = (this.#partial + this.#decoder.decode(bytes, { stream: true })).split("\r\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      const sent = this.#stamp.exec(line)?.[1];
      if (sent) this.latencies.push(now - Number(sent));
    }
  }

  /** Sends raw IRC lines. */
  send(lines: string): Promise<void> {
    return writeAll(this.#conn, encoder.encode(lines));
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
    await this.#loop;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
