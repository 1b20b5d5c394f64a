/**
 * `deno task bundle [--outdir DIR]`: single-file scripts of the server and the client, the offline
 * fallback for `deno task compile`. Run them with the permissions it prints.
 * @module
 */

import { parseArgs } from "node:util";
import { PROGRAMS, UNSTABLE_FLAGS } from "./programs.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({ args: Deno.args, options: { outdir: { type: "string" } } });
  const outdir = values.outdir ?? "dist";
  await Deno.mkdir(outdir, { recursive: true });
  for (const p of PROGRAMS) {
    const output = `${outdir}/${p.name}.js`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "deno", "--output", output, p.entry],
      stderr: "piped",
    }).output();
    if (!out.success) {
      console.error(
        `bundle: Cannot bundle ${p.entry}:\n${new TextDecoder().decode(out.stderr).trim()}`,
      );
      return 1;
    }
    console.log(`Built ${output}; run it with:`);
    console.log(
      `  deno run ${[...UNSTABLE_FLAGS, ...p.runtime, ...p.permissions].join(" ")} ${output}`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
