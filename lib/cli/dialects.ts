/**
 * The five systems' own command vocabularies and habits, mapped onto the canonical protocol.
 * Pure: the REPL asks {@linkcode planLine} what to send, prompts for anything missing, and sends
 * the requests a dialect command turns into. Texts follow the seeds' reports.
 * @module
 */

import type { ChatReply } from "../client/chat_connection.ts";
import { COMMANDS, findCommand, isCommandName, isCommandWord } from "../protocol/commands.ts";
import type { ChatEvent } from "../protocol/events.ts";
import { parseWhoEntry } from "../protocol/replies.ts";
import { formatRequest } from "../protocol/request.ts";
import { parseTimestamp } from "../protocol/timestamp.ts";

/** Names accepted by `--dialect`. */
export const DIALECT_NAMES = [
  "labchat",
  "yamotd",
  "forum",
  "toom",
  "messenger",
  "chatroom",
] as const;
/** A dialect name. */
export type DialectName = typeof DIALECT_NAMES[number];

/** A canonical request a dialect command sends, and whether its reply is shown. */
export interface DialectRequest {
  /** The canonical command name (`WHO`, `ROOM SAY`). */
  readonly command: string;
  readonly args?: readonly string[];
  /** The line exactly as the user typed it, sent as is (a canonical command). */
  readonly typed?: string;
  /** `errors`: a successful reply is not printed (the seed printed nothing there). */
  readonly show?: "always" | "errors";
}

/** An argument of a dialect command; one with a `prompt` is asked for when left out. */
export interface DialectArg {
  readonly name: string;
  readonly prompt?: string;
  /** Ask with the input masked. */
  readonly secret?: boolean;
  /** Takes the rest of the line. */
  readonly rest?: boolean;
  readonly optional?: boolean;
  /**
   * A request sent as soon as this argument is known, before asking for the next: a failure
   * ends the command with the server's answer, a success prints `okText` (yamotd's SEND asks
   * whether the user is there before asking for the message).
   */
  readonly check?: { readonly request: (value: string) => DialectRequest; readonly okText: string };
}

/** One command of a dialect. */
export interface DialectCommand {
  /** The word as the system's users type it; matched case-insensitively. */
  readonly word: string;
  readonly args: readonly DialectArg[];
  /** What it does, for `help`. */
  readonly summary: string;
  /** The canonical requests, given the arguments (missing optionals are ""). */
  readonly requests: (args: readonly string[]) => DialectRequest[];
  /** A request whose reply is shown before asking for missing arguments (PM lists users). */
  readonly before?: DialectRequest;
  /** Printed before the missing arguments are asked for (yamotd's MSGSTORE says 200 OK). */
  readonly intro?: string;
  /** The client ends after this command. */
  readonly exits?: boolean;
  /** Needs a login: when the client is not logged in, send at once (the server says 401), no prompts. */
  readonly requiresLogin?: boolean;
}

/** How a system's login conversation reads. */
export interface LoginTexts {
  readonly user: string;
  readonly password: string;
  readonly newPassword: (name: string) => string;
  /** Asked to type a new password again; `undefined` when the system asked once. */
  readonly confirm?: string;
  /** What a successful login prints, from the server's welcome; `undefined` prints nothing. */
  readonly welcome: (serverText: string, name: string, isNew: boolean) => string | undefined;
}

/** What the client knows when it shows a reply or an event. */
export interface ViewContext {
  /** The logged-in user, if any. */
  readonly me?: string;
}

/** A system's vocabulary and habits. */
export interface Dialect {
  readonly name: DialectName;
  /** Shown as the prompt of the REPL. */
  readonly prompt: string;
  /** Printed above each prompt on a terminal (yamotd lists its commands). */
  readonly menu?: string;
  /** Log in with Username/Password prompts before the REPL (yamotd logs in with a command). */
  readonly loginAtStart: boolean;
  readonly login: LoginTexts;
  /** Print reply codes (`200 OK`) as yamotd's users know them. */
  readonly showCodes: boolean;
  /** How the system announced a server shutdown, if not yamotd's `210 …` line. */
  readonly shutdownText?: string;
  /** The error for a command typed with too few or too many words, if the system had one. */
  readonly syntaxError?: (word: string) => string;
  /** Lines to print for a reply instead of the usual ones (`undefined`: the usual ones). */
  readonly replyView?: (
    request: DialectRequest,
    reply: ChatReply,
    context: ViewContext,
  ) => string[] | undefined;
  /** Lines to print for an event instead of the usual ones. */
  readonly eventView?: (event: ChatEvent) => string[] | undefined;
  readonly commands: readonly DialectCommand[];
}

