/**
 * The fault suite, shortened for CI: each scenario once, with fewer users and shorter outages
 * than `deno task faults` (docs/PERFORMANCE.md has the table of 20 runs each). A run passes when
 * the checker (faults/checks.ts) finds nothing wrong.
 */
import { assertEquals } from "@std/assert";
import { partitionUnavailable, removeStaleRules } from "../../faults/rig.ts";
import { runScenario } from "../../faults/run.ts";
import { SCENARIOS } from "../../faults/scenarios.ts";

const partitionProblem = await partitionUnavailable();
if (partitionProblem) console.warn(`fault test "partition" skipped: ${partitionProblem}`);

for (const scenario of SCENARIOS) {
  Deno.test({
    name:
      `faults: ${scenario.name} (${scenario.summary}): nothing acknowledged lost, nothing refused done, one order, presence settles`,
    ignore: scenario.rig.partitionable === true && partitionProblem !== undefined,
    async fn() {
      await removeStaleRules();
      const { record, verdict } = await runScenario(scenario, {
        users: 8,
        rate: 5,
        outageMs: 5000,
        calmMs: 2000,
      });
      console.log(
        `${scenario.name}: ${verdict.acknowledged} acknowledged, ${verdict.refused} refused, ${verdict.unknown} unsure; presence settled ${record.convergedMs} ms after`,
      );
      assertEquals(verdict.violations.slice(0, 10), []);
      assertEquals(verdict.acknowledged > 0, true);
    },
  });
}
