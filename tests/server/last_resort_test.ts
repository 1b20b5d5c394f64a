import { assert, assertEquals, assertMatch } from "@std/assert";

const MODULE = new URL("../../lib/server/last_resort.ts", import.meta.url).href;

/** Runs a small program that throws in a timer and leaves a rejection unhandled. */
async function runFaulty(withNet: boolean): Promise<{ code: number; out: string }> {
  const program = `
    import { keepServing } from ${JSON.stringify(MODULE)};
    const log = {
      info: (l) => console.log(l),
      warn: (l) => console.log(l),
      error: (l) => console.log(l),
    };
    ${withNet ? "keepServing(log);" : ""}
    Promise.reject(new Error("nobody awaited this"));
    setTimeout(() => { throw new Error("thrown in a timer"); }, 10);
    setTimeout(() => console.log("still serving"), 100);
  `;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", program],
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code, out: new TextDecoder().decode(stdout) };
}

Deno.test("an uncaught error is logged with its stack and the server process carries on", async () => {
  const { code, out } = await runFaulty(true);
  assertEquals(code, 0);
  assertMatch(
    out,
    /Unhandled rejection, the server carries on: Error: nobody awaited this\n\s+at /,
  );
  assertMatch(out, /Uncaught error, the server carries on: Error: thrown in a timer/);
  assertMatch(out, /still serving/);
  // Without it the same program ends at the first one.
  const bare = await runFaulty(false);
  assert(bare.code !== 0);
  assert(!bare.out.includes("still serving"));
});
