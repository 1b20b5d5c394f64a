/**
 * One load receiver for every server: the native receiver (`bench/native/epoll_receiver.c`)
 * times a burst to `n - 1` clients of labchat's own protocol, of labchat's IRC gateway and of
 * ngircd, in turns, `rounds` times, each on a fresh server. The clients, the counting and the
 * timing are the same code for all three; only the sender speaks each one's protocol.
 * @module
 */

import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { type Row, startServer } from "../common.ts";
import { IrcLoadClient } from "../irc_load_client.ts";
import { buildNativeReceiver, NativeReceiver } from "../native_receiver.ts";
import { hasNgircd, startNgircd } from "../ngircd.ts";
import { broadcastMany } from "./fanout.ts";
import { sayMany } from "./irc.ts";

/** The channel the IRC runs say their lines in (labchat's broadcasts are said in it). */
const CHANNEL = "#lab";

/** A server to time: its port for the receiver and a sender of `count` stamped lines. */
interface Target {
  readonly label: string;
  readonly port: number;
  readonly irc: boolean;
  /** Connects the sender; returns how to send a burst and how to close it. */
  sender(): Promise<{ send(count: number): Promise<void>; close(): Promise<void> }>;
  stop(): Promise<void>;
}

async function labchatNative(): Promise<Target> {
  const server = await startServer(["--scrypt-cost", "2"]);
  return {
    label: "labchat, its own protocol",
    port: server.port,
    irc: false,
    async sender() {
      const sender = await ChatConnection.connect({ hostname: "127.0.0.1", port: server.port });
      await sender.request("REGISTER sender pw");
      return { send: (count) => broadcastMany(sender, count, "b"), close: () => sender.close() };
    },
    stop: () => server.stop(),
  };
}

function ircTarget(label: string, port: number, stop: () => Promise<void>): Target {
  return {
    label,
    port,
    irc: true,
    async sender() {
      const sender = await IrcLoadClient.join(port, "sender", false, CHANNEL);
      return { send: (count) => sayMany(sender, CHANNEL, count, "b"), close: () => sender.close() };
    },
    stop,
  };
}

async function labchatIrc(): Promise<Target> {
  const server = await startServer(["--irc-port", "0"]);
  return ircTarget("labchat, its IRC gateway", server.ircPort ?? 0, () => server.stop());
}

async function ngircd(): Promise<Target> {
  const ngircd = await startNgircd();
  return ircTarget("ngircd", ngircd.port, () => ngircd.stop());
}

/** Times one burst of `broadcasts` to `n - 1` receivers on a fresh `target`. */
async function timeBurst(
  binary: string,
  start: () => Promise<Target>,
  n: number,
  broadcasts: number,
  round: number,
): Promise<Row> {
  const target = await start();
  try {
    const sender = await target.sender();
    const receiver = await NativeReceiver.connect(
      binary,
      target.port,
      n - 1,
      target.irc ? CHANNEL : undefined,
    );
    try {
      await new Promise((r) => setTimeout(r, 500)); // let login notices settle
      const figures = await receiver.time(broadcasts, () => sender.send(broadcasts));
      return {
        scenario: `${target.label}: burst of ${broadcasts} to ${n - 1}, round ${round}`,
        figures,
      };
    } finally {
      await receiver.close();
      await sender.close();
    }
  } finally {
    await target.stop();
  }
}

/** `rounds` turns of labchat native, labchat IRC and ngircd (when installed), same receiver. */
export async function sameReceiver(n: number, broadcasts: number, rounds: number): Promise<Row[]> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-same-" });
  try {
    const binary = await buildNativeReceiver(dir);
    if (!binary) return [{ scenario: "same receiver", figures: { "skipped: no C compiler": 1 } }];
    const targets = [labchatNative, labchatIrc, ...(await hasNgircd() ? [ngircd] : [])];
    const rows: Row[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) {
        rows.push(await timeBurst(binary, target, n, broadcasts, round));
      }
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
