/**
 * The command table: the one source of truth for dispatch, argument checking, HELP, client
 * completion and docs/PROTOCOL.md.
 * @module
 */

/**
 * What an argument must look like; checked once, before any handler runs.
 * - `word`: anything without spaces; `text`: the rest of the line, any text.
 * - `user`, `channel`, `thread`, `filename`: names by the rules of {@linkcode ./names.ts}.
 * - `int`: a whole number 0–999999999; `port`: 1–65535; `sha256`: 64 hex digits (UPLOAD also
 *   takes `-`: the digits follow the bytes).
 */
export type ArgKind =
  | "word"
  | "text"
  | "user"
  | "channel"
  | "thread"
  | "filename"
  | "int"
  | "port"
  | "sha256";

/** One argument of a command. */
export interface ArgSpec {
  /** Name shown in usage text. */
  readonly name: string;
  /** How it is checked; `word` unless said. */
  readonly kind?: ArgKind;
  /** May be left out (only trailing arguments are optional). */
  readonly optional?: boolean;
  /** Takes the rest of the line, spaces included (only the last argument). */
  readonly rest?: boolean;
  /** How an error message calls it (`a UDP port`); the name otherwise. */
  readonly label?: string;
}

/**
 * Who may run a command: `anyone` (before login too), `user` (logged in), or `admin` (the admin
 * role, or the admin password as the command's first argument where `adminPassword` says so).
 */
export type Access = "anyone" | "user" | "admin";

/** One command of the protocol. */
export interface CommandSpec {
  /** Canonical name, upper case; two words for sub-commands (`ROOM SAY`). */
  readonly name: string;
  readonly args: readonly ArgSpec[];
  readonly access: Access;
  /** One line for HELP and docs/PROTOCOL.md: what the command does on the wire. */
  readonly summary: string;
  /** One line for the client's `help`, where the wire details would only confuse. */
  readonly clientSummary?: string;
  /** A request line showing typical use. */
  readonly example: string;
  /** Whether logs must not show its arguments (passwords). */
  readonly secret?: boolean;
  /** Arguments as typed in the client, when it fills in the rest (UPLOAD computes size and hash). */
  readonly clientArgs?: string;
  /** Done by the client itself (peer to peer); the server only explains that. */
  readonly clientOnly?: boolean;
  /** Used by the client behind the scenes; its `help` does not list it. */
  readonly clientHidden?: boolean;
  /** With `access: "admin"`: a user without the role may give the admin password instead. */
  readonly adminPassword?: boolean;
  /** Moves raw bytes after its line or its reply (needs a byte-stream transport: TCP). */
  readonly raw?: boolean;
  /**
   * A guest (an IRC nick without an account) may run it too; other commands that need a login
   * need an account. Guests leave nothing behind that a later account of their name could read.
   */
  readonly guests?: boolean;
}

const arg = (name: string, kind: ArgKind = "word", label?: string): ArgSpec => ({
  name,
  kind,
  label,
});
const optional = (name: string, kind: ArgKind = "word", label?: string): ArgSpec => ({
  name,
  kind,
  label,
  optional: true,
});
const rest = (name: string, isOptional = false): ArgSpec => ({
  name,
  kind: "text",
  rest: true,
  optional: isOptional,
});

/** Most entries a HISTORY or THREAD READ reply holds unless `limit` asks for fewer. */
export const PAGE_SIZE = 100;

