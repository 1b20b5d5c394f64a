/**
 * The web client in a real browser (Debian's chromium through playwright-core), against a real
 * server, beside terminal-protocol clients over TCP.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { uploadFile } from "../../lib/client/transfers.ts";
import {
  atLanName,
  CHROMIUM_PATH,
  chromiumInstalled,
  launchBrowser,
} from "../../testing/browser.ts";
import { randomBytes } from "../../testing/random_bytes.ts";
import { expectReply, loggedIn, quit, registered } from "../helpers.ts";
import { makeCertificates } from "../tls_helpers.ts";
import { builtWebClient, startWebServer, type WebTestServer } from "./web_helpers.ts";
import axe from "axe-core";

const haveBrowser = chromiumInstalled();
if (!haveBrowser) {
  if (Deno.env.get("LABCHAT_REQUIRE_BROWSER")) {
    throw new Error(`The browser tests need chromium at ${CHROMIUM_PATH}`);
  }
  console.warn(`browser tests skipped: no chromium at ${CHROMIUM_PATH} (apt install chromium)`);
}

/** Browser tests keep playwright's pipes and timers across steps. */
const browserTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !haveBrowser, sanitizeOps: false, sanitizeResources: false, fn });

/** A page of the web client, with what went wrong in it. */
interface ChatPage {
  readonly page: Page;
  /** Uncaught errors and alert/confirm/prompt dialogs: a test expects none. */
  readonly problems: string[];
}

/** A new browser profile (its own cookies) on the web client. */
async function openPage(browser: Browser, web: string, width = 1000): Promise<ChatPage> {
  const context = await browser.newContext({
    viewport: { width, height: 720 },
    acceptDownloads: true,
    // The HTTPS test's certificate comes from a throwaway authority the browser does not know.
    ignoreHTTPSErrors: web.startsWith("https:"),
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`error: ${error.message}`));
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(web);
  return { page, problems };
}

/** Fills the login form and presses Log in or Create account. */
async function submitLogin(page: Page, user: string, password: string, register: boolean) {
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: register ? "Create account" : "Log in" }).click();
}

/** A page logged in as a new user. */
async function signedUp(browser: Browser, web: string, user: string): Promise<ChatPage> {
  const chat = await openPage(browser, web);
  await submitLogin(chat.page, user, `${user}-secret`, true);
  await chat.page.getByText(`Logged in as ${user}`).waitFor();
  return chat;
}

/** Sends a message in the conversation the page shows. */
async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel(/^Message to /).fill(text);
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

/** Waits until the shown conversation has a message with this exact text. */
async function seeMessage(page: Page, text: string): Promise<void> {
  await page.locator("ol.messages li .text").getByText(text, { exact: true }).waitFor();
}

/** The element that has the keyboard's focus: its id, aria-label and text. */
function focused(
  page: Page,
): Promise<{ id?: string; label?: string | null; text?: string | null }> {
  return page.evaluate(() => {
    type Element = {
      id: string;
      textContent: string | null;
      getAttribute(name: string): string | null;
    };
    const active = (globalThis as unknown as { document: { activeElement: Element | null } })
      .document.activeElement;
    return {
      id: active?.id,
      label: active?.getAttribute("aria-label"),
      text: active?.textContent,
    };
  });
}

const conversationButton = (page: Page, id: string) => page.locator(`nav [data-id="${id}"]`);
const onlineUser = (page: Page, user: string) =>
  page.getByRole("list", { name: "Users online" }).locator(".user").getByText(user, {
    exact: true,
  });

async function withWebServer(
  options: Parameters<typeof startWebServer>[0],
  fn: (t: WebTestServer, browser: Browser) => Promise<void>,
): Promise<void> {
  await using t = await startWebServer(options, await builtWebClient());
  await using browser = await launchBrowser();
  await fn(t, browser);
}

browserTest(
  "two browsers and a terminal user share broadcasts and presence; markup stays text",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const alice = await signedUp(browser, t.web, "alice");
      await onlineUser(alice.page, "carol").waitFor();
      await carol.waitForEvent((e) => e.type === "login" && e.user === "alice");

      const bob = await signedUp(browser, t.web, "bob");
      await onlineUser(alice.page, "bob").waitFor(); // presence appears live

      await say(alice.page, "hello from alice");
      await seeMessage(bob.page, "hello from alice");
      assertEquals(
        await bob.page.locator("ol.messages li").filter({ hasText: "hello from alice" })
          .locator(".number").textContent(),
        "#1",
      );
      assertEquals(await carol.waitForEvent((e) => e.type === "broadcast"), {
        type: "broadcast",
        from: "alice",
        number: 1,
        text: "hello from alice",
      });

      const markup = `<img src=x onerror=alert(1)> & <b>bold</b>`;
      await say(bob.page, markup);
      await seeMessage(alice.page, markup);
      assertEquals(await alice.page.locator("ol.messages img, ol.messages b").count(), 0);

      await expectReply(carol, "BROADCAST from the terminal", 200);
      await seeMessage(alice.page, "from the terminal");
      await seeMessage(bob.page, "from the terminal");

      await bob.page.context().close();
      await onlineUser(alice.page, "bob").waitFor({ state: "detached" }); // and disappears
      await carol.waitForEvent((e) => e.type === "logout" && e.user === "bob");
      assertEquals(alice.problems, []);
      assertEquals(bob.problems, []);
      await quit(carol);
    }),
);

