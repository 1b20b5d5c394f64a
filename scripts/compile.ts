/**
 * `deno task compile [--target T]...`: builds `chat-server` and `chat-client` executables with
 * their permissions baked in, for several targets, into dist/.
 *
 * `deno compile` needs a `denort` base binary for each target, which it downloads. Where that is
 * impossible (an offline lab machine), set DENORT_BIN to a denort binary of the same Deno version:
 * the host target is then built from it. Without either, this fails and says so; `deno task
 * bundle` makes single-file scripts instead.
 * @module
 */

import { parseArgs } from "node:util";
import { PROGRAMS, UNSTABLE_FLAGS } from "./programs.ts";

/** Targets built by default. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** One `deno compile` invocation. */
export interface CompileStep {
  readonly program: string;
  readonly target: string;
  readonly args: readonly string[];
}

/**
 * The compile commands for these targets. With a DENORT_BIN only the host target can be built
 * (the base binary is for one platform), so other targets are refused.
 */
export function compilePlan(
  targets: readonly string[],
  denortBin: string | undefined,
  host: string,
): CompileStep[] {
  const chosen = targets.length > 0 ? targets : denortBin ? [host] : TARGETS;
  for (const target of chosen) {
    if (!TARGETS.includes(target) && target !== host) {
      throw new RangeError(`Unknown target "${target}"`);
    }
    if (denortBin && target !== host) {
      throw new RangeError(
        `DENORT_BIN builds only for this machine (${host}), not for "${target}"`,
      );
    }
  }
  return chosen.flatMap((target) =>
    PROGRAMS.map((p) => {
      const suffix = target.includes("windows") ? ".exe" : "";
      return {
        program: p.name,
        target,
        args: [
          "compile",
          ...UNSTABLE_FLAGS,
          ...p.runtime,
          ...p.permissions,
          "--target",
          target,
          "--output",
          `dist/${p.name}-${target}${suffix}`,
          p.entry,
        ],
      };
    })
  );
}

const OFFLINE = /dns error|failed to lookup|error sending request|download|connect/i;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string", multiple: true } },
  });
  const denortBin = Deno.env.get("DENORT_BIN");
  const host = Deno.build.target;
  let plan: CompileStep[];
  try {
    plan = compilePlan(values.target ?? [], denortBin, host);
  } catch (error) {
    console.error(`compile: ${error instanceof Error ? error.message : error}`);
    return 2;
  }
  if (denortBin) console.log(`Using denort base binary ${denortBin}`);
  await Deno.mkdir("dist", { recursive: true });
  for (const step of plan) {
    const out = await new Deno.Command(Deno.execPath(), { args: [...step.args], stderr: "piped" })
      .output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) {
      console.error(`compile: Cannot build ${step.program} for ${step.target}.`);
      if (!denortBin && OFFLINE.test(stderr)) {
        console.error(
          "deno compile downloads a denort base binary for each target, and this machine cannot reach it.\n" +
            `Set DENORT_BIN to a denort ${Deno.version.deno} binary for ${host} and run again, or use\n` +
            "`deno task bundle` for single-file scripts that run with `deno run`.",
        );
      } else {
        console.error(stderr.trim());
      }
      return 1;
    }
    console.log(`Built ${step.args.at(-2)}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