/** The table as written: its literal types give {@linkcode CommandName} and friends. */
const COMMAND_TABLE = [
  {
    name: "HELP",
    args: [rest("command", true)],
    access: "anyone",
    summary: "List the commands, or show how to use one",
    example: "HELP MSG",
  },
  {
    name: "USER",
    args: [arg("user", "user")],
    access: "anyone",
    summary: "Ask whether an account exists before LOGIN or REGISTER (331 yes, 332 no)",
    example: "USER yoda",
    clientHidden: true,
  },
  {
    name: "LOGIN",
    args: [arg("user", "user"), rest("password")],
    access: "anyone",
    summary: "Sign in; 3 wrong passwords in a row block the account for a while",
    example: "LOGIN yoda wise@!man",
    secret: true,
  },
  {
    name: "REGISTER",
    args: [arg("user", "user"), rest("password")],
    access: "anyone",
    summary: "Create an account and sign in (when the server allows registration)",
    example: "REGISTER hans falcon",
    secret: true,
  },
  {
    name: "SESSION",
    args: [],
    access: "anyone",
    summary: "Log in with the web session the browser's cookie carries (the web client, over /ws)",
    example: "SESSION",
    clientHidden: true,
  },
  {
    name: "GUEST",
    args: [arg("user", "user")],
    access: "anyone",
    summary:
      "Log in under a name that is no account, for this connection only (IRC clients without a password; when registration is open)",
    example: "GUEST visitor",
    clientHidden: true,
  },
  {
    name: "NICK",
    args: [arg("user", "user")],
    access: "user",
    guests: true,
    summary:
      "A guest takes another name (IRC's NICK; announced to everyone); an account's name stays what it is",
    example: "NICK visitor2",
    clientHidden: true,
  },
  {
    name: "PASSWD",
    args: [arg("old-password"), rest("new-password")],
    access: "user",
    summary: "Change your password; a wrong old password counts as a failed login",
    example: "PASSWD falcon millennium",
    secret: true,
  },
  {
    name: "LOGOUT",
    args: [],
    access: "user",
    summary: "End your session and stay connected",
    example: "LOGOUT",
    guests: true,
  },
  {
    name: "SESSIONS",
    args: [optional("user", "user")],
    access: "user",
    summary:
      "Where you are logged in: each session's id, client, address, since when, idle (admins may name a user)",
    example: "SESSIONS",
  },
  {
    name: "SESSIONS END",
    args: [arg("id")],
    access: "user",
    summary: "End one of your sessions by its id from SESSIONS (admins: anyone's)",
    example: "SESSIONS END 12",
  },
  {
    name: "QUIT",
    args: [],
    access: "anyone",
    summary: "End your session and disconnect",
    example: "QUIT",
  },
  {
    name: "ACTIVE",
    args: [],
    access: "anyone",
    summary:
      "Say the person is using the client (typing, reading, scrolling) though it sends nothing; the reply tells the idle timeout",
    example: "ACTIVE",
    clientHidden: true,
  },
  {
    name: "UDP",
    args: [arg("port", "port", "a UDP port")],
    access: "anyone",
    summary:
      "Tell the server the UDP port your client takes peer-to-peer traffic on (WHO shows it)",
    example: "UDP 8001",
    clientHidden: true,
  },
  {
    name: "WHO",
    args: [optional("user", "user")],
    access: "anyone",
    summary: "Online users: name, IP, UDP port, online since; with a name, that user or 420",
    clientSummary:
      "Who is online: name, address, UDP port, since when; with a name, whether they are",
    example: "WHO",
  },
  {
    name: "WHOELSE",
    args: [optional("secs", "int", "seconds")],
    access: "user",
    summary: "Other users online now, or online at any time in the last secs seconds",
    example: "WHOELSE 60",
    guests: true,
  },
  {
    name: "MSG",
    args: [arg("user", "user"), rest("text")],
    access: "user",
    summary: "Private message; kept and delivered at next login if the user is offline",
    example: "MSG hans hello, hans",
    guests: true,
  },
  {
    name: "BROADCAST",
    args: [rest("text")],
    access: "user",
    summary: "Message everyone online who has not blocked you; numbered and logged",
    example: "BROADCAST Morning",
    guests: true,
  },
  {
    name: "TAGMSG",
    args: [arg("#lab|room-id|#channel|user")],
    access: "user",
    summary:
      "Client-only tags (typing, a reaction) to everyone (#lab), a room, a channel or a user, where a message would go; nothing is kept, and only IRC clients that asked for message-tags are shown them",
    example: "TAGMSG #networks",
    clientHidden: true,
    guests: true,
  },
  {
    name: "HISTORY",
    args: [optional("b|p|s|room-id|user"), rest("before N|limit N|since", true)],
    access: "user",
    summary:
      `Broadcasts (b, the default), your private messages (p, or with one user), your rooms (s) or one room; the newest ${PAGE_SIZE}, or those before number N, or after a time`,
    example: "HISTORY b 01 Jun 2022 16:00:00",
    guests: true,
  },
  {
    name: "SEARCH",
    args: [rest("words")],
    access: "user",
    summary:
      'Find messages, posts and files you may read: words (all must match), word* for a prefix, "a phrase"; in:b|p|s|ROOM|#channel|USER|forum, from:USER, after:/before: a time, page:N',
    example: "SEARCH iperf 941 in:#networks from:hans",
  },
  {
    name: "BLOCK",
    args: [arg("user", "user")],
    access: "user",
    summary: "Stop messages, broadcasts, rooms and presence notices from a user",
    example: "BLOCK yoda",
  },
  {
    name: "BLOCKED",
    args: [],
    access: "user",
    summary: "The users you have blocked",
    example: "BLOCKED",
    guests: true,
  },
  {
    name: "UNBLOCK",
    args: [arg("user", "user")],
    access: "user",
    summary: "Undo BLOCK",
    example: "UNBLOCK yoda",
  },
  {
    name: "ROOM CREATE",
    args: [rest("users")],
    access: "user",
    summary:
      "Open a separate room with these online users and you; one room per member set; not with someone who blocked you",
    example: "ROOM CREATE obiwan gandalf",
  },
  {
    name: "ROOM SAY",
    args: [arg("room-id", "int", "a room ID"), rest("text")],
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
    name: "JOIN",
    args: [arg("channel", "channel"), optional("key")],
    access: "user",
    guests: true,
    summary:
      "Join a channel, creating it (with you as its operator) if nobody is in it; its key if it has one",
    example: "JOIN #networks",
  },
  {
    name: "PART",
    args: [arg("channel", "channel"), rest("reason", true)],
    access: "user",
    guests: true,
    summary: "Leave a channel",
    example: "PART #networks lunch",
  },
  {
    name: "SAY",
    args: [arg("channel", "channel"), rest("text")],
    access: "user",
    guests: true,
    summary: "Say something in a channel; numbered and kept (HISTORY #channel)",
    example: "SAY #networks who has the lab key?",
  },
  {
    name: "NOTICE",
    args: [arg("user|channel"), rest("text")],
    access: "user",
    guests: true,
    summary: "A notice to an online user or a channel: delivered now, never kept, never answered",
    example: "NOTICE hans the build is green",
    clientHidden: true,
  },
  {
    name: "TOPIC",
    args: [arg("channel", "channel"), rest("topic", true)],
    access: "user",
    guests: true,
    summary: "Show a channel's topic, or set it (operators only unless the channel is -t)",
    example: "TOPIC #networks exam on Friday",
  },
  {
    name: "TOPIC CLEAR",
    args: [arg("channel", "channel")],
    access: "user",
    guests: true,
    summary: "Clear a channel's topic",
    example: "TOPIC CLEAR #networks",
  },
  {
    name: "NAMES",
    args: [arg("channel", "channel")],
    access: "user",
    guests: true,
    summary: "Who is in a channel (@ operator, + voice)",
    example: "NAMES #networks",
  },
  {
    name: "CHANNELS",
    args: [optional("channel", "channel")],
    access: "user",
    guests: true,
    summary: "The channels there are, with their sizes and topics",
    example: "CHANNELS",
  },
  {
    name: "KICK",
    args: [arg("channel", "channel"), arg("user", "user"), rest("reason", true)],
    access: "user",
    guests: true,
    summary: "Put someone out of a channel you are an operator of",
    example: "KICK #networks hans spamming",
  },
  {
    name: "INVITE",
    args: [arg("user", "user"), arg("channel", "channel")],
    access: "user",
    guests: true,
    summary: "Invite an online user to a channel (past +i, a key's absence and bans)",
    example: "INVITE hans #networks",
  },
  {
    name: "MODE",
    args: [arg("channel", "channel"), rest("modes", true)],
    access: "user",
    guests: true,
    summary:
      "Show a channel's modes, or change them as an operator: +o/+v user, +b mask, +k key, +l n, +i, +m, +n, +s, +t",
    example: "MODE #networks +o hans",
  },
  {
    name: "AWAY",
    args: [rest("message", true)],
    access: "user",
    guests: true,
    summary: "Say you are away (WHO shows it; senders are told), or without a message, back",
    example: "AWAY lunch, back at 2",
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
    args: [arg("thread", "thread")],
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
    guests: true,
  },
  {
    name: "THREAD READ",
    args: [arg("thread", "thread"), rest("before N", true)],
    access: "user",
    summary:
      `A thread's numbered messages and uploaded files, in order: the last ${PAGE_SIZE}, or those before message N`,
    example: "THREAD READ networks",
    guests: true,
  },
  {
    name: "THREAD REMOVE",
    args: [arg("thread", "thread")],
    access: "user",
    summary: "Remove your thread with its messages and files",
    example: "THREAD REMOVE networks",
  },
  {
    name: "POST",
    args: [arg("thread", "thread"), rest("text")],
    access: "user",
    summary: "Post a message to a thread",
    example: "POST networks hi im mike",
  },
  {
    name: "EDIT",
    // Not an int: the forum says "Invalid message number" for anything that is not one.
    args: [arg("thread", "thread"), arg("number"), rest("text")],
    access: "user",
    summary: "Change your message number n",
    example: "EDIT networks 1 hi im lang",
  },
  {
    name: "DELETE",
    args: [arg("thread", "thread"), arg("number")],
    access: "user",
    summary: "Delete your message number n; later messages renumber",
    example: "DELETE networks 3",
  },
  {
    name: "FILE REMOVE",
    args: [arg("thread", "thread"), arg("filename", "filename")],
    access: "user",
    summary:
      "Remove a file you uploaded to a thread (or any, from your own thread); upload again to replace it",
    example: "FILE REMOVE networks notes.txt",
  },
  {
    name: "UPLOAD",
    args: [
      arg("thread", "thread"),
      arg("filename", "filename"),
      arg("size", "int", "a size in bytes"),
      arg("sha256", "sha256", "a SHA-256"),
    ],
    clientArgs: "<thread> <file>",
    access: "user",
    raw: true,
    summary:
      "Attach a file to a thread: 350, then exactly size raw bytes (with - for the SHA-256: the bytes, then its 64 hex digits and a newline), then the result",
    clientSummary: "Attach a local file to a thread (SHA-256 checked, progress shown)",
    example:
      `UPLOAD networks notes.txt 5 ${"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}`,
  },
  {
    name: "DOWNLOAD",
    args: [arg("thread", "thread"), arg("filename", "filename")],
    access: "user",
    raw: true,
    summary: "Fetch a thread's file: 201 size sha256 name, then exactly size raw bytes",
    clientSummary: "Save a thread's file in the downloads directory (SHA-256 checked)",
    example: "DOWNLOAD networks notes.txt",
  },
  {
    name: "PEER",
    args: [arg("user", "user"), arg("file|private"), optional("session")],
    access: "user",
    summary:
      "Be introduced to an online user for a direct UDP transfer or private chat: host, port and a one-time token (to one of their sessions by its id from SESSIONS, or the one most recently active)",
    example: "PEER hans private",
    clientHidden: true,
  },
  {
    name: "SENDFILE",
    args: [arg("user", "user"), arg("file")],
    access: "user",
    summary: "Send a file straight to a user over UDP; it is saved as sender_file (client command)",
    clientSummary: "Send a file straight to a user's client; it is saved there as yourname_file",
    example: "SENDFILE obiwan example1.mp4",
    clientOnly: true,
  },
  {
    name: "PRIVATE START",
    args: [arg("user", "user")],
    access: "user",
    summary: "Start private chat straight with a user over UDP (client command)",
    clientSummary: "Start a private chat that goes straight to the user's client",
    example: "PRIVATE START hans",
    clientOnly: true,
  },
  {
    name: "PRIVATE STOP",
    args: [arg("user", "user")],
    access: "user",
    summary: "Stop private chat with a user (client command)",
    clientSummary: "Stop a private chat",
    example: "PRIVATE STOP hans",
    clientOnly: true,
  },
  {
    name: "PRIVATE",
    args: [arg("user", "user"), rest("text")],
    access: "user",
    summary: "Say something in a private chat started with PRIVATE START (client command)",
    clientSummary: "Say something in a private chat started with PRIVATE START",
    example: "PRIVATE hans hi, hans",
    clientOnly: true,
  },
  {
    name: "KILL",
    args: [arg("user", "user"), rest("reason", true)],
    access: "admin",
    summary: "End a user's session, telling them (and everyone) why (admins)",
    example: "KILL mallory flooding the lab",
  },
  {
    name: "WALLOPS",
    args: [rest("text")],
    access: "admin",
    summary: "A message to every admin online, and IRC users who asked for them (+w)",
    example: "WALLOPS rebooting the lab server at noon",
  },
  {
    name: "SHUTDOWN",
    args: [rest("admin-password", true)],
    access: "admin",
    adminPassword: true,
    summary: "Stop the server (admin role, or the admin password)",
    example: "SHUTDOWN",
    secret: true,
  },
] as const satisfies readonly CommandSpec[];