browserTest(
  "private messages and rooms go every way between pages and TCP, with unread counts",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const alice = await signedUp(browser, t.web, "alice");
      const bob = await signedUp(browser, t.web, "bob");
      await onlineUser(alice.page, "bob").waitFor();

      // alice → bob from the user's menu; bob sees an unread count, then the message.
      await alice.page.getByLabel("Actions for bob").click();
      await alice.page.getByRole("button", { name: "Message bob" }).click();
      await alice.page.getByRole("heading", { name: "bob" }).waitFor();
      await say(alice.page, "psst, bob");
      const fromAlice = conversationButton(bob.page, "@alice");
      await bob.page.getByLabel("alice, 1 unread").waitFor();
      assertMatch(await bob.page.title(), /^\(1\) labchat$/);
      await fromAlice.click();
      await seeMessage(bob.page, "psst, bob");
      assertEquals(await bob.page.title(), "labchat");
      await say(bob.page, "hi alice");
      await seeMessage(alice.page, "hi alice"); // alice has the conversation open

      // TCP → page and page → TCP.
      await expectReply(carol, "MSG alice from the terminal", 200);
      await alice.page.getByLabel("carol, 1 unread").waitFor();
      await conversationButton(alice.page, "@carol").click();
      await seeMessage(alice.page, "from the terminal");
      await say(alice.page, "back to the terminal");
      assertEquals(await carol.waitForEvent((e) => e.type === "private"), {
        type: "private",
        from: "alice",
        text: "back to the terminal",
      });

      // A room of all three, said in from everywhere.
      await alice.page.getByLabel("New conversation with").fill("bob carol");
      await alice.page.getByRole("button", { name: "Create room" }).click();
      await alice.page.getByRole("heading", { name: "Room 1: bob, carol" }).waitFor();
      await say(alice.page, "room hello");
      await carol.waitForEvent((e) => e.type === "room" && e.text === "room hello");
      await conversationButton(bob.page, "room:1").click();
      await seeMessage(bob.page, "room hello"); // history loaded when opened
      await say(bob.page, "bob in the room");
      await seeMessage(alice.page, "bob in the room");
      await carol.waitForEvent((e) => e.type === "room" && e.text === "bob in the room");
      await expectReply(carol, "ROOM SAY 1 carol in the room", 200);
      await seeMessage(alice.page, "carol in the room");
      await seeMessage(bob.page, "carol in the room");

      // Messages kept while bob was away are there when he comes back.
      await bob.page.context().close();
      await carol.waitForEvent((e) => e.type === "logout" && e.user === "bob");
      await expectReply(carol, "MSG bob while you were away", 200, /offline/i);
      const back = await openPage(browser, t.web);
      await submitLogin(back.page, "bob", "bob-secret", false);
      await back.page.getByLabel("carol, 1 unread").waitFor();
      await conversationButton(back.page, "@carol").click();
      await seeMessage(back.page, "while you were away");
      await conversationButton(back.page, "@alice").waitFor(); // earlier chats are listed

      assertEquals([...alice.problems, ...back.problems], []);
      await quit(carol);
    }),
);

browserTest(
  "one person on the page and a terminal at once: both get what is sent to them, and what one sends shows in the other",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const alice = await signedUp(browser, t.web, "alice");
      await carol.waitForEvent((e) => e.type === "login" && e.user === "alice");
      const terminal = await loggedIn(t.port, "alice");
      const who = await expectReply(carol, "WHO", 200, "2 users online");
      assertEquals(who.lines.filter((l) => l.startsWith("alice,")).length, 1);

      // To the person: the page and the terminal.
      await expectReply(carol, "MSG alice to both of you", 200, "Message sent to alice");
      await terminal.waitForEvent((e) => e.type === "private" && e.text === "to both of you");
      await alice.page.getByLabel("carol, 1 unread").waitFor();
      await conversationButton(alice.page, "@carol").click();
      await seeMessage(alice.page, "to both of you");

      // Sent from the terminal: shown in the page's conversation, as alice's own.
      await expectReply(terminal, "MSG carol sent from the terminal", 200);
      await seeMessage(alice.page, "sent from the terminal");
      assertEquals(
        await alice.page.locator("ol.messages li").filter({ hasText: "sent from the terminal" })
          .locator(".from").textContent(),
        "alice",
      );
      // Sent from the page: shown in the terminal.
      await say(alice.page, "sent from the page");
      assertEquals(
        await terminal.waitForEvent((e) => e.type === "private_sent"),
        { type: "private_sent", to: "carol", text: "sent from the page" },
      );

      // One session leaves: alice stays online, and nobody is told she left.
      await quit(terminal);
      await expectReply(carol, "BROADCAST still with us?", 200);
      await conversationButton(alice.page, "b").click();
      await seeMessage(alice.page, "still with us?");
      assertEquals(carol.queuedEvents.filter((e) => e.type === "logout").length, 0);
      // The last one leaves: one logout.
      await alice.page.context().close();
      await carol.waitForEvent((e) => e.type === "logout" && e.user === "alice");
      assertEquals(alice.problems, []);
      await quit(carol);
    }),
);

