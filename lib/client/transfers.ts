/**
 * Forum file transfers for clients: streamed from and to disk, never whole in memory, with
 * SHA-256 checked end to end.
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { hashFile } from "../fs/hash_file.ts";
import { safeLocalName } from "../protocol/file_names.ts";
import type { ChatConnection, ChatReply } from "./chat_connection.ts";

/** Called as bytes move: how many so far, of how many. */
export type Progress = (done: number, total: number) => void;

const CHUNK = 64 * 1024;

async function* fileChunks(
  path: string,
  onProgress: Progress,
  total: number,
): AsyncGenerator<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  let done = 0;
  while (true) {
    const buffer = new Uint8Array(CHUNK); // a fresh buffer: the socket write may still hold the last
    const n = await file.read(buffer);
    if (n === null) break;
    done += n;
    yield buffer.subarray(0, n);
    onProgress(done, total);
  }
}

/** Uploads a local file to a thread under its base name. Resolves with the server's final reply. */
export async function uploadFile(
  chat: ChatConnection,
  thread: string,
  path: string,
  onProgress: Progress = () => {},
): Promise<ChatReply> {
  const { size, sha256 } = await hashFile(path);
  const name = basename(path);
  return await chat.upload(
    `UPLOAD ${thread} ${name} ${size} ${sha256}`,
    fileChunks(path, onProgress, size),
  );
}

/** A name in `dir` that does not exist yet: `name`, else `name (1).ext`, `name (2).ext`, … */
export async function freeName(dir: string, name: string): Promise<string> {
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let i = 0; i < 10_000; i++) {
    const candidate = i === 0 ? name : `${stem} (${i})${ext}`;
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
  const partPath = join(dir, `.${crypto.randomUUID()}.part`);
  const file = await Deno.open(partPath, { write: true, createNew: true });
  const hash = createHash("sha256");
  let received = 0;
  let total = 0;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  try {
    const reply = await chat.download(`DOWNLOAD ${thread} ${filename}`, {
      start(size) {
        total = size;
      },
      async write(bytes) {
        hash.update(bytes);
        let offset = 0;
        while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
        received += bytes.length;
        onProgress(received, total);
      },
    });
    close();
    if (!reply.ok) {
      await Deno.remove(partPath);
      return { reply };
    }
    const [, sizeText, sha256] = /^(\d+) ([0-9a-f]{64}) /.exec(reply.text) ?? [];
    if (Number(sizeText) !== received || hash.digest("hex") !== sha256) {
      throw new ChecksumError(filename);
    }
    const savedAs = join(dir, await freeName(dir, safeLocalName(filename)));
    await Deno.rename(partPath, savedAs);
    return { reply, savedAs };
  } catch (error) {
    close();
    await Deno.remove(partPath).catch(() => {});
    throw error;
  }
}
