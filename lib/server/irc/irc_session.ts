/**
 * One IRC client's connection: the state IRC keeps per client (nick, capabilities, registration,
 * the pseudo-channels it shows), requests into the shared dispatcher, and their replies and the
 * hub's events rendered as IRC lines. It is the IRC front end's {@linkcode ClientOutput}.
 * @module
 */

import type { ClientTags, OutboundEvent } from "../../protocol/events.ts";
import type { LineErrorReason } from "../../protocol/line_splitter.ts";
import { formatRequest } from "../../protocol/request.ts";
import type { ServerCommandName } from "../../protocol/commands.ts";
import type { Client, ClientOutput } from "../client.ts";
import type { ServerContext } from "../context.ts";
import type { LineHandler } from "../request_pipeline.ts";
import { dispatch } from "../dispatch.ts";
import type { LineConnection } from "../tcp/line_connection.ts";
import type { ReplyDetail } from "../../protocol/reply_data.ts";
import { formatIrcMessage, type IrcMessage, type OutgoingMessage } from "./irc_message.ts";
import { maskOf } from "../audience.ts";
import { Numeric } from "./numerics.ts";

/** A reply of the shared dispatcher, as the gateway reads it. */
export interface CoreReply {
  readonly code: number;
  readonly lines: readonly string[];
  readonly detail?: ReplyDetail;
}

/** Events held for a client that has not finished registering, at most. */
const MAX_HELD_EVENTS = 1000;

const encoder = new TextEncoder();

/** What the session needs from the server around it. */
export interface IrcSessionOptions {
  readonly ctx: ServerContext;
  readonly connection: LineConnection;
  /** When the server started, for RPL_CREATED. */
  readonly startedAt: number;
  /** The address the client dialled, for the commands the server suggests (`/connect HOST PORT`). */
  readonly dialled?: Deno.NetAddr;
}

/** What every session starts from (shared: thousands of sessions hold them). */
const NO_CAPS: ReadonlySet<string> = new Set();
const SETTLED: Promise<unknown> = Promise.resolve();
const ignoreLine = (): Promise<void> => Promise.resolve();
const ignoreEvent = () => {};

/** The per-client state of the IRC front end. */
export class IrcSession implements ClientOutput, LineHandler {
  /** IRC clients that asked for message-tags show client-only tags (the renderer checks). */
  readonly showsClientTags = true;
  readonly rawBytes = false;
  readonly ctx: ServerContext;
  readonly connection: LineConnection;
  readonly startedAt: number;
  /** Set once the server made the client for this session. */
  client!: Client;
  /** The nick the client asked for, then the one it has. */
  nick: string | undefined;
  /** USER was given. */
  userGiven = false;
  /** PASS, kept until registration uses it. */
  password: string | undefined;
  /** Capabilities the client enabled; change them with {@linkcode setCap}. */
  get caps(): ReadonlySet<string> {
    return this.#caps ?? NO_CAPS;
  }
  /** Made on the first CAP REQ: most load clients and many people never ask for any. */
  #caps: Set<string> | undefined;
  /** Which encoding of shared events this client gets, by its capabilities (see `variant`). */
  #variant: string | undefined;
  /** Registration waits while capabilities are negotiated (CAP LS or REQ until CAP END). */
  negotiating = false;
  /** The client said `CAP LS 302` (values and multi-line replies allowed, cap-notify implied). */
  capVersion = 301;
  /** SASL exchange under way: the mechanism and the base64 received so far. */
  sasl: { buffer: string } | undefined;
  /** Logged in to an account by SASL before registration completed. */
  saslAccount: string | undefined;
  /** The presence change #lab's NAMES showed this client up to (see PresenceNotices). */
  labShownSeq = 0;
  /** An admin who said OPER: user mode +o. */
  oper = false;
  /** 001 has been sent. */
  registered = false;
  /** Shows the broadcast stream as `#lab`. */
  inLab = false;
  /** labchat rooms shown as `&room-N` channels. */
  get rooms(): Set<number> {
    return this.#rooms ??= new Set();
  }
  #rooms: Set<number> | undefined;
  #held: OutboundEvent[] | undefined = [];
  /** Resolved, and let go, once the client is welcomed (or gone). */
  #welcomed: PromiseWithResolvers<void> | undefined = Promise.withResolvers<void>();
  /** Reply handlers of requests sent to the dispatcher, oldest first. */
  readonly #waiting: ((reply: CoreReply) => void)[] = [];
  /** Settles once the last request handed to the dispatcher has its reply in line. */
  #dispatched: Promise<unknown> = SETTLED;
  #batch = 0;
  /** Lines sent in this turn, not yet handed to the connection (see {@linkcode send}). */
  #pending = "";
  #handOverScheduled = false;

