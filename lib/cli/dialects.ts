/**
 * The five systems' own command vocabularies, mapped onto the canonical protocol. Pure: the REPL
 * asks {@linkcode planLine} what to send, prompts for anything missing, and sends it.
 * @module
 */

import { COMMANDS, isCommandWord } from "../protocol/commands.ts";
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

/** An argument of a dialect command; one with a `prompt` is asked for when left out. */
export interface DialectArg {
  readonly name: string;
  readonly prompt?: string;
  /** Ask with the input masked. */
  readonly secret?: boolean;
  /** Takes the rest of the line. */
  readonly rest?: boolean;
  readonly optional?: boolean;
}

/** One command of a dialect. */
export interface DialectCommand {
  /** The word as the system's users type it; matched case-insensitively. */
  readonly word: string;
  readonly args: readonly DialectArg[];
  /** What it does, for `help`. */
  readonly summary: string;
  /** Canonical request lines to send, given the arguments (missing optionals are ""). */
  readonly requests: (args: readonly string[]) => string[];
  /** A request whose reply is shown before asking for missing arguments (PM lists users). */
  readonly before?: string;
  /** The client ends after this command. */
  readonly exits?: boolean;
  /** Needs a login: when the client is not logged in, send at once (the server says 401), no prompts. */
  readonly requiresLogin?: boolean;
}

/** A system's vocabulary and habits. */
export interface Dialect {
  readonly name: DialectName;
  /** Shown as the prompt of the REPL. */
  readonly prompt: string;
  /** Log in with Username/Password prompts before the REPL (yamotd logs in with a command). */
  readonly loginAtStart: boolean;
  /** Print reply codes (`200 OK`) as yamotd's users know them. */
  readonly showCodes: boolean;
  /** How the system announced a server shutdown, if not yamotd's `210 …` line. */
  readonly shutdownText?: string;
  readonly commands: readonly DialectCommand[];
}

const join = (...parts: string[]): string => parts.filter((p) => p !== "").join(" ");

/** RDM's `s` target: `RDM s 1 Jun 2022 16:00:00` is every room since a time; `RDM s 3 …` room 3. */
function toomRoomHistory(rest: string): string {
  const trimmed = rest.trim();
  if (trimmed === "" || parseTimestamp(trimmed) !== undefined) return join("HISTORY s", trimmed);
  const [id, ...time] = trimmed.split(/\s+/);
  return join("HISTORY", id, time.join(" "));
}

const YAMOTD: Dialect = {
  name: "yamotd",
  prompt: "please choose a cmd from the above options: ",
  loginAtStart: false,
  showCodes: true,
  commands: [
    { word: "MSGGET", args: [], summary: "Get the message of the day", requests: () => ["MOTD"] },
    {
      word: "MSGSTORE",
      args: [{ name: "message", prompt: "please enter the message of the day:", rest: true }],
      summary: "Store a message of the day (login first)",
      requests: ([m]) => [`MOTD ADD ${m}`],
      requiresLogin: true,
    },
    {
      word: "SHUTDOWN",
      args: [],
      summary: "Shut the server down (root only)",
      requests: () => ["SHUTDOWN"],
    },
    {
      word: "LOGIN",
      args: [
        { name: "username", prompt: "please enter the username:" },
        { name: "password", prompt: "please enter the password:", secret: true, rest: true },
      ],
      summary: "Log in",
      requests: ([u, p]) => [`LOGIN ${u} ${p}`],
    },
    { word: "LOGOUT", args: [], summary: "Log out", requests: () => ["LOGOUT"] },
    {
      word: "QUIT",
      args: [],
      summary: "Quit the client",
      requests: () => ["QUIT"],
      exits: true,
    },
    { word: "WHO", args: [], summary: "Active users", requests: () => ["WHO"] },
    {
      word: "SEND",
      args: [
        { name: "username", prompt: "please enter the username:" },
        { name: "message", prompt: "please enter the secret message:", rest: true },
      ],
      summary: "Send a private message",
      requests: ([u, m]) => [`MSG ${u} ${m}`],
      requiresLogin: true,
    },
  ],
};