browserTest(
  "the search box finds what you may read and opens it where it was said, with older history loaded",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const dave = await registered(t.port, "dave");
      const alice = await signedUp(browser, t.web, "alice");
      await expectReply(carol, "BROADCAST the iperf figure is 941 Mbit/s", 200);
      for (let i = 0; i < 30; i++) await expectReply(carol, `BROADCAST filler ${i}`, 200);
      await expectReply(carol, "MSG alice the spare key is under the mat", 200);
      await expectReply(carol, "MSG dave iperf secret for dave only", 200);
      const { page } = alice;

      await page.getByLabel("Search messages").fill("iperf");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByRole("heading", { name: "Search: iperf" }).waitFor();
      await page.getByText("1 result", { exact: true }).waitFor();
      assertEquals(await page.locator("ol.hits mark").first().textContent(), "iperf");
      assertEquals(await page.getByText("secret for dave only").count(), 0, "not dave's");
      // Older than the conversation's first page: read and shown, marked.
      await page.getByRole("button", { name: "broadcast #1" }).click();
      const found = page.locator("ol.messages li.found");
      await found.waitFor();
      assertMatch(await found.textContent() ?? "", /#1carol.*the iperf figure is 941 Mbit\/s/);

      await page.getByLabel("Search messages").fill("mat from:carol");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByRole("button", { name: "private with carol" }).click();
      await page.getByRole("heading", { name: "carol" }).waitFor();
      await page.locator("ol.messages li.found").getByText("the spare key is under the mat")
        .waitFor();

      await page.getByLabel("Search messages").fill('"unbalanced');
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByRole("heading", { name: 'Search: "unbalanced' }).waitFor();
      // Any text is an answer, never a syntax error from the index.
      await page.locator("main p[role=status]").filter({ hasText: /^Nothing found|result/ })
        .waitFor();
      assertEquals(alice.problems, []);
      await Promise.all([quit(carol), quit(dave)]);
    }),
);

browserTest(
  "messages show their time, links open elsewhere, a mention of you is marked, and nothing in a message runs",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const alice = await signedUp(browser, t.web, "alice");
      const { page } = alice;
      await expectReply(
        carol,
        "BROADCAST notes at https://lab.example/notes?id=3, ask @alice",
        200,
      );
      await expectReply(
        carol,
        "BROADCAST javascript:alert(1) <a href=javascript:alert(2)>x</a>",
        200,
      );
      const item = page.locator("ol.messages li").filter({ hasText: "notes at" });
      await item.waitFor();
      const link = item.getByRole("link", { name: "https://lab.example/notes?id=3" });
      assertEquals(await link.getAttribute("href"), "https://lab.example/notes?id=3");
      assertEquals(await link.getAttribute("rel"), "noopener noreferrer nofollow");
      assertMatch(await item.getAttribute("class") ?? "", /mentions-me/);
      assertEquals(await item.locator("mark.mention").textContent(), "@alice");
      assertMatch(await item.locator("time").textContent() ?? "", /^\d\d:\d\d$/);
      assertMatch(await item.locator("time").getAttribute("title") ?? "", /^\d\d \w{3} \d{4} /);
      // Markup and script addresses stay text.
      await seeMessage(page, "javascript:alert(1) <a href=javascript:alert(2)>x</a>");
      assertEquals(await page.locator("ol.messages a[href^=javascript]").count(), 0);
      // Your own message has a time too.
      await say(page, "on my way");
      const mine = page.locator("ol.messages li.mine").filter({ hasText: "on my way" });
      assertMatch(await mine.locator("time").textContent() ?? "", /^\d\d:\d\d$/);
      // The day is said once above its messages; carol's two in a row are one group.
      assertEquals(await page.locator("ol.messages li.day").allTextContents(), ["Today"]);
      const second = page.locator("ol.messages li").filter({ hasText: "javascript:alert(1)" });
      assertMatch(await second.getAttribute("class") ?? "", /continued/);
      assertEquals(await item.getAttribute("class"), "mentions-me", "the first of a group");
      // A small markdown subset, as elements the page makes: markup in it stays text.
      await expectReply(carol, "BROADCAST try `ip -br a` and **then** *ping* <i>me</i>", 200);
      const styled = page.locator("ol.messages li").filter({ hasText: "ip -br a" });
      await styled.waitFor();
      assertEquals(await styled.locator("code").textContent(), "ip -br a");
      assertEquals(await styled.locator("strong").textContent(), "then");
      assertEquals(await styled.locator("em").textContent(), "ping");
      assertEquals(await styled.locator("i").count(), 0);
      assertEquals(alice.problems, []);
      await quit(carol);
    }),
);

browserTest(
  "a message to someone offline says it waits; a message too long is refused and kept; a burst of 1500 keeps the list at 1000",
  () =>
    withWebServer({ requestRate: 0 }, async (t, browser) => {
      await quit(await registered(t.port, "bob"));
      const carol = await registered(t.port, "carol");
      const alice = await signedUp(browser, t.web, "alice");
      const { page } = alice;
      await page.getByLabel(/^Message to /).waitFor(); // the page has loaded what it knows
      await page.getByLabel("New conversation with").fill("bob");
      await page.getByRole("button", { name: "Message", exact: true }).click();
      await page.getByRole("heading", { name: "bob" }).waitFor();
      await say(page, "see you tomorrow");
      await page.getByText("bob is offline: they will get it when they log in").waitFor();
      const long = "x".repeat(9000);
      await say(page, long);
      await page.getByText(/^This message is too long \(\d+ bytes/).waitFor();
      assertEquals((await page.getByLabel(/^Message to /).inputValue()).length, 9000, "kept");

      await conversationButton(page, "b").click();
      const burst = Array.from({ length: 1500 }, (_, i) => `BROADCAST burst ${i}`);
      for (let i = 0; i < burst.length; i += 100) {
        await Promise.all(burst.slice(i, i + 100).map((line) => carol.request(line)));
      }
      await seeMessage(page, "burst 1499");
      assertEquals(await page.locator("ol.messages li").count(), 1000);
      assertEquals(alice.problems, []);
      await quit(carol);
    }),
);

browserTest(
  "on a phone the conversation and its message box fill the screen; the sidebar is a drawer",
  () =>
    withWebServer({}, async (t, browser) => {
      const chat = await openPage(browser, t.web, 390);
      const { page } = chat;
      await page.setViewportSize({ width: 390, height: 844 });
      await submitLogin(page, "alice", "alice-secret", true);
      await page.getByText("Logged in as").waitFor({ state: "attached" });
      const box = page.getByLabel(/^Message to /);
      await box.waitFor();
      const where = await box.boundingBox();
      assert(where !== null && where.y + where.height <= 844, `message box at ${where?.y}`);
      const sidebar = page.locator("#sidebar");
      assertEquals(await sidebar.isVisible(), false, "the drawer starts closed");
      const toggle = page.getByRole("button", { name: "Conversations" });
      await toggle.click();
      await sidebar.waitFor();
      assertEquals(await toggle.getAttribute("aria-expanded"), "true");
      await page.getByRole("button", { name: "Threads" }).click();
      await page.getByRole("heading", { name: "Forum" }).waitFor();
      assertEquals(await sidebar.isVisible(), false, "closed again on opening something");
      assertEquals(chat.problems, []);
    }),
);

/** Serious and critical accessibility violations axe-core finds on the page as it is now. */
async function accessibilityProblems(page: Page, where: string): Promise<string[]> {
  // Evaluated through the debugging protocol: the page's strict CSP forbids injected scripts.
  await page.evaluate(axe.source);
  const found = await page.evaluate(
    `axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "best-practice"] }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, count: v.nodes.length })))`,
  ) as { id: string; impact: string; count: number }[];
  return found.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) =>
    `${where}: ${v.id} (${v.impact}, ${v.count})`
  );
}

