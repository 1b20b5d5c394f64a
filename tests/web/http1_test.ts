import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { must } from "../../testing/must.ts";
import {
  bodyLength,
  HttpError,
  parseRequestHead,
} from "../../lib/server/web/http1/request_head.ts";
import { FrameDecoder, Opcode, WsProtocolError } from "../../lib/server/web/http1/ws_frames.ts";
import { startWebServer } from "./web_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function head(text: string) {
  return parseRequestHead(encoder.encode(text));
}

function statusOf(work: () => unknown): number {
  return assertThrows(work, HttpError).status;
}

Deno.test("request heads are read strictly: what could smuggle a request is refused with its status", () => {
  const ok = head("GET /a?b=1 HTTP/1.1\r\nHost: lab:8080\r\nX-Many:  one, two \r\n\r\n");
  assertEquals(ok.method, "GET");
  assertEquals(ok.target, "/a?b=1");
  assertEquals(ok.fields, [["host", "lab:8080"], ["x-many", "one, two"]]);
  assertEquals(statusOf(() => head("GET / HTTP/1.1 extra\r\n\r\n")), 400);
  assertEquals(statusOf(() => head("GET http://evil/ HTTP/1.1\r\n\r\n")), 400);
  assertEquals(statusOf(() => head("GET / HTTP/2.0\r\n\r\n")), 505);
  assertEquals(statusOf(() => head("GET / HTTP/1.1\r\nHost : x\r\n\r\n")), 400);
  assertEquals(statusOf(() => head("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n")), 400);
  assertEquals(statusOf(() => head("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n")), 400);
  assertEquals(statusOf(() => head("GET / HTTP/1.1\r\nA: b\u0000\r\n\r\n")), 400);
  const many = Array.from({ length: 101 }, (_, i) => `X-${i}: y\r\n`).join("");
  assertEquals(statusOf(() => head(`GET / HTTP/1.1\r\n${many}\r\n`)), 431);
  const post = (fields: string) => head(`POST / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`);
  assertEquals(bodyLength(post("Content-Length: 12\r\n")), 12);
  assertEquals(bodyLength(post("Content-Length: 12\r\nContent-Length: 12\r\n")), 12);
  assertEquals(
    statusOf(() => bodyLength(post("Content-Length: 12\r\nContent-Length: 13\r\n"))),
    400,
  );
  assertEquals(statusOf(() => bodyLength(post("Content-Length: -1\r\n"))), 400);
  assertEquals(statusOf(() => bodyLength(post("Transfer-Encoding: chunked\r\n"))), 501);
});

Deno.test("WebSocket frames from a client must be masked, whole when control, and within the limit", () => {
  const frames = new FrameDecoder(100);
  const text = masked(Opcode.TEXT, encoder.encode("WHO"));
  frames.feed(text.subarray(0, 3)); // in pieces, as a socket may deliver it
  assertEquals(frames.next(), undefined);
  frames.feed(text.subarray(3));
  const frame = must(frames.next(), "a whole frame");
  assertEquals([frame.fin, frame.opcode, decoder.decode(frame.payload)], [
    true,
    Opcode.TEXT,
    "WHO",
  ]);
  assert(frames.idle);
  const closeCode = (bytes: Uint8Array) => {
    const fresh = new FrameDecoder(100);
    fresh.feed(bytes);
    return assertThrows(() => fresh.next(), WsProtocolError).closeCode;
  };
  const unmasked = masked(Opcode.TEXT, encoder.encode("x"));
  unmasked[1] &= 0x7f;
  assertEquals(closeCode(unmasked), 1002);
  assertEquals(closeCode(masked(Opcode.TEXT, new Uint8Array(101))), 1009);
  assertEquals(closeCode(masked(Opcode.PING, new Uint8Array(126))), 1002);
  assertEquals(closeCode(masked(0x3, new Uint8Array(1))), 1002);
  const reserved = masked(Opcode.TEXT, new Uint8Array(1));
  reserved[0] |= 0x40;
  assertEquals(closeCode(reserved), 1002);
});

