/**
 * The TCP front end: chat-client, scripts, nc. Each connection is a {@linkcode LineConnection}
 * (one request per line, replies and events as lines), admitted under the caps and served like
 * any other client.
 * @module
 */

import { type Accepting, accepting } from "../io/accept_loop.ts";
import { Client } from "../client.ts";
import type { ClientHost } from "../client_host.ts";
import { LineConnection, type LineConnectionOptions } from "./line_connection.ts";

/** The TCP port being served. */
export type TcpFrontEnd = Accepting;

/** Listens for line clients on `listener` and serves each through `host`. */
export function serveTcp(listener: Deno.Listener, host: ClientHost): TcpFrontEnd {
  const { ctx } = host;
  const { config, log } = ctx;
  // One set for every connection (each would otherwise hold closures of its own).
  const options: LineConnectionOptions = {
    maxLineBytes: config.maxLineBytes,
    maxSendQueueBytes: config.maxSendQueueBytes,
    flush: host.flush,
    onSlowReader: (connection) => {
      const client = connection.client;
      if (client) client.quitReason = "Disconnected: not reading";
      log.info(
        `${client?.label ?? connection.ip} disconnected: not reading its replies and events`,
      );
      void connection.close();
    },
  };
  return accepting(listener, (conn) => admit(conn, host, options), log, () => ctx.shuttingDown);
}

function admit(conn: Deno.Conn, host: ClientHost, options: LineConnectionOptions): void {
  const { log } = host.ctx;
  const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
  const refusal = host.admit(ip);
  if (refusal !== undefined) {
    log.info(`Refused connection from ${ip}: ${refusal.slice(4).trim()}`);
    void refuse(conn, refusal);
    return;
  }
  if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
  const connection = new LineConnection(conn, options);
  const client = connection.client = new Client("tcp", ip, connection.port, connection);
  log.info(`Connected to ${ip}:${connection.port}`);
  host.serve(client, connection);
}

/** Tells a connection over the caps why it is refused and closes it. */
async function refuse(conn: Deno.Conn, line: string): Promise<void> {
  try {
    await conn.write(new TextEncoder().encode(line));
  } catch {
    // the peer is gone already
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}
