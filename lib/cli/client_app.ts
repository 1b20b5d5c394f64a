/**
 * The terminal client: login, the read-eval-print loop, events shown as they arrive, and the
 * exit status. Works the same on a TTY, from a pipe and with --exec.
 * @module
 */

import { basename } from "node:path";
import {
  type ChatConnection,
  type ChatReply,
  ConnectionClosedError,
  idleTimeoutOf,
} from "../client/chat_connection.ts";
import { PeerService, type PeerServiceEvents } from "../client/peer_service.ts";
import { downloadFile, uploadFile } from "../client/transfers.ts";
import type { PeerSocket } from "../p2p/peer_socket.ts";
import { findCommand, helpLines } from "../protocol/commands.ts";
import type { ChatEvent } from "../protocol/events.ts";
import { parseWhoEntry } from "../protocol/replies.ts";
import { Reply } from "../protocol/codes.ts";
import { formatRequest } from "../protocol/request.ts";
import { wireFileName } from "../protocol/names.ts";
import { formatBytes } from "../protocol/timestamp.ts";
import type { ClientArgs } from "./client_args.ts";
import {
  commandWords,
  type Dialect,
  type DialectCommand,
  dialectHelp,
  type DialectRequest,
  getDialect,
  holdsSecret,
  planLine,
  requestLine,
  requestsFor,
} from "./dialects.ts";
import { describeFileError } from "./file_errors.ts";
import { loginFlow } from "./login_flow.ts";
import { throttledProgress } from "./progress.ts";
import { type Palette, renderEvent, renderReply, wrapWords } from "./render.ts";
import { sanitize } from "./sanitize.ts";
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
  /**
   * Opens a new connection to the server (or, behind a load balancer or `--reuse-port`, another
   * node of the cluster). Given, an interactive session whose connection is lost logs in again.
   */
  readonly reconnect?: () => Promise<ChatConnection>;
}

/** A login that worked, kept in memory to log in again after a lost connection. */
interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** How long a lost interactive session keeps trying to come back. */
const RECONNECT_FOR_MS = 30_000;
/** Pause between attempts. */
const RECONNECT_EVERY_MS = 1000;

const ENDING_EVENTS: ReadonlySet<ChatEvent["type"]> = new Set(["shutdown", "idle", "disconnect"]);

/** Requests the client carries out itself rather than sending as they are. */
const LOCAL = new Set([
  "UPLOAD",
  "DOWNLOAD",
  "SENDFILE",
  "PRIVATE",
  "PRIVATE START",
  "PRIVATE STOP",
]);

/**
 * Runs the client on an open connection until the user quits or the connection ends. An
 * interactive session that loses its connection after a login reconnects (see
 * {@linkcode ClientIo.reconnect}) and logs in again as the same user.
 */
export async function runClient(
  args: ClientArgs,
  chat: ChatConnection,
  io: ClientIo,
): Promise<number> {
  let app = new ClientApp(args, chat, io);
  try {
    while (true) {
      const status = await app.run();
      const credentials = app.credentials;
      await app.close();
      if (!io.reconnect || !io.terminal.interactive || credentials === undefined) return status;
      if (status === ExitCode.ENDED_BY_SERVER && app.timedOut) {
        // Logged out for idling: the person is back at some point, and may go on.
        io.terminal.resume();
        const answer = await io.terminal.ask("Press Enter to log in again, or Ctrl+D to leave: ");
        if (answer === undefined) return status;
      } else if (status !== ExitCode.CONNECTION_LOST) return status;
      const again = await reconnectAs(io, credentials);
      if (!again) return status;
      io.terminal.resume();
      app = new ClientApp(args, again, io, credentials);
    }
  } finally {
    await app.close();
    io.terminal.close();
  }
}

/**
 * Connects again and logs in as before, once a second for 30 s. A node that died is still
 * holding the user for a few seconds (409): that is waited out too.
 */
