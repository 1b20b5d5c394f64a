import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { runClientScript } from "../client_helpers.ts";
import { expectReply, quit, startTestServer } from "../helpers.ts";
import { spawnServer } from "../../testing/server_process.ts";
import { makeCertificates } from "../tls_helpers.ts";

Deno.test("with a certificate the server speaks TLS; clients that trust its CA get in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-tls-" });
  try {
    const certs = await makeCertificates(dir);
    await using t = await startTestServer({ tlsCert: certs.cert, tlsKey: certs.key });
    const chat = await ChatConnection.connect({ port: t.port, tls: { caCerts: [certs.ca] } });
    await expectReply(chat, "REGISTER yoda wise@!man", 200, "Welcome to labchat, yoda!");
    await expectReply(chat, "BROADCAST over TLS", 200);

    // A client that does not trust the CA is refused during the handshake.
    await assertRejects(async () => {
      const untrusting = await ChatConnection.connect({ port: t.port, tls: {} });
      try {
        await untrusting.request("WHO");
      } finally {
        await untrusting.close();
      }
    });
    // Plain text to a TLS port gets nowhere and harms nothing.
    const plain = await ChatConnection.connect({ port: t.port });
    await plain.writeRaw(new TextEncoder().encode("WHO\n"));
    await plain.done;
    await expectReply(chat, "WHO", 200, "1 user online");

    // chat-client over TLS, trusting the test CA: log in as yoda and read the history.
    const historyOverTls = () =>
      runClientScript(
        [
          "localhost",
          String(t.port),
          "--tls",
          "--ca",
          certs.caFile,
          "--user",
          "yoda",
          "--exec",
          "HISTORY",
        ],
        [],
        { NO_COLOR: "1", LABCHAT_PASSWORD: "wise@!man" },
      );
    // A second session of yoda's beside the first one.
    const again = await historyOverTls();
    assertEquals(again.code, 0, again.lines.join("\n"));
    assert(again.stdout.some((l) => l.endsWith("; yoda; over TLS")));
    await quit(chat);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("chat-server --tls-cert/--tls-key serves TLS and says so at startup", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "labchat-tls-" });
  try {
    const certs = await makeCertificates(dataDir);
    await using server = await spawnServer(dataDir, [
      "--tls-cert",
      certs.certFile,
      "--tls-key",
      certs.keyFile,
    ]);
    assert(server.output[0].endsWith(", TLS)"), server.output[0]);
    const chat = await ChatConnection.connect({ port: server.port, tls: { caCerts: [certs.ca] } });
    await expectReply(chat, "MOTD", 200);
    await chat.close();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("certificate failures say what is wrong and exit 2, never 'connection lost'", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-tls-" });
  try {
    const certs = await makeCertificates(`${await Deno.makeTempDir({ dir })}`);
    const strangers = await makeCertificates(`${await Deno.makeTempDir({ dir })}`);
    const elsewhere = await makeCertificates(
      `${await Deno.makeTempDir({ dir })}`,
      "DNS:chat.example.org",
    );
    await using good = await startTestServer({ tlsCert: certs.cert, tlsKey: certs.key });
    await using misnamed = await startTestServer({
      tlsCert: elsewhere.cert,
      tlsKey: elsewhere.key,
    });
    await using plain = await startTestServer();
    const client = (port: number, ...extra: string[]) =>
      runClientScript(["127.0.0.1", String(port), "--tls", ...extra, "--exec", "WHO"], [], {
        NO_COLOR: "1",
      });
    const cases = [
      [await client(good.port, "--ca", strangers.caFile), /not signed by a trusted authority/],
      [await client(good.port), /not signed by a trusted authority \(give its CA with --ca FILE\)/],
      [await client(misnamed.port, "--ca", elsewhere.caFile), /not valid for this host name/],
      [await client(plain.port, "--ca", certs.caFile), /does not speak TLS on this port/],
    ] as const;
    for (const [run, reason] of cases) {
      assertEquals(run.code, 2, run.lines.join("\n"));
      assertEquals(run.stderr.length, 1, run.stderr.join("\n"));
      assertMatch(run.stderr[0], /^chat-client: Cannot connect to 127\.0\.0\.1:\d+: /);
      assertMatch(run.stderr[0], reason);
      assert(!run.lines.some((l) => /connection .* lost/i.test(l)));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
