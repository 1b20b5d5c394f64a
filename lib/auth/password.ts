/**
 * Password hashing with scrypt (memory-hard), a per-user random salt and a constant-time compare.
 * @module
 */

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Longest password accepted, in characters: room for a password manager's (IRC clients send
 * them in several 400-byte AUTHENTICATE chunks).
 */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * Why a password is not acceptable, or `undefined` when it is. `minLength` applies to passwords
 * people choose now; stored ones (the seeds' credential files) are never refused for it.
 */
export function passwordProblem(password: string, minLength = 1): string | undefined {
  if (password.length === 0) return "Password must not be empty";
  if (password.length < minLength) {
    return `Password must be at least ${minLength} characters`;
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `Password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  }
  return undefined;
}

/** What is stored for a password; never the password itself. */
export interface PasswordHash {
  readonly algorithm: "scrypt";
  /** scrypt cost N (a power of two); r = 8, p = 1. */
  readonly cost: number;
  /** Base64 salt, 16 random bytes. */
  readonly salt: string;
  /** Base64 derived key, 32 bytes. */
  readonly hash: string;
}

const KEY_LENGTH = 32;
const BLOCK_SIZE = 8;

function derive(password: string, salt: Uint8Array, cost: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes with some headroom.
    const maxmem = 256 * cost * BLOCK_SIZE;
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, { N: cost, r: BLOCK_SIZE, p: 1, maxmem }, (
      error,
      key,
    ) => error ? reject(error) : resolve(new Uint8Array(key)));
  });
}

const toBase64 = (bytes: Uint8Array): string => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string): Uint8Array =>
  Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Hashes a password with a fresh salt. `cost` is scrypt's N; 2^14 takes about 50 ms. */
export async function hashPassword(password: string, cost: number): Promise<PasswordHash> {
  const salt = new Uint8Array(randomBytes(16));
  const key = await derive(password, salt, cost);
  return { algorithm: "scrypt", cost, salt: toBase64(salt), hash: toBase64(key) };
}

/** Whether the password matches the stored hash; the comparison takes the same time either way. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = fromBase64(stored.hash);
  const actual = await derive(password, fromBase64(stored.salt), stored.cost);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
