/**
 * ngircd (Debian's package) on a free loopback port with a temporary configuration, as the
 * yardstick of the IRC benches: no penalties, no connection caps, no DNS or ident look-ups.
 * @module
 */

import { type Row, startServer } from "./common.ts";

/** A running ngircd. */
export interface Ngircd {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Whether ngircd is installed. */
export async function hasNgircd(): Promise<boolean> {
  try {
    return (await new Deno.Command("ngircd", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts ngircd in the foreground; resolves once it accepts connections. */
export async function startNgircd(): Promise<Ngircd> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-ngircd-" });
  const port = freePort();
  const config = `${dir}/ngircd.conf`;
  await Deno.writeTextFile(
    config,
    `[Global]
Name = bench.ngircd
Info = bench
Listen = 127.0.0.1
Ports = ${port}
MotdPhrase = bench
PidFile = ${dir}/ngircd.pid
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
`,
  );
  const child = new Deno.Command("ngircd", {
    args: ["-n", "-f", config],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error("ngircd did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** One side of a comparison: the rows measured against the IRC server at `port` (process `pid`). */
export type IrcRun = (label: string, port: number, pid: number) => Promise<Row[]>;

/**
 * `run` against labchat's IRC gateway, then against ngircd with the same clients (a row says it
 * was skipped when ngircd is not installed).
 */
export async function labchatThenNgircd(run: IrcRun): Promise<Row[]> {
  const rows: Row[] = [];
  const server = await startServer(["--irc-port", "0"]);
  try {
    rows.push(...await run("labchat IRC", server.ircPort ?? 0, server.pid));
  } finally {
    await server.stop();
  }
  if (!(await hasNgircd())) {
    rows.push({ scenario: "ngircd", figures: { skipped: "not installed (apt install ngircd)" } });
    return rows;
  }
  const ngircd = await startNgircd();
  try {
    rows.push(...await run("ngircd", ngircd.port, ngircd.pid));
  } finally {
    await ngircd.stop();
  }
  return rows;
}
