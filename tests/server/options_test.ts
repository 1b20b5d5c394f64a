/** The server's command line: the flags this round added, and the errors it gives. */
import { assertEquals, assertThrows } from "@std/assert";
import { parseServerArgs } from "../../lib/server/options.ts";

const noEnv = () => undefined;

/** The configuration the arguments give (not the help). */
function configOf(args: string[], env: (name: string) => string | undefined = noEnv) {
  const parsed = parseServerArgs(args, env);
  if (parsed.help) throw new Error("help asked");
  return parsed.config;
}

Deno.test("options: --no-search turns search off; it is on by default", () => {
  assertEquals(configOf([]).search, true);
  assertEquals(configOf(["--no-search"]).search, false);
});

Deno.test("options: a sentinel URL joins a cluster, with the password from the environment", () => {
  const env = (name: string) => name === "LABCHAT_REDIS_PASSWORD" ? "s3cret" : undefined;
  const config = configOf(
    ["--cluster", "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/labchat", "--cluster-acks", "1"],
    env,
  );
  assertEquals(config.cluster, "redis-sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26379/labchat");
  assertEquals(config.clusterAcks, 1);
  assertThrows(
    () => parseServerArgs(["--cluster", "redis-sentinel://10.0.0.1/labchat"], noEnv),
    RangeError,
    '--cluster: "10.0.0.1" is not HOST:PORT of a sentinel',
  );
  assertThrows(
    () => parseServerArgs(["--cluster-acks", "1"], noEnv),
    TypeError,
    "--cluster-acks counts Redis replicas of a cluster: give --cluster too",
  );
  assertThrows(
    () => parseServerArgs(["--cluster", "redis://h:6379", "--cluster-acks", "99"], noEnv),
    RangeError,
  );
});
