/**
 * The web client in chromium under a sustained stream: how late the page shows messages sent at
 * a steady rate (each carries its send time), how much memory the page holds with many users
 * online, its long tasks, the time from logging in to the first message, how smoothly a long
 * conversation scrolls, and what the first load costs on the wire.
 * @module
 */

import type { ChatConnection } from "../../lib/client/chat_connection.ts";
import { launchBrowser } from "../../testing/browser.ts";
import { buildWeb } from "../../scripts/build_web.ts";
import { connectUsers, percentile, type Row, startServer } from "../common.ts";

/** What the page records, by an init script, as message items are added. */
interface PageRecord {
  /** Lateness of each message shown, ms (shown time minus the time in its text). */
  readonly lags: number[];
  /** Long tasks (over 50 ms): their count and summed length. */
  readonly longTasks: { count: number; ms: number };
  /** Intervals between animation frames while scrolling, ms. */
  readonly frames: number[];
}

/** Installed in the page before its own scripts: it watches, never changes anything. */
function recorder(): void {
  type Node = { nodeName: string; textContent: string | null };
  const g = globalThis as unknown as {
    record: PageRecord;
    document: unknown;
    MutationObserver: new (
      callback: (records: { addedNodes: Node[] }[]) => void,
    ) => { observe(target: unknown, options: Record<string, boolean>): void };
    PerformanceObserver: new (
      callback: (list: { getEntries(): { duration: number }[] }) => void,
    ) => { observe(options: Record<string, unknown>): void };
  };
  const record: PageRecord = { lags: [], longTasks: { count: 0, ms: 0 }, frames: [] };
  g.record = record;
  new g.MutationObserver((records) => {
    const now = Date.now();
    for (const { addedNodes } of records) {
      for (const node of addedNodes) {
        const sent = node.nodeName === "LI" ? /\bsent=(\d+)/.exec(node.textContent ?? "") : null;
        if (sent) record.lags.push(now - Number(sent[1]));
      }
    }
  }).observe(g.document, { childList: true, subtree: true });
  new g.PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      record.longTasks.count++;
      record.longTasks.ms += entry.duration;
    }
  }).observe({ type: "longtask", buffered: true });
}

/**
 * Bytes of the first load (the page, its script and style, headers included) as they cross the
 * wire to a browser that takes Brotli: read off a plain socket, since fetch would decompress.
 */
async function firstLoadBytes(port: number): Promise<number> {
  let total = 0;
  for (const path of ["/", "/app.js", "/style.css"]) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      "Accept-Encoding: br, gzip\r\nConnection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(request));
    for await (const chunk of conn.readable) total += chunk.byteLength;
  }
  return total;
}

/**
 * Runs the page against `online` users logged in over TCP, one of whom broadcasts at `rate`
 * messages a second for `seconds`; then `history` messages more, and the page scrolls back
 * through them.
 */
export async function webPage(
  online: number,
  rate: number,
  seconds: number,
  history: number,
): Promise<Row> {
  await buildWeb(); // into web/dist, which the server process may read
  const server = await startServer(["--http-port", "0"]);
  const users: ChatConnection[] = [];
  try {
    const web = `http://127.0.0.1:${server.webPort}`;
    const wire = await firstLoadBytes(Number(server.webPort));
    users.push(...await connectUsers(server.port, online, "w"));
    const sender = users[0];
    await using browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(recorder);
    const page = await context.newPage();
    await page.goto(web);
    await page.getByLabel("Username").fill("reader");
    await page.getByLabel("Password").fill("reader-pw");
    const loginStart = performance.now();
    await page.getByRole("button", { name: "Create account" }).click();
    await sender.request(`BROADCAST first sent=${Date.now()}`);
    await page.locator("ol.messages li .text").getByText(/^first sent=/).waitFor();
    const firstMessageMs = performance.now() - loginStart;

    // The steady stream: `rate` a second, paced by the clock, bounded by count and time.
    const total = Math.round(rate * seconds);
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      void sender.request(`BROADCAST stream ${i} sent=${Date.now()}`);
    }
    const last = `stream ${total - 1} `;
    await page.locator("ol.messages li .text").getByText(last).waitFor({ timeout: 120_000 });
    const record = await page.evaluate(() =>
      (globalThis as unknown as { record: PageRecord }).record
    );
    const lags = record.lags.slice(1).sort((a, b) => a - b);
    const tail = record.lags.slice(-Math.max(1, Math.round(rate))).sort((a, b) => a - b);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;

    // A long conversation: scrolled from the newest back through `history` older messages.
    for (let i = 0; i < history; i += 500) {
      await Promise.all(
        Array.from(
          { length: Math.min(500, history - i) },
          (_, j) => sender.request(`BROADCAST older ${i + j}`),
        ),
      );
    }
    await page.reload();
    await page.locator("ol.messages li .text").getByText(`older ${history - 1}`).waitFor();
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        record: PageRecord;
        requestAnimationFrame(callback: (time: number) => void): void;
      };
      g.record.frames.length = 0;
      let before = 0;
      const frame = (time: number) => {
        if (before > 0) g.record.frames.push(time - before);
        before = time;
        if (g.record.frames.length < 600) g.requestAnimationFrame(frame);
      };
      g.requestAnimationFrame(frame);
    });
    await page.locator("ol.messages").hover();
    const scrollUntil = performance.now() + 5000;
    while (performance.now() < scrollUntil) {
      await page.mouse.wheel(0, -600);
      await page.waitForTimeout(16);
    }
    const after = await page.evaluate(() =>
      (globalThis as unknown as { record: PageRecord }).record
    );
    const frames = after.frames.sort((a, b) => a - b);
    const shownMessages = await page.locator("ol.messages li:not(.day)").count();
    await context.close();
    return {
      scenario: `web page: ${online} online, ${rate}/s for ${seconds} s, ${history} to scroll`,
      figures: {
        "first message ms": Math.round(firstMessageMs),
        "lag p50 ms": percentile(lags, 0.5),
        "lag p99 ms": percentile(lags, 0.99),
        "lag max ms": lags.at(-1) ?? 0,
        "lag last second p50 ms": percentile(tail, 0.5),
        "long tasks": record.longTasks.count,
        "long task ms": Math.round(record.longTasks.ms),
        "JS heap MB": +(metric("JSHeapUsedSize") / 1024 / 1024).toFixed(1),
        "DOM nodes": metric("Nodes"),
        "scroll frame p50 ms": +percentile(frames, 0.5).toFixed(1),
        "scroll frame p95 ms": +percentile(frames, 0.95).toFixed(1),
        "messages shown after scrolling": shownMessages,
        "first load KB (br)": +(wire / 1024).toFixed(1),
      },
    };
  } finally {
    await Promise.all(users.map((user) => user.close()));
    await server.stop();
  }
}
