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

/**
 * A LAN name the test browser resolves to 127.0.0.1. A page served there is not a secure context
 * (as `http://labserver:8080/` in a lab is not), unlike one at 127.0.0.1 or localhost.
 */
export const LAN_NAME = "labserver.lan";

/** `url` (at 127.0.0.1) as the browser reaches it through {@linkcode LAN_NAME}. */
export function atLanName(url: string): string {
  const at = new URL(url);
  at.hostname = LAN_NAME;
  return at.href.replace(/\/$/, "");
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
      `--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`,
    ],
  });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  });
}
