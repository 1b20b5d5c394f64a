/**
 * Broadcast fan-out timed by a native receiver (`bench/native/epoll_receiver.c`, built with the
 * machine's C compiler when there is one): the Deno load generator reads at most 128 sockets per
 * turn of its event loop, which adds its own wait to every latency; an epoll loop in C does not,
 * so this run says how much of the latency is the server's.
 * @module
 */

import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { type Row, rssOf, startServer } from "../common.ts";
import { broadcastMany } from "./fanout.ts";
import { buildNativeReceiver, NativeReceiver } from "../native_receiver.ts";

/** One sender over TCP, `n - 1` native receivers: a burst of `broadcasts`, then `rate`/s. */
export async function nativeFanout(
  n: number,
  broadcasts: number,
  rate: number,
  seconds: number,
): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-native-" });
  try {
    const binary = await buildNativeReceiver(dir);
    if (!binary) {
      return [{ scenario: `native receivers (${n})`, figures: { "skipped: no C compiler": 1 } }];
    }
    const server = await startServer(["--scrypt-cost", "2"]);
    try {
      const sender = await ChatConnection.connect({ hostname: "127.0.0.1", port: server.port });
      await sender.request("REGISTER sender pw");
      const count = n - 1;
      const receiver = await NativeReceiver.connect(binary, server.port, count);
      try {
        await new Promise((r) => setTimeout(r, 500)); // let login notices settle
        const rss = await rssOf(server.pid);
        const burst = await receiver.time(broadcasts, () => broadcastMany(sender, broadcasts, "b"));
        const total = Math.round(rate * seconds);
        const paced = await receiver.time(total, () => broadcastMany(sender, total, "p", rate));
        await sender.close();
        return [
          {
            scenario: `burst to ${count} native receivers`,
            figures: { broadcasts, ...burst, "server RSS MiB": +(rss / 1048576).toFixed(1) },
          },
          {
            scenario: `${rate} broadcasts/s for ${seconds} s to ${count} native receivers`,
            figures: paced,
          },
        ];
      } finally {
        await receiver.close();
      }
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
