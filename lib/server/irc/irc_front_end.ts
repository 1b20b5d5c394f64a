/**
 * The IRC front end: a listener whose connections speak IRC. Each connection is a client of the
 * same server as TCP and WebSocket ones, served by the same host (caps, flood control, idle sweep,
 * logout, shutdown); only the lines in and out differ.
 * @module
 */

import { type Accepting, accepting } from "../io/accept_loop.ts";
import { Client } from "../client.ts";
import type { ClientHost } from "../client_host.ts";
import { LineConnection, type LineConnectionOptions } from "../tcp/line_connection.ts";
import { handleIrcLine, MAX_IRC_FRAME_BYTES } from "./irc_commands.ts";
import { formatIrcMessage } from "./irc_message.ts";
import { renderEvent } from "./irc_events.ts";
import { IrcSession } from "./irc_session.ts";

const encoder = new TextEncoder();

/** A running IRC listener. */
export type IrcFrontEnd = Accepting;

/** Listens for IRC clients on `listener` and serves each through `host`. */
export function serveIrc(listener: Deno.Listener, host: ClientHost): IrcFrontEnd {
  const startedAt = Date.now();
  const { ctx } = host;
  const { log } = ctx;
  // One set for every connection (each would otherwise hold closures of its own).
  const options: LineConnectionOptions = {
    maxLineBytes: MAX_IRC_FRAME_BYTES,
    maxSendQueueBytes: ctx.config.maxSendQueueBytes,
    flush: host.flush,
    refuseControl: false,
    onSlowReader: (connection) => {
      const client = connection.client;
      log.info(`${client?.label ?? connection.ip} disconnected: not reading its IRC lines`);
      if (client) client.quitReason = "Disconnected: not reading";
      void connection.close();
    },
  };
  return accepting(
    listener,
    (conn) => admit(conn, host, startedAt, options),
    log,
    () => ctx.shuttingDown,
  );
}

function admit(
  conn: Deno.Conn,
  host: ClientHost,
  startedAt: number,
  options: LineConnectionOptions,
): void {
  const { ctx } = host;
  const { log } = ctx;
  const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
  const refusal = host.admit(ip);
  if (refusal !== undefined) {
    log.info(`Refused IRC connection from ${ip}: ${refusal.slice(4).trim()}`);
    const line = formatIrcMessage({ command: "ERROR", params: [refusal.slice(4).trim()] });
    void conn.write(encoder.encode(line + "\r\n")).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    });
    return;
  }
  if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
  const connection = new LineConnection(conn, options);
  const dialled = conn.localAddr as Deno.NetAddr;
  const session = new IrcSession({ ctx, connection, startedAt, dialled });
  session.render = renderEvent;
  session.handleLine = handleIrcLine;
  const client = session.client = connection.client = new Client(
    "irc",
    ip,
    connection.port,
    session,
  );
  log.info(`IRC connection from ${ip}:${connection.port}`);
  host.serve(client, connection, session);
}
