/**
 * The command table: the one source of truth for dispatch, argument checking, HELP, client
 * completion and docs/PROTOCOL.md.
 * @module
 */

/** One argument of a command. */
export interface ArgSpec {
  /** Name shown in usage text. */
  readonly name: string;
  /** May be left out (only trailing arguments are optional). */
  readonly optional?: boolean;
  /** Takes the rest of the line, spaces included (only the last argument). */
  readonly rest?: boolean;
}

/** Who may run a command. */
export type Access = "anyone" | "user";

/** One command of the protocol. */
export interface CommandSpec {
  /** Canonical name, upper case; two words for sub-commands (`ROOM SAY`). */
  readonly name: string;
  readonly args: readonly ArgSpec[];
  /** `anyone`: works before login; `user`: needs a logged-in session. */
  readonly access: Access;
  /** One line for HELP. */
  readonly summary: string;
  /** A request line showing typical use. */
  readonly example: string;
  /** Whether logs must not show its arguments (passwords). */
  readonly secret?: boolean;
  /** Arguments as typed in the client, when it fills in the rest (UPLOAD computes size and hash). */
  readonly clientArgs?: string;
  /** Done by the client itself (peer to peer); the server only explains that. */
  readonly clientOnly?: boolean;
}

const arg = (name: string): ArgSpec => ({ name });
const optional = (name: string): ArgSpec => ({ name, optional: true });
const rest = (name: string, isOptional = false): ArgSpec => ({
  name,
  rest: true,
  optional: isOptional,
});

