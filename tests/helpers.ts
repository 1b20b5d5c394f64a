/**
 * Shared test helpers: a real server on 127.0.0.1 port 0 with a temporary data directory, and
 * real TCP clients.
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { ChatConnection, type ChatReply } from "../lib/client/chat_connection.ts";
import { addUser } from "../lib/admin/user_admin.ts";
import {
  type ChatServer,
  type ChatServerOptions,
  startChatServer,
} from "../lib/server/chat_server.ts";
import { openKvStore } from "../lib/store/kv_store.ts";

/** Cheap scrypt cost so tests that register many users stay fast; production uses 2^14. */
export const TEST_SCRYPT_COST = 1024;

/** A server for one test; `await using` shuts it down and removes its data. */
export interface TestServer extends AsyncDisposable {
  readonly server: ChatServer;
  readonly port: number;
  readonly dataDir: string;
  /** Stops this server and starts a new one on the same data directory (a restart). */
  restart(options?: ChatServerOptions): Promise<TestServer>;
}

/** Starts a server on 127.0.0.1:0 with a fresh (or the given) data directory. */
export async function startTestServer(
  options: ChatServerOptions = {},
  existingDataDir?: string,
): Promise<TestServer> {
  const dataDir = existingDataDir ?? await Deno.makeTempDir({ prefix: "labchat-test-" });
  const server = await startChatServer({
    hostname: "127.0.0.1",
    port: 0,
    dataDir,
    scryptCost: TEST_SCRYPT_COST,
    // Tests register many users from one address; the limit has tests of its own.
    authRatePerIp: 0,
    // No test may bind the web port 8080; web tests ask for port 0.
    http: false,
    // Nor the IRC port 6667; IRC tests ask for port 0.
    irc: false,
    ...options,
  });
  let handedOver = false;
  return {
    server,
    port: server.addr.port,
    dataDir,
    async restart(next: ChatServerOptions = options) {
      await server.shutdown();
      handedOver = true;
      return startTestServer(next, dataDir);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      if (!handedOver) await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** An account the operator creates before the server starts. */
export interface SeedAccount {
  readonly name: string;
  readonly password: string;
  readonly admin?: boolean;
}

/**
 * A fresh data directory holding these accounts, made as the operator tool makes them. Pass it
 * to {@linkcode startTestServer} (which then removes it).
 */
export async function dataDirWith(accounts: readonly SeedAccount[]): Promise<string> {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-test-" });
  const { store } = await openKvStore(dataDir);
  try {
    for (const a of accounts) {
      await addUser(store, a.name, a.password, a.admin ?? false, { scryptCost: TEST_SCRYPT_COST });
    }
  } finally {
    await store.close();
  }
  return dataDir;
}

/** Opens a client connection to the test server. */
export function connect(port: number): Promise<ChatConnection> {
  return ChatConnection.connect({ hostname: "127.0.0.1", port });
}

/** Sends a request and asserts the reply code; returns the reply. */
export async function expectReply(
  chat: ChatConnection,
  line: string,
  code: number,
  text?: string | RegExp,
): Promise<ChatReply> {
  const reply = await chat.request(line);
  assertEquals(reply.code, code, `"${line}" got ${reply.code} ${reply.lines.join(" | ")}`);
  if (typeof text === "string") assertEquals(reply.text, text);
  else if (text) assert(text.test(reply.text), `"${line}" got "${reply.text}", expected ${text}`);
  return reply;
}

/** Connects and registers a new user (logged in on return). */
export async function registered(port: number, name: string): Promise<ChatConnection> {
  const chat = await connect(port);
  await expectReply(chat, `REGISTER ${name} ${name}-secret`, 200);
  return chat;
}

/** Connects and logs in an existing user registered by {@linkcode registered}. */
export async function loggedIn(port: number, name: string): Promise<ChatConnection> {
  const chat = await connect(port);
  await expectReply(chat, `LOGIN ${name} ${name}-secret`, 200);
  return chat;
}

/** Quits politely (so the server logs the user out) and closes. */
export async function quit(chat: ChatConnection): Promise<void> {
  if (!chat.isClosed) {
    try {
      await chat.request("QUIT");
    } catch {
      // already closed by the server
    }
  }
  await chat.close();
}
