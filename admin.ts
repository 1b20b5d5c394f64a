/**
 * Entry point of the operator tool: `deno task admin [--data DIR] <command>`.
 * @module
 */

import { type AdminIo, runAdmin } from "./lib/admin/admin_app.ts";
import { LineTerminal, type Terminal, TtyTerminal } from "./lib/cli/terminal.ts";

async function main(args: string[]): Promise<number> {
  let terminal: Terminal | undefined;
  const interactive = Deno.stdin.isTerminal();
  const io: AdminIo = {
    interactive,
    askPassword(prompt) {
      terminal ??= interactive ? new TtyTerminal() : LineTerminal.fromStdin();
      return terminal.ask(prompt, { mask: true });
    },
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  };
  try {
    return await runAdmin(args, io);
  } finally {
    terminal?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
