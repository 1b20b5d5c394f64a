/// <reference lib="dom" />
/**
 * What the page asks over HTTP: signing in and out (the session lives in an HttpOnly cookie the
 * page never sees), and forum files, checked with SHA-256 both ways.
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { wireFileName } from "../lib/protocol/names.ts";

/** A reply of the server: a protocol code and its text (after what comes first, if anything). */
export interface Answer {
  readonly code: number;
  readonly text: string;
  /** Lines before the text: how long a lockout lasts. */
  readonly before?: readonly string[];
}

/** An answer as one sentence for the page. */
export function answerText(answer: Answer): string {
  return [...(answer.before ?? []), answer.text].join(". ");
}

async function answerOf(response: Response): Promise<Answer> {
  try {
    return await response.json() as Answer;
  } catch {
    return {
      code: response.status >= 500 ? 500 : 400,
      text: `The server answered ${response.status}`,
    };
  }
}

/** Logs in (or registers): on success the browser holds the session cookie. */
export async function signIn(user: string, password: string, register: boolean): Promise<Answer> {
  try {
    const response = await fetch("/api/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user, password, register }),
    });
    return await answerOf(response);
  } catch (error) {
    return { code: 500, text: `Cannot reach the server: ${describe(error)}` };
  }
}

/** Ends the web session. */
export async function signOut(): Promise<void> {
  await fetch("/api/session", { method: "DELETE" }).catch(() => undefined);
}

/** How much of a file is read into memory at once to hash it. */
const HASH_SLICE_BYTES = 4 * 1024 * 1024;
/** Downloaded bytes are handed to a Blob (which the browser may keep on disk) every this many. */
const BLOB_PART_BYTES = 8 * 1024 * 1024;

/**
 * SHA-256 of a file or blob, hex, read a slice at a time so a large file is never in memory
 * whole. Hashed in JavaScript: `crypto.subtle` exists only in secure contexts (HTTPS or
 * localhost), and a lab's server is usually `http://labserver:8080`.
 */
export async function hashBlob(
  blob: Blob,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<string> {
  const hasher = sha256.create();
  for (let at = 0; at < blob.size; at += HASH_SLICE_BYTES) {
    const end = Math.min(at + HASH_SLICE_BYTES, blob.size);
    hasher.update(new Uint8Array(await blob.slice(at, end).arrayBuffer()));
    onProgress(end, blob.size);
  }
  return bytesToHex(hasher.digest());
}

/** Which step of a transfer the progress is about. */
export type TransferStep = "checking" | "uploading" | "downloading";

/** Reports a transfer's progress. */
export type TransferProgress = (step: TransferStep, done: number, total: number) => void;

/**
 * Uploads a file to a thread: hashes it (in slices), then sends it straight from the disk;
 * resolves with the server's answer, or with why it could not be sent.
 */
export async function uploadFile(
  thread: string,
  file: File,
  onProgress: TransferProgress,
): Promise<Answer> {
  let hash: string;
  try {
    hash = await hashBlob(file, (done, total) => onProgress("checking", done, total));
  } catch (error) {
    return { code: 500, text: `Cannot read ${file.name}: ${describe(error)}` };
  }
  const query = new URLSearchParams({
    thread,
    name: wireFileName(file.name),
    size: String(file.size),
    sha256: hash,
  });
  return await new Promise<Answer>((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/files/upload?${query}`);
    request.upload.onprogress = (e) => onProgress("uploading", e.loaded, e.total || file.size);
    request.onload = () => {
      try {
        resolve(JSON.parse(request.responseText) as Answer);
      } catch {
        resolve({ code: 500, text: `The server answered ${request.status}` });
      }
    };
    request.onerror = () => resolve({ code: 500, text: "The upload was cut off" });
    request.send(file);
  });
}

/** A downloaded file: its bytes once verified, or why not. */
export type Downloaded =
  | { readonly ok: true; readonly blob: Blob; readonly sha256: string }
  | { readonly ok: false; readonly text: string };

/**
 * Downloads a thread's file with progress, hashing it as it arrives, and checks its SHA-256
 * before handing it over. The bytes go into Blob parts as they come, never into one buffer.
 */
export async function downloadFile(
  thread: string,
  name: string,
  onProgress: TransferProgress,
): Promise<Downloaded> {
  const query = new URLSearchParams({ thread, name });
  try {
    const response = await fetch(`/api/files/download?${query}`);
    if (!response.ok || !response.body) return { ok: false, ...(await answerOf(response)) };
    const expected = response.headers.get("x-labchat-sha256") ?? "";
    const total = Number(response.headers.get("content-length") ?? 0);
    const hasher = sha256.create();
    const blobs: Blob[] = [];
    let pending: Uint8Array<ArrayBuffer>[] = [];
    let pendingBytes = 0;
    let done = 0;
    for await (const chunk of response.body as ReadableStream<Uint8Array<ArrayBuffer>>) {
      hasher.update(chunk);
      pending.push(chunk);
      pendingBytes += chunk.length;
      done += chunk.length;
      if (pendingBytes >= BLOB_PART_BYTES) {
        blobs.push(new Blob(pending));
        pending = [];
        pendingBytes = 0;
      }
      onProgress("downloading", done, total);
    }
    blobs.push(new Blob(pending));
    const actual = bytesToHex(hasher.digest());
    if (total > 0 && done !== total) {
      return { ok: false, text: `${name} was cut off at ${done} of ${total} bytes; try again` };
    }
    if (actual !== expected) {
      return {
        ok: false,
        text: `${name} arrived damaged (its SHA-256 does not match); nothing was saved`,
      };
    }
    return { ok: true, blob: new Blob(blobs), sha256: actual };
  } catch (error) {
    return { ok: false, text: `Cannot download ${name}: ${describe(error)}` };
  }
}

/** An error's message for a person. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