/**
 * The contrast of the focus ring (of the element the keyboard just reached) against the page's
 * backgrounds: the page, the panels, one's own messages. The lowest of them.
 */
async function focusRingContrast(page: Page): Promise<number> {
  return await page.evaluate(`(() => {
    const rgb = (color) => color.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const channel = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const ratio = (a, b) => {
      const [hi, lo] = [lum(rgb(a)), lum(rgb(b))].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    const ring = getComputedStyle(document.activeElement).outlineColor;
    const style = getComputedStyle(document.documentElement);
    const backgrounds = ["--bg", "--panel", "--mine"].map((name) => style.getPropertyValue(name));
    const probe = document.createElement("div");
    document.body.append(probe);
    const colors = backgrounds.map((value) => {
      probe.style.color = value;
      return getComputedStyle(probe).color;
    });
    probe.remove();
    return Math.min(...colors.map((color) => ratio(ring, color)));
  })()`) as number;
}

browserTest(
  "axe-core finds no serious or critical problems on any view, light and dark, wide and phone, with long lists",
  () =>
    withWebServer({ requestRate: 0 }, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      await expectReply(carol, "THREAD CREATE lab-notes", 200);
      await expectReply(carol, "POST lab-notes the switch is in rack 3", 200);
      const problems: string[] = [];
      for (const scheme of ["light", "dark"] as const) {
        for (const width of [1280, 390]) {
          const chat = await openPage(browser, t.web, width);
          const { page } = chat;
          await page.emulateMedia({ colorScheme: scheme });
          const at = `${scheme} ${width}`;
          await page.getByLabel("Username").waitFor();
          problems.push(...await accessibilityProblems(page, `${at} login`));
          const user = `u${scheme}${width}`;
          await submitLogin(page, user, `${user}-secret`, true);
          await page.getByText(`Logged in as`).waitFor({ state: "attached" });
          await page.getByLabel(/^Message to /).waitFor();
          problems.push(...await accessibilityProblems(page, `${at} chat`));
          await page.getByLabel(/^Message to /).focus();
          await page.keyboard.press("Tab"); // to Send, by keyboard: its focus ring shows
          const ring = await focusRingContrast(page);
          if (ring < 3) problems.push(`${at}: the focus ring's contrast is ${ring.toFixed(2)}:1`);
          await page.getByLabel("Search messages").fill("rack");
          await page.getByRole("button", { name: "Search", exact: true }).click();
          await page.getByRole("heading", { name: "Search: rack" }).waitFor();
          problems.push(...await accessibilityProblems(page, `${at} search`));
          await page.goto(t.web); // as a reload: the session goes on
          await page.getByLabel(/^Message to /).waitFor();
          if (width < 600) await page.getByRole("button", { name: "Conversations" }).click();
          await page.getByRole("button", { name: "Threads" }).click();
          await page.locator("main").getByRole("heading", { name: "Forum" }).waitFor();
          problems.push(...await accessibilityProblems(page, `${at} forum`));
          await page.getByLabel("New thread").fill(`notes-${user}`);
          await page.getByRole("button", { name: "Create thread" }).click();
          await page.getByLabel("Post a message").fill("a first post");
          await page.getByRole("button", { name: "Post", exact: true }).click();
          await page.locator("ol.posts .text").getByText("a first post").waitFor();
          problems.push(...await accessibilityProblems(page, `${at} thread`));
          if (width < 600) await page.getByRole("button", { name: "Conversations" }).click();
          await page.getByLabel("Join or create a channel").fill(`#c${user}`);
          await page.getByRole("button", { name: "Join", exact: true }).click();
          await page.getByRole("heading", { name: `#c${user}` }).waitFor();
          await say(page, "said in a channel");
          await seeMessage(page, "said in a channel");
          problems.push(...await accessibilityProblems(page, `${at} channel`));
          assertEquals(chat.problems, []);
          await page.context().close();
        }
      }
      // A long conversation (the list scrolls).
      const lines = Array.from({ length: 120 }, (_, i) => `BROADCAST line ${i} of a long day`);
      await Promise.all(lines.map((line) => carol.request(line)));
      const chat = await signedUp(browser, t.web, "reader");
      await seeMessage(chat.page, "line 119 of a long day");
      problems.push(...await accessibilityProblems(chat.page, "long list"));
      assertEquals(problems, []);
      await quit(carol);
    }),
);

