import { assert, assertEquals, assertMatch, assertObjectMatch, assertRejects } from "@std/assert";
import { createHash } from "node:crypto";
import { brotliDecompressSync } from "node:zlib";
import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { WebSocketTransport } from "../../lib/client/websocket_transport.ts";
import { JSON_SUBPROTOCOL } from "../../lib/protocol/frames.ts";
import type { ChatServerOptions } from "../../lib/server/chat_server.ts";
import { expectReply, loggedIn, quit, registered } from "../helpers.ts";
import { builtWebClient, startWebServer } from "./web_helpers.ts";
import { must } from "../../testing/must.ts";
import { randomBytes } from "../../testing/random_bytes.ts";

const webServer = (options: ChatServerOptions = {}) => startWebServer(options);

/** A protocol client over the server's WebSocket, as the page makes one. */
async function wsClient(web: string): Promise<ChatConnection> {
  return new ChatConnection(await WebSocketTransport.open(`${web.replace("http", "ws")}/ws`));
}

/** The session cookie a login sets, as a Cookie header value. */
async function login(web: string, user: string, password: string, register = false) {
  const response = await fetch(`${web}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: web },
    body: JSON.stringify({ user, password, register }),
  });
  const body = await response.json();
  const cookie = response.headers.get("set-cookie") ?? "";
  return { status: response.status, body, cookie, session: cookie.split(";")[0] };
}

Deno.test("the WebSocket carries the same protocol as TCP: WebSocket and TCP users talk both ways", async () => {
  await using t = await webServer();
  const tcp = await registered(t.port, "tcpuser");
  const ws = await wsClient(t.web);
  await expectReply(ws, "REGISTER webuser password1", 200, "Welcome to labchat, webuser!");
  await tcp.waitForEvent((e) => e.type === "login" && e.user === "webuser");
  await expectReply(ws, "BROADCAST hello from the web", 200);
  assertEquals(
    await tcp.waitForEvent((e) => e.type === "broadcast"),
    { type: "broadcast", from: "webuser", number: 1, text: "hello from the web" },
  );
  await expectReply(tcp, "MSG webuser hi back", 200, "Message sent to webuser");
  assertEquals(await ws.waitForEvent((e) => e.type === "private"), {
    type: "private",
    from: "tcpuser",
    text: "hi back",
  });
  await expectReply(ws, "ROOM CREATE tcpuser", 200, /room ID: 1/);
  await expectReply(tcp, "ROOM SAY 1 in the room", 200);
  await ws.waitForEvent((e) => e.type === "room" && e.text === "in the room");
  const help = await expectReply(ws, "HELP", 200);
  assert(help.lines.length > 20, "multi-line replies come through whole");
  await quit(ws);
  await tcp.waitForEvent((e) => e.type === "logout" && e.user === "webuser");
  await quit(tcp);
});

Deno.test("a WebSocket upgrade from another origin is refused", async () => {
  await using t = await webServer();
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: must(t.server.httpAddr, "web").port,
  });
  await conn.write(new TextEncoder().encode(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${
      must(t.server.httpAddr, "web").port
    }\r\nUpgrade: websocket\r\n` +
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
      "Sec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n",
  ));
  const buffer = new Uint8Array(1024);
  const n = must(await conn.read(buffer), "an answer");
  conn.close();
  assertMatch(new TextDecoder().decode(buffer.subarray(0, n)), /^HTTP\/1\.1 403 /);
  const crossLogin = await fetch(`${t.web}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: "https://evil.example" },
    body: JSON.stringify({ user: "x", password: "y" }),
  });
  assertEquals(crossLogin.status, 403);
  await crossLogin.body?.cancel();
});

Deno.test("WebSocket frames have TCP's limits: oversized and control characters refused, floods cut", async () => {
  await using t = await webServer({ maxLineBytes: 1024, requestRate: 20, floodLimitMs: 500 });
  const ws = await wsClient(t.web);
  const transport = ws as unknown as { writeRaw(b: Uint8Array): Promise<void> };
  await transport.writeRaw(new TextEncoder().encode("x".repeat(5000) + "\n"));
  assertEquals(await ws.waitForEvent(() => true), {
    type: "unknown",
    code: 407,
    text: "Cannot read request: line is longer than 1024 bytes",
  });
  await transport.writeRaw(new TextEncoder().encode("WHO \u001b[2J\n"));
  assertMatch(
    (await ws.waitForEvent(() => true) as { text: string }).text,
    /control characters/,
  );
  await expectReply(ws, "WHO", 200, "0 users online");
  // Hundreds of requests at once: paced, then dropped as a flood, with the reason.
  await transport.writeRaw(new TextEncoder().encode("WHO\n".repeat(400)));
  const cut = await ws.waitForEvent((e) => e.type === "disconnect", 10_000);
  assertMatch((cut as { text: string }).text, /flooding/);
  await ws.done;
});

Deno.test("the browser's login sets an HttpOnly SameSite=Strict cookie; SESSION logs the socket in", async () => {
  await using t = await webServer({ maxLoginFailures: 2 });
  const made = await login(t.web, "yoda", "wise@!man", true);
  assertEquals([made.status, made.body], [200, { code: 200, text: "Welcome to labchat, yoda!" }]);
  assertMatch(
    made.cookie,
    /^labchat_session=[A-Za-z0-9_-]{40,}; HttpOnly; SameSite=Strict; Path=\//,
  );
  const wrong = await login(t.web, "yoda", "bad");
  assertEquals([wrong.status, wrong.body.text], [401, "Invalid Password. Please try again"]);
  const blocked = await login(t.web, "yoda", "bad");
  assertEquals(blocked.body, {
    code: 411,
    text: "Invalid Password. Your account has been blocked. Please try again later",
    before: ["Blocked for 10 seconds"],
  });
  assertEquals(
    (await login(t.web, "yoda", "wise@!man")).body.text,
    "Your account is blocked due to multiple login failures. Please try again later",
  );
  // The session from before the lockout still works on a socket that carries it.
  const socket = new WebSocket(`${t.web.replace("http", "ws")}/ws`, {
    headers: { cookie: made.session },
  } as unknown as string[]);
  const ws = await new Promise<ChatConnection>((resolve) => {
    socket.onopen = () => resolve(new ChatConnection(wrapOpen(socket)));
  });
  await expectReply(ws, "SESSION", 200, "Welcome to labchat, yoda!");
  await expectReply(ws, "WHO", 200, "1 user online");
  await quit(ws);
  const anonymous = await wsClient(t.web);
  await expectReply(anonymous, "SESSION", 401, "No web session on this connection");
  await anonymous.close();
  const out = await fetch(`${t.web}/api/session`, {
    method: "DELETE",
    headers: { cookie: made.session, origin: t.web },
  });
  assertMatch(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
  await out.body?.cancel();
});

/** A WebSocket already open, as a transport (Deno's WebSocket takes a cookie header). */
function wrapOpen(socket: WebSocket): WebSocketTransport {
  return WebSocketTransport.adopt(socket);
}

Deno.test("forum files over HTTP need the session and are checked with SHA-256 as over TCP", async () => {
  await using t = await webServer();
  const { session } = await login(t.web, "mike", "password1", true);
  const tcp = await registered(t.port, "lang");
  await expectReply(tcp, "THREAD CREATE a", 200);
  const bytes = randomBytes(100_000);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const upload = (cookie: string, hash: string) =>
    fetch(`${t.web}/api/files/upload?thread=a&name=web.bin&size=${bytes.length}&sha256=${hash}`, {
      method: "POST",
      headers: { cookie, origin: t.web },
      body: bytes,
    });
  const anonymous = await upload("", sha256);
  assertEquals(anonymous.status, 401);
  await anonymous.body?.cancel();
  const damaged = await upload(session, "0".repeat(64));
  assertEquals([damaged.status, (await damaged.json()).code], [422, 416]);
  const ok = await upload(session, sha256);
  assertEquals(await ok.json(), { code: 200, text: "mike uploaded file web.bin to a thread" });
  await expectReply(tcp, "THREAD READ a", 200, "Thread a: 0 messages, 1 file");
  const download = await fetch(`${t.web}/api/files/download?thread=a&name=web.bin`, {
    headers: { cookie: session },
  });
  assertEquals(download.headers.get("x-labchat-sha256"), sha256);
  assertEquals(new Uint8Array(await download.arrayBuffer()), bytes);
  const missing = await fetch(`${t.web}/api/files/download?thread=a&name=nope.bin`, {
    headers: { cookie: session },
  });
  assertEquals([missing.status, await missing.json()], [404, {
    code: 404,
    text: "File nope.bin does not exist in thread a",
  }]);
  await quit(tcp);
});

Deno.test("the page is served with its content type, an ETag and a strict Content-Security-Policy", async () => {
  await using t = await webServer();
  const page = await fetch(`${t.web}/`);
  assertEquals(page.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = page.headers.get("content-security-policy") ?? "";
  assertMatch(csp, /default-src 'none'/);
  assertMatch(csp, /script-src 'self'/);
  assert(!csp.includes("unsafe-inline"), csp);
  assertEquals(page.headers.get("x-content-type-options"), "nosniff");
  // Compressed, the ETag is weak (W/"..."): a browser sends it back so.
  const weak = must(page.headers.get("etag"), "an ETag");
  await page.body?.cancel();
  // HEAD: the same headers, the page's real length, no body (uncompressed, to compare lengths).
  const identity = { "accept-encoding": "identity" };
  const plain = await fetch(`${t.web}/`, { headers: identity });
  const etag = must(plain.headers.get("etag"), "an ETag");
  assertEquals(weak.replace(/^W\//, ""), etag);
  const length = (await plain.bytes()).length;
  assert(length > 0);
  const head = await fetch(`${t.web}/`, { method: "HEAD", headers: identity });
  assertEquals(head.status, 200);
  assertEquals(head.headers.get("content-length"), String(length));
  assertEquals(head.headers.get("etag"), etag);
  assertEquals((await head.bytes()).length, 0);
  for (const tag of [etag, weak, `"other", ${weak}`]) {
    const again = await fetch(`${t.web}/`, { headers: { "if-none-match": tag } });
    assertEquals(again.status, 304, tag);
    await again.body?.cancel();
  }
  const missing = await fetch(`${t.web}/../data/labchat.kv`);
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("the page's script goes out compressed once with Brotli's best quality, and decodes to the file", async () => {
  await using t = await startWebServer({}, await builtWebClient());
  const port = must(t.server.httpAddr, "web").port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(
    `GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept-Encoding: gzip, br\r\n` +
      "Connection: close\r\n\r\n",
  ));
  const raw = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  const split = raw.findIndex((_, i) => raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13);
  const headers = new TextDecoder().decode(raw.subarray(0, split));
  assertMatch(headers, /^content-encoding: br$/im);
  const identity = { "accept-encoding": "identity" };
  const file = await (await fetch(`${t.web}/app.js`, { headers: identity })).bytes();
  const body = raw.subarray(split + 4);
  assertEquals(Number(/^content-length: (\d+)$/im.exec(headers)?.[1]), body.length);
  assertEquals(new Uint8Array(brotliDecompressSync(body)), file);
  assert(body.length < file.length / 3, `${body.length} of ${file.length} bytes`);
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

/** A WebSocket that asked for the JSON subprotocol, with every frame it receives. */
async function jsonSocket(web: string): Promise<{ socket: WebSocket; frames: unknown[][] }> {
  const socket = new WebSocket(`${web.replace("http", "ws")}/ws`, [JSON_SUBPROTOCOL]);
  const frames: unknown[][] = [];
  socket.onmessage = (message) => frames.push(JSON.parse(message.data));
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return { socket, frames };
}

Deno.test("with the JSON subprotocol the WebSocket sends typed frames: replies with their data, events with their time", async () => {
  await using t = await webServer();
  const tcp = await registered(t.port, "tcpuser");
  await expectReply(tcp, "LOGOUT", 200);
  const raw = await jsonSocket(t.web);
  assertEquals(raw.socket.protocol, JSON_SUBPROTOCOL);
  raw.socket.send("REGISTER jsonuser password1");
  raw.socket.send("MSG tcpuser are you there?");
  raw.socket.send("MSG nobody hi");
  for (let i = 0; i < 200 && raw.frames.flat().length < 3; i++) await tick();
  const [welcome, offline, refused] = raw.frames.flat();
  assertEquals(welcome, {
    kind: "reply",
    code: 200,
    lines: ["Welcome to labchat, jsonuser!"],
    data: { kind: "welcome", user: "jsonuser", guest: false, admin: false },
  });
  assertObjectMatch(offline as Record<string, unknown>, {
    kind: "reply",
    code: 200,
    lines: ["tcpuser is offline; the message will be delivered at next login"],
    data: { kind: "sent", offline: true },
  });
  assertObjectMatch(refused as Record<string, unknown>, {
    kind: "reply",
    code: 420,
    reason: "no_such_user",
  });
  const closed = new Promise((resolve) => raw.socket.onclose = resolve);
  raw.socket.close();
  await closed;

  // The page's connection: the same frames read by ChatConnection, data and event times kept.
  const chat = new ChatConnection(
    await WebSocketTransport.open(`${t.web.replace("http", "ws")}/ws`, { json: true }),
  );
  await expectReply(chat, "LOGIN jsonuser password1", 200);
  await using again = await loggedIn(t.port, "tcpuser");
  const before = Date.now();
  await expectReply(again, "BROADCAST hello @jsonuser", 200);
  const event = await chat.waitForEvent((e) => e.type === "broadcast");
  assertEquals(event, { type: "broadcast", from: "tcpuser", number: 1, text: "hello @jsonuser" });
  const at = must(chat.timeOf(event), "the event's time");
  assert(at >= before - 1000 && at <= Date.now(), `a time of the server's clock: ${at}`);
  const history = await expectReply(chat, "HISTORY b", 200);
  assertObjectMatch(must(history.data, "history data"), {
    kind: "history",
    messages: [{ number: 1, from: "tcpuser", text: "hello @jsonuser" }],
  });
  const room = await expectReply(chat, "ROOM CREATE tcpuser", 200);
  assertObjectMatch(must(room.data, "room data"), {
    kind: "room",
    room: { id: 1, members: ["jsonuser", "tcpuser"], creator: "jsonuser" },
  });
  assertObjectMatch(must((await expectReply(chat, "ROOM LIST", 200)).data, "rooms"), {
    kind: "rooms",
    rooms: [{ id: 1, members: ["jsonuser", "tcpuser"] }],
  });
  await expectReply(chat, "BLOCK tcpuser", 200);
  assertEquals((await expectReply(chat, "BLOCKED", 200)).data, {
    kind: "names",
    names: ["tcpuser"],
  });
  await expectReply(chat, "UNBLOCK tcpuser", 200);
  await expectReply(chat, "THREAD CREATE notes", 200);
  await expectReply(chat, "POST notes iperf said 941", 200);
  const bytes = new TextEncoder().encode("hello");
  const hash = createHash("sha256").update(bytes).digest("hex");
  await again.upload(
    `UPLOAD notes run.txt 5 ${hash}`,
    (async function* () {
      yield bytes;
    })(),
  );
  const thread = must((await expectReply(chat, "THREAD READ notes", 200)).data, "thread data");
  assertObjectMatch(thread, {
    kind: "thread",
    name: "notes",
    creator: "jsonuser",
    posts: 1,
    files: 1,
    entries: [
      { kind: "post", number: 1, author: "jsonuser", text: "iperf said 941" },
      { kind: "file", name: "run.txt", uploader: "tcpuser", size: 5, sha256: hash },
    ],
  });
  assertObjectMatch(must((await expectReply(chat, "THREAD LIST", 200)).data, "threads"), {
    kind: "threads",
    threads: [{ name: "notes", creator: "jsonuser" }],
  });
  const found = must((await expectReply(chat, "SEARCH iperf", 200)).data, "search data");
  assertObjectMatch(found, {
    kind: "search",
    page: 1,
    more: false,
    hits: [{
      place: { kind: "post", thread: "notes", number: 1 },
      where: "thread notes post 1",
      from: "jsonuser",
    }],
  });
  assertEquals((await expectReply(chat, "ACTIVE", 200)).data, { kind: "idle_timeout", ms: 0 });
  await quit(chat);
});

Deno.test("a WebSocket that asks for no subprotocol, or one the server does not speak, gets lines", async () => {
  await using t = await webServer();
  for (const protocols of [[], ["labchat.v9.xml"]]) {
    const socket = new WebSocket(`${t.web.replace("http", "ws")}/ws`, protocols);
    const frames: string[] = [];
    socket.onmessage = (message) => frames.push(message.data);
    await new Promise((resolve) => socket.onopen = resolve);
    assertEquals(socket.protocol, "");
    socket.send("ACTIVE");
    for (let i = 0; i < 200 && frames.length === 0; i++) await tick();
    assertEquals(frames, ["200 No idle timeout"]);
    const closed = new Promise((resolve) => socket.onclose = resolve);
    socket.close();
    await closed;
  }
  await assertRejects(
    async () => {
      const transport = await WebSocketTransport.open(`${t.web.replace("http", "ws")}/nowhere`, {
        json: true,
      });
      transport.close();
    },
    Error,
  );
});