Deno.test("the web port serves pipelined requests in order, HEAD without a body, and answers Expect: 100-continue", async () => {
  await using t = await startWebServer({});
  const port = must(t.server.httpAddr, "web").port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    const text = await readAll(conn);
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d+) /gm)].map((m) => m[1]);
    assertEquals(statuses, ["200", "200", "404"]);
    // The HEAD answer has the length of what GET sends, and no body: the 404 follows at once.
    assertMatch(
      text,
      /^HTTP\/1\.1 200 OK\r\n[^]*?content-length: 3\r\n[^]*?\r\n\r\nok\nHTTP\/1\.1 200/m,
    );
    assertMatch(text, /content-length: 3\r\n(?:[^\r\n]+\r\n)*\r\nHTTP\/1\.1 404/);
  } finally {
    conn.close();
  }
  const expecting = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const body = '{"user":"alice","password":"a-long-password","register":true}';
    await expecting.write(encoder.encode(
      `POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    ));
    const buffer = new Uint8Array(4096);
    const first = decoder.decode(buffer.subarray(0, must(await expecting.read(buffer), "bytes")));
    assertMatch(first, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    await expecting.write(encoder.encode(body));
    assertMatch(first + await readAll(expecting), /HTTP\/1\.1 200 OK[^]*Welcome to labchat, alice/);
  } finally {
    expecting.close();
  }
});

Deno.test("a head too large, or a body sent chunked, is refused with its status and the connection closed", async () => {
  await using t = await startWebServer({});
  const port = must(t.server.httpAddr, "web").port;
  for (
    const [request, status] of [
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"y".repeat(20_000)}\r\n\r\n`, 431],
      ["POST /api/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501],
      ["GET / HTTP/1.1\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: lab@evil.example/x\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400],
    ] as const
  ) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(encoder.encode(request)).catch(() => 0);
      assertMatch(await readAll(conn), new RegExp(`^HTTP/1\\.1 ${status} [^]*connection: close`));
    } finally {
      closeQuietly(conn);
    }
  }
});

Deno.test("a WebSocket handshake of another version is refused with 426 and the version spoken", async () => {
  await using t = await startWebServer({});
  const port = must(t.server.httpAddr, "web").port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    ));
    const answer = await readAll(conn);
    assertMatch(answer, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
    assertMatch(answer, /\r\nsec-websocket-version: 13\r\n/);
  } finally {
    closeQuietly(conn);
  }
});

Deno.test("a plain request to the WebSocket's path gets 426 naming the protocol to upgrade to", async () => {
  await using t = await startWebServer({});
  const port = must(t.server.httpAddr, "web").port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    ));
    const answer = await readAll(conn);
    assertMatch(answer, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
    assertMatch(answer, /\r\nupgrade: websocket\r\n/);
    assertMatch(answer, /\r\nconnection: close, upgrade\r\n/);
    assertMatch(answer, /connect with a WebSocket client$/);
  } finally {
    closeQuietly(conn);
  }
});

