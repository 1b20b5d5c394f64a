/** The server's command line: the flags this round added, and the errors it gives. */
import { assertEquals, assertThrows } from "@std/assert";
import { parseServerArgs, SERVER_USAGE } from "../../lib/server/options.ts";

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

Deno.test("options: numbers are checked and stored in the config's units; the help shows defaults", () => {
  const config = configOf([
    "5000",
    "--lockout",
    "2.5",
    "--max-upload-mb",
    "2",
    "--idle-timeout",
    "0",
    "--request-rate",
    "7",
    "--no-irc",
    "-q",
    "--host",
    "127.0.0.1",
  ]);
  assertEquals(config.port, 5000);
  assertEquals(config.lockoutMs, 2500);
  assertEquals(config.maxUploadBytes, 2 * 1024 * 1024);
  assertEquals(config.idleTimeoutMs, 0);
  assertEquals([config.requestRate, config.authRatePerIp], [7, 50]);
  assertEquals([config.irc, config.verbose, config.hostname], [false, false, "127.0.0.1"]);
  assertThrows(
    () => configOf(["--port", "65536"]),
    RangeError,
    'Cannot use "65536" for --port: expected a number from 0 to 65535',
  );
  assertThrows(() => configOf(["--lockout", "0"]), RangeError, "--lockout");
  assertThrows(() => configOf(["--max-per-ip", " "]), RangeError, "--max-per-ip");
  assertThrows(() => configOf(["--scrypt-cost", "1000"]), RangeError, "a power of two");
  assertEquals(configOf(["--scrypt-cost", "1024"]).scryptCost, 1024);
  assertThrows(() => configOf(["--irc-server-name", "a b"]), RangeError, "letters, digits");
  assertThrows(() => configOf(["--no-such-flag"]), TypeError);
  assertThrows(() => configOf(["--tls-cert", "a.pem"]), TypeError, "--tls-key");
  const usage = SERVER_USAGE.split("\n");
  const line = (flag: string) => usage.find((l) => l.includes(`--${flag} `)) ?? "";
  assertEquals(
    line("port").trim(),
    "--port N                   TCP port; 0 lets the OS choose (default 4000)",
  );
  assertEquals(line("lockout").includes("SECS") && line("lockout").endsWith("(default 10)"), true);
  assertEquals(line("auth-rate").endsWith("(default: the connect rate)"), true);
});
