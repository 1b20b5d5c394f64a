/**
 * Entry point of the labchat server: `deno task server [port] [options]`.
 * @module
 */

import { parseServerArgs, SERVER_USAGE } from "./lib/server/options.ts";
import { startChatServer } from "./lib/server/chat_server.ts";
import type { Logger } from "./lib/server/context.ts";

const log: Logger = {
  info: (line) => console.log(line),
  error: (line, error) => console.error(error === undefined ? line : `${line}: ${error}`),
};

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseServerArgs(args, (name) => Deno.env.get(name));
  } catch (error) {
    console.error(`chat-server: ${error instanceof Error ? error.message : error}`);
    console.error("Try --help for usage.");
    return 2;
  }
  if (parsed.help) {
    console.log(SERVER_USAGE);
    return 0;
  }
  const config = parsed.config;
  if (parsed.adminPasswordFile) {
    try {
      config.adminPassword = (await Deno.readTextFile(parsed.adminPasswordFile)).trim();
    } catch (error) {
      console.error(
        `chat-server: Cannot read admin password file "${parsed.adminPasswordFile}": ${error}`,
      );
      return 2;
    }
  }
  let server;
  try {
    server = await startChatServer({ ...config, log });
  } catch (error) {
    console.error(`chat-server: Cannot start: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  const stop = () => void server.shutdown("signal");
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const { hostname, port } = server.addr;
  console.log(`labchat server listening on ${hostname}:${port} (data: ${config.dataDir})`);
  const reason = await server.finished;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  console.log(`Server stopped (${reason})`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
