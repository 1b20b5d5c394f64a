/**
 * Search at scale: an index of N messages (broadcasts, private, rooms, posts) built as the
 * server's catch-up builds it, its size per message, and the latency of word and phrase queries
 * as a user with private messages, rooms and channels of their own asks them. Then the cost of
 * keeping up on a live server: MSG stored per second with searches running against it.
 * @module
 */

import { foldName } from "../../lib/protocol/names.ts";
import { type DocKind, SearchIndex } from "../../lib/search/search_index.ts";
import { parseSearch } from "../../lib/search/search_query.ts";
import { connectUsers, percentile, type Row, startServer } from "../common.ts";
import { fanout } from "./fanout.ts";

/** Words of a lab's chat: common ones, rarer ones, numbers. */
const COMMON = ["the", "is", "on", "lab", "link", "test", "loss", "ping", "node", "run"];
const RARE = [
  "iperf",
  "jitter",
  "bandwidth",
  "latency",
  "switch",
  "router",
  "vlan",
  "mtu",
  "tcpdump",
  "wireshark",
  "netem",
  "bufferbloat",
  "congestion",
  "throughput",
  "spectrum",
  "antenna",
];
const USERS = Array.from({ length: 200 }, (_, i) => `user${i}`);

/** A deterministic pseudo-random number generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(next: () => number): string {
  const words: string[] = [];
  const length = 6 + Math.floor(next() * 10);
  for (let i = 0; i < length; i++) {
    const pool = next() < 0.8 ? COMMON : RARE;
    words.push(
      next() < 0.1 ? String(Math.floor(next() * 1000)) : pool[Math.floor(next() * pool.length)],
    );
  }
  return words.join(" ");
}

/** Times `queries` runs of a query; p50 and p99 in ms. */
function time(index: SearchIndex, text: string, runs: number) {
  const query = parseSearch(text);
  const reader = { user: "user7", rooms: [1, 2, 3], channels: ["#networks"] };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    index.search(query.match, reader, {}, 21, 0);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5).toFixed(2), p99: percentile(times, 0.99).toFixed(2) };
}

