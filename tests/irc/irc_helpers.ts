/**
 * IRC test helpers: a server with the gateway on port 0, and registered IRC clients.
 * @module
 */

import type { ChatServerOptions } from "../../lib/server/chat_server.ts";
import { IrcTestClient } from "../../testing/irc_client.ts";
import { startTestServer, type TestServer } from "../helpers.ts";

/** A test server with the IRC gateway on an OS-chosen port. */
export interface IrcTestServer extends TestServer {
  readonly ircPort: number;
}

/** Starts a server whose IRC gateway listens on 127.0.0.1:0. */
export async function startIrcServer(
  options: ChatServerOptions = {},
  dataDir?: string,
): Promise<IrcTestServer> {
  const server = await startTestServer({ irc: true, ircPort: 0, ...options }, dataDir);
  const ircPort = server.server.ircAddr?.port;
  if (ircPort === undefined) throw new Error("The IRC gateway did not start");
  return Object.assign(server, { ircPort });
}

/** An IRC client registered as `nick` (a guest without password), burst read. */
export async function ircUser(
  port: number,
  nick: string,
  password?: string,
): Promise<IrcTestClient> {
  const client = await IrcTestClient.connect(port);
  await client.register(nick, password);
  await client.drain(50);
  return client;
}
