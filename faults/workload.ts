/**
 * The fault suite's users: each one logged in on a node and in the run's channel, sending
 * broadcasts, private messages and messages to the channel with request ids at a steady rate,
 * recording what every try was told and everything each of its sessions received. A user whose
 * connection ends logs in again on any node that answers (its own first), joins the channel
 * again, and sends again, with the same id, what it could not learn the fate of.
 * @module
 */

import { ChatConnection } from "../lib/client/chat_connection.ts";
import type { ChatEvent } from "../lib/protocol/events.ts";
import type { Attempt, Outcome, SentMessage, Session } from "./records.ts";

/** Where the users' nodes are now. */
export interface Nodes {
  readonly nodeNames: readonly string[];
  port(name: string): number | undefined;
}

/** What a reply says happened. */
export function outcomeOf(code: number, text: string): Outcome {
  if (code === 200 || code === 202) return "ok";
  if (code >= 400 && code < 500) return "not_done";
  if (/not carried out/.test(text)) return "not_done";
  if (/Stored, but not yet on the Redis replicas/.test(text)) return "unreplicated";
  return "unknown";
}

/** How many times a request of unknown fate is sent again. */
const RETRIES = 5;

/** One user of the workload. */
class User {
  readonly name: string;
  readonly home: string;
  readonly channel: string;
  #chat: ChatConnection | undefined;
  #session: Session | undefined;
  #connecting: Promise<boolean> | undefined;
  /** Whether this session's JOIN of the channel succeeded. */
  #inChannel = false;

  constructor(name: string, home: string, channel: string) {
    this.name = name;
    this.home = home;
    this.channel = channel;
  }

  get loggedIn(): boolean {
    return this.#chat !== undefined && !this.#chat.isClosed;
  }

  get node(): string | undefined {
    return this.loggedIn ? this.#session?.node : undefined;
  }

  /** Logs in on its home node, or another that answers; resolves whether it did. */
  connect(nodes: Nodes, sessions: Session[], register = false): Promise<boolean> {
    this.#connecting ??= this.#connect(nodes, sessions, register).finally(() =>
      this.#connecting = undefined
    );
    return this.#connecting;
  }

  async #connect(nodes: Nodes, sessions: Session[], register: boolean): Promise<boolean> {
    if (this.loggedIn) return true;
    const order = [this.home, ...nodes.nodeNames.filter((n) => n !== this.home)];
    for (const node of order) {
      const port = nodes.port(node);
      if (port === undefined) continue;
      let chat: ChatConnection;
      try {
        chat = await ChatConnection.connect({ hostname: "127.0.0.1", port });
      } catch {
        continue;
      }
      const verb = register ? "REGISTER" : "LOGIN";
      const reply = await withTimeout(
        chat.request(`${verb} ${this.name} ${this.name}-secret`),
        5000,
      )
        .catch(() => undefined);
      if (reply?.code !== 200) {
        chat.close();
        await chat.done.catch(() => {});
        continue;
      }
      const session: Session = {
        user: this.name,
        node,
        start: Date.now(),
        broadcasts: [],
        privates: [],
        channel: [],
      };
      sessions.push(session);
      this.#chat = chat;
      this.#session = session;
      this.#inChannel = false;
      void this.#pump(chat, session);
      await this.#join(chat);
      return true;
    }
    return false;
  }

  /** Records what a session receives until its connection ends. */
  async #pump(chat: ChatConnection, session: Session): Promise<void> {
    for await (const event of chat.events()) record(session, event);
    session.end = Date.now();
  }

  /** Joins the run's channel; whether the session is in it. */
  async #join(chat: ChatConnection): Promise<boolean> {
    const reply = await withTimeout(chat.request(`JOIN ${this.channel}`), 15_000)
      .catch(() => undefined);
    if (this.#chat === chat) this.#inChannel = reply?.code === 200;
    return reply?.code === 200;
  }

  /** Sends one try of `message`; what it was told. */
  async send(message: SentMessage): Promise<Attempt | undefined> {
    const chat = this.#chat;
    if (!chat || chat.isClosed) return undefined;
    if (message.kind === "channel" && !this.#inChannel && !(await this.#join(chat))) {
      return { outcome: "not_done", at: Date.now(), reply: `cannot join ${this.channel}` };
    }
    const line = message.kind === "broadcast"
      ? `@id=${message.id} BROADCAST ${message.id}`
      : message.kind === "channel"
      ? `@id=${message.id} SAY ${this.channel} ${message.id}`
      : `@id=${message.id} MSG ${message.to} ${message.id}`;
    try {
      const reply = await withTimeout(chat.request(line), 15_000);
      return { outcome: outcomeOf(reply.code, reply.text), at: Date.now(), reply: reply.text };
    } catch (error) {
      // No reply: the request may or may not have been carried out.
      chat.close();
      return { outcome: "unknown", at: Date.now(), reply: `no reply: ${error}` };
    }
  }

  /** A request on the user's connection (WHO, HISTORY), or undefined. */
  async request(line: string) {
    const chat = this.#chat;
    if (!chat || chat.isClosed) return undefined;
    return await withTimeout(chat.request(line), 10_000).catch(() => undefined);
  }

  close(): void {
    this.#chat?.close();
    this.#chat = undefined;
  }

  /** Waits until the pump has seen the end of the connection. */
  async closed(): Promise<void> {
    const chat = this.#chat;
    this.close();
    await chat?.done.catch(() => {});
  }
}

