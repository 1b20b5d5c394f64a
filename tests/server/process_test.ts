import { assert, assertEquals, assertMatch } from "@std/assert";
import { connect, dataDirWith, expectReply, quit } from "../helpers.ts";
import { spawnServer } from "../../testing/server_process.ts";

Deno.test("the server prints its real address and logs one line per command without passwords", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-proc-" });
  try {
    await using server = await spawnServer(dataDir);
    assertMatch(server.output[0], /^labchat server listening on 127\.0\.0\.1:\d+ \(data: /);
    const yoda = await connect(server.port);
    await expectReply(yoda, "REGISTER yoda wise@!man", 200);
    await expectReply(yoda, "WHO", 200);
    await server.waitForLine(/^yoda issued WHO command$/);
    await quit(yoda);
    await server.waitForLine(/^yoda logout$/);
    assertEquals(server.output.some((l) => l.includes("wise@!man")), false);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("SIGTERM tells clients, flushes and exits 0", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-proc-" });
  try {
    await using server = await spawnServer(dataDir, ["--quiet"]);
    const yoda = await connect(server.port);
    await expectReply(yoda, "REGISTER yoda password1", 200);
    await expectReply(yoda, "BROADCAST last words", 200);
    server.child.kill("SIGTERM");
    assertEquals(await yoda.waitForEvent((e) => e.type === "shutdown"), {
      type: "shutdown",
      text: "the server is about to shutdown ...",
    });
    await yoda.done;
    const status = await server.status;
    assertEquals(status.code, 0);
    assert(server.output.includes("Server stopped (signal)"), server.output.join("\n"));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("SHUTDOWN from an admin ends the process with status 0", async () => {
  const dataDir = await dataDirWith([{ name: "root", password: "root01", admin: true }]);
  try {
    await using server = await spawnServer(dataDir, ["--quiet"]);
    const root = await connect(server.port);
    await expectReply(root, "LOGIN root root01", 200, "Welcome to labchat, root! (admin)");
    await expectReply(root, "SHUTDOWN", 200, "OK");
    await root.waitForEvent((e) => e.type === "shutdown");
    await root.done;
    assertEquals((await server.status).code, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("every acknowledged broadcast survives SIGKILL during a burst", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-proc-" });
  try {
    let acknowledged: number[] = [];
    {
      await using server = await spawnServer(dataDir, ["--quiet"]);
      const yoda = await connect(server.port);
      await expectReply(yoda, "REGISTER yoda password1", 200);
      // Pipeline 400 broadcasts, kill the server part way, keep what was acknowledged.
      const replies = Array.from({ length: 400 }, (_, i) => yoda.request(`BROADCAST burst ${i}`));
      await replies[50];
      server.child.kill("SIGKILL");
      const settled = await Promise.allSettled(replies);
      acknowledged = settled.flatMap((r, i) =>
        r.status === "fulfilled" && r.value.code === 200 ? [i] : []
      );
      await yoda.close();
    }
    assert(acknowledged.length >= 51, `${acknowledged.length} acknowledged`);
    await using again = await spawnServer(dataDir, ["--quiet"]);
    const check = await connect(again.port);
    await expectReply(check, "LOGIN yoda password1", 200);
    const history = await expectReply(check, "HISTORY b limit 1000", 200);
    const stored = new Set(history.lines.slice(0, -1).map((l) => l.split("; ").at(-1)));
    for (const i of acknowledged) {
      assert(stored.has(`burst ${i}`), `burst ${i} was acknowledged but lost`);
    }
    await quit(check);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the admin password comes from a file or LABCHAT_ADMIN_PASSWORD, never the log", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-proc-" });
  try {
    await Deno.writeTextFile(`${dataDir}/admin.pw`, "from-file\n");
    {
      await using server = await spawnServer(dataDir, [
        "--admin-password-file",
        `${dataDir}/admin.pw`,
      ]);
      const lang = await connect(server.port);
      await expectReply(lang, "REGISTER lang lang-password", 200);
      await expectReply(lang, "SHUTDOWN from-env", 402, "Incorrect password");
      await expectReply(lang, "SHUTDOWN from-file", 200, "OK");
      await lang.done;
      assertEquals((await server.status).code, 0);
      assertEquals(server.output.some((l) => l.includes("from-file")), false);
    }
    await using server = await spawnServer(dataDir, [], { LABCHAT_ADMIN_PASSWORD: "from-env" });
    const lang = await connect(server.port);
    await expectReply(lang, "LOGIN lang lang-password", 200);
    await expectReply(lang, "SHUTDOWN from-env", 200, "OK");
    await lang.done;
    assertEquals((await server.status).code, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("bad server flags are reported with usage and status 2", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-proc-" });
  try {
    for (
      const args of [
        ["--port", "99999"],
        ["--tls-cert", "x.pem"],
        ["--frobnicate"],
        ["--admin-password-file", `${dataDir}/missing`],
        ["--cluster", "http://example.org:6379"],
        ["--node", "n1"],
      ]
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "server.ts",
          "--data",
          dataDir,
          ...args,
        ],
        cwd: new URL("../../", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 2, args.join(" "));
      assertMatch(new TextDecoder().decode(out.stderr), /^chat-server: /);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("out of file descriptors, the accept loop backs off and logs once, then recovers", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-proc-" });
  const held: Deno.TcpConn[] = [];
  try {
    // ulimit -n 100 and 150 connections: accept fails with EMFILE while they are held.
    await using server = await spawnServer(
      dataDir,
      ["--quiet", "--connect-rate", "0"],
      {},
      undefined,
      100,
    );
    for (let i = 0; i < 150; i++) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    await server.waitForLine(/Cannot accept connections/);
    await new Promise((r) => setTimeout(r, 2000));
    const complaints = server.output.filter((l) => /Cannot accept connections/.test(l));
    assert(complaints.length <= 2, `logged ${complaints.length} times:\n${complaints.join("\n")}`);
    for (const conn of held.splice(0)) conn.close();
    // With descriptors free again, a client is served.
    const late = await connect(server.port);
    await expectReply(late, "WHO", 200, "0 users online");
    await late.close();
  } finally {
    for (const conn of held) conn.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("--max-connections is lowered to fit the open-file limit, with a warning", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-proc-" });
  try {
    await using server = await spawnServer(dataDir, ["--quiet", "--open-files-limit", "200"]);
    await server.waitForLine(
      /Warning: --max-connections 10000 does not fit the open-file limit of 200; using 136/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