const FORUM: Dialect = {
  name: "forum",
  prompt: "Enter one of the following commands: CRT MSG DLT EDT LST RDT UPD DWN RMV XIT SHT: ",
  loginAtStart: true,
  showCodes: false,
  shutdownText: "Goodbye. Server shutting down",
  commands: [
    {
      word: "CRT",
      args: [{ name: "thread" }],
      summary: "Create a thread",
      requests: ([t]) => [`THREAD CREATE ${t}`],
    },
    {
      word: "MSG",
      args: [{ name: "thread" }, { name: "message", rest: true }],
      summary: "Post a message to a thread",
      requests: ([t, m]) => [`POST ${t} ${m}`],
    },
    {
      word: "DLT",
      args: [{ name: "thread" }, { name: "number" }],
      summary: "Delete your message",
      requests: ([t, n]) => [`DELETE ${t} ${n}`],
    },
    {
      word: "EDT",
      args: [{ name: "thread" }, { name: "number" }, { name: "message", rest: true }],
      summary: "Edit your message",
      requests: ([t, n, m]) => [`EDIT ${t} ${n} ${m}`],
    },
    { word: "LST", args: [], summary: "List threads", requests: () => ["THREAD LIST"] },
    {
      word: "RDT",
      args: [{ name: "thread" }],
      summary: "Read a thread",
      requests: ([t]) => [`THREAD READ ${t}`],
    },
    {
      word: "UPD",
      args: [{ name: "thread" }, { name: "file" }],
      summary: "Upload a file to a thread",
      requests: ([t, f]) => [`UPLOAD ${t} ${f}`],
    },
    {
      word: "DWN",
      args: [{ name: "thread" }, { name: "file" }],
      summary: "Download a file from a thread",
      requests: ([t, f]) => [`DOWNLOAD ${t} ${f}`],
    },
    {
      word: "RMV",
      args: [{ name: "thread" }],
      summary: "Remove your thread",
      requests: ([t]) => [`THREAD REMOVE ${t}`],
    },
    { word: "XIT", args: [], summary: "Exit", requests: () => ["QUIT"], exits: true },
    {
      word: "SHT",
      args: [{ name: "admin_password", rest: true }],
      summary: "Shut the server down",
      requests: ([p]) => [`SHUTDOWN ${p}`],
    },
  ],
};

const TOOM: Dialect = {
  name: "toom",
  prompt: "Enter one of the following commands (BCM, ATU, SRB, SRM, RDM, OUT, UPD):",
  loginAtStart: true,
  showCodes: false,
  commands: [
    {
      word: "BCM",
      args: [{ name: "message", rest: true }],
      summary: "Broadcast a message",
      requests: ([m]) => [`BROADCAST ${m}`],
    },
    { word: "ATU", args: [], summary: "Active users", requests: () => ["WHO"] },
    {
      word: "SRB",
      args: [{ name: "usernames", rest: true }],
      summary: "Build a separate room with these users",
      requests: ([u]) => [`ROOM CREATE ${u}`],
    },
    {
      word: "SRM",
      args: [{ name: "roomID" }, { name: "message", rest: true }],
      summary: "Message a separate room",
      requests: ([id, m]) => [`ROOM SAY ${id} ${m}`],
    },
    {
      word: "RDM",
      args: [{ name: "b|s" }, { name: "timestamp", rest: true, optional: true }],
      summary: "Read messages: b broadcasts, s rooms (s roomID for one), after a time",
      requests: ([kind, rest]) =>
        kind.toLowerCase() === "s" ? [toomRoomHistory(rest)] : [join("HISTORY", kind, rest)],
    },
    {
      word: "OUT",
      args: [],
      summary: "Log out",
      requests: () => ["LOGOUT", "QUIT"],
      exits: true,
    },
    {
      word: "UPD",
      args: [{ name: "username" }, { name: "filename" }],
      summary: "Send a file to a user over UDP",
      requests: ([u, f]) => [`SENDFILE ${u} ${f}`],
    },
  ],
};

