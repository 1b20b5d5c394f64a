/**
 * What the fault suite needs on the machine: Debian's `redis-server` and `redis-sentinel`.
 * @module
 */

/** What is missing to run the suite, or `undefined`. */
export async function redisMissing(): Promise<string | undefined> {
  for (const tool of ["redis-server", "redis-sentinel"]) {
    try {
      await new Deno.Command(tool, { args: ["--version"], stdout: "null", stderr: "null" })
        .output();
    } catch {
      return `${tool} is not installed (apt-get install redis-server redis-sentinel)`;
    }
  }
  return undefined;
}
