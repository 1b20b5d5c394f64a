/**
 * IRC messages (RFC 1459/2812 with IRCv3 message tags): parsing a client's line and formatting
 * the server's.
 * @module
 */

/** One IRC message. */
export interface IrcMessage {
  /** IRCv3 tags, unescaped; a tag without a value has the empty string. */
  readonly tags: ReadonlyMap<string, string>;
  /** `nick!user@host` or a server name, without the colon. */
  readonly source?: string;
  /** Upper-cased command or three-digit numeric. */
  readonly command: string;
  readonly params: readonly string[];
}

/** What the server sends: the same fields, tags as a plain record in the order given. */
export interface OutgoingMessage {
  readonly tags?: Readonly<Record<string, string | undefined>>;
  readonly source?: string;
  readonly command: string;
  readonly params?: readonly string[];
}

/** Most parameters a message may have (RFC 2812: 14 middle plus the trailing one). */
const MAX_PARAMS = 15;

const TAG_UNESCAPES: Record<string, string> = { ":": ";", s: " ", "\\": "\\", r: "\r", n: "\n" };

function unescapeTagValue(value: string): string {
  return value.replace(/\\(.?)/g, (_, c: string) => c === "" ? "" : TAG_UNESCAPES[c] ?? c);
}

/** Escapes a tag value (IRCv3 message-tags). */
export function escapeTagValue(value: string): string {
  return value.replace(
    /[\\; \r\n]/g,
    (c) => c === "\\" ? "\\\\" : c === ";" ? "\\:" : c === " " ? "\\s" : c === "\r" ? "\\r" : "\\n",
  );
}

function parseTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const item of text.split(";")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = eq === -1 ? item : item.slice(0, eq);
    tags.set(key, eq === -1 ? "" : unescapeTagValue(item.slice(eq + 1)));
  }
  return tags;
}

/**
 * Parses one line (without its CR LF). Returns `undefined` for a line with no command (empty, or
 * only tags and a source), which servers silently ignore.
 */
export function parseIrcMessage(line: string): IrcMessage | undefined {
  let rest = line;
  let tags = new Map<string, string>();
  if (rest.startsWith("@")) {
    const space = rest.indexOf(" ");
    if (space === -1) return undefined;
    tags = parseTags(rest.slice(1, space));
    rest = rest.slice(space + 1).replace(/^ +/, "");
  }
  let source: string | undefined;
  if (rest.startsWith(":")) {
    const space = rest.indexOf(" ");
    if (space === -1) return undefined;
    source = rest.slice(1, space);
    rest = rest.slice(space + 1).replace(/^ +/, "");
  }
  const params: string[] = [];
  let command = "";
  while (rest !== "") {
    if (command !== "" && (rest.startsWith(":") || params.length === MAX_PARAMS - 1)) {
      params.push(rest.startsWith(":") ? rest.slice(1) : rest);
      break;
    }
    const space = rest.indexOf(" ");
    const word = space === -1 ? rest : rest.slice(0, space);
    rest = space === -1 ? "" : rest.slice(space + 1).replace(/^ +/, "");
    if (command === "") command = word.toUpperCase();
    else params.push(word);
  }
  if (command === "") return undefined;
  return { tags, source, command, params };
}

/** The part of a line that counts against the 512-byte limit: everything after the tags. */
export function withoutTags(line: string): string {
  if (!line.startsWith("@")) return line;
  const space = line.indexOf(" ");
  return space === -1 ? "" : line.slice(space + 1);
}

/**
 * Formats a message as a line without CR LF. The last parameter gets a colon when it needs one
 * (empty, has a space, or starts with a colon); earlier ones must not.
 */
export function formatIrcMessage(message: OutgoingMessage): string {
  let line = "";
  if (message.tags) {
    const tags = Object.entries(message.tags).filter(([, v]) => v !== undefined)
      .map(([k, v]) => v === "" ? k : `${k}=${escapeTagValue(v as string)}`);
    if (tags.length > 0) line = `@${tags.join(";")} `;
  }
  if (message.source !== undefined) line += `:${message.source} `;
  line += message.command;
  const params = message.params ?? [];
  params.forEach((raw, i) => {
    // Nothing a user typed may end the line early or start a second one.
    const param = raw.replace(/[\r\n\0]/g, " ");
    const last = i === params.length - 1;
    const needsColon = last && (param === "" || param.includes(" ") || param.startsWith(":"));
    line += needsColon ? ` :${param}` : ` ${param}`;
  });
  return line;
}
