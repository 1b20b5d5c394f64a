import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { compilePlan, TARGETS } from "../../scripts/compile.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("compile builds both programs for every target with least-privilege permissions", () => {
  const plan = compilePlan([], undefined, "x86_64-unknown-linux-gnu");
  assertEquals(plan.length, TARGETS.length * 2);
  const server = plan.find((s) =>
    s.program === "chat-server" && s.target === "x86_64-pc-windows-msvc"
  );
  if (!server) throw new Error("no chat-server step for windows");
  assert(server.args.includes("--allow-read=data,web/dist"), server.args.join(" "));
  assert(server.args.includes("--allow-write=data"));
  assert(!server.args.some((a) => a === "-A" || a === "--allow-all"));
  assertEquals(server.args.slice(-3), [
    "--output",
    "dist/chat-server-x86_64-pc-windows-msvc.exe",
    "server.ts",
  ]);
  const client = plan.find((s) => s.program === "chat-client");
  assert(client?.args.includes("--allow-write=downloads"));
});

Deno.test("with DENORT_BIN, compile builds for this machine only", () => {
  const host = "x86_64-unknown-linux-gnu";
  const plan = compilePlan([], "/opt/denort", host);
  assertEquals(plan.map((s) => s.target), [host, host]);
  assertThrows(() => compilePlan(["aarch64-apple-darwin"], "/opt/denort", host), RangeError);
  assertThrows(() => compilePlan(["mips-unknown-plan9"], undefined, host), RangeError);
});

Deno.test("bundle makes single-file server and client scripts that run", async () => {
  const outdir = await Deno.makeTempDir({ prefix: "labchat-bundle-" });
  try {
    const build = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "scripts/bundle.ts",
        "--outdir",
        outdir,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(build.success, new TextDecoder().decode(build.stderr));
    for (
      const [file, expected] of [["chat-server.js", /^labchat server/], [
        "chat-client.js",
        /^chat-client:/,
      ]] as const
    ) {
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--unstable-kv", "--unstable-net", `${outdir}/${file}`, "--help"],
        stdout: "piped",
      }).output();
      assert(run.success);
      assertMatch(new TextDecoder().decode(run.stdout), expected);
    }
  } finally {
    await Deno.remove(outdir, { recursive: true });
  }
});