browserTest(
  "the message list announces messages as they arrive, not the history it is filled with",
  () =>
    withWebServer({ requestRate: 0 }, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      for (let i = 0; i < 30; i++) await expectReply(carol, `BROADCAST old news ${i}`, 200);
      const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
      // Each message item, as it is added: was its list announcing (aria-live) then?
      await context.addInitScript(() => {
        type Node = { nodeName: string; parentElement: { getAttribute(n: string): string } };
        const g = globalThis as unknown as {
          added: string[];
          document: unknown;
          MutationObserver: new (
            callback: (records: { addedNodes: Node[] }[]) => void,
          ) => { observe(target: unknown, options: Record<string, boolean>): void };
        };
        g.added = [];
        new g.MutationObserver((records) => {
          for (const record of records) {
            for (const node of record.addedNodes) {
              if (
                node.nodeName === "LI" && node.parentElement?.getAttribute("class") === "messages"
              ) {
                g.added.push(node.parentElement.getAttribute("aria-live"));
              }
            }
          }
        }).observe(g.document, { childList: true, subtree: true });
      });
      const page = await context.newPage();
      await page.goto(t.web);
      await submitLogin(page, "reader", "reader-secret", true);
      await seeMessage(page, "old news 29");
      await page.waitForTimeout(100);
      await expectReply(carol, "BROADCAST fresh news", 200);
      await seeMessage(page, "fresh news");
      const added = await page.evaluate(() => (globalThis as unknown as { added: string[] }).added);
      assertEquals(added.at(-1), "polite", "a message that arrives is announced");
      assert(added.length > 30, `the history was added too: ${added.length}`);
      assertEquals(added.slice(0, -1).filter((live) => live !== "off"), [], "history is not");
      await context.close();
      await quit(carol);
    }),
);

browserTest(
  "while the page is in the background, a private message or a mention notifies (when turned on) and marks the tab",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
      await context.grantPermissions(["notifications"]);
      // The page is looked away from; notifications are recorded instead of shown.
      await context.addInitScript(() => {
        const shown: string[] = [];
        (globalThis as unknown as { shown: string[] }).shown = shown;
        class Recorder {
          static permission = "granted";
          static requestPermission() {
            return Promise.resolve("granted");
          }
          constructor(title: string, options?: { body?: string }) {
            shown.push(`${title}: ${options?.body ?? ""}`);
          }
        }
        Object.defineProperty(globalThis, "Notification", { value: Recorder });
        const page = globalThis as unknown as { document: object };
        Object.defineProperty(page.document, "hasFocus", { value: () => false });
      });
      const page = await context.newPage();
      await page.goto(t.web);
      await submitLogin(page, "alice", "alice-secret", true);
      await page.getByText("Logged in as alice").waitFor({ state: "attached" });
      await page.getByRole("button", { name: "Notify me" }).click();
      await page.getByRole("button", { name: "Stop notifying" }).waitFor();
      await expectReply(carol, "MSG alice are you coming?", 200);
      await expectReply(carol, "BROADCAST lunch, @alice?", 200);
      await expectReply(carol, "BROADCAST nothing for alice here", 200);
      await seeMessage(page, "nothing for alice here");
      assertEquals(await page.evaluate("globalThis.shown"), [
        "carol (private): are you coming?",
        "carol mentioned you: lunch, @alice?",
      ]);
      assertMatch(await page.title(), /^\(@2\) labchat$/);
      await context.close();
      await quit(carol);
    }),
);

browserTest(
  "scrolling up reads older history page by page, keeping the view; a button jumps back to the newest",
  () =>
    withWebServer({ requestRate: 0 }, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      // Two pages and a half of HISTORY (100 a page).
      const lines = Array.from({ length: 250 }, (_, i) => `BROADCAST line ${i}`);
      for (let i = 0; i < lines.length; i += 50) {
        await Promise.all(lines.slice(i, i + 50).map((line) => carol.request(line)));
      }
      const alice = await signedUp(browser, t.web, "alice");
      const { page } = alice;
      await seeMessage(page, "line 249");
      const list = page.locator("ol.messages");
      assertEquals(await page.getByText("line 100", { exact: true }).count(), 0, "not read yet");
      // Up to the top, again and again: each time a page more, down to the first line.
      for (let i = 0; i < 6 && await page.getByText("line 0", { exact: true }).count() === 0; i++) {
        const before = await list.locator("li").count();
        await list.evaluate((el) => {
          (el as unknown as { scrollTop: number }).scrollTop = 0;
        });
        await list.locator("li").nth(before).waitFor({ timeout: 3000 }).catch(() => {});
      }
      await seeMessage(page, "line 0");
      const jump = page.getByRole("button", { name: "Jump to the newest" });
      await jump.click();
      await seeMessage(page, "line 249");
      const atBottom = await list.evaluate((el) => {
        const box = el as unknown as {
          scrollHeight: number;
          scrollTop: number;
          clientHeight: number;
        };
        return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
      });
      assert(atBottom, "at the newest again");
      assertEquals(await jump.isVisible(), false);
      assertEquals(alice.problems, []);
      await quit(carol);
    }),
);

