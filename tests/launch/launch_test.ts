import { assert, assertEquals, assertMatch } from "@std/assert";
import { join } from "node:path";
import { permissionsFor } from "../../lib/launch/permissions.ts";
import { launchArgs } from "../../scripts/launch.ts";
import { connect, expectReply, quit } from "../helpers.ts";
import { OutputLines } from "../../testing/output_lines.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("permissions are exactly the paths the flags name", () => {
  assertEquals(permissionsFor("server", ["--data", "/srv/lab", "--tls-cert", "c.pem"]), [
    "--allow-net",
    "--allow-sys=networkInterfaces",
    "--allow-env=LABCHAT_ADMIN_PASSWORD,LABCHAT_REDIS_PASSWORD,REDIS_DEBUG_MAINTENANCE,REDIS_EMIT_DIAGNOSTICS",
    "--allow-read=/srv/lab,c.pem,web/dist",
    "--allow-write=/srv/lab",
  ]);
  assertEquals(permissionsFor("server", []).filter((p) => p.startsWith("--allow-write")), [
    "--allow-write=data",
  ]);
  assert(permissionsFor("client", ["--downloads=/tmp/dl"]).includes("--allow-write=/tmp/dl"));
  // The client may use FFI (its batched UDP engine), and not when told to stay on Deno's
  // sockets; the server never.
  assertEquals(permissionsFor("client", []).filter((p) => p.startsWith("--allow-ffi")), [
    "--allow-ffi",
  ]);
  assert(
    !permissionsFor("client", ["--udp-engine", "deno"]).some((p) => p.startsWith("--allow-ffi")),
  );
  assert(!permissionsFor("server", []).some((p) => p.startsWith("--allow-ffi")));
  assertEquals(
    permissionsFor("admin", ["--data", "d", "user", "import", "creds.txt"]).join(" "),
    "--allow-read=d,creds.txt --allow-write=d",
  );
  for (const program of ["server", "client", "admin"] as const) {
    assert(!permissionsFor(program, []).some((p) => p === "-A" || p === "--allow-all"));
  }
});

Deno.test("deno task server runs on any --data directory, with access to that one only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-launch-" });
  const data = join(dir, "lab data");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "-q",
      "server",
      "--data",
      data,
      "--port",
      "0",
      "--http-port",
      "0",
      "--irc-port",
      "0",
      "--host",
      "127.0.0.1",
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = new OutputLines();
  const pumps = Promise.all([output.pump(child.stdout), output.pump(child.stderr)]);
  try {
    const started = await output.waitFor(/listening on /);
    assertMatch(started, /\(data: .*lab data\)$/);
    const port = Number(/:(\d+) /.exec(started)?.[1]);
    const yoda = await connect(port);
    await expectReply(yoda, "REGISTER yoda wise@!man", 200);
    await quit(yoda);
    assert((await Deno.stat(join(data, "labchat.kv"))).isFile);
    assert((await Deno.stat(join(data, "logs", "server.log"))).isFile);
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await pumps;
    output.end();
    await Deno.remove(dir, { recursive: true });
    assertEquals(status.code, 0, output.lines.join("\n"));
    assert(output.lines.includes("Server stopped (signal)"), output.lines.join("\n"));
  }
});

Deno.test("the launcher runs programs without prompts and with only the computed grants", () => {
  const args = launchArgs("server", ["--data", "/srv/lab"], ["--open-files-limit", "1024"]);
  assertEquals(args.slice(0, 2), ["run", "--no-prompt"]);
  assert(args.includes("--allow-write=/srv/lab"));
  assertEquals(
    args.filter((a) => a.startsWith("--allow-run")),
    [],
    "the program may not start others",
  );
  assertEquals(args.slice(-4), ["--open-files-limit", "1024", "--data", "/srv/lab"]);
  assert((args.at(-5) ?? "").endsWith("server.ts"));
});
