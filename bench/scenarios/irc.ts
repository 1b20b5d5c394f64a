/**
 * Broadcast fan-out through IRC: one IRC client says lines in a channel, `n - 1` IRC clients in
 * it receive them. Run against labchat's gateway and against ngircd on the same machine with the
 * same load clients, so the figures compare. In `#lab` (the default) a line is a labchat
 * broadcast; in any other channel it is a channel message, as a generic IRC load generator sends.
 * @module
 */

import { isSampled, measureDeliveries, type Row, rssOf } from "../common.ts";
import { IrcLoadClient } from "../irc_load_client.ts";
import { labchatThenNgircd } from "../ngircd.ts";

/** IRC clients registering at once while the run sets up. */
const JOIN_BATCH = 50;

/** Says `count` lines in `channel`, as fast as the socket takes them or paced at `rate`/s. */
export async function sayMany(
  sender: IrcLoadClient,
  channel: string,
  count: number,
  tag: string,
  rate?: number,
) {
  const start = performance.now();
  const chunk = rate ? 1 : 50;
  for (let i = 0; i < count; i += chunk) {
    if (rate) {
      const wait = start + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    let lines = "";
    for (let j = i; j < Math.min(count, i + chunk); j++) {
      lines += `PRIVMSG ${channel} :${tag}${j} t=${performance.timeOrigin + performance.now()}\r\n`;
    }
    await sender.send(lines);
  }
}

/** The run against one server listening on `port`. */
async function runOn(
  label: string,
  port: number,
  pid: number,
  n: number,
  broadcasts: number,
  rate: number,
  seconds: number,
  channel: string,
): Promise<Row[]> {
  const baseRss = await rssOf(pid);
  const sender = await IrcLoadClient.join(port, "sender", false, channel);
  const receivers: IrcLoadClient[] = [];
  const started = performance.now();
  for (let i = 0; i < n - 1; i += JOIN_BATCH) {
    const batch = Array.from(
      { length: Math.min(JOIN_BATCH, n - 1 - i) },
      (_, j) => IrcLoadClient.join(port, `u${i + j}`, isSampled(i + j, n - 1), channel),
    );
    receivers.push(...await Promise.all(batch));
  }
  const joinSeconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // let JOIN notices settle
  const rss = await rssOf(pid);
  const rows: Row[] = [{
    scenario: `${label}: ${n} IRC clients in ${channel}`,
    figures: {
      "joined in s": +joinSeconds.toFixed(2),
      "server RSS MiB": +(rss / 1048576).toFixed(1),
      "RSS per client KiB": +((rss - baseRss) / n / 1024).toFixed(2),
    },
  }];
  const count = receivers.length;
  try {
    rows.push({
      scenario: `${label}: burst of ${broadcasts} to ${count} IRC receivers`,
      figures: await measureDeliveries(
        receivers,
        broadcasts,
        () => sayMany(sender, channel, broadcasts, "b"),
      ),
    });
    const total = Math.round(rate * seconds);
    rows.push({
      scenario: `${label}: ${rate}/s for ${seconds} s to ${count} IRC receivers`,
      figures: await measureDeliveries(
        receivers,
        total,
        () => sayMany(sender, channel, total, "p", rate),
      ),
    });
  } finally {
    await Promise.all([sender.close(), ...receivers.map((r) => r.close())]);
  }
  return rows;
}

/** labchat's IRC gateway, then ngircd (when installed), with `n` IRC clients each. */
export function ircFanout(
  n: number,
  broadcasts: number,
  rate: number,
  seconds: number,
  channel = "#lab",
): Promise<Row[]> {
  return labchatThenNgircd((label, port, pid) =>
    runOn(label, port, pid, n, broadcasts, rate, seconds, channel)
  );
}
