/**
 * An HTTP/1.1 request head (RFC 9112 §2-5), read strictly: what a lenient reader lets through
 * (folded headers, spaces before a colon, bare control characters, two lengths, chunked bodies)
 * is how requests are smuggled past one server to another, so each is refused with its status.
 * @module
 */

/** The largest head: request line and headers. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** The most header fields a request may have. */
const MAX_HEADER_FIELDS = 100;

/** A request that cannot be served, with the status that says why. */
export class HttpError extends Error {
  readonly status: number;
  /** Header lines the answer carries besides the usual ones, each ending in CR LF. */
  readonly fields: string;

  constructor(status: number, message: string, fields = "") {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.fields = fields;
  }
}

/** A parsed request head. */
export interface RequestHead {
  readonly method: string;
  /** The origin-form target: path and query. */
  readonly target: string;
  readonly version: "1.0" | "1.1";
  /** Field names lower-cased, in order; repeated fields repeated. */
  readonly fields: readonly (readonly [string, string])[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// deno-lint-ignore no-control-regex -- control characters are what is refused
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const BAD_TARGET = /[^\u0021-\u007e]/;

/** Where the head in `bytes` ends (just past its blank line), or -1 when it has not yet. */
export function headEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) {
      return i + 1;
    }
  }
  return -1;
}

const latin1 = new TextDecoder("latin1");

/**
 * Parses a head (bytes up to and including its blank line).
 *
 * @throws {HttpError} 400 for a malformed head, 431 for too many fields, 505 for another HTTP.
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  // Empty lines before the request line are allowed (RFC 9112 §2.2).
  const lines = latin1.decode(bytes).replace(/^(\r\n)+/, "").split("\r\n");
  lines.splice(lines.length - 2); // the blank line that ends the head
  const requestLine = lines.shift() ?? "";
  const parts = requestLine.split(" ");
  if (parts.length !== 3) throw new HttpError(400, "Malformed request line");
  const [method, target, protocol] = parts;
  if (!TOKEN.test(method)) throw new HttpError(400, "Malformed method");
  const version = /^HTTP\/1\.([01])$/.exec(protocol)?.[1];
  if (version === undefined) {
    throw new HttpError(/^HTTP\/\d\.\d$/.test(protocol) ? 505 : 400, "Only HTTP/1.1 is spoken");
  }
  if (!target.startsWith("/") || BAD_TARGET.test(target)) {
    throw new HttpError(400, "The request target must be a path");
  }
  if (lines.length > MAX_HEADER_FIELDS) throw new HttpError(431, "Too many header fields");
  const fields: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new HttpError(400, "Malformed header field");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) throw new HttpError(400, "Control character in a header field");
    fields.push([name.toLowerCase(), value]);
  }
  return { method, target, version: version === "1" ? "1.1" : "1.0", fields };
}

/** The values of a field, in order. */
export function fieldValues(head: RequestHead, name: string): string[] {
  return head.fields.filter(([field]) => field === name).map(([, value]) => value);
}

/**
 * The body's length: 0 without one.
 *
 * @throws {HttpError} 400 for a malformed or repeated differing length, 501 for a
 *   Transfer-Encoding (chunked request bodies are not taken: send Content-Length).
 */
export function bodyLength(head: RequestHead): number {
  if (fieldValues(head, "transfer-encoding").length > 0) {
    throw new HttpError(501, "Send the body with Content-Length; Transfer-Encoding is not taken");
  }
  const lengths = new Set(
    fieldValues(head, "content-length").flatMap((value) => value.split(",").map((v) => v.trim())),
  );
  if (lengths.size === 0) return 0;
  const [only] = lengths;
  if (lengths.size > 1 || !/^\d{1,15}$/.test(only)) {
    throw new HttpError(400, "Malformed Content-Length");
  }
  return Number(only);
}

/** Whether the field `name` lists `token` (comma-separated, any case). */
export function hasToken(head: RequestHead, name: string, token: string): boolean {
  return fieldValues(head, name).some((value) =>
    value.split(",").some((item) => item.trim().toLowerCase() === token)
  );
}
