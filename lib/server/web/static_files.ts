/**
 * The web client's files, served from memory with their content types, ETags and the headers
 * that keep a page with user text safe: a strict Content-Security-Policy (scripts, styles and
 * connections from this server only; no inline script, no framing), nosniff, no referrer.
 * @module
 */

import { createHash } from "node:crypto";
import { extname, join } from "node:path";
import { brotliCompressSync, constants } from "node:zlib";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/** Headers every response of the web front end carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; "),
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

interface Asset {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The bytes compressed once at load with Brotli's best quality, when that is smaller. */
  readonly brotli?: Uint8Array<ArrayBuffer>;
  readonly etag: string;
  readonly type: string;
}

/** The files of one directory, loaded at start. */
export class StaticFiles {
  readonly #assets: ReadonlyMap<string, Asset>;
  /** Why there is no page to serve, when there is none. */
  readonly problem: string | undefined;

  private constructor(assets: ReadonlyMap<string, Asset>, root: string, problem?: string) {
    this.#assets = assets;
    this.problem = problem ??
      (assets.has("/index.html")
        ? undefined
        : `The web client is not built in ${root}: run deno task web (deno task server does)`);
  }

  /**
   * Loads the files directly in `root`. A directory that is missing or that this process may not
   * read leaves the page out (see {@linkcode problem}); chat over TCP goes on without it.
   */
  static async load(root: string): Promise<StaticFiles> {
    const assets = new Map<string, Asset>();
    try {
      for await (const entry of Deno.readDir(root)) {
        const type = CONTENT_TYPES[extname(entry.name)];
        if (!entry.isFile || !type) continue;
        const bytes = await Deno.readFile(join(root, entry.name));
        const etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 22)}"`;
        assets.set(`/${entry.name}`, { bytes, etag, type, brotli: compressed(bytes, type) });
      }
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        return new StaticFiles(
          new Map(),
          root,
          `The web client cannot be served: no read access to ${root}`,
        );
      }
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return new StaticFiles(assets, root);
  }

  /** The response for a GET or HEAD of `path`, or `undefined` when there is no such file. */
  serve(path: string, request: Request): Response | undefined {
    const asset = this.#assets.get(path === "/" ? "/index.html" : path);
    if (!asset) return undefined;
    const headers = {
      ...SECURITY_HEADERS,
      "content-type": asset.type,
      etag: asset.etag,
      // Always revalidate: a new build is picked up at once, an unchanged one costs a 304.
      "cache-control": "no-cache",
    };
    if (matchesEtag(request.headers.get("if-none-match"), asset.etag)) {
      return new Response(null, { status: 304, headers });
    }
    if (asset.brotli && /\bbr\b/.test(request.headers.get("accept-encoding") ?? "")) {
      // Another representation of the same file: its tag is weak (RFC 9110), as Deno's own are.
      const encoded = {
        ...headers,
        etag: `W/${asset.etag}`,
        "content-encoding": "br",
        vary: "Accept-Encoding",
      };
      return new Response(asset.brotli, { headers: encoded });
    }
    // For HEAD, Deno sends the headers with the body's real length and leaves the body out.
    return new Response(asset.bytes, { headers });
  }
}

/**
 * Text compressed with Brotli at its best quality (once, at load: Deno's own compression of each
 * response is quicker and larger), or `undefined` for what does not shrink (images).
 */
function compressed(bytes: Uint8Array, type: string): Uint8Array<ArrayBuffer> | undefined {
  if (!type.startsWith("text/") && !type.includes("svg") && !type.includes("json")) {
    return undefined;
  }
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  return brotli.length < bytes.length ? new Uint8Array(brotli) : undefined;
}

/**
 * Whether an If-None-Match header names `etag`, by weak comparison (RFC 9110): a compressed
 * response carries the tag as `W/"..."`, and the browser sends it back so.
 */
function matchesEtag(header: string | null, etag: string): boolean {
  if (header === null) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}
