/**
 * Entry point of the labchat server: `deno task server [port] [options]`.
 * @module
 */

import { join } from "node:path";
import { parseServerArgs, SERVER_USAGE } from "./lib/server/options.ts";
import { startChatServer } from "./lib/server/chat_server.ts";
import type { Logger } from "./lib/server/context.ts";
import { keepServing } from "./lib/server/last_resort.ts";
import { addressesToShow } from "./lib/server/listeners.ts";
import { escapeLogLine, RotatingLog } from "./lib/server/log_file.ts";

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot read ${what} file "${path}": ${reason}`);
  }
}

/** Standard output and the log file get the same lines, escaped. */
function makeLogger(file: RotatingLog | undefined): Logger {
  const stamp = () => new Date().toISOString();
  return {
    info(line) {
      const safe = escapeLogLine(line);
      console.log(safe);
      file?.write(`${stamp()} ${safe}`);
    },
    warn(line) {
      const safe = escapeLogLine(line);
      console.error(safe);
      file?.write(`${stamp()} WARN ${safe}`);
    },
    error(line, error) {
      const safe = escapeLogLine(error === undefined ? line : `${line}: ${error}`);
      console.error(safe);
      file?.write(`${stamp()} ERROR ${safe}`);
    },
  };
}

/** The machine's network interfaces, or none when they cannot be read. */
function networkInterfaces(): Deno.NetworkInterfaceInfo[] {
  try {
    return Deno.networkInterfaces();
  } catch {
    return [];
  }
}

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
  try {
    if (parsed.adminPasswordFile) {
      config.adminPassword = (await readSecretFile(parsed.adminPasswordFile, "admin password"))
        .trim();
    }
    if (parsed.tlsCertFile && parsed.tlsKeyFile) {
      config.tlsCert = await readSecretFile(parsed.tlsCertFile, "TLS certificate");
      config.tlsKey = await readSecretFile(parsed.tlsKeyFile, "TLS key");
    }
  } catch (error) {
    console.error(`chat-server: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  let logFile: RotatingLog | undefined;
  let server;
  let logger: Logger;
  try {
    if (parsed.logDir !== false) {
      if (config.cluster !== undefined) config.node ??= `node-${Deno.pid}`;
      // Nodes of a cluster may share the data directory: each logs to its own.
      const logs = join(config.dataDir, "logs", ...(config.node ? [config.node] : []));
      logFile = await RotatingLog.open(parsed.logDir ?? logs);
    }
    server = await startChatServer({ ...config, log: logger = makeLogger(logFile) });
  } catch (error) {
    await logFile?.close();
    console.error(`chat-server: Cannot start: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  const stopKeeping = keepServing(logger);
  const stop = () => void server.shutdown("signal");
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const say = (line: string) => {
    console.log(line);
    logFile?.write(`${new Date().toISOString()} ${line}`);
  };
  const { hostname, port } = server.addr;
  const tls = config.tlsCert ? ", TLS" : "";
  // Bound to every interface, say the addresses people elsewhere can type (not "0.0.0.0").
  const hosts = addressesToShow(hostname, networkInterfaces());
  const reach = (p: number) => hosts.map((host) => `${host}:${p}`).join(" or ");
  say(`labchat server listening on ${hostname}:${port} (data: ${config.dataDir}${tls})`);
  say(`terminal clients connect to ${reach(port)}`);
  if (server.httpAddr) {
    const web = server.httpAddr;
    const urls = addressesToShow(web.hostname, networkInterfaces()).map((host) =>
      `${config.tlsCert ? "https" : "http"}://${host}:${web.port}/`
    );
    say(`web client at ${urls.join(" or ")}`);
  }
  if (server.ircAddr) say(`IRC gateway on ${reach(server.ircAddr.port)}${tls}`);
  const reason = await server.finished;
  stopKeeping();
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  console.log(`Server stopped (${reason})`);
  logFile?.write(`${new Date().toISOString()} Server stopped (${reason})`);
  await logFile?.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
