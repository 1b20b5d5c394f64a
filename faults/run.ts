/**
 * One run of a fault scenario: the cluster, the users sending, the fault, presence watched until
 * it settles, the history read back, and the checker's verdict.
 * @module
 */

import { ChatConnection, type ChatReply } from "../lib/client/chat_connection.ts";
import { parseWhoEntry } from "../lib/protocol/replies.ts";
import { checkRun, type Verdict } from "./checks.ts";
import type { HistorySnapshot, ReceivedBroadcast, RunRecord, WhoSample } from "./records.ts";
import { ClusterRig } from "./rig.ts";
import type { Scenario } from "./scenarios.ts";
import { Workload } from "./workload.ts";

/** How a run goes. */
export interface RunOptions {
  /** Users sending (half on each node). */
  readonly users: number;
  /** Requests per second of each user. */
  readonly rate: number;
  /** How long the outage lasts, ms. */
  readonly outageMs: number;
  /** Load before the fault and after it, ms each. */
  readonly calmMs: number;
  /** Where progress is told (nothing by default). */
  readonly log?: (line: string) => void;
}

/** A run's record and verdict. */
export interface RunResult {
  readonly record: RunRecord;
  readonly verdict: Verdict;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An observer logged in on each node, asking WHO. */
class Watchers {
  readonly #rig: ClusterRig;
  readonly #tag: string;
  readonly #chats = new Map<string, ChatConnection>();

  constructor(rig: ClusterRig, tag: string) {
    this.#rig = rig;
    this.#tag = tag;
  }

  nameOf(node: string): string {
    return `${this.#tag}w${node}`;
  }

  /** WHO on every node that answers: its users, listed as often as WHO lists them. */
  async sample(register = false): Promise<WhoSample[]> {
    const samples: WhoSample[] = [];
    for (const node of this.#rig.nodeNames) {
      const port = this.#rig.port(node);
      if (port === undefined) continue;
      let chat = this.#chats.get(node);
      if (!chat || chat.isClosed) {
        chat = await ChatConnection.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
        if (!chat) continue;
        const verb = register ? "REGISTER" : "LOGIN";
        const name = this.nameOf(node);
        const reply = await timed(chat.request(`${verb} ${name} ${name}-secret`), 3000);
        if (reply?.code !== 200) {
          chat.close();
          await chat.done.catch(() => {});
          continue;
        }
        this.#chats.set(node, chat);
      }
      const who = await timed(chat.request("WHO"), 3000);
      if (!who?.ok) {
        if (!who) chat.close();
        continue;
      }
      const users = who.lines.flatMap((line) => parseWhoEntry(line)?.user ?? []);
      samples.push({ node, at: Date.now(), users });
    }
    return samples;
  }

  /** The watchers logged in now. */
  loggedIn(): string[] {
    return [...this.#chats].filter(([, chat]) => !chat.isClosed).map(([node]) => this.nameOf(node));
  }

  async close(): Promise<void> {
    for (const chat of this.#chats.values()) chat.close();
    await Promise.all([...this.#chats.values()].map((chat) => chat.done.catch(() => {})));
  }
}

function timed<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.catch(() => undefined),
    new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms)),
  ]).finally(() => clearTimeout(timer));
}

/** Reads a whole log through HISTORY pages (`target`: `b`, `p` or a channel). */
async function readAll(
  ask: (line: string) => Promise<ChatReply | undefined>,
  target: string,
): Promise<string[]> {
  const lines: string[] = [];
  let before: number | undefined;
  while (true) {
    const line = before === undefined
      ? `HISTORY ${target} limit 1000`
      : `HISTORY ${target} before ${before} limit 1000`;
    const reply = await ask(line);
    if (!reply?.ok) throw new Error(`${line}: ${reply?.text ?? "no reply"}`);
    const page = reply.lines.slice(0, -1).filter((l) => /^\d+; /.test(l));
    lines.unshift(...page);
    if (page.length < 1000) return lines;
    before = Number(page[0].split(";")[0]);
  }
}