browserTest(
  "blocking from a user's menu stops their messages; unblocking lets them through",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const alice = await signedUp(browser, t.web, "alice");
      await alice.page.getByLabel("Actions for carol").click();
      await alice.page.getByRole("button", { name: "Block carol" }).click();
      await alice.page.getByText("carol has been blocked").waitFor();
      await expectReply(
        carol,
        "MSG alice are you there",
        405,
        "Your message could not be delivered as the recipient has blocked you",
      );
      await alice.page.getByRole("button", { name: "Unblock carol" }).first().click();
      await alice.page.getByText("You unblocked carol").waitFor();
      await expectReply(carol, "MSG alice now?", 200);
      await alice.page.getByLabel("carol, 1 unread").waitFor();
      await quit(carol);
    }),
);

browserTest(
  "the forum at a LAN name (no secure context): posts, edit and delete, upload and download checked by SHA-256",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      // http://labserver.lan:PORT, as a lab reaches its server: crypto.subtle does not exist there.
      const { page, problems } = await signedUp(browser, atLanName(t.web), "alice");
      assertEquals(
        await page.evaluate(() => [
          (globalThis as { isSecureContext?: boolean }).isSecureContext,
          typeof crypto.subtle,
        ]),
        [
          false,
          "undefined",
        ],
      );
      // Notifications are not offered to such a page: it says why instead of failing quietly.
      await page.getByRole("button", { name: "Notify me" }).click();
      await page.getByText(/^Desktop notifications need the page over HTTPS/).waitFor();
      await page.getByRole("button", { name: "Threads" }).click();
      await page.getByLabel("New thread").fill("lab#1!");
      await page.getByRole("button", { name: "Create thread" }).click();
      await page.getByRole("heading", { name: "Thread lab#1!" }).waitFor();
      // Opening a thread puts the focus in it (its post box), never on the page's body.
      assertEquals((await focused(page)).id, "post-input");

      const post = async (text: string) => {
        await page.getByLabel("Post a message").fill(text);
        await page.getByRole("button", { name: "Post", exact: true }).click();
        await page.locator("ol.posts .text").getByText(text, { exact: true }).waitFor();
      };
      await post("first post");
      // Posting draws the thread anew: the focus stays in the box, ready for the next post.
      assertEquals((await focused(page)).id, "post-input");
      await post("second post");
      // Escape cancels an edit and gives the focus back to its Edit button.
      await page.getByRole("button", { name: "Edit message 1" }).click();
      await page.getByLabel("New text of message 1").fill("not this");
      await page.keyboard.press("Escape");
      await page.getByLabel("New text of message 1").waitFor({ state: "detached" });
      assertEquals((await focused(page)).label, "Edit message 1");
      await page.locator("ol.posts .text").getByText("first post", { exact: true }).waitFor();
      await page.getByRole("button", { name: "Edit message 1" }).click();
      await page.getByLabel("New text of message 1").fill("first post, edited");
      await page.getByRole("button", { name: "Save" }).click();
      await page.locator("ol.posts .text").getByText("first post, edited").waitFor();
      await page.getByRole("button", { name: "Delete message 2" }).click();
      await page.locator("ol.posts .text").getByText("second post").waitFor({ state: "detached" });
      await expectReply(carol, "POST lab#1! carol was here", 200);

      // Upload from the browser; carol downloads it over TCP, byte for byte.
      const bytes = randomBytes(300_000);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      await page.getByLabel("Attach a file").setInputFiles({
        name: "results.bin",
        mimeType: "application/octet-stream",
        buffer: Buffer.from(bytes),
      });
      await page.getByRole("button", { name: "Upload" }).click();
      await page.getByRole("list", { name: "Files" }).getByText("results.bin").waitFor();
      // A file dropped on the upload form goes up at once.
      await page.locator("form.upload").evaluate((form) => {
        const g = globalThis as unknown as {
          DataTransfer: new () => { items: { add(file: unknown): void } };
          File: new (parts: string[], name: string) => unknown;
          DragEvent: new (type: string, init: Record<string, unknown>) => unknown;
        };
        const transfer = new g.DataTransfer();
        transfer.items.add(new g.File(["dropped bytes"], "dropped.txt"));
        const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
        (form as unknown as { dispatchEvent(event: unknown): void }).dispatchEvent(
          new g.DragEvent("drop", init),
        );
      });
      await page.getByRole("list", { name: "Files" }).getByText("dropped.txt").waitFor();
      await page.getByRole("button", { name: "Remove dropped.txt" }).click();
      await page.getByRole("list", { name: "Files" }).getByText("dropped.txt").waitFor({
        state: "detached",
      });
      // A file says its size, who uploaded it and when.
      const fileItem = page.getByRole("list", { name: "Files" }).locator("li").filter({
        hasText: "results.bin",
      });
      assertEquals(await fileItem.locator(".size").textContent(), "293.0 KiB");
      assertEquals(await fileItem.locator(".from").textContent(), "from alice");
      assertMatch(await fileItem.locator("time").getAttribute("title") ?? "", /^\d\d \w{3} \d{4} /);
      const read = await expectReply(carol, "THREAD READ lab#1!", 200);
      assertEquals(read.lines, [
        "1 alice: first post, edited",
        "2 carol: carol was here",
        "alice uploaded results.bin",
        "Thread lab#1!: 2 messages, 1 file",
      ]);
      assertEquals(
        await page.getByRole("button", { name: "Edit message 2" }).count(),
        0,
        "only one's own posts can be edited",
      );
      const chunks: Uint8Array[] = [];
      const got = await carol.download("DOWNLOAD lab#1! results.bin", {
        write: (chunk) => {
          chunks.push(chunk.slice());
          return Promise.resolve();
        },
      });
      assertEquals(got.code, 201);
      assertEquals(createHash("sha256").update(Buffer.concat(chunks)).digest("hex"), sha256);

      // carol uploads over TCP; the browser downloads it and checks its SHA-256.
      const dir = await Deno.makeTempDir({ prefix: "labchat-web-forum-" });
      try {
        const fromCarol = randomBytes(200_000);
        await Deno.writeFile(`${dir}/notes.dat`, fromCarol);
        assertEquals((await uploadFile(carol, "lab#1!", `${dir}/notes.dat`)).code, 200);
        await page.getByRole("button", { name: "Back to the threads" }).click();
        await page.locator("main").getByRole("heading", { name: "Forum" }).waitFor();
        assertEquals((await focused(page)).text, "Forum", "going back focuses the view's heading");
        await page.getByRole("button", { name: "lab#1!" }).click();
        const downloading = page.waitForEvent("download");
        await page.getByRole("button", { name: "Download notes.dat" }).click();
        const download = await downloading;
        assertEquals(download.suggestedFilename(), "notes.dat");
        await download.saveAs(`${dir}/from-browser.dat`);
        assertEquals(await Deno.readFile(`${dir}/from-browser.dat`), fromCarol);
        await page.getByText(/notes\.dat downloaded; SHA-256 verified/).waitFor();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }

      await page.getByRole("button", { name: "Remove thread" }).click();
      await page.getByRole("heading", { name: "Forum" }).waitFor();
      await expectReply(carol, "THREAD LIST", 200, "No threads to list");
      // Markup in a thread's name, a post and a file name stays text; carol's thread offers
      // alice no Remove.
      const hostile = `"'><b>x<i>y`; // thread names take no spaces or slashes
      await expectReply(carol, `THREAD CREATE ${hostile}`, 200);
      await expectReply(carol, `POST ${hostile} <script>alert(2)</script>`, 200);
      const evil = "<b>evil<i>.txt";
      const uploaded = await carol.upload(
        `UPLOAD ${hostile} ${evil} 1 ${createHash("sha256").update("x").digest("hex")}`,
        (async function* () {
          yield new TextEncoder().encode("x");
        })(),
      );
      await page.getByRole("button", { name: "Back to the threads" }).click().catch(() => {});
      await page.getByRole("button", { name: "Threads" }).click();
      await page.getByRole("button", { name: hostile }).click();
      await page.getByRole("heading", { name: `Thread ${hostile}` }).waitFor();
      await page.locator("ol.posts .text").getByText("<script>alert(2)</script>").waitFor();
      assertEquals(uploaded.code, 200, uploaded.text);
      await page.getByRole("list", { name: "Files" }).getByText(evil).waitFor();
      assertEquals(await page.locator("main b, main i, main img, main script").count(), 0);
      assertEquals(await page.getByRole("button", { name: "Remove thread" }).count(), 0);
      assertEquals(problems, []);

      // Whatever else goes wrong in the page is shown to the user, not only in the console.
      await page.evaluate(() => {
        setTimeout(() => {
          throw new Error("something unexpected");
        });
      });
      await page.getByText(/^The page hit an error: .*something unexpected$/).waitFor();
      await page.evaluate(() => void Promise.reject(new Error("a promise nobody awaited")));
      await page.getByText("The page hit an error: a promise nobody awaited").waitFor();
      await quit(carol);
    }),
);

