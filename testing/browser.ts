/**
 * A real browser for tests and the README screenshot: Debian's chromium driven by
 * playwright-core, which never downloads a browser of its own.
 * @module
 */

import { type Browser, chromium } from "playwright-core";

/** The chromium executable (`LABCHAT_CHROMIUM` overrides it). */
export const CHROMIUM_PATH = Deno.env.get("LABCHAT_CHROMIUM") ?? "/usr/bin/chromium";

/** Whether the chromium executable is there. */
export function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

/** A headless chromium; `await using` closes it. */
export async function launchBrowser(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  });
}
