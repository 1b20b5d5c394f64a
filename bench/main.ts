/**
 * `deno task bench`: measures the server on loopback and prints a table (and writes JSON to
 * bench/results/). Every loop is bounded in count and time.
 *
 *   --clients 100,1000,5000  client counts for the fan-out and idle-connection runs
 *   --ws-clients 1000     clients of the fan-out run over the web client's WebSocket
 *   --irc-clients 1000    IRC clients of the fan-out run through the gateway (and ngircd)
 *   --irc-channel #lab    the channel of that run (#lab: broadcasts; another: channel messages)
 *   --irc-register 5000   IRC clients of the registration storm (labchat, then ngircd)
 *   --broadcasts 200      broadcasts per burst run
 *   --rate 500            broadcasts per second in the paced latency run
 *   --seconds 4           length of the paced run (and of the REGISTER flood)
 *   --messages 2000       private messages in the persistence run
 *   --logins 40           logins in the login-rate run (default scrypt cost)
 *   --attackers 200       connections in the REGISTER flood
 *   --file-mib 100        size of the forum upload/download file
 *   --p2p-mib 200         size of the peer-to-peer UDP transfer
 *   --cluster-clients 5000  receivers of the cluster run (1 node, then 2, sharing a Redis)
 *   --sessions-clients 2001  connections of the sessions run: one session each, then two each
 *   --search-messages 1000000  messages in the search index of the search run
 *   --web-online 1000     users online while the web page is measured in chromium
 *   --web-rate 250        messages per second the page is sent
 *   --web-seconds 60      for how long
 *   --web-history 10000   messages the page then scrolls back through
 *   --rounds 2            turns of each server in the same-receiver run
 *   --scenarios LIST      which to run (default all): io-turns, fanout, native, same-receiver, write-threads,
 *                         sessions, websocket, irc, irc-register, cluster, idle, rooms, persistence, logins,
 *                         round (request round trips, native and IRC beside ngircd),
 *                         register-flood, forum, p2p, search, web
 * @module
 */

import { parseArgs } from "node:util";
import type { Row } from "./common.ts";
import { clusterFanout } from "./scenarios/cluster.ts";
import { fanout } from "./scenarios/fanout.ts";
import { forumTransfer } from "./scenarios/forum.ts";
import { idleConnections } from "./scenarios/idle.ts";
import { ioTurns } from "./scenarios/io_turns.ts";
import { ircFanout } from "./scenarios/irc.ts";
import { ircRegister } from "./scenarios/irc_register.ts";
import { logins } from "./scenarios/logins.ts";
import { roundTrips } from "./scenarios/round_trip.ts";
import { nativeFanout } from "./scenarios/native_fanout.ts";
import { sameReceiver } from "./scenarios/same_receiver.ts";
import { p2pTransfer } from "./scenarios/p2p.ts";
import { netlabTransfers } from "./scenarios/netlab.ts";
import { p2pFloor } from "./scenarios/p2p_floor.ts";
import { persistence } from "./scenarios/persistence.ts";
import { registerFlood } from "./scenarios/register_flood.ts";
import { roomThroughput } from "./scenarios/rooms.ts";
import { searchFanoutCost, searchScale, searchUnderLoad } from "./scenarios/search.ts";
import { webPage } from "./scenarios/web_page.ts";
import { writeThreads } from "./scenarios/write_threads.ts";

const ROOT = new URL("../", import.meta.url).pathname;

const ALL =
  "io-turns,fanout,sessions,native,same-receiver,write-threads,websocket,irc,irc-register,cluster,idle,rooms,persistence,logins,round," +
  "register-flood,forum,p2p,search,web";

