/**
 * `deno task screenshot`: the README's pictures of the web client: docs/web.png (wide, light),
 * docs/web-dark.png (wide, dark) and docs/web-phone.png (390×844). Starts a server on a temporary
 * data directory, fills it with a short conversation from terminal clients, and photographs the
 * page in chromium. Needs chromium (see testing/browser.ts).
 * @module
 */

import { ChatConnection } from "../lib/client/chat_connection.ts";
import { startChatServer } from "../lib/server/chat_server.ts";
import { launchBrowser } from "../testing/browser.ts";
import { buildWeb } from "./build_web.ts";

const docs = (name: string) => new URL(`../docs/${name}`, import.meta.url).pathname;

async function user(port: number, name: string): Promise<ChatConnection> {
  const chat = await ChatConnection.connect({ hostname: "127.0.0.1", port });
  const reply = await chat.request(`REGISTER ${name} ${name}-password`);
  if (!reply.ok) throw new Error(reply.text);
  return chat;
}

async function main(): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-screenshot-" });
  const webRoot = await Deno.makeTempDir({ prefix: "labchat-screenshot-web-" });
  await buildWeb(webRoot);
  const server = await startChatServer({
    hostname: "127.0.0.1",
    port: 0,
    httpPort: 0,
    dataDir,
    webRoot,
    scryptCost: 1024,
    authRatePerIp: 0,
    irc: false,
  });
  try {
    const port = server.addr.port;
    const web = `http://127.0.0.1:${server.httpAddr?.port}`;
    const hans = await user(port, "hans");
    const yoda = await user(port, "yoda");
    await using browser = await launchBrowser();
    const page = await (await browser.newContext({
      viewport: { width: 1100, height: 640 },
      colorScheme: "light",
    })).newPage();
    await page.goto(web);
    await page.getByLabel("Username").fill("obiwan");
    await page.getByLabel("Password").fill("obiwan-password");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Logged in as obiwan").waitFor();
    await hans.request("JOIN #networks");
    await hans.request("TOPIC #networks Lab 4: loss and queueing, reports due Friday");
    await page.getByLabel("Join or create a channel").fill("#networks");
    await page.getByRole("button", { name: "Join", exact: true }).click();
    await page.getByRole("heading", { name: "#networks" }).waitFor();
    await hans.request("SAY #networks Morning all: the switch in rack 3 is back up");
    await hans.request("SAY #networks `tc qdisc show dev veth0` says **tbf 100mbit** now");
    await yoda.request("JOIN #networks");
    await yoda.request("SAY #networks Thanks! iperf3 shows 941 Mbit/s again, @obiwan");
    await page.getByLabel(/^Message to/).fill("Great, I will rerun the loss tests at 5%");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await yoda.request("ROOM CREATE obiwan hans");
    await yoda.request("ROOM SAY 1 Results meeting at 3?");
    await hans.request("MSG obiwan Can you send me the pcap from yesterday?");
    await yoda.request("BROADCAST The lab closes at 18:00 today");
    await page.locator("nav [data-id='@hans']").waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: docs("web.png") });
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForTimeout(100);
    await page.screenshot({ path: docs("web-dark.png") });
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    await page.screenshot({ path: docs("web-phone.png") });
    console.log(`Wrote ${["web.png", "web-dark.png", "web-phone.png"].map(docs).join(", ")}`);
    await hans.close();
    await yoda.close();
  } finally {
    await server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(webRoot, { recursive: true });
  }
}

if (import.meta.main) await main();
