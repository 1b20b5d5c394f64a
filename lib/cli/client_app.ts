/**
 * The terminal client: login, the read-eval-print loop, events shown as they arrive, and the
 * exit status. Works the same on a TTY, from a pipe and with --exec.
 * @module
 */

import {
  type ChatConnection,
  type ChatReply,
  ConnectionClosedError,
} from "../client/chat_connection.ts";
import { helpLines } from "../protocol/commands.ts";
import type { ChatEvent } from "../protocol/events.ts";
import { downloadFile, uploadFile } from "../client/transfers.ts";
import { PeerService, type PeerServiceEvents } from "../client/peer_service.ts";
import type { PeerSocket } from "../p2p/peer_socket.ts";
import { formatBytes } from "../protocol/timestamp.ts";
import { basename } from "node:path";
import { sanitize } from "./sanitize.ts";
import type { ClientArgs } from "./client_args.ts";
import {
  commandWords,
  type Dialect,
  type DialectCommand,
  dialectHelp,
  getDialect,
  planLine,
  requestsFor,
} from "./dialects.ts";
import { loginFlow } from "./login_flow.ts";
import { throttledProgress } from "./progress.ts";
import { type Palette, renderEvent, renderReply } from "./render.ts";
import type { Terminal } from "./terminal.ts";

/** Exit statuses of the client. */
export const ExitCode = {
  OK: 0,
  COMMAND_FAILED: 1,
  USAGE: 2,
  CONNECTION_LOST: 3,
  ENDED_BY_SERVER: 4,
} as const;

/** What the client needs from its surroundings. */
export interface ClientIo {
  readonly terminal: Terminal;
  readonly colors: Palette;
  /** LABCHAT_PASSWORD, for scripted logins. */
  readonly password?: string;
  /** The UDP socket for peer-to-peer transfers and private chat; without it they are refused. */
  readonly peerSocket?: PeerSocket;
}

const ENDING_EVENTS: ReadonlySet<ChatEvent["type"]> = new Set(["shutdown", "idle", "disconnect"]);

/** Runs the client on an open connection until the user quits or the connection ends. */
export async function runClient(
  args: ClientArgs,
  chat: ChatConnection,
  io: ClientIo,
): Promise<number> {
  const app = new ClientApp(args, chat, io);
  try {
    return await app.run();
  } finally {
    io.terminal.close();
  }
}

class ClientApp {
  readonly #args: ClientArgs;
  readonly #chat: ChatConnection;
  readonly #term: Terminal;
  readonly #colors: Palette;
  readonly #password: string | undefined;
  readonly #dialect: Dialect;
  readonly #online = new Set<string>();
  #failures = 0;
  #endedByServer = false;
  #loggedIn = false;
  readonly #peers: PeerService | undefined;

