/**
 * Entry point of the terminal client: `deno task client [host] [port] [options]`, compiled as
 * `chat-client`.
 * @module
 */

import { ChatConnection } from "./lib/client/chat_connection.ts";
import { CLIENT_USAGE, type ClientArgs, parseClientArgs } from "./lib/cli/client_args.ts";
import { ExitCode, runClient } from "./lib/cli/client_app.ts";
import { palette, wantsColor } from "./lib/cli/render.ts";
import { LineTerminal, type Terminal, TtyTerminal } from "./lib/cli/terminal.ts";
import { PeerSocket } from "./lib/p2p/peer_socket.ts";

/** Connects, and makes sure within a few seconds that a labchat server answers. */
async function connect(args: ClientArgs): Promise<ChatConnection> {
  const caCerts = args.caFile ? [await Deno.readTextFile(args.caFile)] : undefined;
  const chat = await ChatConnection.connect({
    hostname: args.host,
    port: args.port,
    tls: args.tls ? { caCerts } : undefined,
  });
  try {
    await chat.probe();
    return chat;
  } catch (error) {
    await chat.close();
    throw error;
  }
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused (is the server running?)";
  }
  if (error instanceof Deno.errors.NotFound) return "no such file or host";
  return error instanceof Error ? error.message : String(error);
}

async function main(argv: string[]): Promise<number> {
  let args: ClientArgs;
  try {
    args = parseClientArgs(argv);
  } catch (error) {
    console.error(`chat-client: ${describe(error)}\nTry --help for usage.`);
    return ExitCode.USAGE;
  }
  if (args.help) {
    console.log(CLIENT_USAGE);
    return ExitCode.OK;
  }
  // This machine's own problems first, then the server's.
  let peerSocket: PeerSocket;
  try {
    peerSocket = new PeerSocket(args.udpPort ?? 0, "0.0.0.0", args.udpEngine);
  } catch (error) {
    const port = args.udpPort ? ` ${args.udpPort}` : "";
    console.error(`chat-client: Cannot open UDP port${port}: ${describe(error)}`);
    return ExitCode.USAGE;
  }
  let chat: ChatConnection;
  try {
    chat = await connect(args);
  } catch (error) {
    await peerSocket.close();
    console.error(`chat-client: Cannot connect to ${args.host}:${args.port}: ${describe(error)}`);
    return ExitCode.USAGE;
  }
  const terminal: Terminal = args.exec
    ? LineTerminal.fromCommands(args.exec)
    : Deno.stdin.isTerminal()
    ? new TtyTerminal()
    : LineTerminal.fromStdin();
  const restore = () => {
    terminal.close();
    Deno.exit(ExitCode.CONNECTION_LOST);
  };
  Deno.addSignalListener("SIGTERM", restore);
  try {
    const colors = palette(
      args.color && wantsColor(Deno.stdout.isTerminal(), Deno.env.get("NO_COLOR")),
    );
    const password = Deno.env.get("LABCHAT_PASSWORD");
    return await runClient(args, chat, {
      terminal,
      colors,
      password,
      peerSocket,
      reconnect: () => connect(args),
    });
  } finally {
    Deno.removeSignalListener("SIGTERM", restore);
    await chat.close();
    await peerSocket.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
