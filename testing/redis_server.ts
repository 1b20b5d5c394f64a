/**
 * A throwaway `redis-server` (Debian's package) for tests: on a free loopback port, with its
 * append-only file in a temp directory and `appendfsync always`, as docs/CLUSTER.md asks of a
 * real deployment. It can be stopped and started again on the same port and files.
 * @module
 */

/** A running (or stopped) test Redis. */
export class TestRedis implements AsyncDisposable {
  readonly port: number;
  readonly dir: string;
  /** Redis's `appendfsync`: `always` (the default here, as docs ask), `everysec` or `no`. */
  readonly fsync: string;
  /** More `redis-server` arguments (`--replicaof`, say). */
  readonly args: readonly string[];
  #child: Deno.ChildProcess | undefined;

  private constructor(port: number, dir: string, fsync: string, args: readonly string[]) {
    this.port = port;
    this.dir = dir;
    this.fsync = fsync;
    this.args = args;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a new, empty Redis, with more `redis-server` arguments if given. */
  static async start(
    fsync: "always" | "everysec" | "no" = "always",
    args: readonly string[] = [],
  ): Promise<TestRedis> {
    const dir = await Deno.makeTempDir({ prefix: "labchat-redis-" });
    const redis = new TestRedis(freePort(), dir, fsync, args);
    await redis.restart();
    return redis;
  }

  /** Starts the server again after {@linkcode stop} (same port, same data). */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("redis-server is running");
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        this.fsync,
        ...this.args,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        await conn.write(new TextEncoder().encode("PING\r\n"));
        const buffer = new Uint8Array(64);
        const n = await conn.read(buffer);
        conn.close();
        if (n !== null && new TextDecoder().decode(buffer.subarray(0, n)).startsWith("+PONG")) {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Whether the server process runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Sends a signal to the running server (SIGSTOP, SIGCONT). */
  signal(signal: Deno.Signal): void {
    this.#child?.kill(signal);
  }

  /** Stops the server (SIGKILL when `kill`, else SIGTERM) and waits for it to exit. */
  async stop(kill = false): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(kill ? "SIGKILL" : "SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop(true);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** A loopback port free right now. */
export function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}

/**
 * A Redis command over a fresh connection, in RESP, with the reply as text (tests' probes:
 * `INFO replication`, `SENTINEL ...`).
 */
export async function redisCommand(port: number, ...args: string[]): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const encoder = new TextEncoder();
    const parts = args.map((a) => `$${encoder.encode(a).length}\r\n${a}\r\n`);
    await conn.write(encoder.encode(`*${args.length}\r\n${parts.join("")}`));
    const buffer = new Uint8Array(65536);
    const n = await conn.read(buffer);
    return n === null ? "" : new TextDecoder().decode(buffer.subarray(0, n));
  } finally {
    conn.close();
  }
}