browserTest(
  "channels on the web: join or create one, its topic and members, messages both ways with terminal users, leave",
  () =>
    withWebServer({}, async (t, browser) => {
      const carol = await registered(t.port, "carol");
      const { page, problems } = await signedUp(browser, t.web, "alice");
      // The skip link is the first stop of the keyboard, and leads to the message box.
      await page.getByLabel(/^Message to /).waitFor();
      const firstFocusable = page.locator("a[href], button, input, summary, [tabindex]").first();
      assertEquals(await firstFocusable.textContent(), "Skip to the message box");
      await firstFocusable.focus();
      assert((await firstFocusable.boundingBox())!.y >= 0, "shown while it has the focus");
      await page.keyboard.press("Enter");
      assertEquals((await focused(page)).id, "message-input");

      await page.getByLabel("Join or create a channel").fill("networks");
      await page.getByRole("button", { name: "Join", exact: true }).click();
      await page.getByRole("heading", { name: "#networks" }).waitFor();
      await page.getByText("1 member", { exact: true }).waitFor();
      await expectReply(carol, "JOIN #Networks", 200);
      await page.locator("ol.messages li.system").getByText("carol joined").waitFor();
      await page.getByText("2 members", { exact: true }).waitFor();
      const hostile = `<img src=x onerror=alert(1)> exam friday`;
      // alice made the channel, so she is its operator and sets its topic.
      await page.getByText("Change topic").click();
      await page.getByLabel("New topic").fill(hostile);
      await page.getByRole("button", { name: "Set topic" }).click();
      await page.locator(".channel-info .topic").getByText(hostile, { exact: true }).waitFor();
      await carol.waitForEvent((e) => e.type === "channel_topic" && e.topic === hostile);
      await expectReply(carol, "TOPIC #networks lab key is with alice", 402);
      await expectReply(carol, "SAY #networks who has the lab key?", 200);
      await seeMessage(page, "who has the lab key?");
      await say(page, "I do, @carol");
      assertEquals(
        await carol.waitForEvent((e) => e.type === "channel_message"),
        {
          type: "channel_message",
          channel: "#networks",
          from: "alice",
          number: 2,
          text: "I do, @carol",
        },
      );
      // Another conversation open: the channel counts what comes meanwhile.
      await conversationButton(page, "b").click();
      await expectReply(carol, "SAY #networks thanks", 200);
      await page.getByLabel("#networks, 1 unread", { exact: true }).waitFor();
      await expectReply(carol, "SAY #networks @alice the key is in the rack", 200);
      await page.getByLabel("#networks, 2 unread, 1 mentioning you").waitFor();
      assertEquals(
        await conversationButton(page, "#networks").locator("+ .unread").textContent(),
        "@2",
      );
      await conversationButton(page, "#networks").click();
      await seeMessage(page, "thanks");
      // Where alice left off: a line above the two that came while she looked elsewhere.
      const afterLine = page.locator("ol.messages li.new-messages + li");
      assertEquals(await afterLine.locator(".text").textContent(), "thanks");

      await page.getByRole("button", { name: "Leave #networks" }).click();
      await carol.waitForEvent((e) => e.type === "channel_part" && e.user === "alice");
      await page.getByRole("heading", { name: "Everyone" }).waitFor();
      assertEquals(await conversationButton(page, "#networks").count(), 0);
      assertEquals(await page.locator("img").count(), 0, "markup in a topic stays text");
      // A private chat closed leaves the sidebar, and comes back with the next message.
      await page.getByLabel("New conversation with").fill("carol");
      await page.getByRole("button", { name: "Message", exact: true }).click();
      await page.getByRole("button", { name: "Close carol" }).click();
      await page.getByRole("heading", { name: "Everyone" }).waitFor();
      assertEquals(await conversationButton(page, "@carol").count(), 0);
      await expectReply(carol, "MSG alice still there?", 200);
      await page.getByLabel("carol, 1 unread").waitFor();
      assertEquals(problems, []);
      await quit(carol);
    }),
);

