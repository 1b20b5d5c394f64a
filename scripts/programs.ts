/**
 * The two programs labchat ships as executables and the permissions each runs with: those of
 * the launcher for their default directories (`data/`, `downloads/`), so `deno task compile`,
 * `deno task bundle` and `deno task server|client` cannot disagree.
 * @module
 */

import { permissionsFor, PROGRAM_SPECS, UNSTABLE_FLAGS } from "../lib/launch/permissions.ts";

/** A shipped program. */
export interface Program {
  /** Output name: `chat-server`, `chat-client`. */
  readonly name: string;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Deno permission flags baked into the binary, or needed to run the bundle. */
  readonly permissions: readonly string[];
  /** Runtime flags baked in likewise. */
  readonly runtime: readonly string[];
}

/** The server and the client, with the permissions for their default directories. */
export const PROGRAMS: readonly Program[] = [
  {
    name: "chat-server",
    entry: PROGRAM_SPECS.server.entry,
    permissions: ["--no-prompt", ...permissionsFor("server", [])],
    runtime: PROGRAM_SPECS.server.runtime ?? [],
  },
  {
    name: "chat-client",
    entry: PROGRAM_SPECS.client.entry,
    permissions: ["--no-prompt", ...permissionsFor("client", [])],
    runtime: PROGRAM_SPECS.client.runtime ?? [],
  },
];

export { UNSTABLE_FLAGS };
