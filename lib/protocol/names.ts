/**
 * Rules for the names users choose: accounts, forum threads and files. Every limit is in UTF-8
 * bytes, so a name accepted here fits everywhere it goes (KV keys, file systems, IRC lines).
 * Names are labels only: the server never uses one as a path, and a client saving a file derives
 * a safe local name from it.
 * @module
 */

/** Longest user name, in bytes. */
export const MAX_USERNAME_BYTES = 32;
/** Longest thread name, in bytes. */
export const MAX_THREAD_BYTES = 64;
/** Longest channel name, in bytes, `#` included. */
export const MAX_CHANNEL_BYTES = 50;
/** The channel IRC users see the broadcast stream as; not a channel of its own. */
export const BROADCAST_CHANNEL = "#lab";
/** Longest file name, in bytes: what Linux, macOS and Windows file systems all take. */
export const MAX_FILE_NAME_BYTES = 255;

/** Letters, digits and `_ . - ! @ # $ % ?` (the forum's users have names like `Han!Solo`). */
const USERNAME = /^[A-Za-z0-9_.\-!@#$%?]+$/;
// Control characters (C0, DEL, C1), format characters (bidirectional overrides and isolates,
// zero-width joiners) and separators of any script: never part of a name.
const UNSEEN = /[\p{Cc}\p{Cf}\p{Z}\u2028\u2029]/u;
const PATH_SEPARATOR = /[/\\]/;

const encoder = new TextEncoder();

/** Size of a string in UTF-8 bytes. */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** The longest prefix of `text` that fits in `maxBytes` UTF-8 bytes, never splitting a character. */
export function truncateBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** How a name is shown inside an error message: short, and nothing that could act on a terminal. */
function shown(name: string): string {
  return truncateBytes(name.replace(new RegExp(UNSEEN.source, "gu"), "?"), 64);
}

/**
 * The form two user names are compared in: `Alice` and `alice` are the same account. ASCII
 * lowercase, which is IRC's `ascii` case mapping.
 */
export function foldName(name: string): string {
  return name.toLowerCase();
}

/** Why a user name is not acceptable, or `undefined` when it is. */
export function usernameProblem(name: string): string | undefined {
  if (name.length === 0 || byteLength(name) > MAX_USERNAME_BYTES) {
    return `User name must be 1 to ${MAX_USERNAME_BYTES} bytes`;
  }
  if (!USERNAME.test(name) || name.startsWith("#") || name.startsWith("-") || /^\.+$/.test(name)) {
    return `Cannot use "${
      shown(name)
    }" as a user name: use letters, digits and _ . - ! @ # $ % ? (not # or - first)`;
  }
  return undefined;
}

/** Why a channel name is not acceptable, or `undefined`: `#`, then no spaces, commas or controls. */
export function channelNameProblem(name: string): string | undefined {
  if (!name.startsWith("#") || name.length < 2 || byteLength(name) > MAX_CHANNEL_BYTES) {
    return `Cannot use "${shown(name)}" as a channel: # and then 1 to ${
      MAX_CHANNEL_BYTES - 1
    } bytes`;
  }
  if (UNSEEN.test(name) || /[,:*?!@]/.test(name)) {
    return `Cannot use "${shown(name)}" as a channel: no spaces, control characters or , : * ? ! @`;
  }
  return undefined;
}

/** The form two channel names are compared in: ASCII case folded (IRC's `ascii` mapping). */
export function foldChannel(name: string): string {
  return name.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}

/** Why a thread name is not acceptable, or `undefined`. */
export function threadNameProblem(name: string): string | undefined {
  if (name.length === 0 || byteLength(name) > MAX_THREAD_BYTES) {
    return `Cannot use "${shown(name)}" as a thread name: use 1 to ${MAX_THREAD_BYTES} bytes`;
  }
  if (UNSEEN.test(name) || PATH_SEPARATOR.test(name) || name === "." || name === "..") {
    return `Cannot use "${
      shown(name)
    }" as a thread name: no spaces, control characters, "/", "\\", "." or ".."`;
  }
  return undefined;
}

/** Why a file name is not acceptable, or `undefined`: no paths, no spaces, no control characters. */
export function fileNameProblem(name: string): string | undefined {
  if (name === "" || byteLength(name) > MAX_FILE_NAME_BYTES) {
    return `File name must be 1 to ${MAX_FILE_NAME_BYTES} bytes`;
  }
  if (name === "." || name === ".." || PATH_SEPARATOR.test(name) || UNSEEN.test(name)) {
    return `Cannot use "${
      shown(name)
    }" as a file name: no paths, "." or "..", spaces or control characters`;
  }
  return undefined;
}

/**
 * The name a local file is uploaded under: its own, with spaces (which a request line cannot
 * carry in one word) turned into underscores.
 */
export function wireFileName(name: string): string {
  return name.replace(/\s+/g, "_");
}

/**
 * A name safe to create in a local directory for a received file: the last path component,
 * unseen and reserved characters replaced, never `.`/`..`, hidden or empty, and at most
 * `maxBytes` UTF-8 bytes (the extension kept when it has to be shortened).
 */
export function safeLocalName(name: string, maxBytes = MAX_FILE_NAME_BYTES): string {
  const base = name.split(/[/\\]/).filter((p) => p !== "").at(-1) ?? "";
  if (/^\.*$/.test(base)) return "download";
  const cleaned = [...base]
    .map((c) => UNSEEN.test(c) || /[<>:"|?*]/.test(c) ? "_" : c)
    .join("")
    .replace(/^\.+/, (dots) => "_".repeat(dots.length));
  if (cleaned === "") return "download";
  return fitName(cleaned, maxBytes);
}

/** Shortens `name` to `maxBytes`, keeping its extension (up to 16 bytes of it) when it can. */
export function fitName(name: string, maxBytes: number): string {
  if (byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && byteLength(name.slice(dot)) <= 16 ? name.slice(dot) : "";
  const stem = ext ? name.slice(0, dot) : name;
  return truncateBytes(stem, maxBytes - byteLength(ext)) + ext;
}
