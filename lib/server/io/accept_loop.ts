/**
 * Accepting connections from a listener until it closes. When the process is out of file
 * descriptors (EMFILE, ENFILE) accept fails at once, again and again: the loop backs off instead
 * of spinning, and logs the condition once per interval instead of once per failure.
 * @module
 */

import type { Logger } from "../context.ts";

/** Longest pause between attempts while accept keeps failing. */
const MAX_BACKOFF_MS = 1000;
/** At most one log line about failing accepts per this interval. */
const LOG_INTERVAL_MS = 10_000;

/** Accepts until the listener is closed; hands each connection to `onConnection`. */
export async function acceptLoop<C>(
  listener: AsyncIterable<C> & { accept(): Promise<C> },
  onConnection: (conn: C) => void,
  log: Logger,
  stopping: () => boolean,
): Promise<void> {
  let backoff = 0;
  let lastLog = -Infinity;
  let failures = 0;
  while (true) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (stopping() || error instanceof Deno.errors.BadResource) return;
      failures++;
      const now = performance.now();
      if (now - lastLog >= LOG_INTERVAL_MS) {
        const more = failures > 1 ? ` (${failures} failures since the last report)` : "";
        log.error(`Cannot accept connections${more}; backing off`, error);
        lastLog = now;
        failures = 0;
      }
      backoff = Math.min(MAX_BACKOFF_MS, Math.max(10, backoff * 2));
      await new Promise((resolve) => setTimeout(resolve, backoff));
      continue;
    }
    backoff = 0;
    onConnection(conn);
  }
}

/** A listener being served: where, and how to stop accepting. */
export interface Accepting {
  readonly addr: Deno.NetAddr;
  /** Closes the listener; resolves when the accept loop has ended. */
  stop(): Promise<void>;
}

/** Runs {@linkcode acceptLoop} on `listener` until {@linkcode Accepting.stop} closes it. */
export function accepting(
  listener: Deno.Listener,
  onConnection: (conn: Deno.Conn) => void,
  log: Logger,
  stopping: () => boolean,
): Accepting {
  const loop = acceptLoop(listener, onConnection, log, stopping);
  return {
    addr: listener.addr as Deno.NetAddr,
    async stop() {
      try {
        listener.close();
      } catch {
        // already closed
      }
      await loop;
    },
  };
}