async function reconnectAs(
  io: ClientIo,
  credentials: Credentials,
): Promise<ChatConnection | undefined> {
  const { terminal, colors } = io;
  const reconnect = io.reconnect as NonNullable<ClientIo["reconnect"]>;
  terminal.print(colors.yellow(`Reconnecting (for up to ${RECONNECT_FOR_MS / 1000} s)…`));
  const deadline = Date.now() + RECONNECT_FOR_MS;
  let last = "the server does not answer";
  while (Date.now() < deadline) {
    let chat: ChatConnection | undefined;
    try {
      chat = await reconnect();
      const reply = await chat.request(
        formatRequest("LOGIN", [credentials.user, credentials.password]),
      );
      if (reply.ok) {
        terminal.print(colors.green(`Reconnected as ${sanitize(credentials.user)}`));
        return chat;
      }
      last = reply.text;
      await chat.close();
      if (reply.code !== Reply.ALREADY_LOGGED_IN) break; // a changed password, a lockout: stop
    } catch (error) {
      last = describeError(error);
      await chat?.close();
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_EVERY_MS));
  }
  terminal.printError(colors.red(`Cannot reconnect: ${sanitize(last)}`));
  return undefined;
}

/**
 * Words of a command the client carries out itself, where a local path may hold spaces: quoted
 * ("my file.txt" or 'my file.txt') or escaped (my\ file.txt), as in a shell.
 */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else current = (current ?? "") + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      current ??= "";
    } else if (c === "\\" && i + 1 < line.length) {
      current = (current ?? "") + line[++i];
    } else if (/\s/.test(c)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else current = (current ?? "") + c;
  }
  if (current !== undefined) words.push(current);
  return words;
}

