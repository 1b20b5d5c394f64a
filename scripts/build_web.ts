/**
 * `deno task web [--outdir DIR]`: builds the web client. Bundles `web/main.ts` (and the
 * `lib/client` code it reuses) for the browser into `app.js`, and copies `web/static/` beside it.
 * `deno task server` runs it before starting the server.
 * @module
 */

import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url);
const STATIC = new URL("web/static/", ROOT);
/** Where the server looks for the page by default. */
export const DEFAULT_WEB_OUTDIR = new URL("web/dist/", ROOT).pathname;

/** Builds the web client into `outdir`; throws with deno bundle's message when it fails. */
export async function buildWeb(outdir: string = DEFAULT_WEB_OUTDIR): Promise<void> {
  await Deno.mkdir(outdir, { recursive: true });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--output",
      `${outdir}/app.js`,
      new URL("web/main.ts", ROOT).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot bundle the web client:\n${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  for await (const entry of Deno.readDir(STATIC)) {
    if (entry.isFile) await Deno.copyFile(new URL(entry.name, STATIC), `${outdir}/${entry.name}`);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ args: Deno.args, options: { outdir: { type: "string" } } });
  try {
    await buildWeb(values.outdir);
  } catch (error) {
    console.error(`web: ${error instanceof Error ? error.message : error}`);
    return 1;
  }
  console.log(`Built the web client in ${values.outdir ?? DEFAULT_WEB_OUTDIR}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
