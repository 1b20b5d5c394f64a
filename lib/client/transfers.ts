/**
 * Forum file transfers for clients: streamed from and to disk, never whole in memory, with
 * SHA-256 checked end to end.
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { VerifiedFile } from "../fs/verified_file.ts";
import {
  byteLength,
  fileNameProblem,
  fitName,
  MAX_FILE_NAME_BYTES,
  safeLocalName,
  wireFileName,
} from "../protocol/names.ts";
import { parseDownloadHeader } from "../protocol/replies.ts";
import { formatRequest } from "../protocol/request.ts";
import type { ChatConnection, ChatReply } from "./chat_connection.ts";

/** Called as bytes move: how many so far, of how many. */
export type Progress = (done: number, total: number) => void;

const CHUNK = 1024 * 1024;

/**
 * The first `size` bytes of a file, hashed as they are read, then their SHA-256 (64 hex digits
 * and a newline): UPLOAD with `-`, so the file is read once. A file that shrank meanwhile is made
 * up with zeros to keep the connection in step, and sent with a SHA-256 nothing has, so the
 * server keeps nothing.
 */
async function* hashedChunks(
  file: Deno.FsFile,
  size: number,
  onProgress: Progress,
): AsyncGenerator<Uint8Array> {
  const hash = createHash("sha256");
  let done = 0;
  let shrank = false;
  while (done < size) {
    // A fresh buffer each time: the socket write may still hold the last one.
    const buffer = new Uint8Array(Math.min(CHUNK, size - done));
    const n = shrank ? buffer.length : await file.read(buffer);
    if (n === null) {
      shrank = true;
      continue;
    }
    const chunk = buffer.subarray(0, n);
    hash.update(chunk);
    done += n;
    yield chunk;
    onProgress(done, size);
  }
  yield encoder.encode(`${shrank ? "0".repeat(64) : hash.digest("hex")}\n`);
}

const encoder = new TextEncoder();

/**
 * Uploads a local file to a thread under its base name. Resolves with the server's final reply.
 *
 * @throws {RangeError} when the base name cannot be a forum file name (spaces, too long).
 */
export async function uploadFile(
  chat: ChatConnection,
  thread: string,
  path: string,
  onProgress: Progress = () => {},
): Promise<ChatReply> {
  const name = wireFileName(basename(path));
  const problem = fileNameProblem(name);
  if (problem) throw new RangeError(problem);
  // Opened, and known to be a readable file, before anything is asked of the server.
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (info.isDirectory) throw new Deno.errors.IsADirectory(`Is a directory: ${path}`);
  await file.read(new Uint8Array(0)); // a read error (a device, a special file) shows now
  // The SHA-256 follows the bytes: the file is read once, hashed as it goes.
  return await chat.upload(
    formatRequest("UPLOAD", [thread, name, String(info.size), "-"]),
    hashedChunks(file, info.size, onProgress),
  );
}

/**
 * A name in `dir` that does not exist yet: `name`, else `name (1).ext`, `name (2).ext`, …, each
 * within the file-name limit in bytes.
 */
export async function freeName(dir: string, name: string): Promise<string> {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let i = 0; i < 10_000; i++) {
    const suffix = i === 0 ? "" : ` (${i})`;
    const candidate = i === 0
      ? fitName(name, MAX_FILE_NAME_BYTES)
      : fitName(stem, MAX_FILE_NAME_BYTES - byteLength(suffix + ext)) + suffix + ext;
    try {
      await Deno.lstat(join(dir, candidate));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return candidate;
      throw error;
    }
  }
  throw new Error(`Cannot find a free name for "${name}" in ${dir}`);
}

/** The outcome of a download: the reply, and where the file was saved when it worked. */
export interface DownloadResult {
  readonly reply: ChatReply;
  readonly savedAs?: string;
}

/** Raised when the received bytes do not match the announced SHA-256. */
export class ChecksumError extends Error {
  constructor(name: string) {
    super(`Cannot save "${name}": the SHA-256 of what arrived does not match; nothing was kept`);
    this.name = "ChecksumError";
  }
}

/**
 * Downloads a thread's file into `dir` (created if needed) under a sanitised name that does not
 * overwrite anything. The bytes go to a temporary file, renamed only when the hash matches.
 */
export async function downloadFile(
  chat: ChatConnection,
  thread: string,
  filename: string,
  dir: string,
  onProgress: Progress = () => {},
): Promise<DownloadResult> {
  await Deno.mkdir(dir, { recursive: true });
  const file = await VerifiedFile.create(join(dir, `.${crypto.randomUUID()}.part`));
  let total = 0;
  try {
    const reply = await chat.download(formatRequest("DOWNLOAD", [thread, filename]), {
      start(size) {
        total = size;
      },
      async write(bytes) {
        await file.write(bytes);
        onProgress(file.size, total);
      },
    });
    const header = reply.ok ? parseDownloadHeader(reply.text) : undefined;
    if (!header) {
      await file.abort();
      return { reply };
    }
    if (!(await file.verify(header))) throw new ChecksumError(filename);
    const savedAs = await file.commitNew(dir, () => freeName(dir, safeLocalName(filename)));
    return { reply, savedAs };
  } catch (error) {
    await file.abort();
    throw error;
  }
}
