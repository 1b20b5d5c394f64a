/**
 * The fault suite's checker: what a run must show, whatever the fault.
 *
 * - Every acknowledged message is in the history exactly once; nothing is there twice.
 * - No reply contradicts what happened: a message every try of which was told "not carried
 *   out" is nowhere (not in the history, not received by anyone).
 * - Live broadcasts, and live messages in the channel every user joins: every session receives
 *   them in one order (any two sessions agree on the order of what both received; numbers mostly
 *   increase, but one whose delivery was held up, its node cut off for a while, comes late rather
 *   than never), never one twice, and misses none acknowledged between the first and the last it
 *   received, but for the sessions of a node the cluster took for gone while they stayed
 *   connected to it (frozen, cut off from Redis): those miss what was said until the fault
 *   ended and a moment more (HISTORY has it).
 * - Every acknowledged private message reaches its recipient (live or offline), never twice in
 *   one session.
 * - WHO never lists a user twice; after the fault, every node's WHO matches who is logged in
 *   within 5 s.
 * @module
 */

import type {
  HistorySnapshot,
  ReceivedBroadcast,
  RunRecord,
  SentMessage,
  Session,
} from "./records.ts";

/** How long presence may take to settle after a fault, ms. */
export const CONVERGE_WITHIN_MS = 5000;

/** After a cut-off node is back, how long its users may still miss live broadcasts, ms. */
export const CUT_OFF_GRACE_MS = 2000;

/** One thing a run got wrong. */
export interface Violation {
  readonly kind:
    | "stored twice"
    | "acknowledged, lost"
    | "refused, then done"
    | "out of order"
    | "live broadcast missed"
    | "private message undelivered"
    | "delivered twice"
    | "two sessions"
    | "presence diverged";
  readonly detail: string;
}

/** What the checker found, with counts for the table. */
export interface Verdict {
  readonly violations: readonly Violation[];
  readonly acknowledged: number;
  readonly refused: number;
  readonly unknown: number;
  readonly deliveries: number;
}

const acknowledged = (m: SentMessage) => m.attempts.some((a) => a.outcome === "ok");
const refusedEveryTime = (m: SentMessage) =>
  m.attempts.length > 0 && m.attempts.every((a) => a.outcome === "not_done");

/** Checks a run against what the stores hold at its end. */
export function checkRun(run: RunRecord, history: HistorySnapshot): Verdict {
  const violations: Violation[] = [];
  const add = (kind: Violation["kind"], detail: string) => violations.push({ kind, detail });

  // The history: each text at most once; where each one is.
  const broadcastCount = countTexts(history.broadcasts);
  const channelCount = countTexts(history.channel);
  const sentCount = new Map<string, number>();
  for (const [owner, box] of history.mailboxes) {
    for (const m of box) {
      if (m.from === owner) sentCount.set(m.text, (sentCount.get(m.text) ?? 0) + 1);
    }
  }
  for (const [text, n] of [...broadcastCount, ...channelCount, ...sentCount]) {
    if (n > 1) add("stored twice", `"${text}" is in the history ${n} times`);
  }
  const countOf = { broadcast: broadcastCount, channel: channelCount, private: sentCount };

  // What was received, anywhere.
  const receivedBy = new Map<string, number>();
  let deliveries = 0;
  for (const s of run.sessions) {
    for (const r of [...s.broadcasts, ...s.privates, ...s.channel]) {
      receivedBy.set(r.text, (receivedBy.get(r.text) ?? 0) + 1);
      deliveries++;
    }
  }

  let acked = 0;
  let refused = 0;
  let unknown = 0;
  for (const m of run.messages) {
    const stored = countOf[m.kind].get(m.id) ?? 0;
    if (acknowledged(m)) {
      acked++;
      if (stored === 0) add("acknowledged, lost", `${m.kind} "${m.id}" was acknowledged`);
    } else if (refusedEveryTime(m)) {
      refused++;
      if (stored > 0) add("refused, then done", `${m.kind} "${m.id}" is in the history`);
      if ((receivedBy.get(m.id) ?? 0) > 0) {
        add("refused, then done", `${m.kind} "${m.id}" was received`);
      }
    } else {
      unknown++;
    }
  }

  // Live broadcasts and channel messages: in order, none acknowledged missed in a session's window.
  for (const kind of ["broadcast", "channel"] as const) {
    checkLive(run, kind, history[kind === "broadcast" ? "broadcasts" : "channel"], add);
  }

  // Private messages: each acknowledged one reaches its recipient, never twice in a session.
  for (const m of run.messages) {
    if (m.kind !== "private" || !acknowledged(m)) continue;
    let total = 0;
    for (const s of run.sessions) {
      if (s.user !== m.to) continue;
      const here = s.privates.filter((p) => p.text === m.id).length;
      if (here > 1) add("delivered twice", `${m.to} got "${m.id}" ${here} times on ${s.node}`);
      total += here;
    }
    if (total === 0) add("private message undelivered", `${m.to} never got "${m.id}"`);
  }

  // Presence: one session per user; converged after the fault.
  for (const sample of run.whoSamples) {
    const seen = new Set<string>();
    for (const user of sample.users) {
      if (seen.has(user)) {
        add("two sessions", `WHO on ${sample.node} listed ${user} twice`);
      }
      seen.add(user);
    }
  }
  if (run.convergedMs === undefined || run.convergedMs > CONVERGE_WITHIN_MS) {
    add(
      "presence diverged",
      run.convergedMs === undefined
        ? "WHO never matched who was logged in"
        : `WHO matched who was logged in only ${run.convergedMs} ms after the fault`,
    );
  }
  return { violations, acknowledged: acked, refused, unknown, deliveries };
}