const req = (command: string, ...args: string[]): DialectRequest => ({ command, args });

/** labchat's own login texts, and the default of dialects whose system had none. */
const LABCHAT_LOGIN: LoginTexts = {
  user: "Username: ",
  password: "Password: ",
  newPassword: (name) => `Enter new password for ${name}: `,
  confirm: "Confirm the password: ",
  welcome: (text) => text,
};

/** RDM's `s` target: `RDM s 1 Jun 2022 16:00:00` is every room since a time; `RDM s 3 …` room 3. */
function toomRoomHistory(rest: string): DialectRequest {
  const trimmed = rest.trim();
  if (trimmed === "" || parseTimestamp(trimmed) !== undefined) return req("HISTORY", "s", trimmed);
  const [id, ...time] = trimmed.split(/\s+/);
  return req("HISTORY", id, time.join(" "));
}

const YAMOTD_WORDS = ["MSGGET", "MSGSTORE", "SHUTDOWN", "LOGIN", "LOGOUT", "QUIT", "WHO", "SEND"];

const YAMOTD: Dialect = {
  name: "yamotd",
  prompt: "please choose a cmd from the above options: ",
  menu: `[${YAMOTD_WORDS.map((w) => `'${w}'`).join(", ")}]`,
  loginAtStart: false,
  login: LABCHAT_LOGIN,
  showCodes: true,
  shutdownText: "210 the server is about to shutdown ...",
  replyView: (_request, reply) =>
    // The seed's one text for a failed login, whatever the reason.
    reply.code === 410 ? ["410 Wrong UserID or Password"] : undefined,
  eventView: (event) =>
    event.type === "private"
      ? [`200 OK you have a new message from ${event.from}`, event.text]
      : undefined,
  commands: [
    {
      word: "MSGGET",
      args: [],
      summary: "Get the message of the day",
      requests: () => [req("MOTD")],
    },
    {
      word: "MSGSTORE",
      args: [{ name: "message", prompt: "please enter the message of the day:", rest: true }],
      summary: "Store a message of the day (login first)",
      requests: ([m]) => [req("MOTD ADD", m)],
      intro: "200 OK",
      requiresLogin: true,
    },
    {
      word: "SHUTDOWN",
      args: [],
      summary: "Shut the server down (root only)",
      requests: () => [req("SHUTDOWN")],
    },
    {
      word: "LOGIN",
      args: [
        { name: "username", prompt: "please enter the username:" },
        { name: "password", prompt: "please enter the password:", secret: true, rest: true },
      ],
      summary: "Log in",
      requests: ([u, p]) => [req("LOGIN", u, p)],
    },
    { word: "LOGOUT", args: [], summary: "Log out", requests: () => [req("LOGOUT")] },
    {
      word: "QUIT",
      args: [],
      summary: "Quit the client",
      requests: () => [req("QUIT")],
      exits: true,
    },
    { word: "WHO", args: [], summary: "Active users", requests: () => [req("WHO")] },
    {
      word: "SEND",
      args: [
        {
          name: "username",
          prompt: "please enter the username:",
          // yamotd answers at once whether the user is there: 200 OK, or 420.
          check: { request: (user) => req("WHO", user), okText: "200 OK" },
        },
        { name: "message", prompt: "please enter the secret message:", rest: true },
      ],
      summary: "Send a private message to a logged-in user",
      requests: ([u, m]) => [{ command: "MSG", args: [u, m], show: "errors" }],
      requiresLogin: true,
    },
  ],
};

/**
 * The forum seed's own texts for what labchat says in plain English: "Thread a not exists",
 * "Thread a exists", "x already exist in Thread a", "File does not exist in Thread a".
 */
export function forumWording(text: string): string {
  return text
    .replace(/^Thread (\S+) does not exist$/, "Thread $1 not exists")
    .replace(/^Thread (\S+) already exists$/, "Thread $1 exists")
    .replace(/^(\S+) already exists in thread (\S+)$/, "$1 already exist in Thread $2")
    .replace(/^File \S+ does not exist in thread (\S+)$/, "File does not exist in Thread $1");
}

