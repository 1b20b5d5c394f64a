import { assert, assertEquals, assertRejects } from "@std/assert";
import { ChatConnection } from "../../lib/client/chat_connection.ts";
import { runClientScript } from "../client_helpers.ts";
import { expectReply, quit, startTestServer } from "../helpers.ts";
import { spawnServer } from "../process_helpers.ts";
import { makeCertificates } from "../tls_helpers.ts";

Deno.test("with a certificate the server speaks TLS; clients that trust its CA get in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "labchat-tls-" });
  try {
    const certs = await makeCertificates(dir);
    await using t = await startTestServer({ tlsCert: certs.cert, tlsKey: certs.key });
    const chat = await ChatConnection.connect({ port: t.port, tls: { caCerts: [certs.ca] } });
    await expectReply(chat, "REGISTER yoda wise", 200, "Welcome to labchat, yoda!");
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
        { NO_COLOR: "1", LABCHAT_PASSWORD: "wise" },
      );
    const run = await historyOverTls();
    assertEquals(run.code, 1, "yoda is still logged in on the first connection");
    assertEquals(run.stderr, ["yoda is already logged in elsewhere"]);
    await quit(chat);
    const again = await historyOverTls();
    assertEquals(again.code, 0, again.lines.join("\n"));
    assert(again.stdout.some((l) => l.endsWith("; yoda; over TLS")));
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