/** Every command the server understands, in the order HELP lists them. */
export const COMMANDS: readonly CommandSpec[] = COMMAND_TABLE;

type TableEntry = typeof COMMAND_TABLE[number];

/** Canonical name of any command in the table. */
export type CommandName = TableEntry["name"];

/** Names of commands the server itself carries out (not the client-only ones). */
export type ServerCommandName = Exclude<
  CommandName,
  Extract<TableEntry, { clientOnly: true }>["name"]
>;

/** The access level a command was declared with. */
export type AccessOf<N extends CommandName> = Extract<TableEntry, { name: N }>["access"];

const BY_NAME: ReadonlyMap<string, CommandSpec> = new Map(COMMANDS.map((c) => [c.name, c]));

/** Whether `name` is the canonical name of a command. */
export function isCommandName(name: string): name is CommandName {
  return BY_NAME.has(name);
}

/** The command called `name`, in any case, or `undefined`. */
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

/**
 * Who reads HELP: `wire` (someone speaking the protocol, as with nc), `client` (the terminal
 * client's user: its usage and summaries, nothing it does behind the scenes) or `irc` (an IRC
 * user through the service nick: what IRC itself does not cover, with no byte streams or UDP).
 */
export type HelpAudience = "wire" | "client" | "irc";

/** Commands an IRC client does itself, or that need a byte stream or UDP. */
const NOT_FOR_IRC: ReadonlySet<string> = new Set([
  "USER",
  "LOGIN",
  "SESSION",
  "GUEST",
  "LOGOUT",
  "QUIT",
  "UDP",
  "ACTIVE",
  "PEER",
]);

