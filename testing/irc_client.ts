/**
 * A raw IRC client for tests and the bench: sends lines, and waits for the messages a user's IRC
 * client would see, parsed.
 * @module
 */

import { type IrcMessage, parseIrcMessage } from "../lib/server/irc/irc_message.ts";

const encoder = new TextEncoder();

/** One IRC connection over TCP. */
export class IrcTestClient implements AsyncDisposable {
  readonly #conn: Deno.Conn;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #lines: string[] = [];
  #waiter: (() => void) | undefined;
  #closed = false;
  readonly #reading: Promise<void>;
  /** Every line received, in order (for failure messages). */
  readonly log: string[] = [];

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reading = this.#read();
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<IrcTestClient> {
    return new IrcTestClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Whether the server has closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        this.#buffer += this.#decoder.decode(buffer.subarray(0, n), { stream: true });
        const parts = this.#buffer.split("\r\n");
        this.#buffer = parts.pop() ?? "";
        this.#lines.push(...parts);
        this.log.push(...parts);
        this.#waiter?.();
      }
    } catch {
      // reset or closed by us
    }
    this.#closed = true;
    this.#waiter?.();
  }

  /** Sends lines (CR LF added). */
  async send(...lines: string[]): Promise<void> {
    await this.#conn.write(encoder.encode(lines.map((l) => l + "\r\n").join("")));
  }

  /** Sends raw bytes as they are. */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    await this.#conn.write(bytes);
  }

  /** The next line, waiting up to `timeoutMs`; `undefined` once closed or on time-out. */
  async nextLine(timeoutMs = 5000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#waiter = undefined;
    }
    return this.#lines.shift();
  }

  /** The next message (parsed). Throws on time-out or close. */
  async next(timeoutMs = 5000): Promise<IrcMessage> {
    const line = await this.nextLine(timeoutMs);
    if (line === undefined) {
      throw new Error(`No message (closed: ${this.#closed}); got so far:\n${this.log.join("\n")}`);
    }
    return parseIrcMessage(line) as IrcMessage;
  }

  /**
   * Reads until a message matching `command` (and `test`, if given) and returns it; what came
   * before is returned too.
   */
  async expect(
    command: string,
    test: (m: IrcMessage) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<{ message: IrcMessage; before: IrcMessage[] }> {
    const before: IrcMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const left = deadline - Date.now();
      const line = left > 0 ? await this.nextLine(left) : undefined;
      if (line === undefined) {
        throw new Error(
          `Expected ${command}; closed: ${this.#closed}; got:\n${this.log.join("\n")}`,
        );
      }
      const message = parseIrcMessage(line) as IrcMessage;
      if (message.command === command && test(message)) return { message, before };
      before.push(message);
    }
  }

  /** Messages that arrive within `quietMs` of each other, until quiet. */
  async drain(quietMs = 150): Promise<IrcMessage[]> {
    const messages: IrcMessage[] = [];
    while (true) {
      const line = await this.nextLine(quietMs);
      if (line === undefined) return messages;
      messages.push(parseIrcMessage(line) as IrcMessage);
    }
  }

  /** NICK and USER (and PASS first if given), then waits for 001 and the end of the burst. */
  async register(nick: string, password?: string): Promise<IrcMessage> {
    if (password !== undefined) await this.send(`PASS ${password}`);
    await this.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick} Test`);
    const { message } = await this.expect("001");
    // The burst ends with the JOIN of #lab's names.
    await this.expect("366");
    return message;
  }

  /** Waits until the server closes the connection (or `timeoutMs`). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) await this.nextLine(deadline - Date.now());
    return this.#closed;
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
    await this.#reading;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
