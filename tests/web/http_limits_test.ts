import { assert, assertEquals, assertMatch } from "@std/assert";
import { must } from "../../testing/must.ts";
import { expectReply, quit, registered } from "../helpers.ts";
import { startWebServer } from "./web_helpers.ts";

const decoder = new TextDecoder();

/** Reads what the server sends until it closes the connection, `done` says so, or `ms` pass. */
async function readUntilClosed(
  conn: Deno.Conn,
  ms: number,
  done: (text: string) => boolean = () => false,
): Promise<{ text: string; closed: boolean }> {
  const buffer = new Uint8Array(4096);
  let text = "";
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), deadline - Date.now());
    });
    const n = await Promise.race([conn.read(buffer).catch(() => null), timeout]);
    clearTimeout(timer);
    if (n === "timeout") return { text, closed: false };
    if (n === null) return { text, closed: true };
    text += decoder.decode(buffer.subarray(0, n));
    if (done(text)) return { text, closed: false };
  }
  return { text, closed: false };
}

Deno.test("the web port counts connections per address and closes those that send no request", async () => {
  await using t = await startWebServer({ maxConnectionsPerIp: 4, httpIdleMs: 300 });
  const port = must(t.server.httpAddr, "the web address").port;
  const idle: Deno.Conn[] = [];
  try {
    // Four connections that say nothing, or half a request (slowloris), hold the address's share.
    for (let i = 0; i < 4; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await idle[0].write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
    const fifth = await Deno.connect({ hostname: "127.0.0.1", port });
    const refused = await readUntilClosed(fifth, 3000);
    fifth.close();
    assertMatch(refused.text, /^HTTP\/1\.1 503 /);
    assert(refused.closed, "the fifth connection is closed after its 503");
    // The cap is the server's, for every port: the line protocol is refused too.
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    const tcpRefusal = await readUntilClosed(tcp, 3000);
    tcp.close();
    assertMatch(tcpRefusal.text, /^421 Too many connections/);
    // None of the four sent a whole request: all are closed after the idle time.
    for (const conn of idle) assert((await readUntilClosed(conn, 3000)).closed);
  } finally {
    for (const conn of idle) conn.close();
  }
  // Their places were given back.
  const page = await fetch(`${t.web}/`);
  assertEquals(page.status, 200);
  await page.body?.cancel();
});

Deno.test("a kept-alive web connection serves request after request, then closes when idle", async () => {
  await using t = await startWebServer({ httpIdleMs: 300 });
  const port = must(t.server.httpAddr, "the web address").port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for (let i = 0; i < 3; i++) {
      await conn.write(request);
      const { text } = await readUntilClosed(conn, 2000, (got) => got.includes("</title>"));
      assertMatch(text, /^HTTP\/1\.1 200 /);
    }
    assert((await readUntilClosed(conn, 3000)).closed, "closed after the idle time");
  } finally {
    conn.close();
  }
});

Deno.test("/healthz says whether the server can serve; /metrics counts in Prometheus text", async () => {
  await using t = await startWebServer();
  const yoda = await registered(t.port, "yoda");
  const hans = await registered(t.port, "hans");
  await expectReply(yoda, "BROADCAST counted", 200);
  await hans.waitForEvent((e) => e.type === "broadcast");
  const health = await fetch(`${t.web}/healthz`);
  assertEquals([health.status, await health.text()], [200, "ok\n"]);
  const response = await fetch(`${t.web}/metrics`);
  assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const metrics = await response.text();
  assertMatch(metrics, /^# TYPE labchat_connections gauge$/m);
  assertMatch(metrics, /^labchat_connections\{frontend="tcp"\} 2$/m);
  assertMatch(metrics, /^labchat_users_online 2$/m);
  assertMatch(metrics, /^labchat_logins_total 2$/m);
  assertMatch(metrics, /^labchat_deliveries_total [1-9]\d*$/m);
  assertMatch(metrics, /^labchat_store_up 1$/m);
  assertMatch(metrics, /^process_resident_memory_bytes \d+$/m);
  await quit(yoda);
  await quit(hans);
});