/** A typed canonical line as a request: sent as typed, unless the client carries it out. */
function requestOf(line: string): DialectRequest {
  const typed = line.trim();
  const words = typed.split(/\s+/);
  const two = `${words[0]} ${words[1] ?? ""}`.toUpperCase();
  const command = findCommand(two)?.name ?? findCommand(words[0])?.name ?? words[0].toUpperCase();
  if (!LOCAL.has(command)) return { command, typed };
  const rest = shellWords(typed).slice(command.split(" ").length);
  // PRIVATE's text keeps its spacing: everything after the user name.
  if (command === "PRIVATE" && rest.length > 1) {
    return { command, args: [rest[0], typed.replace(/^\S+\s+\S+\s+/, "")] };
  }
  return { command, args: rest };
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
  #me: string | undefined;
  readonly #peers: PeerService | undefined;
  /** The login that worked in this session, if it came from the login flow or a typed LOGIN. */
  #credentials: Credentials | undefined;
  /** Logged in already (a reconnected session): no login conversation. */
  readonly #resumed: boolean;
  /** The server's idle timeout (0: none), learnt at login. */
  #idleMs = 0;
  /** When the client last told the server the person is active. */
  #toldActiveAt = 0;
  /** The transfer running now, which Ctrl+C may cancel. */
  #running: { readonly what: string; readonly cancel: AbortController } | undefined;
  /** Ctrl+C stopped a request that did not come back: the session ends. */
  #interrupted = false;
  /** A forum transfer that Ctrl+C cancelled, which took the connection with it. */
  #cancelled: string | undefined;
  /** The server logged the session out for idling. */
  #timedOut = false;

  /** `resumed`: the connection is logged in already, as these credentials' user. */
  constructor(args: ClientArgs, chat: ChatConnection, io: ClientIo, resumed?: Credentials) {
    this.#args = args;
    this.#chat = chat;
    this.#credentials = resumed;
    this.#resumed = resumed !== undefined;
    this.#term = io.terminal;
    this.#colors = io.colors;
    this.#password = io.password;
    this.#dialect = getDialect(args.dialect);
    const acceptFiles = args.acceptFiles ?? (io.terminal.interactive ? "ask" : "always");
    this.#peers = io.peerSocket && new PeerService(chat, io.peerSocket, {
      downloads: args.downloads,
      events: this.#peerEvents(),
      maxReceiveBytes: args.maxReceiveBytes,
      accept: acceptFiles === "always"
        ? undefined
        : acceptFiles === "never"
        ? () => Promise.resolve(false)
        : (from, name, size) => this.#askToAccept(from, name, size),
    });
    io.terminal.listen({
      activity: () => this.#noteActivity(),
      interrupt: () => void this.#interrupt(),
    });
  }

  /** Asks the person whether to take a file a peer offers. */
  async #askToAccept(from: string, name: string, size: number): Promise<boolean> {
    const answer = await this.#term.ask(
      `${sanitize(from)} wants to send you ${sanitize(name)} (${
        formatBytes(size)
      }). Accept? [y/N] `,
    );
    return /^\s*y(es)?\s*$/i.test(answer ?? "");
  }

  /** Whether the server ended the session because the person was idle. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Keys pressed: tell the server the person is here, often enough for its idle timeout. */
  #noteActivity(): void {
    if (this.#me === undefined || this.#idleMs <= 0 || this.#chat.isClosed) return;
    const now = Date.now();
    if (now - this.#toldActiveAt < this.#idleMs / 4) return;
    this.#toldActiveAt = now;
    this.#chat.request("ACTIVE").catch(() => {});
  }

  /**
   * Ctrl+C while a command runs: a transfer is cancelled once the person confirms; a request the
   * server does not answer ends the session (the prompt is not coming back otherwise).
   */
  async #interrupt(): Promise<void> {
    const running = this.#running;
    if (running) {
      const answer = await this.#term.ask(`Cancel ${running.what}? (y/N) `);
      if (this.#running === running && /^\s*y(es)?\s*$/i.test(answer ?? "y")) {
        running.cancel.abort();
      }
      return;
    }
    this.#interrupted = true;
    this.#term.printError(this.#colors.yellow("Interrupted; leaving"));
    await this.#chat.close();
  }

  /** Runs a transfer that Ctrl+C may cancel. */
  async #cancellable(what: string, task: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const cancel = new AbortController();
    this.#running = { what, cancel };
    try {
      await task(cancel.signal);
    } finally {
      this.#running = undefined;
    }
  }

  #peerEvents(): PeerServiceEvents {
    const term = this.#term;
    const colors = this.#colors;
    const shown = new Map<string, (done: number, total: number, lossPercent?: number) => void>();
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
      fileProgress: (from, name, done, total, lossPercent) => {
        const key = `${from}/${name}`;
        let show = shown.get(key);
        if (!show) {
          shown.set(
            key,
            show = throttledProgress(sanitize(name), (line) => term.progress(line), 250),
          );
        }
        show(done, total, lossPercent);
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
    if (this.#interrupted) return ExitCode.COMMAND_FAILED;
    if (this.#endedByServer) return ExitCode.ENDED_BY_SERVER;
    if (this.#cancelled !== undefined) {
      this.#term.printError(
        this.#colors.yellow(`Cancelled ${sanitize(this.#cancelled)}; nothing of it was kept`),
      );
    } else this.#term.printError(this.#colors.red("Connection to the server was lost"));
    return ExitCode.CONNECTION_LOST;
  }

  /** The status for a normal end: failures count in scripts, not for a person at a terminal. */
  #doneStatus(): number {
    return this.#failures > 0 && !this.#term.interactive ? ExitCode.COMMAND_FAILED : ExitCode.OK;
  }

  /** The login of this session, to log in again after a lost connection. */
  get credentials(): Credentials | undefined {
    return this.#credentials;
  }

  /** Stops peer-to-peer work and closes the connection. */
  async close(): Promise<void> {
    await this.#peers?.close();
    await this.#chat.close();
  }

  /** Login and the loop; `undefined` when the connection ended under us. */
  async #session(): Promise<number | undefined> {
    const scripted = this.#args.exec !== undefined;
    if (this.#resumed) {
      await this.#afterLogin(this.#credentials?.user);
    } else if (this.#dialect.loginAtStart && (!scripted || this.#args.user !== undefined)) {
      const status = await this.#login(this.#args.user, this.#password);
      if (status !== undefined) return status;
    }
    while (true) {
      if (this.#chat.isClosed || this.#endedByServer) return undefined;
      if (this.#dialect.menu && this.#term.interactive) this.#term.print(this.#dialect.menu);
      const line = await this.#term.ask(this.#dialect.prompt, {
        completer: (before, wordStart) => this.#complete(before, wordStart),
        keepInHistory: (typed) => !holdsSecret(this.#dialect, typed),
      });
      if (this.#chat.isClosed || this.#endedByServer) return undefined;
      if (line === undefined) return this.#quit(this.#doneStatus());
      if (await this.#handle(line)) {
        await this.#peers?.close();
        await this.#chat.done;
        return this.#doneStatus();
      }
    }
  }

  /** The login flow; a status when the client should end, `undefined` to go on. */
  async #login(
    user: string | undefined,
    password: string | undefined,
  ): Promise<number | undefined> {
    const outcome = await loginFlow(this.#term, this.#chat, this.#colors, {
      texts: this.#dialect.login,
      user,
      password,
      newAccounts: this.#args.exec !== undefined && !this.#args.register ? "refuse" : "offer",
    });
    if (this.#chat.isClosed) return undefined;
    if (outcome.kind === "blocked") return this.#quit(ExitCode.COMMAND_FAILED);
    if (outcome.kind === "aborted") {
      if (!this.#term.interactive && outcome.ended) {
        // A pipe ran dry at the login: its lines went to the user name and password prompts.
        this.#term.printError(
          "Not logged in: standard input ended at the login. A script gives --user NAME (the password in LABCHAT_PASSWORD) or pipes the user name and password first; --exec runs commands without logging in",
        );
      }
      return this.#quit(this.#term.interactive ? ExitCode.OK : ExitCode.COMMAND_FAILED);
    }
    this.#credentials = { user: outcome.user, password: outcome.password };
    const welcome = this.#dialect.login.welcome(outcome.welcome, outcome.user, outcome.isNew);
    if (welcome !== undefined) this.#term.print(this.#colors.green(sanitize(welcome)));
    await this.#afterLogin(outcome.user);
    return undefined;
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
        this.#fail(plan.message);
        return false;
      case "canonical":
        return await this.#execute(requestOf(plan.line)) === "exit" || plan.exits;
      case "dialect":
        return this.#runDialect(plan.command, plan.given, plan.missing.length);
    }
  }

  async #runDialect(
    command: DialectCommand,
    given: readonly string[],
    missing: number,
  ): Promise<boolean> {
    if (command.requiresLogin && this.#me === undefined && missing > 0) {
      // Asking for a message only to be told to log in would waste the user's typing: the bare
      // command gets the server's 401 (access is checked before arguments).
      for (const request of requestsFor(command, given)) {
        await this.#execute({ ...request, typed: request.command });
      }
      return false;
    }
    if (command.before && missing > 0) await this.#execute(command.before);
    if (command.intro && missing > 0) this.#term.print(command.intro);
    const values: string[] = [];
    for (const [i, arg] of command.args.entries()) {
      let value: string | undefined = given[i];
      if (value === undefined) {
        if (arg.optional) break;
        value = await this.#term.ask(arg.prompt ?? `${arg.name}: `, { mask: arg.secret });
        if (value === undefined || this.#chat.isClosed) return false;
      }
      values.push(value);
      if (arg.check && !(await this.#check(arg.check, value))) return false;
    }
    let exits = command.exits === true;
    for (const request of requestsFor(command, values)) {
      // toom's OUT is LOGOUT then QUIT: no login prompt in between.
      if (await this.#execute(request, exits) === "exit") exits = true;
    }
    return exits;
  }

  /** A dialect's check of an argument: true to go on. */
  async #check(
    check: NonNullable<DialectCommand["args"][number]["check"]>,
    value: string,
  ): Promise<boolean> {
    const request = check.request(value);
    const reply = await this.#chat.request(requestLine(request));
    if (!reply.ok) {
      this.#showReply(request, reply);
      return false;
    }
    this.#term.print(check.okText);
    return true;
  }

  /**
   * Carries out one request: file transfers and peer-to-peer by the client itself, the rest by
   * the server. Returns `exit` when the session is over (QUIT).
   */
  async #execute(request: DialectRequest, leaving = false): Promise<"exit" | undefined> {
    const args = request.args ?? [];
    switch (request.command) {
      case "UPLOAD":
      case "DOWNLOAD":
        await this.#transfer(request.command, args);
        return undefined;
      case "SENDFILE":
      case "PRIVATE":
      case "PRIVATE START":
      case "PRIVATE STOP":
        await this.#peerCommand(request.command, args);
        return undefined;
    }
    let line: string;
    try {
      line = requestLine(request);
    } catch (error) {
      this.#fail(
        error instanceof Error
          ? error.message.replace(/^Cannot format request: /, "")
          : String(error),
      );
      return undefined;
    }
    const reply = await this.#chat.request(line);
    this.#showReply(request, reply);
    const word = line.split(/\s+/)[0].toUpperCase();
    if (reply.ok && (word === "LOGIN" || word === "REGISTER")) {
      const [, typedUser = "", ...password] = line.split(" ");
      const user = /^Welcome to labchat, (\S+?)!/.exec(reply.text)?.[1] ?? typedUser;
      this.#credentials = { user, password: password.join(" ") };
      await this.#afterLogin(user);
    }
    if (reply.ok && word === "LOGOUT") {
      this.#me = undefined;
      this.#credentials = undefined;
      // The masked login flow again, rather than a password typed in clear after LOGIN.
      if (
        this.#term.interactive && this.#dialect.loginAtStart && !this.#chat.isClosed && !leaving
      ) {
        const status = await this.#login(undefined, undefined);
        if (status !== undefined) return "exit";
      }
    }
    return reply.ok && word === "QUIT" ? "exit" : undefined;
  }

  async #transfer(command: "UPLOAD" | "DOWNLOAD", args: readonly string[]): Promise<void> {
    if (args.length !== 2) {
      this.#fail(`Usage: ${command} <thread> <${command === "UPLOAD" ? "file" : "filename"}>`);
      return;
    }
    const [thread, name] = args;
    const show = throttledProgress(basename(name), (text) => this.#term.progress(text));
    const what = `the ${command === "UPLOAD" ? "upload" : "download"} of ${basename(name)}`;
    await this.#cancellable(
      what,
      (signal) =>
        this.#attempt(command === "UPLOAD" ? name : this.#args.downloads, async () => {
          // Bytes on the wire cannot be called back: the connection is dropped (the server keeps
          // nothing of a broken upload, a broken download leaves nothing here) and made again.
          signal.addEventListener("abort", () => {
            this.#cancelled = what;
            void this.#chat.close();
          });
          await this.#transferNow(command, thread, name, show);
        }, command === "UPLOAD" ? "read" : "write"),
    );
  }

  async #transferNow(
    command: "UPLOAD" | "DOWNLOAD",
    thread: string,
    name: string,
    show: (done: number, total: number) => void,
  ): Promise<void> {
    if (command === "UPLOAD") {
      const wire = wireFileName(basename(name));
      if (wire !== basename(name)) {
        this.#term.print(`Uploading ${sanitize(basename(name))} as ${sanitize(wire)} (no spaces)`);
      }
      let reply = await uploadFile(this.#chat, thread, name, show);
      if (reply.code === Reply.ALREADY_EXISTS && this.#term.interactive) {
        // Its uploader may replace it: remove the old one, send the new one.
        this.#term.progress(undefined);
        const answer = await this.#term.ask(`${sanitize(reply.text)}. Replace it? [y/N] `);
        if (/^\s*y(es)?\s*$/i.test(answer ?? "")) {
          const removed = await this.#chat.request(formatRequest("FILE REMOVE", [thread, wire]));
          reply = removed.ok ? await uploadFile(this.#chat, thread, name, show) : removed;
        }
      }
      this.#showReply({ command }, reply);
      return;
    }
    const result = await downloadFile(this.#chat, thread, name, this.#args.downloads, show);
    this.#term.progress(undefined);
    if (result.savedAs) {
      this.#term.print(`${sanitize(name)} successfully downloaded to ${sanitize(result.savedAs)}`);
    } else this.#showReply({ command }, result.reply);
  }

  async #peerCommand(command: string, args: readonly string[]): Promise<void> {
    const peers = this.#peers;
    if (!peers) return this.#fail("Peer-to-peer is not available in this client");
    if (command === "SENDFILE") {
      if (args.length !== 2) return this.#fail("Usage: SENDFILE <user> <file>");
      const [user, path] = args;
      const show = throttledProgress(basename(path), (text) => this.#term.progress(text));
      const name = sanitize(basename(path));
      const resumed = (from: number, total: number) =>
        this.#term.print(`Resuming ${name} from ${Math.floor(from / total * 100)}%`);
      await this.#cancellable(
        `sending ${basename(path)} to ${user}`,
        (signal) =>
          this.#attempt(path, async () => {
            await peers.sendFile(user, path, {
              onProgress: show,
              signal,
              onResume: resumed,
              onWaiting: () => this.#term.print(`Waiting for ${sanitize(user)} to accept ${name}…`),
            });
            this.#term.progress(undefined);
            this.#term.print(this.#colors.green(`${name} has uploaded`));
          }),
      );
      return;
    }
    if (command === "PRIVATE START" || command === "PRIVATE STOP") {
      if (args.length !== 1) return this.#fail(`Usage: ${command} <user>`);
      const user = args[0];
      await this.#attempt(undefined, async () => {
        if (command === "PRIVATE START") await peers.startPrivate(user);
        else await peers.stopPrivate(user);
        this.#term.print(
          command === "PRIVATE START"
            ? `Start private messaging with ${sanitize(user)}`
            : `Stopped private messaging with ${sanitize(user)}`,
        );
      });
      return;
    }
    if (args.length !== 2 || args[1] === "") {
      return this.#fail(
        "Usage: PRIVATE START <user> | PRIVATE <user> <text> | PRIVATE STOP <user>",
      );
    }
    await this.#attempt(undefined, () => peers.sendPrivate(args[0], args[1]));
  }

  /**
   * Runs a command the client carries out itself. Its failure is reported and counted; a lost
   * connection is not its failure and ends the session. `file` names a local file it reads.
   */
  async #attempt(
    file: string | undefined,
    task: () => Promise<void>,
    action: "read" | "write" = "read",
  ): Promise<void> {
    try {
      await task();
    } catch (error) {
      if (error instanceof ConnectionClosedError) throw error;
      const local = file === undefined ? undefined : describeFileError(error, file, action);
      this.#fail(local ?? describeError(error));
    } finally {
      this.#term.progress(undefined);
    }
  }

  /** Reports a failure; the message may carry text from the server or a peer. */
  #fail(message: string): void {
    this.#failures++;
    this.#term.printError(this.#colors.red(sanitize(message)));
  }

  #showReply(request: DialectRequest, reply: ChatReply): void {
    if (!reply.ok) this.#failures++;
    else if (request.show === "errors") return;
    const view = this.#dialect.replyView?.(request, reply, { me: this.#me })?.map((l) =>
      reply.ok ? sanitize(l) : this.#colors.red(sanitize(l))
    );
    const lines = view ?? renderReply(reply, this.#dialect.showCodes, this.#colors);
    for (const line of lines) {
      if (reply.ok) this.#term.print(line);
      else this.#term.printError(line);
    }
  }

  async #afterLogin(user: string | undefined): Promise<void> {
    this.#me = user;
    this.#idleMs = idleTimeoutOf((await this.#chat.request("ACTIVE")).text);
    this.#toldActiveAt = Date.now();
    await this.#peers?.reportPort();
    const who = await this.#chat.request("WHO");
    this.#online.clear();
    for (const line of who.lines) {
      const entry = parseWhoEntry(line);
      if (entry) this.#online.add(entry.user);
    }
  }

  #complete(before: string, wordStart: number): string[] {
    if (wordStart === 0) return commandWords(this.#dialect);
    if (/^\s*help\s+\S*$/i.test(before)) return commandWords(this.#dialect);
    return [...this.#online];
  }

  #showHelp(topic: string | undefined): void {
    const own = dialectHelp(this.#dialect, topic) ?? [];
    // A dialect's own word hides the canonical command of that name (the forum's MSG posts).
    const shadowed = new Set(this.#dialect.commands.map((c) => c.word.toUpperCase()));
    const canonical = (helpLines(topic, "client") ?? []).filter((line) =>
      !shadowed.has(line.replace(/^Usage: /, "").split(" ")[0])
    );
    if (own.length === 0 && canonical.length === 0) {
      this.#fail(`No such command "${topic}"; type help for the list`);
      return;
    }
    const columns = this.#term.columns;
    const show = (line: string, indent: number) => {
      for (const piece of wrapWords(line, columns, indent)) this.#term.print(piece);
    };
    if (own.length > 0) {
      this.#term.print(this.#colors.bold(`${this.#dialect.name} commands:`));
      own.forEach((l) => show(`  ${l}`, 37));
      if (!topic && canonical.length > 0) {
        const also = shadowed.size > 0 ? " (also here, unless named above)" : "";
        this.#term.print(this.#colors.bold(`labchat commands${also}:`));
      }
    }
    canonical.forEach((l) => topic ? show(l, 4) : show(`  ${l}`, 47));
  }

  async #pumpEvents(): Promise<void> {
    for await (const event of this.#chat.events()) {
      if (this.#peers?.handleEvent(event)) continue;
      if (event.type === "login") this.#online.add(event.user);
      if (event.type === "logout") this.#online.delete(event.user);
      if (event.type === "presence") {
        for (const user of event.logins) this.#online.add(user);
        for (const user of event.logouts) this.#online.delete(user);
      }
      if (ENDING_EVENTS.has(event.type)) {
        this.#endedByServer = true;
        if (event.type === "idle") this.#timedOut = true;
        this.#me = undefined;
        // The session is over: no prompt may come back under the notice.
        this.#term.cancel();
        void this.#closeAfterGrace();
      }
      const custom = event.type === "shutdown" ? this.#dialect.shutdownText : undefined;
      const view = custom
        ? [this.#colors.yellow(custom)]
        : this.#dialect.eventView?.(event)?.map(sanitize);
      for (const line of view ?? [renderEvent(event, this.#colors)]) this.#term.print(line);
    }
  }

  /** The server said the session is over; if it does not close the connection, we do. */
  async #closeAfterGrace(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, 3000));
    await Promise.race([this.#chat.done, grace]);
    clearTimeout(timer);
    await this.#chat.close();
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
