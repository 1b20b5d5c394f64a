/**
 * Failed logins count per account and source address (OWASP's advice): a stranger guessing
 * from elsewhere cannot keep the owner out, and one address guessing many accounts is slowed.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { HashQueue } from "../../lib/auth/hash_queue.ts";
import { Reply, Text } from "../../lib/protocol/codes.ts";
import { ProtocolError } from "../../lib/protocol/protocol_error.ts";
import { AccountService } from "../../lib/server/services/accounts.ts";
import { ManualClock } from "../../lib/server/services/clock.ts";
import { openKvStore } from "../../lib/store/kv_store.ts";
import {
  connect,
  expectReply,
  quit,
  registered,
  startTestServer,
  TEST_SCRYPT_COST,
} from "../helpers.ts";

const OWNER = "10.0.0.5";
const STRANGER = "198.51.100.7";

async function withAccounts(
  fn: (accounts: AccountService, clock: ManualClock) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "labchat-lockout-" });
  const { store } = await openKvStore(dir);
  try {
    const clock = new ManualClock();
    const hashes = new HashQueue(2, {
      verify: { running: 2, waiting: 64 },
      create: { running: 1, waiting: 64 },
    });
    const policy = {
      maxFailures: 3,
      lockoutMs: 10_000,
      scryptCost: TEST_SCRYPT_COST,
      registration: true,
      minPasswordLength: 8,
    };
    const { accounts } = await AccountService.open(store, hashes, policy, clock, []);
    await accounts.register("yoda", "wise@!man-1");
    await fn(accounts, clock);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The reply a refused login gets: its code and all its lines. */
async function refusal(attempt: Promise<unknown>): Promise<[number, string[]]> {
  const error = await assertRejects(() => attempt, ProtocolError);
  return [error.code, [...error.before, error.message]];
}

Deno.test("a stranger's wrong passwords block that stranger's address, never the owner's", async () => {
  await withAccounts(async (accounts) => {
    assertEquals(await refusal(accounts.authenticate("yoda", "guess1", STRANGER)), [
      Reply.WRONG_CREDENTIALS,
      [Text.INVALID_PASSWORD],
    ]);
    await refusal(accounts.authenticate("yoda", "guess2", STRANGER));
    // The seeds' texts for the address that failed, with how long the block lasts.
    assertEquals(await refusal(accounts.authenticate("yoda", "guess3", STRANGER)), [
      Reply.ACCOUNT_NOW_BLOCKED,
      ["Blocked for 10 seconds", Text.ACCOUNT_NOW_BLOCKED],
    ]);
    assertEquals(await refusal(accounts.authenticate("yoda", "wise@!man-1", STRANGER)), [
      Reply.ACCOUNT_BLOCKED,
      ["Still blocked for 10 seconds", Text.ACCOUNT_BLOCKED],
    ]);
    // The owner, from their own address, gets in every time while the stranger keeps guessing.
    for (let i = 0; i < 20; i++) {
      await refusal(accounts.authenticate("yoda", `guess-${i}`, STRANGER));
      assertEquals((await accounts.authenticate("yoda", "wise@!man-1", OWNER)).name, "yoda");
    }
  });
});

Deno.test("one address guessing many accounts is blocked itself; the block runs out", async () => {
  await withAccounts(async (accounts, clock) => {
    for (const name of ["anna", "bert", "carl", "dora", "emil"]) {
      await accounts.register(name, `${name}-password`);
    }
    // Two tries at each of many names stay under each account's limit of three...
    for (const name of ["anna", "bert", "carl", "dora", "emil", "fred", "gina"]) {
      await refusal(accounts.authenticate(name, "123456", STRANGER));
      await refusal(accounts.authenticate(name, "password", STRANGER));
    }
    // ...but not under the address's (five times that).
    await refusal(accounts.authenticate("yoda", "letmein", STRANGER));
    const [code, lines] = await refusal(accounts.authenticate("yoda", "wise@!man-1", STRANGER));
    assertEquals(code, Reply.ACCOUNT_BLOCKED);
    assertEquals(lines, ["Too many failed logins from your address; try again in 10 seconds"]);
    assertEquals((await accounts.authenticate("yoda", "wise@!man-1", OWNER)).name, "yoda");
    clock.advance(10_001);
    assertEquals((await accounts.authenticate("yoda", "wise@!man-1", STRANGER)).name, "yoda");
  });
});

Deno.test("new passwords are at least 8 characters unless the operator says otherwise", async () => {
  await using t = await startTestServer();
  const chat = await registered(t.port, "yoda");
  const hans = await connect(t.port);
  await expectReply(hans, "REGISTER hans short", 414, "Password must be at least 8 characters");
  await hans.close();
  await expectReply(
    chat,
    "PASSWD yoda-secret 1234567",
    414,
    "Password must be at least 8 characters",
  );
  // Long passwords (a password manager's) are fine, up to 1024 characters.
  await expectReply(chat, `PASSWD yoda-secret ${"x".repeat(1024)}`, 200, "Password changed");
  await quit(chat);
  await using lax = await startTestServer({ minPasswordLength: 1 });
  const mike = await registered(lax.port, "mike");
  await expectReply(mike, "PASSWD mike-secret a", 200);
  await quit(mike);
});