/** The index of `messages` synthetic messages, and queries against it. */
export async function searchScale(messages: number): Promise<Row> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-search-" });
  const path = `${dir}/search.sqlite`;
  try {
    const index = new SearchIndex(path, foldName);
    const next = random(42);
    const kinds: DocKind[] = ["b", "p", "r", "t"];
    const start = performance.now();
    const batch = 10_000;
    for (let done = 0; done < messages; done += batch) {
      index.batch(() => {
        for (let i = done; i < Math.min(messages, done + batch); i++) {
          const kind = kinds[i % kinds.length];
          index.put({
            key: `${kind}:${i}`,
            kind,
            place: kind === "r" ? String(1 + (i % 50)) : kind === "t" ? "lab" : "",
            number: i,
            sender: USERS[i % USERS.length],
            peer: kind === "p" ? USERS[(i * 7) % USERS.length] : "",
            at: 1_700_000_000_000 + i * 1000,
            text: sentence(next),
          });
        }
      });
    }
    const buildSeconds = (performance.now() - start) / 1000;
    index.close();
    let bytes = 0;
    for await (const entry of Deno.readDir(dir)) {
      bytes += (await Deno.stat(`${dir}/${entry.name}`)).size;
    }
    const reopened = new SearchIndex(path, foldName);
    const word = time(reopened, "bufferbloat", 200);
    const two = time(reopened, "iperf jitter", 200);
    const prefix = time(reopened, "wire*", 200);
    const phrase = time(reopened, '"link loss"', 200);
    reopened.close();
    return {
      scenario: `search: index of ${messages} messages, queries as one user`,
      figures: {
        "build s": buildSeconds.toFixed(1),
        "indexed/s": Math.round(messages / buildSeconds),
        "bytes/message": Math.round(bytes / messages),
        "word p50/p99 ms": `${word.p50}/${word.p99}`,
        "two words p50/p99 ms": `${two.p50}/${two.p99}`,
        "prefix p50/p99 ms": `${prefix.p50}/${prefix.p99}`,
        "phrase p50/p99 ms": `${phrase.p50}/${phrase.p99}`,
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The cost of search on a live server: MSG stored per second on a server started with
 * `--no-search` and on one that indexes each message as it is stored, `rounds` pairs
 * interleaved (the machine's noise is larger than the cost; medians), then while a user
 * searches ten times a second; and how long the first search after the burst waits for the
 * index to catch up.
 */
export async function searchUnderLoad(messages: number, rounds = 3): Promise<Row> {
  const run = async (extra: string[], searchEveryMs: number | undefined) => {
    const server = await startServer(extra);
    try {
      const [a, b, c] = await connectUsers(server.port, 3, "s");
      const searchOn = !extra.includes("--no-search");
      if (searchOn) await c.request("SEARCH warmup");
      let stop = false;
      let searches = 0;
      const searcher = (async () => {
        while (searchEveryMs !== undefined && !stop) {
          await c.request("SEARCH message*");
          searches++;
          await new Promise((resolve) => setTimeout(resolve, searchEveryMs));
        }
      })();
      const start = performance.now();
      const acks: Promise<unknown>[] = [];
      for (let i = 0; i < messages; i++) {
        acks.push(a.request(`MSG s2 message ${i} about iperf`));
        if (acks.length >= 64) await acks.shift();
      }
      await Promise.all(acks);
      const storing = performance.now() - start;
      stop = true;
      await searcher;
      let catchUp = 0;
      if (searchOn) {
        const before = performance.now();
        await c.request("SEARCH iperf");
        catchUp = performance.now() - before;
      }
      await Promise.all([a.close(), b.close(), c.close()]);
      return { perSecond: Math.round(messages / (storing / 1000)), catchUp, searches };
    } finally {
      await server.stop();
    }
  };
  const without: number[] = [];
  const indexing: number[] = [];
  const catchUps: number[] = [];
  for (let i = 0; i < rounds; i++) {
    without.push((await run(["--no-search"], undefined)).perSecond);
    const indexed = await run([], undefined);
    indexing.push(indexed.perSecond);
    catchUps.push(indexed.catchUp);
  }
  const searching = await run([], 100);
  const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 0.5);
  return {
    scenario: `search: its cost beside MSG (${messages} private messages, ${rounds} pairs)`,
    figures: {
      "acks/s --no-search": median(without),
      "acks/s indexing": median(indexing),
      "indexing cost %": Math.round(100 * (1 - median(indexing) / median(without))),
      "first search after ms": Math.round(median(catchUps)),
      "acks/s, 10 searches/s": searching.perSecond,
      searches: searching.searches,
      "runs --no-search": without.join(" "),
      "runs indexing": indexing.join(" "),
    },
  };
}

/**
 * What indexing costs the broadcast fan-out: bursts of `broadcasts` to `n - 1` receivers on a
 * `--no-search` server and on one that indexes, `rounds` pairs interleaved (the machine's noise
 * is larger than the cost); medians of deliveries per second.
 */
export async function searchFanoutCost(
  n: number,
  broadcasts: number,
  rounds = 3,
): Promise<Row> {
  const burstRate = async (flags: string[]) => {
    const rows = await fanout(n, broadcasts, 0, 0, "tcp", flags);
    const burst = rows.find((row) => row.scenario.startsWith("broadcast burst"));
    return Number(burst?.figures["deliveries/s"] ?? 0);
  };
  const without: number[] = [];
  const indexing: number[] = [];
  for (let i = 0; i < rounds; i++) {
    without.push(await burstRate(["--no-search"]));
    indexing.push(await burstRate([]));
  }
  const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 0.5);
  return {
    scenario: `search: its cost beside the broadcast fan-out (${n - 1} receivers, ${rounds} pairs)`,
    figures: {
      "deliveries/s --no-search": median(without),
      "deliveries/s indexing": median(indexing),
      "indexing cost %": Math.round(100 * (1 - median(indexing) / median(without))),
      "runs --no-search": without.join(" "),
      "runs indexing": indexing.join(" "),
    },
  };
}
