/**
 * The fault suite's checker catches each kind of violation (and passes a clean run), so a green
 * fault run means something.
 */
import { assertEquals } from "@std/assert";
import { checkRun, type Violation } from "../../faults/checks.ts";
import type { HistorySnapshot, RunRecord, SentMessage, Session } from "../../faults/records.ts";

const at = 1_000_000;
const ok = (t = at) => ({ outcome: "ok" as const, at: t, reply: "200" });
const refused = { outcome: "not_done" as const, at, reply: "500 not carried out" };

function session(
  user: string,
  node: string,
  broadcasts: number[],
  privates: string[] = [],
  channel: number[] = [],
): Session {
  return {
    user,
    node,
    start: at,
    end: at + 10_000,
    broadcasts: broadcasts.map((n) => ({ number: n, text: `b${n}`, from: "x" })),
    privates: privates.map((text) => ({ text, from: "x", offline: false })),
    channel: channel.map((n) => ({ number: n, text: `c${n}`, from: "x" })),
  };
}

function run(
  messages: SentMessage[],
  sessions: Session[],
  extra: Partial<RunRecord> = {},
): RunRecord {
  return {
    scenario: "test",
    messages,
    sessions,
    whoSamples: [{ node: "a", at, users: ["u1", "u2"] }],
    faultStart: at + 1000,
    faultEnd: at + 2000,
    convergedMs: 300,
    ...extra,
  };
}

const broadcast = (n: number, ...attempts: SentMessage["attempts"]): SentMessage => ({
  id: `b${n}`,
  kind: "broadcast",
  from: "x",
  attempts,
});

/** A message to the run's channel, numbered in it. */
const said = (n: number, ...attempts: SentMessage["attempts"]): SentMessage => ({
  id: `c${n}`,
  kind: "channel",
  from: "x",
  attempts,
});

const history = (
  numbers: number[],
  mail: [string, string, string][] = [],
  channel: number[] = [],
): HistorySnapshot => ({
  broadcasts: numbers.map((n) => ({ number: n, text: `b${n}`, from: "x" })),
  channel: channel.map((n) => ({ number: n, text: `c${n}`, from: "x" })),
  mailboxes: new Map(
    ["x", "u1", "u2"].map((user) => [
      user,
      mail.filter(([from, to]) => from === user || to === user).map(([from, to, text]) => ({
        from,
        to,
        text,
      })),
    ]),
  ),
});

const kinds = (violations: readonly Violation[]) => [...new Set(violations.map((v) => v.kind))];

Deno.test("a clean run has no violations", () => {
  const verdict = checkRun(
    run(
      [broadcast(1, ok()), broadcast(2, ok()), broadcast(3, ok()), said(1, ok()), said(2, ok())],
      [
        session("u1", "a", [1, 2, 3], [], [1, 2]),
        session("u2", "b", [1, 2, 3], [], [1, 2]),
      ],
    ),
    history([1, 2, 3], [], [1, 2]),
  );
  assertEquals(verdict.violations, []);
  assertEquals(verdict.acknowledged, 5);
});

Deno.test("the checker catches each kind of violation", () => {
  const cases: [string, RunRecord, HistorySnapshot, Violation["kind"]][] = [
    ["lost", run([broadcast(1, ok())], []), history([]), "acknowledged, lost"],
    ["twice", run([broadcast(1, ok())], []), history([1, 1]), "stored twice"],
    ["refused yet stored", run([broadcast(1, refused)], []), history([1]), "refused, then done"],
    [
      "refused yet received",
      run([broadcast(1, refused)], [session("u1", "a", [1])]),
      history([]),
      "refused, then done",
    ],
    [
      "two orders",
      run([broadcast(1, ok()), broadcast(2, ok())], [
        session("u1", "a", [1, 2]),
        session("u2", "b", [2, 1]),
      ]),
      history([1, 2]),
      "out of order",
    ],
    [
      "missed",
      run([broadcast(1, ok()), broadcast(2, ok()), broadcast(3, ok())], [
        session("u1", "a", [1, 3]),
      ]),
      history([1, 2, 3]),
      "live broadcast missed",
    ],
    [
      "private undelivered",
      run([{ id: "p1", kind: "private", from: "x", to: "u1", attempts: [ok()] }], [
        session("u1", "a", []),
      ]),
      history([], [["x", "u1", "p1"]]),
      "private message undelivered",
    ],
    [
      "private twice",
      run([{ id: "p1", kind: "private", from: "x", to: "u1", attempts: [ok()] }], [
        session("u1", "a", [], ["p1", "p1"]),
      ]),
      history([], [["x", "u1", "p1"]]),
      "delivered twice",
    ],
    [
      "two sessions",
      run([], [], { whoSamples: [{ node: "a", at, users: ["u1", "u1"] }] }),
      history([]),
      "two sessions",
    ],
    ["never settled", run([], [], { convergedMs: undefined }), history([]), "presence diverged"],
    // The channel's messages are held to the same rules as broadcasts.
    ["channel: lost", run([said(1, ok())], []), history([]), "acknowledged, lost"],
    ["channel: twice", run([said(1, ok())], []), history([], [], [1, 1]), "stored twice"],
    [
      "channel: refused yet received",
      run([said(1, refused)], [session("u1", "a", [], [], [1])]),
      history([]),
      "refused, then done",
    ],
    [
      "channel: two orders",
      run([said(1, ok()), said(2, ok())], [
        session("u1", "a", [], [], [1, 2]),
        session("u2", "b", [], [], [2, 1]),
      ]),
      history([], [], [1, 2]),
      "out of order",
    ],
    [
      "channel: missed",
      run([said(1, ok()), said(2, ok()), said(3, ok())], [session("u1", "a", [], [], [1, 3])]),
      history([], [], [1, 2, 3]),
      "live broadcast missed",
    ],
    [
      "channel: a message twice in one session",
      run([said(1, ok()), said(2, ok())], [session("u1", "a", [], [], [1, 1, 2])]),
      history([], [], [1, 2]),
      "delivered twice",
    ],
  ];
  for (const [name, record, snapshot, kind] of cases) {
    assertEquals(kinds(checkRun(record, snapshot).violations), [kind], name);
  }
});

Deno.test("a node cut off from the cluster may miss what was said meanwhile, nothing else", () => {
  const messages = [broadcast(1, ok(at)), broadcast(2, ok(at + 1500)), broadcast(3, ok(at + 9000))];
  const sessions = [session("u1", "b", [1, 3])];
  assertEquals(
    checkRun(run(messages, sessions, { cutOff: "b" }), history([1, 2, 3])).violations,
    [],
  );
  assertEquals(
    kinds(checkRun(run(messages, sessions), history([1, 2, 3])).violations),
    ["live broadcast missed"],
  );
});