function shownTo(command: CommandSpec, audience: HelpAudience): boolean {
  if (audience === "wire") return true;
  if (command.clientHidden) return false;
  return audience === "client" ||
    !(NOT_FOR_IRC.has(command.name) || command.raw === true || command.clientOnly === true);
}

/** Lines of HELP: every command, or one command in detail, for `audience`. */
export function helpLines(
  topic?: string,
  audience: HelpAudience = "wire",
): string[] | undefined {
  const all = COMMANDS.filter((c) => shownTo(c, audience));
  const forClient = audience !== "wire";
  const usage = (c: CommandSpec) => usageOf(c, forClient);
  const summary = (c: CommandSpec) => (forClient ? c.clientSummary : undefined) ?? c.summary;
  if (!topic) {
    const lines = all.map((c) => `${usage(c).padEnd(44)} ${summary(c)}`);
    if (audience !== "irc") return lines;
    return [
      "labchat commands for IRC users: /msg labchat COMMAND [arguments]. Your IRC client does the rest: #lab is the broadcast stream, /msg NICK a private message, /join #channel, &room-N a room.",
      ...lines,
      "/msg labchat HELP COMMAND shows one in detail.",
    ];
  }
  const upper = topic.trim().toUpperCase();
  const matches = all.filter((c) => c.name === upper || c.name.startsWith(upper + " "));
  if (matches.length === 0) return undefined;
  const needs = (c: CommandSpec) =>
    c.access === "admin" ? " (admin)" : c.access === "user" ? " (login required)" : "";
  return matches.flatMap((c) => [
    `Usage: ${audience === "irc" ? "/msg labchat " : ""}${usage(c)}`,
    `  ${summary(c)}${needs(c)}`,
    `  Example: ${audience === "irc" ? "/msg labchat " : ""}${c.example}`,
  ]);
}
