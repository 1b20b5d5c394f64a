/**
 * What happens to each frame a client sends, whatever carries it: flood control, back-pressure
 * when the client runs far ahead of its replies, an error reply for unreadable lines, and
 * dispatch for the rest.
 * @module
 */

import { Reply } from "../protocol/codes.ts";
import { OutboundEvent } from "../protocol/events.ts";
import { describeLineError, type Frame, type LineErrorReason } from "../protocol/line_splitter.ts";
import type { Client } from "./client.ts";
import type { FrameSink } from "./client_host.ts";
import type { ServerContext } from "./context.ts";
import { dispatch } from "./dispatch.ts";
import { TokenBucket } from "./io/token_bucket.ts";

/** Replies a client may have waiting before its further requests wait for them. */
const MAX_PENDING_REPLIES = 64;

/** What a front end does with a line, when it is not the line protocol (IRC). */
export interface LineHandler {
  /** Handles one line; resolves when the next may be read. */
  line(text: string): Promise<void>;
  /** Tells the client about a line that could not be read. */
  bad(reason: LineErrorReason): void;
}

/** A connection that can hold its requests back a while. */
export interface Pausable {
  /** Waits `ms`, or less if the connection closes first. */
  pause(ms: number): Promise<void>;
}

/** Handles the frames of one client, one at a time, and its end. */
export class RequestPipeline implements FrameSink {
  readonly #ctx: ServerContext;
  readonly #client: Client;
  readonly #source: Pausable;
  /** What the server does when a client's connection ends (one function for every client). */
  readonly #onEnd: (client: Client) => Promise<void>;
  readonly #bucket: TokenBucket | undefined;
  readonly #lines: LineHandler | undefined;
  /** Since when every request has had to wait: a flood once it lasts. */
  #throttledSince: number | undefined;

  /**
   * @param source the connection: its pause waits the given time, or less if it closes meanwhile
   * @param onEnd what the server does once the connection has ended (logs the client out)
   * @param lines the front end's own handling of lines; the line protocol's by default
   */
  constructor(
    ctx: ServerContext,
    client: Client,
    source: Pausable,
    onEnd: (client: Client) => Promise<void>,
    lines?: LineHandler,
  ) {
    this.#ctx = ctx;
    this.#onEnd = onEnd;
    this.#lines = lines;
    this.#client = client;
    this.#source = source;
    const rate = ctx.config.requestRate;
    this.#bucket = rate > 0 ? new TokenBucket(rate, rate * 2, Infinity) : undefined;
  }

  /** Handles one frame; resolves when the next may be read. */
  async handle(frame: Frame): Promise<void> {
    this.#ctx.counters.frames++;
    const client = this.#client;
    if (client.output.isClosed) return;
    // A client that does not read its replies is not read either, so its requests cannot pile up.
    // Reading resumes at half the limit, while the other half is still being stored.
    if (client.pendingReplies >= MAX_PENDING_REPLIES) {
      await client.repliesBelow(MAX_PENDING_REPLIES / 2);
    }
    if (!(await this.#paced())) return;
    if ("line" in frame) {
      if (frame.line.trim() === "") return;
      // IRC tells its keep-alives from what a person does itself.
      if (this.#lines) await this.#lines.line(frame.line);
      else {
        client.touch(this.#ctx.clock.now());
        await dispatch(this.#ctx, client, frame.line);
      }
      return;
    }
    client.touch(this.#ctx.clock.now());
    if (this.#lines) {
      this.#lines.bad(frame.error);
      return;
    }
    const text = describeLineError(frame.error, this.#ctx.config.maxLineBytes);
    client.inTurn(() => client.output.reply(Reply.BAD_LINE, text));
  }

  /** The connection ended: the server logs the client out and counts the connection out. */
  async ended(error?: unknown): Promise<void> {
    if (error !== undefined) this.#ctx.log.error(`${this.#client.label}: connection failed`, error);
    await this.#onEnd(this.#client);
  }

  /**
   * Flood control: past the rate, requests wait (a TCP sender is pushed back); held back for
   * longer than the flood limit, the client is disconnected with the reason. False then.
   */
  async #paced(): Promise<boolean> {
    const turn = this.#bucket?.take(performance.now());
    if (turn?.kind !== "wait") {
      this.#throttledSince = undefined;
      return true;
    }
    const now = performance.now();
    this.#throttledSince ??= now;
    const { requestRate, floodLimitMs } = this.#ctx.config;
    if (now - this.#throttledSince > floodLimitMs) {
      const client = this.#client;
      this.#ctx.log.info(`${client.label} disconnected: flooding`);
      client.quitReason = "Disconnected: flooding";
      client.output.event(
        new OutboundEvent({
          type: "disconnect",
          text:
            `Disconnected: more than ${requestRate} requests per second for too long (flooding)`,
        }),
      );
      await client.output.close(true, 1000);
      return false;
    }
    await this.#source.pause(turn.ms);
    return !this.#client.output.isClosed;
  }
}
