/**
 * What a front end needs from the server: admission of a new connection under the caps, and a
 * served life for its client (frames through the request pipeline, logged out and counted out
 * when the connection ends, told about a shutdown, swept when idle).
 * @module
 */

import type { Frame } from "../protocol/line_splitter.ts";
import type { Client } from "./client.ts";
import type { ServerContext } from "./context.ts";
import type { FlushScheduler } from "./io/outbound.ts";
import type { LineHandler } from "./request_pipeline.ts";

/**
 * Where a connection's frames go, and who hears that it ended: an object, not closures (thousands
 * of connections each hold one).
 */
export interface FrameSink {
  /** Handles one frame; resolves when the next may be read. */
  handle(frame: Frame): Promise<void>;
  /** The connection ended; `error` when handling a frame failed. Called once, and awaited. */
  ended(error?: unknown): Promise<void>;
}

/** A connection's source of request frames. */
export interface FrameSource {
  /** Hands frames to `sink` one at a time until the connection ends, then tells it so. */
  readFrames(sink: FrameSink): Promise<void>;
  /** Waits `ms`, or less if the connection closes first. */
  pause(ms: number): Promise<void>;
}

/** The server as its front ends see it. */
export interface ClientHost {
  readonly ctx: ServerContext;
  /** Coalesces writes of every connection on one timer. */
  readonly flush: FlushScheduler;
  /** Counts a new connection from `ip` in, or returns the reply line that refuses it. */
  admit(ip: string): string | undefined;
  /** Counts out a connection admitted and then not served after all. */
  release(ip: string): void;
  /**
   * Serves `client` until its connection ends; it was admitted with {@linkcode admit}. Lines go
   * to `lines` when given (another protocol), else to the line protocol's dispatcher.
   */
  serve(client: Client, source: FrameSource, lines?: LineHandler): void;
}