function printTable(rows: Row[]): void {
  for (const row of rows) {
    const figures = Object.entries(row.figures).map(([k, v]) => `${k}=${v}`).join("  ");
    console.log(`${row.scenario.padEnd(52)} ${figures}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      clients: { type: "string", default: "100,1000,5000" },
      "ws-clients": { type: "string", default: "1000" },
      "irc-clients": { type: "string", default: "1000" },
      "irc-channel": { type: "string", default: "#lab" },
      "irc-register": { type: "string", default: "5000" },
      "cluster-clients": { type: "string", default: "5000" },
      "sessions-clients": { type: "string", default: "2001" },
      broadcasts: { type: "string", default: "200" },
      rounds: { type: "string", default: "2" },
      rate: { type: "string", default: "500" },
      seconds: { type: "string", default: "4" },
      messages: { type: "string", default: "2000" },
      logins: { type: "string", default: "40" },
      attackers: { type: "string", default: "200" },
      "file-mib": { type: "string", default: "100" },
      "p2p-mib": { type: "string", default: "200" },
      "search-messages": { type: "string", default: "1000000" },
      "web-online": { type: "string", default: "1000" },
      "web-rate": { type: "string", default: "250" },
      "web-seconds": { type: "string", default: "60" },
      "web-history": { type: "string", default: "10000" },
      scenarios: { type: "string", default: ALL },
    },
  });
  const rows: Row[] = [];
  const wanted = new Set(values.scenarios.split(","));
  /** Runs one scenario, prints its rows at once; a failure is a row too, not the end of the run. */
  const run = async (name: string, scenario: () => Promise<Row | Row[]>) => {
    if (!wanted.has(name.split(" ")[0])) return;
    let result: Row[];
    try {
      const out = await scenario();
      result = Array.isArray(out) ? out : [out];
    } catch (error) {
      result = [{
        scenario: name,
        figures: { error: error instanceof Error ? error.message : String(error) },
      }];
    }
    printTable(result);
    rows.push(...result);
  };
  const clients = values.clients.split(",").map(Number);
  await run("io-turns", () => ioTurns(1000));
  for (const n of clients) {
    await run(
      `fanout with ${n} clients`,
      () => fanout(n, Number(values.broadcasts), Number(values.rate), Number(values.seconds)),
    );
  }
  // The same connections as one session each, then as people with two sessions each.
  for (const n of values["sessions-clients"].split(",").map(Number)) {
    for (const each of [1, 2]) {
      await run(
        `sessions fan-out with ${n} connections, ${each} per person`,
        () =>
          fanout(
            n,
            Number(values.broadcasts),
            Number(values.rate),
            Number(values.seconds),
            "tcp",
            [],
            each,
          ),
      );
    }
  }
  for (const n of clients) {
    await run(
      `native fan-out with ${n} clients`,
      () => nativeFanout(n, Number(values.broadcasts), Number(values.rate), Number(values.seconds)),
    );
  }
  await run(
    "same-receiver (labchat native, labchat IRC and ngircd timed by one receiver)",
    () => sameReceiver(1000, Number(values.broadcasts), Number(values.rounds)),
  );
  for (const n of clients) {
    await run(
      `write-threads with ${n} clients`,
      () => writeThreads(n, Number(values.rate), Number(values.seconds)),
    );
  }
  for (const n of values["ws-clients"].split(",").map(Number)) {
    await run(
      `websocket fan-out with ${n} clients`,
      () =>
        fanout(
          n,
          Number(values.broadcasts),
          Number(values.rate),
          Number(values.seconds),
          "websocket",
        ),
    );
  }
  for (const n of values["irc-clients"].split(",").map(Number)) {
    await run(
      `irc fan-out with ${n} clients`,
      () =>
        ircFanout(
          n,
          Number(values.broadcasts),
          Number(values.rate),
          Number(values.seconds),
          values["irc-channel"],
        ),
    );
  }
  for (const n of values["irc-register"].split(",").map(Number)) {
    await run(`irc-register of ${n} clients`, () => ircRegister(n));
  }
  for (const n of values["cluster-clients"].split(",").map(Number)) {
    await run(
      `cluster fan-out with ${n} clients`,
      () =>
        clusterFanout(n, Number(values.broadcasts), Number(values.rate), Number(values.seconds)),
    );
  }
  for (const n of clients) await run(`idle ${n} connections`, () => idleConnections(n));
  await run("rooms", () => roomThroughput(100, Number(values.messages)));
  await run("persistence", () => persistence(Number(values.messages)));
  await run("logins", () => logins(Number(values.logins)));
  await run("round trips", () => roundTrips());
  await run(
    "register-flood",
    () => registerFlood(Number(values.attackers), Math.max(4, Number(values.seconds) * 2)),
  );
  await run("forum transfer", () => forumTransfer(Number(values["file-mib"])));
  await run("p2p transfer", () => p2pTransfer(Number(values["p2p-mib"])));
  await run("p2p on the test bed", () => netlabTransfers(Number(values["p2p-mib"])));
  await run("p2p floor", () => p2pFloor(Number(values["p2p-mib"])));
  await run("search index", () => searchScale(Number(values["search-messages"])));
  await run("search under load", () => searchUnderLoad(Number(values.messages)));
  await run(
    "search beside the fan-out",
    () => searchFanoutCost(Number(values.clients.split(",")[0]), Number(values.broadcasts)),
  );
  await run(
    "web page",
    () =>
      webPage(
        Number(values["web-online"]),
        Number(values["web-rate"]),
        Number(values["web-seconds"]),
        Number(values["web-history"]),
      ),
  );
  await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
  const file = `${ROOT}bench/results/latest.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({ date: new Date().toISOString(), deno: Deno.version.deno, rows }, null, 2),
  );
  console.log(`Wrote ${file}`);
}
