/**
 * `deno task faults`: the cluster under ordinary faults, each scenario repeated, every run
 * checked (faults/checks.ts), and a table of what held.
 *
 *   --scenarios LIST   which (default all): node-kill, node-freeze, redis-term, redis-kill,
 *                      failover, partition (root and iptables; skipped otherwise)
 *   --reps N           runs of each (default 20)
 *   --users N          users sending (default 20)
 *   --rate N           requests per second of each user (default 5)
 *   --outage SECS      how long an outage lasts (default 6; a freeze and a partition at least 6)
 *   --calm SECS        load before the fault and after it (default 3)
 *
 * Exits 1 when any run broke a rule; every violation is printed.
 * @module
 */

import { parseArgs } from "node:util";
import { partitionUnavailable, removeStaleRules } from "./rig.ts";
import { runScenario } from "./run.ts";
import { SCENARIOS } from "./scenarios.ts";
import { redisMissing } from "./tools.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    scenarios: { type: "string", default: SCENARIOS.map((s) => s.name).join(",") },
    reps: { type: "string", default: "20" },
    users: { type: "string", default: "20" },
    rate: { type: "string", default: "5" },
    outage: { type: "string", default: "6" },
    calm: { type: "string", default: "3" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log(
    "deno task faults [--scenarios node-kill,...] [--reps 20] [--users 20] [--rate 5] [--outage 6] [--calm 3]",
  );
  Deno.exit(0);
}

const missing = await redisMissing();
if (missing) {
  console.error(`faults: ${missing}`);
  Deno.exit(2);
}
const wanted = values.scenarios.split(",").map((s) => s.trim()).filter((s) => s !== "");
for (const name of wanted) {
  if (!SCENARIOS.some((s) => s.name === name)) {
    console.error(`faults: no scenario ${name} (${SCENARIOS.map((s) => s.name).join(", ")})`);
    Deno.exit(2);
  }
}
await removeStaleRules();
const options = {
  users: Number(values.users),
  rate: Number(values.rate),
  outageMs: Number(values.outage) * 1000,
  calmMs: Number(values.calm) * 1000,
};
const reps = Number(values.reps);
const rows: string[][] = [];
let broken = 0;
for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.name))) {
  if (scenario.rig.partitionable) {
    const why = await partitionUnavailable();
    if (why) {
      console.log(`${scenario.name}: skipped (${why})`);
      continue;
    }
  }
  const unavailable: number[] = [];
  const converged: number[] = [];
  let acked = 0;
  let refused = 0;
  let unknown = 0;
  let failedRuns = 0;
  for (let rep = 1; rep <= reps; rep++) {
    const { record, verdict } = await runScenario(scenario, options);
    acked += verdict.acknowledged;
    refused += verdict.refused;
    unknown += verdict.unknown;
    if (record.unavailableMs !== undefined) unavailable.push(record.unavailableMs);
    converged.push(record.convergedMs ?? Infinity);
    const mark = verdict.violations.length === 0 ? "ok" : `${verdict.violations.length} violations`;
    console.log(
      `${scenario.name} #${rep}: ${mark}; ${verdict.acknowledged} acknowledged, ${verdict.refused} refused, ${verdict.unknown} unsure; writes back after ${
        ms(record.unavailableMs)
      }; presence settled ${ms(record.convergedMs)} after the fault`,
    );
    for (const v of verdict.violations.slice(0, 20)) console.log(`  ${v.kind}: ${v.detail}`);
    if (verdict.violations.length > 0) failedRuns++;
  }
  broken += failedRuns;
  rows.push([
    scenario.name,
    `${reps - failedRuns}/${reps}`,
    String(acked),
    String(refused),
    String(unknown),
    `${ms(median(unavailable))} / ${ms(Math.max(...unavailable))}`,
    `${ms(median(converged))} / ${ms(Math.max(...converged))}`,
  ]);
}

const header = [
  "scenario",
  "runs green",
  "acknowledged",
  "refused",
  "unsure",
  "writes back (median / max)",
  "presence settled (median / max)",
];
console.log(`\n| ${header.join(" | ")} |\n| ${header.map(() => "---").join(" | ")} |`);
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
Deno.exit(broken === 0 ? 0 : 1);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "never";
  return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}