browserTest(
  "wrong passwords show the lockout texts and how long; a refusal is said at once",
  () =>
    withWebServer({ maxLoginFailures: 2, sessionsPerUser: 1 }, async (t, browser) => {
      await quit(await registered(t.port, "dave"));
      const { page, problems } = await openPage(browser, t.web, 360);
      const error = page.locator("#login-error");
      await submitLogin(page, "dave", "wrong", false);
      await error.getByText("Invalid Password. Please try again").waitFor();
      await submitLogin(page, "dave", "wrong", false);
      await error.getByText(
        "Invalid Password. Your account has been blocked. Please try again later",
      ).waitFor();
      await submitLogin(page, "dave", "dave-secret", false);
      await error.getByText(
        "Still blocked for 10 seconds. Your account is blocked due to multiple login failures. Please try again later",
      ).waitFor();
      const scriptVisible = await page.evaluate("document.cookie");
      assertEquals(scriptVisible, "", "no session cookie readable by scripts");

      // erin is logged in with the terminal client: the page says so at once, password kept.
      const erin = await registered(t.port, "erin");
      const started = Date.now();
      await submitLogin(page, "erin", "erin-secret", false);
      await error.getByText("erin is already logged in elsewhere").waitFor({ timeout: 1500 });
      assert(Date.now() - started < 1500, "said at once, not after retries");
      assertEquals(await page.getByLabel("Password").inputValue(), "erin-secret");
      await quit(erin);
      assertEquals(problems, []);
    }),
);

browserTest(
  "the page reconnects by itself when the server restarts, and keeps its session",
  async () => {
    const first = await startWebServer({}, await builtWebClient());
    await using browser = await launchBrowser();
    const { page, problems } = await signedUp(browser, first.web, "alice");
    await say(page, "before the restart");
    await seeMessage(page, "before the restart");
    await using t = await first.restartWeb();
    await page.getByText("Connected again.").waitFor({ timeout: 20_000 });
    const carol = await registered(t.port, "carol");
    await onlineUser(page, "carol").waitFor();
    await seeMessage(page, "before the restart"); // history reloaded
    await say(page, "after the restart");
    assertEquals(await carol.waitForEvent((e) => e.type === "broadcast"), {
      type: "broadcast",
      from: "alice",
      number: 2,
      text: "after the restart",
    });
    assert(problems.every((p) => !p.startsWith("dialog")), problems.join("\n"));
    await quit(carol);
  },
);

browserTest(
  "a page whose person types stays in; an idle one is logged out with the server's notice, and does not reconnect",
  () =>
    withWebServer({ idleTimeoutMs: 1500 }, async (t, browser) => {
      const { page, problems } = await signedUp(browser, t.web, "alice");
      // Someone typing (without sending) is using the page: twice the timeout keeps them in.
      const box = page.getByLabel(/^Message to /);
      for (let i = 0; i < 10; i++) {
        await box.press("x");
        await page.waitForTimeout(300);
      }
      assertEquals(await page.getByText("Logged in as").count(), 1, "still logged in");
      await page.locator("#login-error").getByText(/after .* of inactivity/).waitFor();
      await page.waitForTimeout(1500);
      assertEquals(await page.getByText("Logged in as").count(), 0, "stays logged out");
      assertEquals(problems, []);
    }),
);

browserTest("over HTTPS the cookie is Secure and the chat runs over WSS", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-web-tls-" });
  try {
    const certs = await makeCertificates(dir);
    await withWebServer({ tlsCert: certs.cert, tlsKey: certs.key }, async (t, browser) => {
      assertMatch(t.web, /^https:/);
      const alice = await signedUp(browser, t.web, "alice");
      const [cookie] = await alice.page.context().cookies();
      assertEquals(
        [cookie.name, cookie.secure, cookie.httpOnly, cookie.sameSite],
        ["labchat_session", true, true, "Strict"],
      );
      const bob = await signedUp(browser, t.web, "bob");
      await say(bob.page, "over wss");
      await seeMessage(alice.page, "over wss");
      assertEquals([...alice.problems, ...bob.problems], []);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
