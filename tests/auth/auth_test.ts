import { assertEquals, assertNotEquals } from "@std/assert";
import { isLockedOut, NO_FAILURES, recordFailure } from "../../lib/auth/lockout.ts";
import { hashPassword, passwordProblem, verifyPassword } from "../../lib/auth/password.ts";

Deno.test("hashPassword salts each hash and verifyPassword checks it", async () => {
  const a = await hashPassword("wise@!man", 1024);
  const b = await hashPassword("wise@!man", 1024);
  assertNotEquals(a.salt, b.salt);
  assertNotEquals(a.hash, b.hash);
  assertEquals(JSON.stringify(a).includes("wise@!man"), false);
  assertEquals(await verifyPassword("wise@!man", a), true);
  assertEquals(await verifyPassword("wise@!man ", a), false);
  assertEquals(await verifyPassword("", a), false);
});

Deno.test("lockout blocks after the third failure and lifts when the time is up", () => {
  const policy = { maxFailures: 3, lockoutMs: 10_000 };
  let state = NO_FAILURES;
  let r = recordFailure(state, policy, 1000);
  assertEquals([r.blocked, r.state.failures], [false, 1]);
  r = recordFailure(r.state, policy, 1001);
  assertEquals(r.blocked, false);
  r = recordFailure(r.state, policy, 1002);
  assertEquals(r.blocked, true);
  state = r.state;
  assertEquals(isLockedOut(state, 1002 + 9_999), true);
  assertEquals(isLockedOut(state, 1002 + 10_000), false);
  // After the block, a single failure does not block again.
  r = recordFailure(state, policy, 1002 + 10_001);
  assertEquals([r.blocked, r.state.failures], [false, 1]);
});

Deno.test("passwords are checked", () => {
  assertEquals(passwordProblem("(jedimaster)"), undefined);
  assertNotEquals(passwordProblem(""), undefined);
  // Long enough for a password manager's, not without end.
  assertEquals(passwordProblem("x".repeat(1024)), undefined);
  assertNotEquals(passwordProblem("x".repeat(1025)), undefined);
  // The shortest a person may choose now is a setting; stored ones are not checked for it.
  assertEquals(passwordProblem("john01"), undefined);
  assertEquals(passwordProblem("john01", 8), "Password must be at least 8 characters");
  assertEquals(passwordProblem("john0123", 8), undefined);
});