/** Every numbered message of a log: broadcasts, or what was said in a channel. */
async function numbered(workload: Workload, target: string): Promise<ReceivedBroadcast[]> {
  const out: ReceivedBroadcast[] = [];
  for (const line of await readAll((l) => workload.ask(l), target)) {
    const m = /^(\d+); [^;]+; ([^;]+); (.*)$/.exec(line);
    if (m) out.push({ number: Number(m[1]), from: m[2], text: m[3] });
  }
  return out;
}

/** What the stores hold: every broadcast, the channel, and every user's mailbox. */
async function snapshot(workload: Workload): Promise<HistorySnapshot> {
  const broadcasts = await numbered(workload, "b");
  const channel = await numbered(workload, workload.channel);
  const mailboxes = new Map<string, { from: string; to: string; text: string }[]>();
  for (const name of workload.names) {
    const box: { from: string; to: string; text: string }[] = [];
    for (const line of await readAll((l) => workload.ask(l, name), "p")) {
      const m = /^\d+; [^;]+; (\S+) -> (\S+); (.*)$/.exec(line);
      if (m) box.push({ from: m[1], to: m[2], text: m[3] });
    }
    mailboxes.set(name, box);
  }
  return { broadcasts, channel, mailboxes };
}

/**
 * Runs `scenario` once: the users send for `calmMs`, the fault, `calmMs` more, then everything
 * of unknown fate is settled, everyone logs in again and the history is checked.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const log = options.log ?? (() => {});
  await using rig = await ClusterRig.start(scenario.rig);
  const tag = `f${crypto.randomUUID().slice(0, 4)}`;
  const workload = await Workload.register(rig, { users: options.users, rate: options.rate, tag });
  const watchers = new Watchers(rig, tag);
  const whoSamples: WhoSample[] = [...await watchers.sample(true)];
  let sampling = true;
  let faultEnd = Infinity;
  let convergedMs: number | undefined;
  let matches = 0;
  const watching = (async () => {
    while (sampling) {
      const samples = await watchers.sample();
      whoSamples.push(...samples);
      if (Date.now() > faultEnd && convergedMs === undefined) {
        const expected = new Set([...workload.loggedIn().keys(), ...watchers.loggedIn()]);
        const running = rig.nodeNames.filter((n) => rig.port(n) !== undefined);
        const agree = samples.length === running.length &&
          samples.every((s) =>
            s.users.length === expected.size && s.users.every((u) => expected.has(u))
          );
        matches = agree ? matches + 1 : 0;
        if (matches === 2) convergedMs = Math.max(0, samples[0].at - faultEnd);
      }
      await sleep(250);
    }
  })();
  try {
    workload.start();
    await sleep(options.calmMs);
    log(`${scenario.name}: fault`);
    const times = await scenario.fault(rig, options.outageMs);
    faultEnd = times.end;
    log(`${scenario.name}: fault over after ${times.end - times.start} ms`);
    await sleep(options.calmMs);
    workload.settleUntil(Date.now() + 20_000);
    await workload.stop();
    // Presence has until now plus a while to settle.
    const settleBy = Date.now() + 15_000;
    while (convergedMs === undefined && Date.now() < settleBy) await sleep(250);
    sampling = false;
    await watching;
    await workload.reconnectAll(20_000);
    await sleep(1000); // offline messages handed over at login
    const history = await snapshot(workload);
    const record: RunRecord = {
      scenario: scenario.name,
      messages: workload.messages,
      sessions: workload.sessions,
      whoSamples,
      faultStart: times.start,
      faultEnd,
      cutOff: scenario.cutOff,
      convergedMs,
      unavailableMs: unavailable(workload, times.start),
    };
    return { record, verdict: checkRun(record, history) };
  } finally {
    sampling = false;
    await watching.catch(() => {});
    await watchers.close();
    await workload.close();
  }
}

/** From the fault's start to the first success after the first failure (0 if none failed). */
function unavailable(workload: Workload, start: number): number {
  const after = workload.messages.flatMap((m) => m.attempts).filter((a) => a.at >= start)
    .sort((a, b) => a.at - b.at);
  const firstFailure = after.find((a) => a.outcome !== "ok");
  if (!firstFailure) return 0;
  const back = after.find((a) => a.at > firstFailure.at && a.outcome === "ok");
  return back ? back.at - start : Infinity;
}
