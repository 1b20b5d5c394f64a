/**
 * `deno task screenshot`: the README's picture of the web client (docs/web.png). Starts a server
 * on a temporary data directory, fills it with a short conversation from terminal clients, and
 * photographs the page in chromium. Needs chromium (see testing/browser.ts).
 * @module
 */

import { ChatConnection } from "../lib/client/chat_connection.ts";
import { startChatServer } from "../lib/server/chat_server.ts";
import { launchBrowser } from "../testing/browser.ts";
import { buildWeb } from "./build_web.ts";

const OUTPUT = new URL("../docs/web.png", import.meta.url).pathname;

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
      viewport: { width: 960, height: 560 },
      colorScheme: "light",
    })).newPage();
    await page.goto(web);
    await page.getByLabel("Username").fill("obiwan");
    await page.getByLabel("Password").fill("obiwan-password");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Logged in as obiwan").waitFor();
    await hans.request("BROADCAST Morning all: the switch in rack 3 is back up");
    await yoda.request("BROADCAST Thanks! iperf3 shows 941 Mbit/s again");
    await page.getByLabel(/^Message to/).fill("Great, I will rerun the loss tests at 5%");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await yoda.request("ROOM CREATE obiwan hans");
    await yoda.request("ROOM SAY 1 Results meeting at 3?");
    await hans.request("MSG obiwan Can you send me the pcap from yesterday?");
    await page.locator("nav [data-id='@hans']").waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: OUTPUT });
    console.log(`Wrote ${OUTPUT}`);
    await hans.close();
    await yoda.close();
  } finally {
    await server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(webRoot, { recursive: true });
  }
}

if (import.meta.main) await main();
