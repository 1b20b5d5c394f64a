/**
 * Command-line flags of the client.
 * @module
 */

import { parseArgs } from "node:util";
import { DEFAULT_PORT } from "../config.ts";
import { DIALECT_NAMES, type DialectName } from "./dialects.ts";
import type { EngineChoice } from "../p2p/peer_socket.ts";

/** Usage text of `chat-client`. */
export const CLIENT_USAGE = `chat-client: terminal client for a labchat server

Usage: chat-client [host] [port] [options]

  host, port            server address (default localhost ${DEFAULT_PORT})
  --udp-port N          UDP port for peer-to-peer transfers and private chat (default: any free one)
  --udp-engine E        how peer datagrams move: auto (default: batched through libc on Linux,
                        else Deno's sockets), linux, or deno (keeps the client off FFI entirely)
  --user NAME           log in as NAME (the password is asked, or read from LABCHAT_PASSWORD)
  --register            with --exec, create the account --user names if it does not exist
  --dialect D           accept one system's own commands: ${DIALECT_NAMES.join("|")}
  --exec "CMD; CMD"     run these commands and exit (for scripts); also reads commands from a pipe
  --downloads DIR       where received files are saved (default downloads)
  --max-receive-mb N    largest file accepted from a peer (default 2048); needs the disk space too
  --accept-files A      files peers send you: ask (default on a terminal: name and size, y/N),
                        always (default for scripts), or never
  --tls                 connect with TLS
  --ca FILE             trust this CA certificate (PEM) for --tls
  --no-color            no colours (also NO_COLOR=1, and off when output is not a terminal)
  -h, --help            show this help

In the client, type help for the commands, or help CMD for one of them.
Exit status: 0 done, 1 a command failed, 2 bad usage or cannot connect,
3 connection lost, 4 the server ended the session (shutdown, idle timeout).`;

/** What the client was asked to do. */
export interface ClientArgs {
  readonly help: boolean;
  readonly host: string;
  readonly port: number;
  readonly udpPort?: number;
  readonly udpEngine: EngineChoice;
  readonly user?: string;
  readonly dialect: DialectName;
  /** Commands given with --exec, split on `;`. */
  readonly exec?: readonly string[];
  readonly downloads: string;
  /** Scripts (--exec) may create the --user account only with --register. */
  readonly register: boolean;
  /** Largest file accepted from a peer, in bytes. */
  readonly maxReceiveBytes: number;
  /** Files peers offer: asked about, always taken, or never; the default depends on a terminal. */
  readonly acceptFiles?: AcceptFiles;
  readonly tls: boolean;
  readonly caFile?: string;
  readonly color: boolean;
}

function portNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < min || n > 65535) {
    throw new RangeError(
      `Cannot use "${text}" for ${flag}: expected a port number from ${min} to 65535`,
    );
  }
  return n;
}

/** --max-receive-mb in bytes (default 2048 MiB). */
function megabytes(text: string | undefined): number {
  if (text === undefined) return 2048 * 1024 * 1024;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > 1 << 30) {
    throw new RangeError(`Cannot use "${text}" for --max-receive-mb: expected a positive number`);
  }
  return Math.round(n * 1024 * 1024);
}

const ENGINES: readonly EngineChoice[] = ["auto", "linux", "deno"];

/** What the client does with a file a peer offers. */
export type AcceptFiles = "ask" | "always" | "never";
const ACCEPT_CHOICES: readonly AcceptFiles[] = ["ask", "always", "never"];

/**
 * Parses the client's arguments.
 *
 * @throws {RangeError|TypeError} with a message for the user.
 */
export function parseClientArgs(args: string[]): ClientArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "udp-port": { type: "string" },
      "udp-engine": { type: "string" },
      user: { type: "string" },
      dialect: { type: "string" },
      exec: { type: "string" },
      downloads: { type: "string" },
      register: { type: "boolean" },
      "max-receive-mb": { type: "string" },
      "accept-files": { type: "string" },
      tls: { type: "boolean" },
      ca: { type: "string" },
      "no-color": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (positionals.length > 2) throw new TypeError(`Unexpected argument "${positionals[2]}"`);
  const dialect = values.dialect ?? "labchat";
  if (!(DIALECT_NAMES as readonly string[]).includes(dialect)) {
    throw new RangeError(
      `Cannot use "${dialect}" for --dialect: use one of ${DIALECT_NAMES.join(", ")}`,
    );
  }
  const udpEngine = values["udp-engine"] ?? "auto";
  if (!(ENGINES as readonly string[]).includes(udpEngine)) {
    throw new RangeError(
      `Cannot use "${udpEngine}" for --udp-engine: use one of ${ENGINES.join(", ")}`,
    );
  }
  const acceptFiles = values["accept-files"];
  if (acceptFiles !== undefined && !(ACCEPT_CHOICES as readonly string[]).includes(acceptFiles)) {
    throw new RangeError(
      `Cannot use "${acceptFiles}" for --accept-files: use one of ${ACCEPT_CHOICES.join(", ")}`,
    );
  }
  const exec = values.exec?.split(";").map((c) => c.trim()).filter((c) => c !== "");
  return {
    help: values.help ?? false,
    host: positionals[0] ?? "localhost",
    port: positionals[1] === undefined ? DEFAULT_PORT : portNumber("port", positionals[1], 1),
    udpPort: values["udp-port"] === undefined
      ? undefined
      : portNumber("--udp-port", values["udp-port"], 0),
    udpEngine: udpEngine as EngineChoice,
    user: values.user,
    dialect: dialect as DialectName,
    exec,
    downloads: values.downloads ?? "downloads",
    register: values.register ?? false,
    maxReceiveBytes: megabytes(values["max-receive-mb"]),
    acceptFiles: acceptFiles as AcceptFiles | undefined,
    tls: values.tls ?? false,
    caFile: values.ca,
    color: !values["no-color"],
  };
}