function record(session: Session, event: ChatEvent): void {
  if (event.type === "broadcast") {
    session.broadcasts.push({ number: event.number, text: event.text, from: event.from });
  } else if (event.type === "private") {
    session.privates.push({ text: event.text, from: event.from, offline: false });
  } else if (event.type === "private_offline") {
    session.privates.push({ text: event.text, from: event.from, offline: true });
  } else if (event.type === "channel_message") {
    session.channel.push({ number: event.number, text: event.text, from: event.from });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Options of {@linkcode Workload}. */
export interface WorkloadOptions {
  /** How many users (half on each of the first two nodes). */
  readonly users: number;
  /** Requests per second of each user. */
  readonly rate: number;
  /** A name that keeps this run's users, channel and texts apart from others'. */
  readonly tag: string;
}

/** The users, their messages and sessions. */
export class Workload {
  readonly messages: SentMessage[] = [];
  readonly sessions: Session[] = [];
  readonly #users: User[];
  readonly #nodes: Nodes;
  readonly #rate: number;
  readonly #tag: string;
  #running = false;
  #loops: Promise<void>[] = [];
  /** When the last try of each user was acknowledged. */
  readonly successes: number[] = [];

  private constructor(nodes: Nodes, users: User[], options: WorkloadOptions) {
    this.#nodes = nodes;
    this.#users = users;
    this.#rate = options.rate;
    this.#tag = options.tag;
  }

  /** Registers the users, each on its home node. */
  static async register(nodes: Nodes, options: WorkloadOptions): Promise<Workload> {
    const names = nodes.nodeNames;
    const users = Array.from(
      { length: options.users },
      (_, i) => new User(`${options.tag}${i}`, names[i % names.length], `#${options.tag}`),
    );
    const workload = new Workload(nodes, users, options);
    for (const user of users) {
      if (!(await user.connect(nodes, workload.sessions, true))) {
        throw new Error(`cannot register ${user.name}`);
      }
    }
    return workload;
  }

  /** The users logged in now, and on which node. */
  loggedIn(): Map<string, string> {
    const out = new Map<string, string>();
    for (const user of this.#users) {
      const node = user.node;
      if (node !== undefined) out.set(user.name, node);
    }
    return out;
  }

  /** Starts every user's loop. */
  start(): void {
    this.#running = true;
    this.#loops = this.#users.map((user, i) => this.#loop(user, i));
  }

  /** Stops sending, and settles what is of unknown fate (sent again while nodes answer). */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  async #loop(user: User, index: number): Promise<void> {
    const period = 1000 / this.#rate;
    let count = 0;
    const unsure: SentMessage[] = [];
    while (this.#running || unsure.length > 0) {
      const started = Date.now();
      if (!user.loggedIn) {
        const connected = await user.connect(this.#nodes, this.sessions);
        if (!connected) {
          if (!this.#running && unsure.length > 0 && Date.now() > this.#giveUpAt) break;
          await sleep(200);
          continue;
        }
      }
      let message = unsure.shift();
      if (!message) {
        if (!this.#running) break;
        const others = this.#users.filter((u) => u !== user);
        const to = others[(index + count) % others.length];
        const kind = (["broadcast", "private", "channel"] as const)[count % 3];
        message = {
          id: `${this.#tag}-${user.name}-${count++}`,
          kind,
          from: user.name,
          to: kind === "private" ? to.name : undefined,
          attempts: [],
        };
        this.messages.push(message);
      }
      const attempt = await user.send(message);
      if (attempt) {
        message.attempts.push(attempt);
        if (attempt.outcome === "ok") this.successes.push(attempt.at);
        const settled = attempt.outcome === "ok" || attempt.outcome === "not_done";
        if (!settled && message.attempts.length <= RETRIES) unsure.push(message);
      } else {
        unsure.unshift(message); // not sent at all: try again once logged in
      }
      await sleep(Math.max(0, period - (Date.now() - started)));
    }
  }

  /** While stopping, how long to keep trying to settle unsure messages. */
  #giveUpAt = Infinity;

  /** Gives the settling of unsure messages until `at` (epoch ms). */
  settleUntil(at: number): void {
    this.#giveUpAt = at;
  }

  /** Logs every user in again (each must, within `timeoutMs`), to collect what waited. */
  async reconnectAll(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const user of this.#users) {
      while (!(await user.connect(this.#nodes, this.sessions))) {
        if (Date.now() > deadline) throw new Error(`${user.name} cannot log in again`);
        await sleep(200);
      }
    }
  }

  /** The channel every user joins. */
  get channel(): string {
    return `#${this.#tag}`;
  }

  /** The users' names. */
  get names(): string[] {
    return this.#users.map((u) => u.name);
  }

  /** A request on a user's connection (for WHO and HISTORY): the first user's, or `name`'s. */
  async ask(line: string, name?: string) {
    const user = name === undefined ? this.#users[0] : this.#users.find((u) => u.name === name);
    return await user?.request(line);
  }

  /** Ends every user's connection and waits for their pumps. */
  async close(): Promise<void> {
    await Promise.all(this.#users.map((user) => user.closed()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
