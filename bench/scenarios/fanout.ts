/**
 * Broadcast fan-out: deliveries per second and latency, bursts and a paced rate.
 * @module
 */

import { ChatConnection } from "../../lib/client/chat_connection.ts";
import {
  isSampled,
  measureDeliveries,
  REGISTER_BATCH,
  type Row,
  rssOf,
  startServer,
} from "../common.ts";
import { LoadClient, type Receiver } from "../load_client.ts";
import { WsLoadClient } from "../ws_load_client.ts";

/** Sends `count` broadcasts from `sender`, pipelined (64 in flight) or paced at `rate` per second. */
export async function broadcastMany(
  sender: ChatConnection,
  count: number,
  tag: string,
  rate?: number,
): Promise<void> {
  const start = performance.now();
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    if (rate) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    acks.push(
      sender.request(`BROADCAST ${tag}${i} t=${performance.timeOrigin + performance.now()}`),
    );
    if (acks.length >= 64) await acks.shift();
  }
  await Promise.all(acks);
}

/**
 * One sender over TCP and `n - 1` receivers over TCP or the web client's WebSocket: memory per
 * connection, a burst of `broadcasts`, then `rate` per second for `seconds` (none when 0).
 * `serverFlags` go to the server as they are. With `sessionsEach` above 1 (TCP only), the
 * receivers are people with that many sessions each (one registers, the others log in).
 */
export async function fanout(
  n: number,
  broadcasts: number,
  rate: number,
  seconds: number,
  over: "tcp" | "websocket" = "tcp",
  serverFlags: string[] = [],
  sessionsEach = 1,
): Promise<Row[]> {
  // scrypt N=2: registering thousands of users must not be what the RSS figure measures.
  const server = await startServer([
    "--scrypt-cost",
    "2",
    ...(over === "tcp" ? [] : ["--http-port", "0"]),
    ...serverFlags,
  ]);
  const people = sessionsEach > 1
    ? ` (${Math.ceil((n - 1) / sessionsEach)} people, ${sessionsEach} sessions each)`
    : "";
  const via = (over === "tcp" ? "" : " over WebSocket") + people;
  try {
    const baseRss = await rssOf(server.pid);
    const sender = await ChatConnection.connect({ hostname: "127.0.0.1", port: server.port });
    await sender.request("REGISTER sender pw");
    const receivers: Receiver[] = [];
    const join = (name: string, sample: boolean, login: boolean): Promise<Receiver> =>
      over === "tcp"
        ? LoadClient.register(server.port, name, sample, "602", login)
        : WsLoadClient.register(server.webPort ?? 0, name, sample);
    const storm = performance.now();
    // Each person's first session in one pass, their further sessions in the next ones.
    const people = Math.ceil((n - 1) / sessionsEach);
    for (let round = 0; round < sessionsEach; round++) {
      const start = round * people;
      const end = Math.min(n - 1, start + people);
      for (let i = start; i < end; i += REGISTER_BATCH) {
        const batch = Array.from(
          { length: Math.min(REGISTER_BATCH, end - i) },
          (_, j) => join(`u${i + j - start}`, isSampled(i + j, n - 1), round > 0),
        );
        receivers.push(...await Promise.all(batch));
      }
    }
    const stormSeconds = (performance.now() - storm) / 1000;
    await new Promise((r) => setTimeout(r, 2000)); // 2 s after the storm, as the memory target says
    const rss = await rssOf(server.pid);
    const rows: Row[] = [{
      scenario: `${n} logged in${via} (RSS high-water after the login storm)`,
      figures: {
        "logins s": +stormSeconds.toFixed(2),
        "server RSS MiB": +(rss / 1048576).toFixed(1),
        "RSS per connection KiB": +((rss - baseRss) / n / 1024).toFixed(2),
      },
    }];
    const receiversCount = receivers.length;

    // Burst: as fast as one sender can pipeline them.
    const burst = await measureDeliveries(
      receivers,
      broadcasts,
      () => broadcastMany(sender, broadcasts, "b"),
    );
    rows.push({
      scenario: `broadcast burst to ${receiversCount} receivers${via}`,
      figures: {
        broadcasts,
        ...burst,
        "server RSS MiB": +((await rssOf(server.pid)) / 1048576).toFixed(1),
      },
    });

    // Paced: a steady rate, for latency.
    const total = Math.round(rate * seconds);
    if (total > 0) {
      rows.push({
        scenario: `${rate} broadcasts/s for ${seconds} s to ${receiversCount} receivers${via}`,
        figures: await measureDeliveries(
          receivers,
          total,
          () => broadcastMany(sender, total, "p", rate),
        ),
      });
    }
    await Promise.all([sender.close(), ...receivers.map((r) => r.close())]);
    return rows;
  } finally {
    await server.stop();
  }
}