const FORUM: Dialect = {
  name: "forum",
  prompt: "Enter one of the following commands: CRT MSG DLT EDT LST RDT UPD DWN RMV XIT SHT: ",
  loginAtStart: true,
  login: {
    user: "Enter username: ",
    password: "Enter password: ",
    newPassword: (name) => `Enter new password for ${name}: `,
    welcome: (_text, _name, isNew) => isNew ? undefined : "Welcome to the forum",
  },
  showCodes: false,
  shutdownText: "Goodbye. Server shutting down",
  syntaxError: (word) => `Incorrect syntax for ${word.toUpperCase()}`,
  replyView: (_request, reply) => {
    const seed = reply.lines.map(forumWording);
    return seed.some((line, i) => line !== reply.lines[i]) ? seed : undefined;
  },
  commands: [
    {
      word: "CRT",
      args: [{ name: "thread" }],
      summary: "Create a thread",
      requests: ([t]) => [req("THREAD CREATE", t)],
    },
    {
      word: "MSG",
      args: [{ name: "thread" }, { name: "message", rest: true }],
      summary: "Post a message to a thread",
      requests: ([t, m]) => [req("POST", t, m)],
    },
    {
      word: "DLT",
      args: [{ name: "thread" }, { name: "number" }],
      summary: "Delete your message",
      requests: ([t, n]) => [req("DELETE", t, n)],
    },
    {
      word: "EDT",
      args: [{ name: "thread" }, { name: "number" }, { name: "message", rest: true }],
      summary: "Edit your message",
      requests: ([t, n, m]) => [req("EDIT", t, n, m)],
    },
    { word: "LST", args: [], summary: "List threads", requests: () => [req("THREAD LIST")] },
    {
      word: "RDT",
      args: [{ name: "thread" }],
      summary: "Read a thread",
      requests: ([t]) => [req("THREAD READ", t)],
    },
    {
      word: "UPD",
      args: [{ name: "thread" }, { name: "file" }],
      summary: "Upload a file to a thread",
      requests: ([t, f]) => [req("UPLOAD", t, f)],
    },
    {
      word: "DWN",
      args: [{ name: "thread" }, { name: "file" }],
      summary: "Download a file from a thread",
      requests: ([t, f]) => [req("DOWNLOAD", t, f)],
    },
    {
      word: "RMV",
      args: [{ name: "thread" }],
      summary: "Remove your thread",
      requests: ([t]) => [req("THREAD REMOVE", t)],
    },
    { word: "XIT", args: [], summary: "Exit", requests: () => [req("QUIT")], exits: true },
    {
      word: "SHT",
      args: [{ name: "admin_password", rest: true }],
      summary: "Shut the server down",
      requests: ([p]) => [req("SHUTDOWN", p)],
    },
  ],
};

/** toom's ATU lists the others: `no other active user` when there are none. */
function toomActiveUsers(reply: ChatReply, me: string | undefined): string[] {
  const others = reply.lines.filter((line) => {
    const entry = parseWhoEntry(line);
    return entry !== undefined && entry.user !== me;
  });
  return others.length > 0 ? others : ["no other active user"];
}

const TOOM: Dialect = {
  name: "toom",
  prompt: "Enter one of the following commands (BCM, ATU, SRB, SRM, RDM, OUT, UPD):",
  loginAtStart: true,
  login: { ...LABCHAT_LOGIN, welcome: () => "Welcome to Toom!" },
  showCodes: false,
  replyView: (request, reply, { me }) =>
    request.command === "WHO" && reply.ok ? toomActiveUsers(reply, me) : undefined,
  commands: [
    {
      word: "BCM",
      args: [{ name: "message", rest: true }],
      summary: "Broadcast a message",
      requests: ([m]) => [req("BROADCAST", m)],
    },
    { word: "ATU", args: [], summary: "Active users", requests: () => [req("WHO")] },
    {
      word: "SRB",
      args: [{ name: "usernames", rest: true }],
      summary: "Build a separate room with these users",
      requests: ([u]) => [req("ROOM CREATE", u)],
    },
    {
      word: "SRM",
      args: [{ name: "roomID" }, { name: "message", rest: true }],
      summary: "Message a separate room",
      requests: ([id, m]) => [req("ROOM SAY", id, m)],
    },
    {
      word: "RDM",
      args: [{ name: "b|s" }, { name: "timestamp", rest: true, optional: true }],
      summary: "Read messages: b broadcasts, s rooms (s roomID for one), after a time",
      requests: ([kind, rest]) =>
        kind.toLowerCase() === "s" ? [toomRoomHistory(rest)] : [req("HISTORY", kind, rest)],
    },
    {
      word: "OUT",
      args: [],
      summary: "Log out",
      // toom says "Bye, yoda!" and no more.
      requests: () => [req("LOGOUT"), { command: "QUIT", show: "errors" }],
      exits: true,
    },
    {
      word: "UPD",
      args: [{ name: "username" }, { name: "filename" }],
      summary: "Send a file to a user over UDP",
      requests: ([u, f]) => [req("SENDFILE", u, f)],
    },
  ],
};