Deno.test("a request body that stops arriving is cut off after the idle time, as a half-sent head is", async () => {
  await using t = await startWebServer({ httpIdleMs: 300 });
  const port = must(t.server.httpAddr, "web").port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(
      `POST /api/session HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 100\r\n\r\n{"user":',
    ));
    const started = performance.now();
    await readAll(conn); // ends when the server closes (or throws after 5 s)
    assert(performance.now() - started < 4000);
  } finally {
    closeQuietly(conn);
  }
});

Deno.test("the WebSocket answers pings, joins fragments, and fails a broken client with the close code", async () => {
  await using t = await startWebServer({});
  const port = must(t.server.httpAddr, "web").port;
  const ws = await rawUpgrade(port, "dGhlIHNhbXBsZSBub25jZQ==");
  try {
    // RFC 6455's own example of the accept value.
    assertMatch(
      ws.head,
      /^HTTP\/1\.1 101 [^]*sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/im,
    );
    await ws.conn.write(masked(Opcode.PING, encoder.encode("are you there")));
    assertEquals(await ws.nextFrame(), { opcode: Opcode.PONG, text: "are you there" });
    // "WHO" in two fragments, a ping between them: one request, answered.
    await ws.conn.write(masked(Opcode.TEXT, encoder.encode("WH"), false));
    await ws.conn.write(masked(Opcode.PING, encoder.encode("")));
    await ws.conn.write(masked(Opcode.CONTINUATION, encoder.encode("O")));
    assertEquals(await ws.nextFrame(), { opcode: Opcode.PONG, text: "" });
    const reply = await ws.nextFrame();
    assertEquals(reply.opcode, Opcode.TEXT);
    assertMatch(reply.text, /^200 /); // the request arrived whole
    // Text that is not UTF-8 fails the connection with 1007, and the server closes it.
    await ws.conn.write(masked(Opcode.TEXT, new Uint8Array([0xc3, 0x28])));
    const close = await ws.nextFrame();
    assertEquals(close.opcode, Opcode.CLOSE);
    assertEquals(close.code, 1007);
    assertEquals(await ws.conn.read(new Uint8Array(16)).catch(() => null), null);
  } finally {
    ws.conn.close();
  }
  // A close frame is answered with the same code, then the connection ends.
  const closing = await rawUpgrade(port, "AQIDBAUGBwgJCgsMDQ4PEC==");
  try {
    await closing.conn.write(masked(Opcode.CLOSE, new Uint8Array([0x0b, 0xb8]))); // 3000
    const answer = await closing.nextFrame();
    assertEquals([answer.opcode, answer.code], [Opcode.CLOSE, 3000]);
  } finally {
    closing.conn.close();
  }
  // An unmasked frame is a protocol error: 1002.
  const unmasked = await rawUpgrade(port, "AQIDBAUGBwgJCgsMDQ4PEA==");
  try {
    const frame = masked(Opcode.TEXT, encoder.encode("WHO"));
    frame[1] &= 0x7f;
    await unmasked.conn.write(frame.subarray(0, 2 + 3));
    const answer = await unmasked.nextFrame();
    assertEquals([answer.opcode, answer.code], [Opcode.CLOSE, 1002]);
  } finally {
    unmasked.conn.close();
  }
});

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
  }
}

/** A client's frame, masked. */
function masked(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const length = payload.length;
  const header = length < 126 ? 2 : 4;
  const frame = new Uint8Array(header + 4 + length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else {
    frame[1] = 0x80 | 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  }
  const mask = [0x12, 0x34, 0x56, 0x78];
  frame.set(mask, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}

async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const buffer = new Uint8Array(64 * 1024);
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, 5000);
  try {
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      chunks.push(decoder.decode(buffer.subarray(0, n), { stream: true }));
    }
  } catch {
    // closed by the deadline
  } finally {
    clearTimeout(deadline);
  }
  if (timedOut) throw new Error(`Not closed within 5 s; received ${chunks.join("").slice(0, 80)}`);
  return chunks.join("");
}

/** A WebSocket opened by hand, for frames no browser would send. */
async function rawUpgrade(port: number, key: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  let pending = new Uint8Array(0);
  const buffer = new Uint8Array(4096);
  const more = async () => {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("closed");
    const joined = new Uint8Array(pending.length + n);
    joined.set(pending);
    joined.set(buffer.subarray(0, n), pending.length);
    pending = joined;
  };
  let end = -1;
  while ((end = decoder.decode(pending).indexOf("\r\n\r\n")) < 0) await more();
  const head = decoder.decode(pending).slice(0, end);
  pending = pending.subarray(end + 4);
  return {
    conn,
    head,
    /** The next server frame (server frames are unmasked and, here, short). */
    async nextFrame(): Promise<{ opcode: number; text: string; code?: number }> {
      while (pending.length < 2 || pending.length < 2 + (pending[1] & 0x7f)) await more();
      const opcode = pending[0] & 0x0f;
      const length = pending[1] & 0x7f;
      assert(length < 126, "short frames only");
      const payload = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      if (opcode === Opcode.CLOSE) {
        return {
          opcode,
          code: (payload[0] << 8) | payload[1],
          text: decoder.decode(payload.subarray(2)),
        };
      }
      return { opcode, text: decoder.decode(payload) };
    },
  };
}
