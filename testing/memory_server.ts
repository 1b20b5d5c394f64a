/**
 * The server's services on `Deno.openKv(":memory:")`, and clients whose output is a list in
 * memory: dispatch, the handlers and the services tested without a socket.
 * @module
 */

import { DEFAULT_SERVER_CONFIG, type ServerConfig } from "../lib/config.ts";
import type { OutboundEvent } from "../lib/protocol/events.ts";
import { BlobStore } from "../lib/store/blob_store.ts";
import { migrateKv } from "../lib/store/kv_migrations.ts";
import { KvStore } from "../lib/store/kv_store.ts";
import { Client, type ClientOutput } from "../lib/server/client.ts";
import { dispatch } from "../lib/server/dispatch.ts";
import { LocalHub } from "../lib/server/hub.ts";
import { logOut } from "../lib/server/presence.ts";
import { ManualClock } from "../lib/server/services/clock.ts";
import { openServerState, type ServerState } from "../lib/server/server_state.ts";

/** A reply as an in-memory client got it. */
export interface MemoryReply {
  readonly code: number;
  readonly lines: readonly string[];
}

/** A client output that records what it is given. */
export class MemoryOutput implements ClientOutput {
  readonly rawBytes = false;
  readonly replies: MemoryReply[] = [];
  readonly events: OutboundEvent[] = [];
  #closed = false;

  get isClosed(): boolean {
    return this.#closed;
  }

  event(event: OutboundEvent): boolean {
    if (this.#closed) return false;
    this.events.push(event);
    return true;
  }

  async eventsPaced(events: Iterable<OutboundEvent>): Promise<void> {
    for (const event of events) this.event(event);
    await Promise.resolve();
  }

  reply(code: number, text: string | readonly string[]): Promise<void> {
    this.replies.push({ code, lines: typeof text === "string" ? [text] : [...text] });
    return Promise.resolve();
  }

  stream(): Promise<void> {
    return Promise.reject(new Error("A memory client carries no raw bytes"));
  }

  readRaw(): Promise<void> {
    return Promise.reject(new Error("A memory client carries no raw bytes"));
  }

  flushed(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** A client of the memory server: send lines, read replies and events. */
export interface MemoryClient {
  readonly client: Client;
  readonly output: MemoryOutput;
  /** Dispatches a line and resolves with its reply once written. */
  request(line: string): Promise<MemoryReply>;
  /** Dispatches lines one after another without waiting for their replies (pipelining). */
  pipeline(...lines: string[]): Promise<MemoryReply[]>;
  /** The connection ends, as when a socket closes: its user is logged out. */
  disconnect(): Promise<void>;
}

/** The services on an in-memory database, with a clock the test moves. */
export interface MemoryServer extends AsyncDisposable {
  readonly state: ServerState;
  readonly clock: ManualClock;
  connect(ip?: string): MemoryClient;
}

/** Starts the services in memory (blobs in a temporary directory). */
export async function memoryServer(config: Partial<ServerConfig> = {}): Promise<MemoryServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-memory-" });
  const kv = await Deno.openKv(":memory:");
  await migrateKv(kv);
  const store = new KvStore(kv);
  await store.load();
  const clock = new ManualClock(Date.UTC(2022, 7, 3, 23, 25, 3));
  const { state } = await openServerState(
    {
      ...DEFAULT_SERVER_CONFIG,
      dataDir,
      scryptCost: 16,
      authRatePerIp: 0,
      requestRate: 0,
      ...config,
    },
    {
      store,
      blobs: await BlobStore.open(dataDir),
      hub: new LocalHub(),
      clock,
      log: { info() {}, warn() {}, error() {} },
    },
  );
  let port = 1000;
  return {
    state,
    clock,
    connect(ip = "127.0.0.1") {
      const output = new MemoryOutput();
      const client = new Client("tcp", ip, port++, output);
      const send = async (line: string) => {
        const index = output.replies.length;
        await dispatch(state, client, line);
        await client.repliesSent();
        return index;
      };
      return {
        client,
        output,
        async request(line) {
          return output.replies[await send(line)];
        },
        async pipeline(...lines) {
          const start = output.replies.length;
          for (const line of lines) await dispatch(state, client, line);
          await client.repliesSent();
          return output.replies.slice(start, start + lines.length);
        },
        async disconnect() {
          await output.close();
          await logOut(state, client);
        },
      };
    },
    async [Symbol.asyncDispose]() {
      await state.search?.close();
      await store.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
