/**
 * One HTTP request carried through dispatch as a client: an upload's body is the raw bytes that
 * follow `UPLOAD`, a download's bytes stream into the response. The request runs exactly the
 * handlers TCP's UPLOAD and DOWNLOAD run, with the same checks and the same SHA-256.
 * @module
 */

import { SECURITY_HEADERS } from "./static_files.ts";
import type { OutboundEvent } from "../../protocol/events.ts";
import type { ClientOutput } from "../client.ts";

/** The HTTP status for a protocol reply code. */
export function httpStatus(code: number): number {
  if (code < 300) return 200;
  const map: Record<number, number> = {
    401: 401,
    402: 403,
    404: 404,
    405: 403,
    406: 409,
    409: 409,
    410: 401,
    411: 403,
    412: 403,
    413: 403,
    415: 413,
    416: 422,
    421: 429,
  };
  return map[code] ?? (code >= 500 ? 500 : 400);
}

/** A JSON answer `{ code, text }` with the security headers. */
export function jsonReply(
  code: number,
  text: string,
  extra: HeadersInit = {},
  before: readonly string[] = [],
): Response {
  const headers = new Headers({ ...SECURITY_HEADERS, "content-type": "application/json" });
  for (const [name, value] of new Headers(extra)) headers.append(name, value);
  // Like a multi-line reply: `text` is its last line, `before` what comes first (how long a
  // lockout lasts), shown with it.
  const body = before.length > 0 ? { code, text, before } : { code, text };
  return new Response(JSON.stringify(body), { status: httpStatus(code), headers });
}

/** The output of one HTTP request: its answer becomes the response. */
export class HttpExchange implements ClientOutput {
  readonly rawBytes = true;
  readonly #body: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #response = Promise.withResolvers<Response>();
  #leftover: Uint8Array = new Uint8Array(0);
  #closed = false;

  constructor(body: ReadableStream<Uint8Array> | null) {
    this.#body = body?.getReader();
  }

  /** Resolves with the response as soon as there is one (a download's, before its bytes). */
  get response(): Promise<Response> {
    return this.#response.promise;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  event(_event: OutboundEvent): boolean {
    return false; // an HTTP request takes no events
  }

  eventsPaced(): Promise<void> {
    return Promise.resolve();
  }

  reply(code: number, text: string | readonly string[]): Promise<void> {
    // 350 only says "send the bytes": they are the request body already on its way.
    if (code >= 300 && code < 400) return Promise.resolve();
    const line = typeof text === "string" ? text : text.join("\n");
    this.#response.resolve(jsonReply(code, line));
    return Promise.resolve();
  }

  stream(
    _code: number,
    text: string,
    body: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const [size, sha256, ...name] = text.split(" ");
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.#response.resolve(
      new Response(readable, {
        headers: {
          ...SECURITY_HEADERS,
          "content-type": "application/octet-stream",
          "content-length": size,
          "x-labchat-sha256": sha256,
          "content-disposition": `attachment; filename*=UTF-8''${
            encodeURIComponent(name.join(" "))
          }`,
          "cache-control": "no-store",
        },
      }),
    );
    return body(async (bytes) => {
      await writer.ready;
      await writer.write(bytes.slice());
    }).then(() => writer.close(), async (error) => {
      await writer.abort(error).catch(() => {});
      throw error;
    });
  }

  async readRaw(size: number, onChunk: (bytes: Uint8Array) => Promise<void>): Promise<void> {
    let remaining = size;
    while (remaining > 0) {
      let chunk = this.#leftover;
      this.#leftover = new Uint8Array(0);
      if (chunk.length === 0) {
        const next = await this.#body?.read();
        if (!next || next.done) {
          throw new Deno.errors.UnexpectedEof(`The upload ended ${remaining} bytes short`);
        }
        chunk = next.value;
      }
      const used = chunk.subarray(0, Math.min(remaining, chunk.length));
      this.#leftover = chunk.subarray(used.length);
      await onChunk(used);
      remaining -= used.length;
    }
  }

  flushed(): Promise<void> {
    return Promise.resolve();
  }

  /** Lets go of what is left of the request body (a refusal never read it). */
  async discardBody(): Promise<void> {
    await this.#body?.cancel().catch(() => {});
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#response.resolve(jsonReply(500, "The request was not completed"));
    return Promise.resolve();
  }
}