const MESSENGER: Dialect = {
  name: "messenger",
  prompt: "> ",
  loginAtStart: true,
  login: { ...LABCHAT_LOGIN, welcome: () => "Welcome to the greatest messaging application ever!" },
  showCodes: false,
  // The seed's words for an unblock.
  replyView: (request, reply) =>
    request.command === "UNBLOCK" && reply.ok
      ? [reply.text.replace(/^You unblocked /, "Has unblocked ")]
      : undefined,
  commands: [
    {
      word: "message",
      args: [{ name: "user" }, { name: "message", rest: true }],
      summary: "Private message",
      requests: ([u, m]) => [req("MSG", u, m)],
    },
    {
      word: "broadcast",
      args: [{ name: "message", rest: true }],
      summary: "Broadcast",
      requests: ([m]) => [req("BROADCAST", m)],
    },
    { word: "whoelse", args: [], summary: "Others online", requests: () => [req("WHOELSE")] },
    {
      word: "whoelsesince",
      args: [{ name: "time" }],
      summary: "Others online in the past time seconds",
      requests: ([t]) => [req("WHOELSE", t)],
    },
    {
      word: "block",
      args: [{ name: "user" }],
      summary: "Block a user",
      requests: ([u]) => [req("BLOCK", u)],
    },
    {
      word: "unblock",
      args: [{ name: "user" }],
      summary: "Unblock a user",
      requests: ([u]) => [req("UNBLOCK", u)],
    },
    {
      word: "unlock",
      args: [{ name: "user" }],
      summary: "Unblock a user (as spelled in the report)",
      requests: ([u]) => [req("UNBLOCK", u)],
    },
    {
      word: "startprivate",
      args: [{ name: "user" }],
      summary: "Start private (peer-to-peer) messaging",
      requests: ([u]) => [req("PRIVATE START", u)],
    },
    {
      word: "private",
      args: [{ name: "user" }, { name: "message", rest: true }],
      summary: "Private message over the peer-to-peer link",
      requests: ([u, m]) => [req("PRIVATE", u, m)],
    },
    {
      word: "stopprivate",
      args: [{ name: "user" }],
      summary: "Stop private messaging",
      requests: ([u]) => [req("PRIVATE STOP", u)],
    },
    { word: "logout", args: [], summary: "Log out", requests: () => [req("QUIT")], exits: true },
  ],
};

const CHATROOM: Dialect = {
  name: "chatroom",
  prompt:
    "Please enter a command (BM: Broadcast Messaging, PM: Private Messaging, CH: Chat History, EX: Exit): ",
  loginAtStart: true,
  login: LABCHAT_LOGIN,
  showCodes: false,
  commands: [
    {
      word: "BM",
      args: [{ name: "message", prompt: "Enter the broadcast message: ", rest: true }],
      summary: "Broadcast messaging",
      requests: ([m]) => [req("BROADCAST", m)],
      requiresLogin: true,
    },
    {
      word: "PM",
      args: [
        { name: "user", prompt: "Enter the username: " },
        { name: "message", prompt: "Enter the private message: ", rest: true },
      ],
      summary: "Private messaging",
      requests: ([u, m]) => [req("MSG", u, m)],
      before: req("WHO"),
      requiresLogin: true,
    },
    {
      word: "CH",
      args: [],
      summary: "Chat history: broadcasts and your private messages",
      requests: () => [req("HISTORY", "b"), req("HISTORY", "p")],
    },
    { word: "EX", args: [], summary: "Exit", requests: () => [req("QUIT")], exits: true },
  ],
};

const LABCHAT: Dialect = {
  name: "labchat",
  prompt: "labchat> ",
  loginAtStart: true,
  login: LABCHAT_LOGIN,
  showCodes: false,
  commands: [],
};

const DIALECTS: Record<DialectName, Dialect> = {
  labchat: LABCHAT,
  yamotd: YAMOTD,
  forum: FORUM,
  toom: TOOM,
  messenger: MESSENGER,
  chatroom: CHATROOM,
};

/** The dialect with this name. */
export function getDialect(name: DialectName): Dialect {
  return DIALECTS[name];
}

/** What to do with one typed line. */
export type LinePlan =
  | { readonly kind: "empty" }
  | {
    readonly kind: "dialect";
    readonly command: DialectCommand;
    /** Arguments given on the line. */
    readonly given: readonly string[];
    /** Arguments still to ask for, with their prompts. */
    readonly missing: readonly DialectArg[];
  }
  | { readonly kind: "canonical"; readonly line: string; readonly exits: boolean }
  | { readonly kind: "error"; readonly message: string };