/** Every command the server understands, in the order HELP lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "HELP",
    args: [rest("command", true)],
    access: "anyone",
    summary: "List the commands, or show how to use one",
    example: "HELP MSG",
  },
  {
    name: "USER",
    args: [arg("user")],
    access: "anyone",
    summary: "Ask whether an account exists before LOGIN or REGISTER (331 yes, 332 no)",
    example: "USER yoda",
  },
  {
    name: "LOGIN",
    args: [arg("user"), rest("password")],
    access: "anyone",
    summary: "Sign in; 3 wrong passwords in a row block the account for a while",
    example: "LOGIN yoda wise@!man",
    secret: true,
  },
  {
    name: "REGISTER",
    args: [arg("user"), rest("password")],
    access: "anyone",
    summary: "Create an account and sign in (when the server allows registration)",
    example: "REGISTER hans falcon",
    secret: true,
  },
  {
    name: "PASSWD",
    args: [arg("old-password"), rest("new-password")],
    access: "user",
    summary: "Change your password",
    example: "PASSWD falcon millennium",
    secret: true,
  },
  {
    name: "LOGOUT",
    args: [],
    access: "user",
    summary: "End your session and stay connected",
    example: "LOGOUT",
  },
  {
    name: "QUIT",
    args: [],
    access: "anyone",
    summary: "End your session and disconnect",
    example: "QUIT",
  },
  {
    name: "UDP",
    args: [arg("port")],
    access: "anyone",
    summary:
      "Tell the server the UDP port your client takes peer-to-peer traffic on (WHO shows it)",
    example: "UDP 8001",
  },
  {
    name: "WHO",
    args: [],
    access: "anyone",
    summary: "Online users: name, IP, UDP port, online since",
    example: "WHO",
  },
  {
    name: "WHOELSE",
    args: [optional("secs")],
    access: "user",
    summary: "Other users online now, or online at any time in the last secs seconds",
    example: "WHOELSE 60",
  },
  {
    name: "MSG",
    args: [arg("user"), rest("text")],
    access: "user",
    summary: "Private message; kept and delivered at next login if the user is offline",
    example: "MSG hans hello, hans",
  },
  {
    name: "BROADCAST",
    args: [rest("text")],
    access: "user",
    summary: "Message everyone online who has not blocked you; numbered and logged",
    example: "BROADCAST Morning",
  },
  {
    name: "HISTORY",
    args: [optional("b|p|s|room-id|user"), rest("since", true)],
    access: "user",
    summary:
      "Broadcasts (b, the default), your private messages (p, or with one user), your rooms (s) or one room; optionally after a time",
    example: "HISTORY b 01 Jun 2022 16:00:00",
  },
  {
    name: "BLOCK",
    args: [arg("user")],
    access: "user",
    summary: "Stop messages, broadcasts and presence notices from a user",
    example: "BLOCK yoda",
  },
  {
    name: "UNBLOCK",
    args: [arg("user")],
    access: "user",
    summary: "Undo BLOCK",
    example: "UNBLOCK yoda",
  },
  {
    name: "ROOM CREATE",
    args: [rest("users")],
    access: "user",
    summary: "Open a separate room with these users and you; one room per member set",
    example: "ROOM CREATE obiwan gandalf",
  },
  {
    name: "ROOM SAY",
    args: [arg("room-id"), rest("text")],
    access: "user",
    summary: "Say something in a room you are a member of",
    example: "ROOM SAY 1 hi",
  },
  {
    name: "ROOM LIST",
    args: [],
    access: "user",
    summary: "The rooms you are a member of",
    example: "ROOM LIST",
  },
  {
    name: "MOTD",
    args: [],
    access: "anyone",
    summary: "The next message of the day",
    example: "MOTD",
  },
  {
    name: "MOTD ADD",
    args: [rest("text")],
    access: "user",
    summary: "Add a message of the day",
    example: "MOTD ADD Worse is better.",
  },
  {
    name: "THREAD CREATE",
    args: [arg("thread")],
    access: "user",
    summary: "Start a forum thread",
    example: "THREAD CREATE networks",
  },
  {
    name: "THREAD LIST",
    args: [],
    access: "user",
    summary: "The forum's threads",
    example: "THREAD LIST",
  },
  {
    name: "THREAD READ",
    args: [arg("thread")],
    access: "user",
    summary: "A thread's numbered messages and uploaded files, in order",
    example: "THREAD READ networks",
  },
  {
    name: "THREAD REMOVE",
    args: [arg("thread")],
    access: "user",
    summary: "Remove your thread with its messages and files",
    example: "THREAD REMOVE networks",
  },
  {
    name: "POST",
    args: [arg("thread"), rest("text")],
    access: "user",
    summary: "Post a message to a thread",
    example: "POST networks hi im mike",
  },
  {
    name: "EDIT",
    args: [arg("thread"), arg("number"), rest("text")],
    access: "user",
    summary: "Change your message number n",
    example: "EDIT networks 1 hi im lang",
  },
  {
    name: "DELETE",
    args: [arg("thread"), arg("number")],
    access: "user",
    summary: "Delete your message number n; later messages renumber",
    example: "DELETE networks 3",
  },
  {
    name: "UPLOAD",
    args: [arg("thread"), arg("filename"), arg("size"), arg("sha256")],
    clientArgs: "<thread> <file>",
    access: "user",
    summary: "Attach a file to a thread: 350, then exactly size raw bytes, then the result",
    example:
      `UPLOAD networks notes.txt 5 ${"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}`,
  },
  {
    name: "DOWNLOAD",
    args: [arg("thread"), arg("filename")],
    access: "user",
    summary: "Fetch a thread's file: 201 size sha256 name, then exactly size raw bytes",
    example: "DOWNLOAD networks notes.txt",
  },
  {
    name: "PEER",
    args: [arg("user"), arg("file|private")],
    access: "user",
    summary:
      "Be introduced to an online user for a direct UDP transfer or private chat: host, port and a one-time token",
    example: "PEER hans private",
  },
  {
    name: "SENDFILE",
    args: [arg("user"), arg("file")],
    access: "user",
    summary: "Send a file straight to a user over UDP; it is saved as sender_file (client command)",
    example: "SENDFILE obiwan example1.mp4",
    clientOnly: true,
  },
  {
    name: "PRIVATE START",
    args: [arg("user")],
    access: "user",
    summary: "Start private chat straight with a user over UDP (client command)",
    example: "PRIVATE START hans",
    clientOnly: true,
  },
  {
    name: "PRIVATE STOP",
    args: [arg("user")],
    access: "user",
    summary: "Stop private chat with a user (client command)",
    example: "PRIVATE STOP hans",
    clientOnly: true,
  },
  {
    name: "PRIVATE",
    args: [arg("user"), rest("text")],
    access: "user",
    summary: "Say something in a private chat started with PRIVATE START (client command)",
    example: "PRIVATE hans hi, hans",
    clientOnly: true,
  },
  {
    name: "SHUTDOWN",
    args: [rest("admin-password", true)],
    access: "user",
    summary: "Stop the server (admin role, or the admin password)",
    example: "SHUTDOWN",
    secret: true,
  },
];

const BY_NAME: ReadonlyMap<string, CommandSpec> = new Map(COMMANDS.map((c) => [c.name, c]));

/** Finds a command by its canonical name, case-insensitively. */
export function findCommand(name: string): CommandSpec | undefined {
  return BY_NAME.get(name.toUpperCase());
}

/** Whether some command has this first word (`ROOM` for `ROOM SAY`). */
export function isCommandWord(word: string): boolean {
  const upper = word.toUpperCase();
  return COMMANDS.some((c) => c.name === upper || c.name.startsWith(upper + " "));
}

/** `MSG <user> <text>`, `WHOELSE [secs]`; with `forClient`, as typed in the client. */
export function usageOf(command: CommandSpec, forClient = false): string {
  if (forClient && command.clientArgs) return `${command.name} ${command.clientArgs}`;
  const parts = command.args.map((a) => {
    const name = a.rest ? `${a.name}...` : a.name;
    return a.optional ? `[${name}]` : `<${name}>`;
  });
  return [command.name, ...parts].join(" ");
}

/** Lines of HELP: every command, or one command in detail; `forClient` shows client usage. */
export function helpLines(topic?: string, forClient = false): string[] | undefined {
  const usage = (c: CommandSpec) => usageOf(c, forClient);
  if (!topic) return COMMANDS.map((c) => `${usage(c).padEnd(44)} ${c.summary}`);
  const upper = topic.trim().toUpperCase();
  const matches = COMMANDS.filter((c) => c.name === upper || c.name.startsWith(upper + " "));
  if (matches.length === 0) return undefined;
  return matches.flatMap((c) => [
    `Usage: ${usage(c)}`,
    `  ${c.summary}${c.access === "user" ? " (login required)" : ""}`,
    `  Example: ${c.example}`,
  ]);
}
