/**
 * The README's commands, run as a newcomer would, from a copy of the repository: every
 * `npx -y deno@2.9.6 …` line in a `sh` block. Servers are started on port 0 and stopped once they
 * listen; `/tmp/…` paths are moved into the test's own directory, and the cluster's Redis is one
 * the test starts on a free port. Lines that need a person, a
 * network or minutes (the interactive client, compile, bench) are left out, and say why below.
 */
import { assert, assertEquals } from "@std/assert";
import { dirname, join } from "node:path";
import { OutputLines } from "../testing/output_lines.ts";
import { TestRedis } from "../testing/redis_server.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const NPX = "npx -y deno@2.9.6 ";

/** Commands not run here, and why. */
const LEFT_OUT: readonly [RegExp, string][] = [
  [/^task (ok|test)\b/, "this is that run"],
  [/^task (compile|bench|docs)\b/, "needs the internet, takes minutes, or rewrites the docs"],
  [/^task client(?!.*--help)/, "needs a person at a terminal and a server on port 4000"],
];

/** The README's commands, in order. */
async function readmeCommands(): Promise<string[]> {
  const text = await Deno.readTextFile(join(ROOT, "README.md"));
  const commands: string[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of block[1].split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      if (line.startsWith(NPX)) commands.push(line.slice(NPX.length));
    }
  }
  return commands;
}

/** Splits a command line into words, honouring double quotes. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** The repository's files (tracked, and new ones not ignored) copied into `dir`. */
async function copyRepository(dir: string): Promise<void> {
  const list = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  for (const file of new TextDecoder().decode(list.stdout).split("\0").filter((f) => f !== "")) {
    try {
      await Deno.mkdir(join(dir, dirname(file)), { recursive: true });
      await Deno.copyFile(join(ROOT, file), join(dir, file));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted in the work tree
    }
  }
}

/** Runs a command that starts a server until it listens, then stops it with SIGTERM. */
async function startAndStop(args: string[], cwd: string): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args, "--port", "0", "--http-port", "0", "--irc-port", "0", "--host", "127.0.0.1"],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = new OutputLines();
  const pumps = Promise.all([output.pump(child.stdout), output.pump(child.stderr)]);
  try {
    await output.waitFor(/labchat server listening on 127\.0\.0\.1:\d+ /, 20_000);
    if (args[0] === "task") {
      // `deno task server` builds and serves the web client: the page a newcomer opens.
      const url = /web client at (\S+)/.exec(await output.waitFor(/web client at /))?.[1] ?? "";
      const page = await fetch(url);
      const html = await page.text();
      assertEquals(page.status, 200, `${url}: ${html}`);
      assert(html.includes('<script type="module" src="app.js">'), html);
    }
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // it has ended by itself: its status and output say why
    }
    const status = await child.status;
    await pumps;
    output.end();
    assertEquals(status.code, 0, `${args.join(" ")}:\n${output.lines.join("\n")}`);
  }
  return output.lines;
}

Deno.test("every command the README gives works as written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-readme-" });
  const repo = join(dir, "labchat");
  let redis: TestRedis | undefined;
  try {
    await copyRepository(repo);
    const commands = await readmeCommands();
    let ran = 0;
    for (const command of commands) {
      if (LEFT_OUT.some(([pattern]) => pattern.test(command))) continue;
      let line = command.replaceAll(/\/tmp\/([\w-]+)/g, `${dir}/$1`);
      if (/--cluster redis:\/\/127\.0\.0\.1:6379\b/.test(line)) {
        redis ??= await TestRedis.start();
        line = line.replace("redis://127.0.0.1:6379", redis.url);
      }
      const args = words(line);
      const startsServer =
        (args[0] === "task" && args[1] === "server" && !args.includes("--help")) ||
        (args[0] === "run" && args.at(-1)?.endsWith("chat-server.js"));
      if (startsServer) {
        await startAndStop(args, repo);
      } else {
        const child = new Deno.Command(Deno.execPath(), {
          args,
          cwd: repo,
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // Commands that ask for a password read it from standard input.
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode("Readme-pw1\n"));
        await writer.close();
        const out = await child.output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assertEquals(out.code, 0, `${command}:\n${text}`);
      }
      ran++;
    }
    assert(ran >= 12, `only ${ran} of ${commands.length} commands ran`);
  } finally {
    await redis?.[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
});