const MESSENGER: Dialect = {
  name: "messenger",
  prompt: "> ",
  loginAtStart: true,
  showCodes: false,
  commands: [
    {
      word: "message",
      args: [{ name: "user" }, { name: "message", rest: true }],
      summary: "Private message",
      requests: ([u, m]) => [`MSG ${u} ${m}`],
    },
    {
      word: "broadcast",
      args: [{ name: "message", rest: true }],
      summary: "Broadcast",
      requests: ([m]) => [`BROADCAST ${m}`],
    },
    { word: "whoelse", args: [], summary: "Others online", requests: () => ["WHOELSE"] },
    {
      word: "whoelsesince",
      args: [{ name: "time" }],
      summary: "Others online in the past time seconds",
      requests: ([t]) => [`WHOELSE ${t}`],
    },
    {
      word: "block",
      args: [{ name: "user" }],
      summary: "Block a user",
      requests: ([u]) => [`BLOCK ${u}`],
    },
    {
      word: "unblock",
      args: [{ name: "user" }],
      summary: "Unblock a user",
      requests: ([u]) => [`UNBLOCK ${u}`],
    },
    {
      word: "unlock",
      args: [{ name: "user" }],
      summary: "Unblock a user (as spelled in the report)",
      requests: ([u]) => [`UNBLOCK ${u}`],
    },
    {
      word: "startprivate",
      args: [{ name: "user" }],
      summary: "Start private (peer-to-peer) messaging",
      requests: ([u]) => [`PRIVATE START ${u}`],
    },
    {
      word: "private",
      args: [{ name: "user" }, { name: "message", rest: true }],
      summary: "Private message over the peer-to-peer link",
      requests: ([u, m]) => [`PRIVATE ${u} ${m}`],
    },
    {
      word: "stopprivate",
      args: [{ name: "user" }],
      summary: "Stop private messaging",
      requests: ([u]) => [`PRIVATE STOP ${u}`],
    },
    { word: "logout", args: [], summary: "Log out", requests: () => ["QUIT"], exits: true },
  ],
};

const CHATROOM: Dialect = {
  name: "chatroom",
  prompt:
    "Please enter a command (BM: Broadcast Messaging, PM: Private Messaging, CH: Chat History, EX: Exit): ",
  loginAtStart: true,
  showCodes: false,
  commands: [
    {
      word: "BM",
      args: [{ name: "message", prompt: "Enter the broadcast message: ", rest: true }],
      summary: "Broadcast messaging",
      requests: ([m]) => [`BROADCAST ${m}`],
      requiresLogin: true,
    },
    {
      word: "PM",
      args: [
        { name: "user", prompt: "Enter the username: " },
        { name: "message", prompt: "Enter the private message: ", rest: true },
      ],
      summary: "Private messaging",
      requests: ([u, m]) => [`MSG ${u} ${m}`],
      before: "WHO",
      requiresLogin: true,
    },
    {
      word: "CH",
      args: [],
      summary: "Chat history: broadcasts and your private messages",
      requests: () => ["HISTORY b", "HISTORY p"],
    },
    { word: "EX", args: [], summary: "Exit", requests: () => ["QUIT"], exits: true },
  ],
};

const LABCHAT: Dialect = {
  name: "labchat",
  prompt: "labchat> ",
  loginAtStart: true,
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

function splitArgs(rest: string, specs: readonly DialectArg[]): string[] {
  const out: string[] = [];
  let remaining = rest.trimStart();
  for (const spec of specs) {
    if (remaining === "") break;
    if (spec.rest) {
      out.push(remaining.trimEnd());
      remaining = "";
      break;
    }
    const match = /^(\S+)\s*/.exec(remaining);
    if (!match) break;
    out.push(match[1]);
    remaining = remaining.slice(match[0].length);
  }
  return out;
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
    const given = splitArgs(rest, command.args);
    const missing = command.args.slice(given.length).filter((a) => !a.optional);
    const unprompted = missing.find((a) => a.prompt === undefined);
    if (unprompted) {
      return { kind: "error", message: `Error. Invalid command. Usage: ${dialectUsage(command)}` };
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

/** Request lines for a dialect command once every argument is known. */
export function requestsFor(command: DialectCommand, args: readonly string[]): string[] {
  const full = command.args.map((_, i) => args[i] ?? "");
  return command.requests(full).map((l) => l.trim());
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
    const sample = requestsFor(c, c.args.map((a) => `<${a.name}>`)).join(" + ");
    return `${dialectUsage(c).padEnd(34)} ${c.summary} (${sample})`;
  });
}