/** Splits the words after a command by its argument specs; `extra` is what is left over. */
function splitArgs(
  rest: string,
  specs: readonly DialectArg[],
): { given: string[]; extra: boolean } {
  const given: string[] = [];
  let remaining = rest.trimStart();
  for (const spec of specs) {
    if (remaining === "") break;
    if (spec.rest) {
      given.push(remaining.trimEnd());
      remaining = "";
      break;
    }
    const match = /^(\S+)\s*/.exec(remaining);
    if (!match) break;
    given.push(match[1]);
    remaining = remaining.slice(match[0].length);
  }
  return { given, extra: remaining.trim() !== "" };
}

/** Usage of a dialect command: `SRM <roomID> <message...>`. */
export function dialectUsage(command: DialectCommand): string {
  return [
    command.word,
    ...command.args.map((a) => {
      const name = a.rest ? `${a.name}...` : a.name;
      return a.optional ? `[${name}]` : `<${name}>`;
    }),
  ].join(" ");
}

/**
 * Decides what a typed line means in a dialect: one of its commands (with the arguments still
 * to ask for), a canonical command, or an error with the usage.
 */
export function planLine(dialect: Dialect, line: string): LinePlan {
  const trimmed = line.trim();
  if (trimmed === "") return { kind: "empty" };
  const [word] = trimmed.split(/\s+/, 1);
  const rest = trimmed.slice(word.length);
  const command = dialect.commands.find((c) => c.word.toLowerCase() === word.toLowerCase());
  if (command) {
    const { given, extra } = splitArgs(rest, command.args);
    const missing = command.args.slice(given.length).filter((a) => !a.optional);
    const unprompted = missing.some((a) => a.prompt === undefined);
    if (extra || unprompted) {
      const message = dialect.syntaxError?.(word) ??
        `Error. Invalid command. Usage: ${dialectUsage(command)}`;
      return { kind: "error", message };
    }
    return { kind: "dialect", command, given, missing };
  }
  if (isCommandWord(word)) {
    return { kind: "canonical", line: trimmed, exits: word.toUpperCase() === "QUIT" };
  }
  const known = dialect.commands.length > 0
    ? dialect.commands.map((c) => c.word).join(", ")
    : "HELP";
  return { kind: "error", message: `Error. Invalid command "${word}". Try: ${known}` };
}

/** Requests for a dialect command once every argument is known. */
export function requestsFor(command: DialectCommand, args: readonly string[]): DialectRequest[] {
  return command.requests(command.args.map((_, i) => args[i] ?? ""));
}

/** The request line of a dialect request. */
export function requestLine(request: DialectRequest): string {
  if (request.typed !== undefined) return request.typed;
  if (!isCommandName(request.command)) {
    throw new TypeError(`Cannot format request: unknown command "${request.command}"`);
  }
  return formatRequest(request.command, request.args ?? []);
}

/**
 * Whether a typed line carries a password (LOGIN, REGISTER, PASSWD, SHUTDOWN, or a dialect
 * command with a secret argument given on the line): such lines are kept out of the history.
 */
export function holdsSecret(dialect: Dialect, line: string): boolean {
  const plan = planLine(dialect, line);
  if (plan.kind === "dialect") {
    return plan.command.args.some((a, i) => a.secret && plan.given[i] !== undefined) ||
      requestsFor(plan.command, plan.given).some((r) => findCommand(r.command)?.secret);
  }
  if (plan.kind !== "canonical") return false;
  const [first, second] = plan.line.split(/\s+/);
  const command = findCommand(`${first} ${second ?? ""}`.trim()) ?? findCommand(first);
  return command?.secret === true && plan.line.trim().split(/\s+/).length > 1;
}

/** Words the REPL completes first: the dialect's own and the canonical ones. */
export function commandWords(dialect: Dialect): string[] {
  const canonical = [...new Set(COMMANDS.map((c) => c.name.split(" ")[0]))];
  return [...dialect.commands.map((c) => c.word), ...canonical, "help"];
}

/** `help` in a dialect: its own commands with their canonical meaning. */
export function dialectHelp(dialect: Dialect, topic?: string): string[] | undefined {
  const commands = topic
    ? dialect.commands.filter((c) => c.word.toLowerCase() === topic.toLowerCase())
    : dialect.commands;
  if (topic && commands.length === 0) return undefined;
  return commands.map((c) => {
    const placeholders = c.args.map((a) => a.optional ? "" : `<${a.name}>`);
    const sample = c.requests(placeholders).map((r) =>
      [r.command, ...(r.args ?? [])].filter((p) => p !== "").join(" ")
    ).join(" + ");
    return `${dialectUsage(c).padEnd(34)} ${c.summary} (${sample})`;
  });
}
