/**
 * Helpers of the web tests: a server with its web front end on port 0, and the built page.
 * @module
 */

import type { ChatServerOptions } from "../../lib/server/chat_server.ts";
import { buildWeb } from "../../scripts/build_web.ts";
import { must } from "../../testing/must.ts";
import { startTestServer, type TestServer } from "../helpers.ts";

/** A test server that also serves the web front end. */
export interface WebTestServer extends TestServer {
  /** `http://127.0.0.1:PORT` of the web front end (`https://localhost:PORT` with TLS). */
  readonly web: string;
  /** Restarts the server on the same data directory and the same web port. */
  restartWeb(): Promise<WebTestServer>;
}

/** Serves `webRoot` (a stand-in page when not given) on an HTTP port chosen by the OS. */
export async function startWebServer(
  options: ChatServerOptions = {},
  webRoot?: string,
  dataDir?: string,
): Promise<WebTestServer> {
  const root = webRoot ?? await Deno.makeTempDir({ prefix: "labchat-webroot-" });
  if (webRoot === undefined) {
    await Deno.writeTextFile(`${root}/index.html`, "<!doctype html><title>labchat</title>");
  }
  const t = await startTestServer({ http: true, httpPort: 0, webRoot: root, ...options }, dataDir);
  const port = must(t.server.httpAddr, "the web address").port;
  let handedOver = false;
  return {
    ...t,
    web: `${options.tlsCert ? "https" : "http"}://${
      options.tlsCert ? "localhost" : "127.0.0.1"
    }:${port}`,
    async restartWeb() {
      await t.server.shutdown();
      handedOver = true;
      return startWebServer({ ...options, httpPort: port }, root, t.dataDir);
    },
    async [Symbol.asyncDispose]() {
      if (handedOver) return;
      await t[Symbol.asyncDispose]();
      if (webRoot === undefined) await Deno.remove(root, { recursive: true });
    },
  };
}

let built: Promise<string> | undefined;

/** The web client built once per test process into a temporary directory. */
export function builtWebClient(): Promise<string> {
  built ??= (async () => {
    const outdir = await Deno.makeTempDir({ prefix: "labchat-web-" });
    await buildWeb(outdir);
    globalThis.addEventListener("unload", () => Deno.removeSync(outdir, { recursive: true }));
    return outdir;
  })();
  return built;
}
