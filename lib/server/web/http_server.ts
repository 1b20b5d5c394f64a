/**
 * The web port's own accept loop. `Deno.serve` accepts every connection itself and keeps one that
 * never sends a request open for ever: from one address, idle or half-sent requests (slowloris)
 * filled the open-file limit, and the next accept failed inside `Deno.serve` with an uncaught
 * error that ended the process. Here connections are accepted like the TCP and IRC ones: counted
 * by the server's connection guard (caps in all and per address, new connections per second),
 * accepted with back-off when out of descriptors, and closed when no complete request arrives for
 * `idleMs`. Each admitted connection is then served by labchat's own HTTP/1.1 reader and writer
 * (`http1/`), WebSocket upgrades included: Deno's engine kept 16 KiB or more per idle WebSocket.
 * @module
 */

import { accepting } from "../io/accept_loop.ts";
import type { FlushScheduler } from "../io/outbound.ts";
import type { Logger } from "../context.ts";
import {
  closeQuietly,
  errorResponse,
  serveHttp1,
  type WebHandler,
  writeAll,
} from "./http1/http1_connection.ts";

/** How the web port is served. */
export interface WebServerOptions {
  readonly listener: Deno.Listener;
  readonly handler: WebHandler;
  /** Counts a connection in (a refusal line, or `undefined` when admitted)... */
  readonly admit: (ip: string) => string | undefined;
  /** ...and out, once for each admitted one. */
  readonly release: (ip: string) => void;
  readonly idleMs: number;
  /** Served over TLS: request URLs are https. */
  readonly secure: boolean;
  /** The largest WebSocket message a client may send. */
  readonly maxMessageBytes: number;
  /** Bytes a WebSocket may have waiting to be sent before its peer counts as not reading. */
  readonly maxQueueBytes: number;
  readonly scheduler?: FlushScheduler;
  readonly log: Logger;
  readonly stopping: () => boolean;
}

/** A running web port. */
export interface WebServer {
  readonly addr: Deno.NetAddr;
  /** Stops accepting and closes the connections waiting for a request. */
  shutdown(): Promise<void>;
}

/** Serves the web port on `options.listener` until {@linkcode WebServer.shutdown}. */
export function serveWeb(options: WebServerOptions): WebServer {
  const open = new Set<Deno.Conn>();
  const served = new Set<Promise<void>>();
  const listening = accepting(
    options.listener,
    (conn) => {
      const serving = serveConnection(conn, options, open).finally(() => served.delete(serving));
      served.add(serving);
    },
    options.log,
    options.stopping,
  );
  return {
    addr: listening.addr,
    async shutdown() {
      await listening.stop();
      for (const conn of open) closeQuietly(conn);
      await Promise.all(served);
    },
  };
}

async function serveConnection(
  conn: Deno.Conn,
  options: WebServerOptions,
  open: Set<Deno.Conn>,
): Promise<void> {
  const remoteAddr = conn.remoteAddr as Deno.NetAddr;
  const refusal = options.admit(remoteAddr.hostname);
  if (refusal !== undefined) {
    await refuse(conn, refusal.slice(4).trim());
    return;
  }
  // Small frames leave at once, as on the other ports (Nagle's delay met the peer's delayed ACK).
  if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
  open.add(conn);
  try {
    await serveHttp1(conn, options);
  } finally {
    open.delete(conn); // an upgraded connection lives on as its WebSocket
    options.release(remoteAddr.hostname);
  }
}

/** A plain 503 for a connection over the limits, then the close. */
async function refuse(conn: Deno.Conn, reason: string): Promise<void> {
  await writeAll(conn, errorResponse(503, reason, "retry-after: 1\r\n")).catch(() => {});
  closeQuietly(conn);
}