  constructor(options: IrcSessionOptions) {
    this.ctx = options.ctx;
    this.connection = options.connection;
    this.startedAt = options.startedAt;
    this.dialled = options.dialled;
  }

  /** The address the client dialled, when known. */
  readonly dialled: Deno.NetAddr | undefined;

  get serverName(): string {
    return this.ctx.config.ircServerName;
  }

  /** The labchat name of the logged-in user, if any. */
  get me(): string | undefined {
    return this.client.identity?.name;
  }

  /** The first parameter of numerics: the nick, or `*` before there is one. */
  get target(): string {
    return this.nick ?? "*";
  }

  get isClosed(): boolean {
    return this.connection.isClosed;
  }

  /** `nick!ident@host` of a labchat user: the core's mask, shown as it is. */
  maskOf(name: string): string {
    return maskOf(this.ctx, name);
  }

  /** Enables or disables a capability. */
  setCap(name: string, enabled: boolean): void {
    const caps = this.#caps ??= new Set();
    if (enabled) caps.add(name);
    else caps.delete(name);
    this.#variant = undefined;
  }

  /**
   * The key of this client's encoding of events that read the same for every recipient: only
   * server-time, message-tags, account-tag and extended-join change them. Kept until a CAP
   * change, so the fan-out path builds no string per recipient.
   */
  get variant(): string {
    const has = (cap: string, flag: string) => this.caps.has(cap) ? flag : "";
    return this.#variant ??= `irc:${has("server-time", "t")}${has("message-tags", "m")}${
      has("account-tag", "a")
    }${has("extended-join", "x")}`;
  }

  /** A fresh batch reference tag. */
  nextBatch(): string {
    return `b${++this.#batch}`;
  }