function countTexts(messages: readonly ReceivedBroadcast[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const m of messages) count.set(m.text, (count.get(m.text) ?? 0) + 1);
  return count;
}

/**
 * One numbered stream (broadcasts, or the channel) as the sessions received it live: one order,
 * nothing twice, and nothing acknowledged missed between the first and the last a session got
 * (but by a cut-off node's sessions during the fault).
 */
function checkLive(
  run: RunRecord,
  kind: "broadcast" | "channel",
  stored: readonly ReceivedBroadcast[],
  add: (kind: Violation["kind"], detail: string) => void,
): void {
  const received = (s: Session) => kind === "broadcast" ? s.broadcasts : s.channel;
  const ackedAt = new Map<string, number>();
  for (const m of run.messages) {
    const ok = m.attempts.find((a) => a.outcome === "ok");
    if (m.kind === kind && ok) ackedAt.set(m.id, ok.at);
  }
  const missable = (node: string, text: string) => {
    const at = ackedAt.get(text) ?? 0;
    return node === run.cutOff && at >= run.faultStart && at <= run.faultEnd + CUT_OFF_GRACE_MS;
  };
  const positions = run.sessions.map((s) => new Map(received(s).map((b, i) => [b.number, i])));
  for (const [i, s] of run.sessions.entries()) {
    const mine = received(s);
    if (positions[i].size < mine.length) {
      add("delivered twice", `${s.user} on ${s.node} got a ${kind} message twice`);
    }
    for (let j = i + 1; j < run.sessions.length; j++) {
      const disagreement = firstDisagreement(mine.map((b) => b.number), positions[j]);
      if (disagreement) {
        const other = run.sessions[j];
        add(
          "out of order",
          `${s.user} on ${s.node} got ${kind} #${disagreement[0]} before #${
            disagreement[1]
          }, ${other.user} on ${other.node} the other way`,
        );
      }
    }
    const numbers = mine.map((b) => b.number);
    if (numbers.length < 2) continue;
    const [first, last] = [Math.min(...numbers), Math.max(...numbers)];
    const got = new Set(mine.map((b) => b.text));
    for (const b of stored) {
      if (
        b.number > first && b.number < last && b.from !== s.user && ackedAt.has(b.text) &&
        !got.has(b.text) && !missable(s.node, b.text)
      ) {
        add(
          "live broadcast missed",
          `${s.user} on ${s.node} missed ${kind} #${b.number} "${b.text}"`,
        );
      }
    }
  }
}

/**
 * The first pair of broadcasts that `sequence` has in one order and `other` (positions by
 * number) in the other, if any.
 */
function firstDisagreement(
  sequence: readonly number[],
  other: ReadonlyMap<number, number>,
): [number, number] | undefined {
  let previous: number | undefined;
  for (const number of sequence) {
    const position = other.get(number);
    if (position === undefined) continue;
    if (previous !== undefined && position < (other.get(previous) ?? -1)) return [previous, number];
    previous = number;
  }
  return undefined;
}
