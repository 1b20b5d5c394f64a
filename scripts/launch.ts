/**
 * `deno task server|client|admin [args]`: runs the program with exactly the permissions its
 * arguments need (the data directory it is given, the downloads directory, the files named),
 * without prompts, and passes signals and the exit status through.
 *
 * The launcher itself may start processes; the program it starts may not.
 * @module
 */

import {
  permissionsFor,
  PROGRAM_SPECS,
  type ProgramName,
  UNSTABLE_FLAGS,
} from "../lib/launch/permissions.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The soft open-file limit of this process (children inherit it), or `undefined`. */
async function openFilesLimit(): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" })
      .output();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    return out.success && Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined; // no sh (Windows): the server does without the check
  }
}

/**
 * Builds the web client into web/dist before the server starts, unless the server will not serve
 * it (`--no-http`) or is given its own files (`--web-root`). A failed build is reported and the
 * server starts anyway: chat over TCP does not need the page.
 */
async function buildWebClient(args: readonly string[]): Promise<void> {
  if (args.some((a) => a === "--no-http" || a === "--web-root" || a.startsWith("--web-root="))) {
    return;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${ROOT}web`,
      `--allow-write=${ROOT}web/dist`,
      `--allow-run=${Deno.execPath()}`,
      `${ROOT}scripts/build_web.ts`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    console.error(new TextDecoder().decode(out.stderr).trim());
    console.error("launch: The web client could not be built; the server starts without it");
  }
}

/** The `deno` arguments that run `program` with `args`: no prompts, exactly its permissions. */
export function launchArgs(
  program: ProgramName,
  args: readonly string[],
  extra: readonly string[] = [],
): string[] {
  return [
    "run",
    "--no-prompt",
    ...UNSTABLE_FLAGS,
    ...PROGRAM_SPECS[program].runtime ?? [],
    ...permissionsFor(program, args),
    `${ROOT}${PROGRAM_SPECS[program].entry}`,
    ...extra,
    ...args,
  ];
}

async function main([program, ...args]: string[]): Promise<number> {
  if (!(program in PROGRAM_SPECS)) {
    console.error(`launch: Unknown program "${program}": use server, client or admin`);
    return 2;
  }
  const name = program as ProgramName;
  const extra: string[] = [];
  if (name === "server") await buildWebClient(args);
  if (name === "server" && !args.some((a) => a.startsWith("--open-files-limit"))) {
    const limit = await openFilesLimit();
    if (limit !== undefined) extra.push("--open-files-limit", String(limit));
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: launchArgs(name, args, extra),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Ctrl+C reaches the whole process group; the program handles it, the launcher waits.
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? [] : ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((s) => [s, forward(s)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  const status = await child.status;
  for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  return status.signal ? 128 + (status.signal === "SIGINT" ? 2 : 15) : status.code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
