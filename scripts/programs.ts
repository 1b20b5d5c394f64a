/**
 * The two programs labchat ships and the least-privilege permissions each runs with. Shared by
 * `deno task compile` and `deno task bundle` so the baked-in permissions match the tasks.
 * @module
 */

/** A shipped program. */
export interface Program {
  /** Output name: `chat-server`, `chat-client`. */
  readonly name: string;
  /** Entry module, relative to the repository root. */
  readonly entry: string;
  /** Deno permission flags baked into the binary, or needed to run the bundle. */
  readonly permissions: readonly string[];
}

/** The server and the client. */
export const PROGRAMS: readonly Program[] = [
  {
    name: "chat-server",
    entry: "server.ts",
    permissions: [
      "--allow-net",
      "--allow-read=data",
      "--allow-write=data",
      "--allow-env=LABCHAT_ADMIN_PASSWORD",
    ],
  },
  {
    name: "chat-client",
    entry: "client.ts",
    // Reads the files the user uploads or sends; writes only where downloads are saved.
    permissions: [
      "--allow-net",
      "--allow-read",
      "--allow-write=downloads",
      "--allow-env=NO_COLOR,LABCHAT_PASSWORD",
    ],
  },
];

/** Unstable APIs both programs use (Deno KV, UDP). */
export const UNSTABLE_FLAGS: readonly string[] = ["--unstable-kv", "--unstable-net"];