  constructor(args: ClientArgs, chat: ChatConnection, io: ClientIo) {
    this.#args = args;
    this.#chat = chat;
    this.#term = io.terminal;
    this.#colors = io.colors;
    this.#password = io.password;
    this.#dialect = getDialect(args.dialect);
    this.#peers = io.peerSocket && new PeerService(chat, io.peerSocket, {
      downloads: args.downloads,
      events: this.#peerEvents(),
    });
  }

  #peerEvents(): PeerServiceEvents {
    const term = this.#term;
    const colors = this.#colors;
    const shown = new Map<string, (done: number, total: number) => void>();
    return {
      privateMessage: (from, text) =>
        term.print(colors.magenta(`${sanitize(from)} (private): ${sanitize(text)}`)),
      privateEnded: (user, reason) =>
        term.print(
          colors.dim(`Private messaging with ${sanitize(user)} ended: ${sanitize(reason)}`),
        ),
      fileIncoming: (from, name, size) =>
        term.print(`${sanitize(from)} is sending you ${sanitize(name)} (${formatBytes(size)})`),
      fileRefused: (from, name, size, reason) =>
        term.printError(
          colors.red(
            `Refused ${sanitize(name)} (${formatBytes(size)}) from ${sanitize(from)}: ${
              sanitize(reason)
            }`,
          ),
        ),
      fileProgress: (from, name, done, total) => {
        const key = `${from}/${name}`;
        let show = shown.get(key);
        if (!show) {
          shown.set(
            key,
            show = throttledProgress(sanitize(name), (line) => term.progress(line), 250),
          );
        }
        show(done, total);
      },
      fileReceived: (from, name, path) => {
        shown.delete(`${from}/${name}`);
        term.progress(undefined);
        term.print(colors.green(`Received ${sanitize(name)} from ${sanitize(from)}`));
        term.print(`Saved as ${sanitize(path)}`);
      },
      fileFailed: (from, name, reason) => {
        shown.delete(`${from}/${name}`);
        term.progress(undefined);
        term.printError(
          colors.red(
            `Receiving ${sanitize(name)} from ${sanitize(from)} failed: ${sanitize(reason)}`,
          ),
        );
      },
    };
  }

  async run(): Promise<number> {
    const pump = this.#pumpEvents();
    // A prompt waiting for input gives way when the connection ends.
    void this.#chat.done.then(() => this.#term.cancel());
    try {
      const status = await this.#session();
      if (status !== undefined) return status;
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) throw error;
    }
    await pump;
    if (this.#endedByServer) return ExitCode.ENDED_BY_SERVER;
    this.#term.printError(this.#colors.red("Connection to the server was lost"));
    return ExitCode.CONNECTION_LOST;
  }

  /** Login and the loop; `undefined` when the connection ended under us. */
  async #session(): Promise<number | undefined> {
    const scripted = this.#args.exec !== undefined;
    if (this.#dialect.loginAtStart && (!scripted || this.#args.user !== undefined)) {
      const outcome = await loginFlow(this.#term, this.#chat, this.#colors, {
        user: this.#args.user,
        password: this.#password,
      });
      if (this.#chat.isClosed) return undefined;
      if (outcome.kind === "blocked") return this.#quit(ExitCode.COMMAND_FAILED);
      if (outcome.kind === "aborted") {
        return this.#quit(this.#term.interactive ? ExitCode.OK : ExitCode.COMMAND_FAILED);
      }
      this.#term.print(this.#colors.green(sanitize(outcome.welcome)));
      await this.#afterLogin();
    }
    while (true) {
      const line = await this.#term.ask(this.#dialect.prompt, {
        completer: (before, wordStart) => this.#complete(before, wordStart),
      });
      if (this.#chat.isClosed) return undefined;
      if (line === undefined) {
        return this.#quit(
          this.#failures > 0 && !this.#term.interactive ? ExitCode.COMMAND_FAILED : ExitCode.OK,
        );
      }
      const exits = await this.#handle(line);
      if (exits) {
        await this.#peers?.close();
        await this.#chat.done;
        return this.#failures > 0 && !this.#term.interactive
          ? ExitCode.COMMAND_FAILED
          : ExitCode.OK;
      }
    }
  }

  /** Handles one typed line; true when the client should end. */
  async #handle(line: string): Promise<boolean> {
    const help = /^\s*help(?:\s+(.*))?$/i.exec(line);
    if (help) {
      this.#showHelp(help[1]?.trim());
      return false;
    }
    const plan = planLine(this.#dialect, line);
    switch (plan.kind) {
      case "empty":
        return false;
      case "error":
        this.#failures++;
        this.#term.printError(this.#colors.red(plan.message));
        return false;
      case "canonical":
        await this.#sendOrTransfer(plan.line);
        return plan.exits;
      case "dialect":
        return this.#runDialect(plan.command, plan.given, plan.missing.length);
    }
  }

  async #runDialect(
    command: DialectCommand,
    given: readonly string[],
    missing: number,
  ): Promise<boolean> {
    if (command.requiresLogin && !this.#loggedIn && missing > 0) {
      // Asking for a message only to be told to log in would waste the user's typing.
      for (const request of requestsFor(command, given)) await this.#send(request);
      return false;
    }
    if (command.before && missing > 0) await this.#send(command.before);
    const values = [...given];
    for (const arg of command.args.slice(given.length, given.length + missing)) {
      const value = await this.#term.ask(arg.prompt ?? `${arg.name}: `, { mask: arg.secret });
      if (value === undefined || this.#chat.isClosed) return false;
      values.push(value);
    }
    for (const request of requestsFor(command, values)) await this.#sendOrTransfer(request);
    return command.exits === true;
  }

  /** UPLOAD and DOWNLOAD move files, SENDFILE and PRIVATE go peer to peer; the rest is a request. */
  async #sendOrTransfer(line: string): Promise<void> {
    const [word, ...args] = line.trim().split(/\s+/);
    const upper = word.toUpperCase();
    if (upper === "SENDFILE" || upper === "PRIVATE") {
      await this.#peerCommand(upper, args, line);
      return;
    }
    if (upper !== "UPLOAD" && upper !== "DOWNLOAD") {
      await this.#send(line);
      return;
    }
    if (args.length !== 2) {
      this.#fail(`Usage: ${upper} <thread> <${upper === "UPLOAD" ? "file" : "filename"}>`);
      return;
    }
    const [thread, name] = args;
    const show = throttledProgress(name, (text) => this.#term.progress(text));
    await this.#attempt(name, async () => {
      if (upper === "UPLOAD") {
        this.#showReply(await uploadFile(this.#chat, thread, name, show));
        return;
      }
      const result = await downloadFile(this.#chat, thread, name, this.#args.downloads, show);
      this.#term.progress(undefined);
      if (result.savedAs) this.#term.print(`${name} successfully downloaded to ${result.savedAs}`);
      else this.#showReply(result.reply);
    });
  }

  async #peerCommand(word: string, args: string[], line: string): Promise<void> {
    const peers = this.#peers;
    if (!peers) return this.#fail("Peer-to-peer is not available in this client");
    const sub = args[0]?.toUpperCase();
    if (word === "SENDFILE") {
      if (args.length !== 2) return this.#fail("Usage: SENDFILE <user> <file>");
      const [user, path] = args;
      const show = throttledProgress(basename(path), (text) => this.#term.progress(text));
      await this.#attempt(path, async () => {
        await peers.sendFile(user, path, show);
        this.#term.progress(undefined);
        this.#term.print(this.#colors.green(`${basename(path)} has uploaded`));
      });
    } else if ((sub === "START" || sub === "STOP") && args.length === 2) {
      const user = args[1];
      await this.#attempt(undefined, async () => {
        if (sub === "START") await peers.startPrivate(user);
        else await peers.stopPrivate(user);
        this.#term.print(
          sub === "START"
            ? `Start private messaging with ${user}`
            : `Stopped private messaging with ${user}`,
        );
      });
    } else if (args.length >= 2) {
      const text = line.trim().replace(/^\S+\s+\S+\s+/, "");
      await this.#attempt(undefined, () => peers.sendPrivate(args[0], text));
    } else {
      this.#fail("Usage: PRIVATE START <user> | PRIVATE <user> <text> | PRIVATE STOP <user>");
    }
  }

  /**
   * Runs a command the client carries out itself. Its failure is reported and counted; a lost
   * connection is not its failure and ends the session. `file` names a local file it reads.
   */
  async #attempt(file: string | undefined, task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      if (error instanceof ConnectionClosedError) throw error;
      const missing = file !== undefined && error instanceof Deno.errors.NotFound;
      this.#fail(missing ? `Cannot read "${file}": no such file` : describeError(error));
    } finally {
      this.#term.progress(undefined);
    }
  }

  /** Reports a failure; the message may carry text from the server or a peer. */
  #fail(message: string): void {
    this.#failures++;
    this.#term.printError(this.#colors.red(sanitize(message)));
  }

  async #send(line: string): Promise<ChatReply> {
    const reply = await this.#chat.request(line);
    this.#showReply(reply);
    if (reply.ok && /^(LOGIN|REGISTER)\s/i.test(line)) await this.#afterLogin();
    if (reply.ok && /^(LOGOUT|QUIT)\b/i.test(line)) this.#loggedIn = false;
    return reply;
  }

  #showReply(reply: ChatReply): void {
    const lines = renderReply(reply, this.#dialect.showCodes, this.#colors);
    if (reply.ok) lines.forEach((l) => this.#term.print(l));
    else {
      this.#failures++;
      lines.forEach((l) => this.#term.printError(l));
    }
  }

  async #afterLogin(): Promise<void> {
    this.#loggedIn = true;
    await this.#peers?.reportPort();
    const who = await this.#chat.request("WHO");
    this.#online.clear();
    for (const line of who.lines.slice(0, -1)) this.#online.add(line.split(",")[0]);
  }

  #complete(before: string, wordStart: number): string[] {
    if (wordStart === 0) return commandWords(this.#dialect);
    if (/^\s*help\s+\S*$/i.test(before)) return commandWords(this.#dialect);
    return [...this.#online];
  }

  #showHelp(topic: string | undefined): void {
    const own = dialectHelp(this.#dialect, topic) ?? [];
    const canonical = helpLines(topic, true) ?? [];
    if (own.length === 0 && canonical.length === 0) {
      this.#term.printError(this.#colors.red(`No such command "${topic}"; type help for the list`));
      return;
    }
    if (own.length > 0) {
      this.#term.print(this.#colors.bold(`${this.#dialect.name} commands:`));
      own.forEach((l) => this.#term.print(`  ${l}`));
      if (!topic) this.#term.print(this.#colors.bold("labchat commands (work in every dialect):"));
    }
    canonical.forEach((l) => this.#term.print(topic ? l : `  ${l}`));
  }

  async #pumpEvents(): Promise<void> {
    for await (const event of this.#chat.events()) {
      if (this.#peers?.handleEvent(event)) continue;
      if (event.type === "login") this.#online.add(event.user);
      if (event.type === "logout") this.#online.delete(event.user);
      if (ENDING_EVENTS.has(event.type)) {
        this.#endedByServer = true;
        this.#loggedIn = false;
      }
      const custom = event.type === "shutdown" ? this.#dialect.shutdownText : undefined;
      this.#term.print(custom ? this.#colors.yellow(custom) : renderEvent(event, this.#colors));
    }
  }

  /** Says QUIT if still connected, and ends with `status`. */
  async #quit(status: number): Promise<number> {
    await this.#peers?.close();
    if (!this.#chat.isClosed) {
      try {
        await this.#chat.request("QUIT");
      } catch {
        // the server went away first
      }
    }
    return status;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