  /**
   * Sends one message (queued behind what is queued). False if the connection is gone. The lines
   * of one turn (a welcome burst, a NAMES or WHO list) are gathered and handed over as one buffer
   * at the end of it: one encoding and one allocation instead of one per line.
   */
  send(message: OutgoingMessage): boolean {
    if (this.connection.isClosed) return false;
    this.#pending += formatIrcMessage(message) + "\r\n";
    if (!this.#handOverScheduled) {
      this.#handOverScheduled = true;
      queueMicrotask(() => this.#handOver());
    }
    return true;
  }

  /** Queues bytes encoded once for many clients, after every line sent before them. */
  sendBytes(bytes: Uint8Array): boolean {
    this.#handOver();
    return this.connection.sendBytes(bytes);
  }

  /** Hands the lines gathered so far to the connection. */
  #handOver(): void {
    this.#handOverScheduled = false;
    if (this.#pending === "") return;
    const text = this.#pending;
    this.#pending = "";
    this.connection.sendBytes(encoder.encode(text));
  }

  /** Sends a numeric from the server, with the client's nick first. */
  numeric(code: string, ...params: string[]): void {
    this.send({ source: this.serverName, command: code, params: [this.target, ...params] });
  }

  /** A notice from the server to this client. */
  notice(text: string): void {
    this.send({ source: this.serverName, command: "NOTICE", params: [this.target, text] });
  }

  /** Server-time tag for an event at `at` (epoch ms), when the client asked for it. */
  timeTag(at: number): string | undefined {
    return this.caps.has("server-time") ? new Date(at).toISOString() : undefined;
  }

  /**
   * Sends a request line to the shared dispatcher; `onReply` renders its reply synchronously,
   * in request order, before any event that follows it.
   */
  request(
    name: ServerCommandName,
    args: readonly string[],
    onReply: (reply: CoreReply) => void,
    tags?: ClientTags,
  ): Promise<void> {
    return this.requestLine(formatRequest(name, args), onReply, tags);
  }

  /**
   * {@linkcode request} with a request line as a user typed it (the service nick). Requests are
   * dispatched one after another, as a TCP client's lines are: a reply takes its place in the
   * client's turn only once its handler has run, so two requests under way at once (the
   * welcome's MOTD and a JOIN sent right behind USER) could be answered out of order, and each
   * answer would reach the other's handler.
   */
  requestLine(
    line: string,
    onReply: (reply: CoreReply) => void,
    tags?: ClientTags,
  ): Promise<void> {
    const dispatched = this.#dispatched.then(() => {
      this.#waiting.push(onReply);
      return dispatch(this.ctx, this.client, line, tags);
    });
    this.#dispatched = dispatched.catch(() => {});
    return dispatched;
  }

  /** {@linkcode request} for a caller that waits for the reply. */
  ask(name: ServerCommandName, args: readonly string[]): Promise<CoreReply> {
    const answer = Promise.withResolvers<CoreReply>();
    void this.request(name, args, answer.resolve);
    return answer.promise;
  }

  /** Set by the front end: handles one line the client sent. */
  handleLine: (session: IrcSession, line: string) => Promise<void> = ignoreLine;

  /** The request pipeline hands this session each line the client sent. */
  async line(text: string): Promise<void> {
    await this.handleLine(this, text);
    this.#answered();
  }

  /** A line too long or unreadable: the client hears why and goes on. */
  bad(reason: LineErrorReason): void {
    if (reason === "too_long") this.numeric(Numeric.ERR_INPUTTOOLONG, "Input line was too long");
    else if (reason === "invalid_utf8") {
      this.send({
        source: this.serverName,
        command: "FAIL",
        params: ["*", "INVALID_UTF8", "Message rejected: it is not valid UTF-8"],
      });
    } else this.notice("Message rejected: it holds a NUL byte");
  }

  /** Registration done: events held meanwhile go out now. */
  welcomed(): void {
    this.registered = true;
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const event of held) this.event(event);
    this.#welcomed?.resolve();
    this.#welcomed = undefined;
  }

  /** Set by the front end: renders one event for this client. */
  render: (session: IrcSession, event: OutboundEvent) => void = ignoreEvent;

  // ClientOutput

  event(event: OutboundEvent): boolean {
    if (this.connection.isClosed) return false;
    if (this.#held) {
      if (this.#held.length >= MAX_HELD_EVENTS) return false;
      this.#held.push(event);
      return true;
    }
    this.render(this, event);
    return !this.connection.isClosed;
  }

  async eventsPaced(events: Iterable<OutboundEvent>): Promise<void> {
    if (this.#welcomed) await Promise.race([this.#welcomed.promise, this.connection.whenClosed]);
    for (const event of events) {
      this.#handOver();
      await this.connection.waitForRoom();
      if (!this.event(event)) return;
    }
  }

  reply(code: number, text: string | readonly string[], detail?: ReplyDetail): Promise<void> {
    const onReply = this.#waiting.shift();
    const lines = typeof text === "string" ? [text] : text;
    onReply?.({ code, lines, detail });
    this.#answered();
    return Promise.resolve();
  }

  /** What answers a command leaves now, not at the flush timer: the client waits for it. */
  #answered(): void {
    this.#handOver();
    this.connection.flushNow();
  }

  stream(): Promise<void> {
    return Promise.reject(new Error("IRC carries no raw bytes"));
  }

  readRaw(): Promise<void> {
    return Promise.reject(new Error("IRC carries no raw bytes"));
  }

  flushed(): Promise<void> {
    this.#handOver();
    return this.connection.flushed();
  }

  close(graceful?: boolean, graceMs?: number): Promise<void> {
    this.#welcomed?.resolve();
    this.#welcomed = undefined;
    this.#handOver();
    return this.connection.close(graceful, graceMs);
  }

  /** Sends `ERROR :text` and closes. */
  async closeWith(text: string): Promise<void> {
    this.send({ command: "ERROR", params: [text] });
    await this.close(true, 1000);
  }
}

/** Splits a message for an IRC handler. */
export type IrcHandler = (session: IrcSession, message: IrcMessage) => void | Promise<void>;

/** A session once registered: it has a labchat name. */
export type RegisteredSession = IrcSession & { readonly me: string };

/** Whether the session is registered (has a name). */
export function isRegistered(session: IrcSession): session is RegisteredSession {
  return session.me !== undefined;
}

/** Handles a message of a registered session. */
export type RegisteredHandler = (
  session: RegisteredSession,
  message: IrcMessage,
) => void | Promise<void>;
