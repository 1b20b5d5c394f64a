/**
 * The web port's own accept loop. `Deno.serve` accepts every connection itself and keeps one that
 * never sends a request open for ever: from one address, idle or half-sent requests (slowloris)
 * filled the open-file limit, and the next accept failed inside `Deno.serve` with an uncaught
 * error that ended the process. Here connections are accepted like the TCP and IRC ones: counted
 * by the server's connection guard (caps in all and per address, new connections per second),
 * accepted with back-off when out of descriptors, and closed when no complete request arrives for
 * `idleMs`. Each admitted connection is then served by Deno's HTTP engine (`Deno.serveHttp`, still
 * in Deno 2's runtime though no longer in its types), WebSocket upgrades included.
 * @module
 */

import { accepting } from "../io/accept_loop.ts";
import type { Logger } from "../context.ts";

/** One request of a connection, as `Deno.serveHttp` hands it over. */
interface RequestEvent {
  readonly request: Request;
  respondWith(response: Response | Promise<Response>): Promise<void>;
}

/** A connection served by Deno's HTTP engine. */
interface HttpConn {
  /** The next request; `null` once the connection is closed or upgraded (a WebSocket). */
  nextRequest(): Promise<RequestEvent | null>;
  close(): void;
}

type ServeHttp = (conn: Deno.Conn) => HttpConn;

const serveHttp = (Deno as unknown as { serveHttp?: ServeHttp }).serveHttp;

/** Whether this runtime can serve connections accepted here (else use `Deno.serve`). */
export const canServeConnections: boolean = typeof serveHttp === "function";

/** A request handler, as for `Deno.serve`. */
export type WebHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** How the web port is served. */
export interface WebServerOptions {
  readonly listener: Deno.Listener;
  readonly handler: WebHandler;
  /** Counts a connection in (a refusal line, or `undefined` when admitted)... */
  readonly admit: (ip: string) => string | undefined;
  /** ...and out, once for each admitted one. */
  readonly release: (ip: string) => void;
  readonly idleMs: number;
  readonly log: Logger;
  readonly stopping: () => boolean;
}

/** A running web port. */
export interface WebServer {
  readonly addr: Deno.NetAddr;
  /** Stops accepting and closes the connections waiting for a request. */
  shutdown(): Promise<void>;
}

const encoder = new TextEncoder();

/** Serves the web port on `options.listener` until {@linkcode WebServer.shutdown}. */
export function serveWeb(options: WebServerOptions): WebServer {
  const open = new Set<HttpConn>();
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
      for (const http of open) closeQuietly(http);
      await Promise.all(served);
    },
  };
}

async function serveConnection(
  conn: Deno.Conn,
  options: WebServerOptions,
  open: Set<HttpConn>,
): Promise<void> {
  const remoteAddr = conn.remoteAddr as Deno.NetAddr;
  const refusal = options.admit(remoteAddr.hostname);
  if (refusal !== undefined) {
    await refuse(conn, refusal.slice(4).trim());
    return;
  }
  let http: HttpConn | undefined;
  try {
    http = (serveHttp as ServeHttp)(conn);
    open.add(http);
    while (true) {
      const event = await nextWithin(http, options.idleMs);
      if (event === null) break; // closed, idle too long, or now a WebSocket
      const { promise: completed, resolve } = Promise.withResolvers<void>();
      try {
        const response = await options.handler(event.request, { remoteAddr, completed });
        await event.respondWith(response);
      } catch (error) {
        options.log.info(`HTTP request from ${remoteAddr.hostname} not answered: ${error}`);
        await event.respondWith(new Response("Internal error", { status: 500 })).catch(() => {});
      } finally {
        resolve();
      }
    }
  } catch (error) {
    options.log.info(`HTTP connection from ${remoteAddr.hostname} ended: ${error}`);
  } finally {
    if (http) {
      open.delete(http);
      closeQuietly(http); // an upgraded connection lives on as its WebSocket
    } else {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    options.release(remoteAddr.hostname);
  }
}

/** The next request, or `null` when none came within `ms` (the connection is then closed). */
async function nextWithin(http: HttpConn, ms: number): Promise<RequestEvent | null> {
  const timer = setTimeout(() => closeQuietly(http), ms);
  try {
    return await http.nextRequest();
  } catch {
    return null; // closed meanwhile
  } finally {
    clearTimeout(timer);
  }
}

/** A plain 503 for a connection over the limits, then the close. */
async function refuse(conn: Deno.Conn, reason: string): Promise<void> {
  const body = `${reason}\n`;
  const head = `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n` +
    `content-length: ${encoder.encode(body).length}\r\nconnection: close\r\nretry-after: 1\r\n\r\n`;
  try {
    await conn.write(encoder.encode(head + body));
  } catch {
    // gone already
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

function closeQuietly(http: HttpConn): void {
  try {
    http.close();
  } catch {
    // already closed
  }
}
