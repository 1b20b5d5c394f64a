/**
 * The discussion forum of seed 001: THREAD CREATE/LIST/READ/REMOVE, POST, EDIT, DELETE, and files
 * attached to threads with UPLOAD and DOWNLOAD.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { PAGE_SIZE } from "../../protocol/commands.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatDownloadHeader } from "../../protocol/replies.ts";
import { formatBytes } from "../../protocol/timestamp.ts";
import type { ThreadItem, ThreadRecord } from "../../store/store.ts";
import { noFile } from "../services/forum.ts";
import type { ThreadEntryView } from "../../protocol/reply_data.ts";
import { intArg, ok, okWith, type Outcome, type PartialHandlers } from "../context.ts";

/** A download's piece written within this long (ms) was taken at once: the next may be larger. */
const QUICK_WRITE_MS = 5;

/** An UPLOAD's SHA-256 sent after the bytes: 64 hex digits and a newline. */
const TRAILER_BYTES = 65;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A post number as typed; 0 (never a post) when it is not a number. */
function postNumber(text: string): number {
  return /^\d{1,9}$/.test(text) ? Number(text) : 0;
}

/** `before N` after THREAD READ's thread name: the post number to page back from. */
function beforePost(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const m = /^before\s+(\d{1,9})$/i.exec(text.trim());
  if (!m) throw new ProtocolError(Reply.USAGE, "Usage: THREAD READ <thread> [before N]");
  return Number(m[1]);
}

/**
 * THREAD READ's reply: numbered posts and uploads in the order they happened, a page of them
 * (the last {@linkcode PAGE_SIZE} items, or those before post `before`), as lines and as data.
 */
function threadPage(thread: ThreadRecord, items: readonly ThreadItem[], before?: number): Outcome {
  const { name, creator } = thread;
  let number = 0;
  const all: ThreadEntryView[] = items.map((item) =>
    item.kind === "post"
      ? { kind: "post", number: ++number, author: item.author, text: item.text, at: item.at }
      : {
        kind: "file",
        name: item.filename,
        uploader: item.uploader,
        size: item.size,
        sha256: item.sha256,
        at: item.at,
      }
  );
  const posts = number;
  const at = before === undefined
    ? -1
    : all.findIndex((e) => e.kind === "post" && e.number >= before);
  const end = at === -1 ? all.length : at;
  const start = Math.max(0, end - PAGE_SIZE);
  const entries = all.slice(start, end);
  const lines = entries.map((e) =>
    e.kind === "post" ? `${e.number} ${e.author}: ${e.text}` : `${e.uploader} uploaded ${e.name}`
  );
  const files = items.length - posts;
  const summary = `Thread ${name}: ${plural(posts, "message")}, ${plural(files, "file")}`;
  const firstShown = all.slice(start).find((e) => e.kind === "post");
  const earlierBefore = start > 0 && firstShown?.kind === "post" ? firstShown.number : undefined;
  lines.push(
    earlierBefore !== undefined
      ? `${summary}; earlier ones: THREAD READ ${name} before ${earlierBefore}`
      : summary,
  );
  return okWith(lines, { kind: "thread", name, creator, entries, posts, files, earlierBefore });
}

/** Handlers of the forum commands. */
export const forumHandlers: PartialHandlers<
  | "THREAD CREATE"
  | "THREAD LIST"
  | "THREAD READ"
  | "THREAD REMOVE"
  | "POST"
  | "EDIT"
  | "DELETE"
  | "FILE REMOVE"
  | "UPLOAD"
  | "DOWNLOAD"
> = {
  async "THREAD CREATE"(ctx, { identity }, [name]) {
    await ctx.forum.create(name, identity.name, ctx.clock.now());
    return ok(`Thread ${name} created`);
  },

  async "THREAD LIST"(ctx) {
    const threads = (await ctx.forum.list()).map(({ name, creator, createdAt }) => ({
      name,
      creator,
      createdAt,
    }));
    const data = { kind: "threads", threads } as const;
    if (threads.length === 0) return okWith("No threads to list", data);
    return okWith([...threads.map((t) => t.name), plural(threads.length, "thread")], data);
  },

  async "THREAD READ"(ctx, _caller, [name, rest]) {
    const before = beforePost(rest);
    const thread = await ctx.forum.thread(name);
    const items = await ctx.forum.items(thread);
    if (items.length === 0) {
      const { creator } = thread;
      const data = { kind: "thread", name, creator, entries: [], posts: 0, files: 0 } as const;
      return okWith(`Thread ${name} is empty`, data);
    }
    return threadPage(thread, items, before);
  },

  async "THREAD REMOVE"(ctx, { identity }, [name]) {
    const thread = await ctx.forum.thread(name);
    await ctx.forum.remove(thread, identity.name);
    ctx.log.info(`Thread ${name} removed`);
    return ok("The thread has been removed");
  },

  async POST(ctx, { identity }, [name, text]) {
    const thread = await ctx.forum.thread(name);
    await ctx.forum.post(thread, identity.name, text, ctx.clock.now());
    return ok(`Message posted to ${name} thread`);
  },

  async EDIT(ctx, { identity }, [name, numberText, text]) {
    const thread = await ctx.forum.thread(name);
    await ctx.forum.changeOwnPost(thread, postNumber(numberText), identity.name, { edit: text });
    return ok("Message has been edited");
  },

  async "FILE REMOVE"(ctx, { identity }, [name, filename]) {
    const thread = await ctx.forum.thread(name);
    await ctx.forum.removeFile(thread, filename, identity.name);
    ctx.log.info(`${identity.name} removed file ${filename} from thread ${name}`);
    return ok(`${identity.name} removed ${filename} from thread ${name}`);
  },

  async DELETE(ctx, { identity }, [name, numberText]) {
    const thread = await ctx.forum.thread(name);
    await ctx.forum.changeOwnPost(thread, postNumber(numberText), identity.name, { delete: true });
    return ok("Message has been deleted");
  },

  async UPLOAD(ctx, { identity }, [name, filename, sizeText, sha256]) {
    const user = identity.name;
    const thread = await ctx.forum.thread(name);
    const size = intArg(sizeText);
    if (size > ctx.config.maxUploadBytes) {
      throw new ProtocolError(
        Reply.TOO_LARGE,
        `File is larger than the limit of ${formatBytes(ctx.config.maxUploadBytes)}`,
      );
    }
    // `-`: the SHA-256 follows the bytes (the client hashes as it sends, reading the file once).
    const after = sha256 === "-";
    const upload = await ctx.forum.upload(thread, user, filename, size, after ? undefined : sha256);
    const trailer = new Uint8Array(after ? TRAILER_BYTES : 0);
    let received = 0;
    return {
      code: Reply.SEND_DATA,
      text: after
        ? `Send ${size} bytes, then their SHA-256 (64 hex digits and a newline)`
        : `Send ${size} bytes`,
      receive: {
        size: size + trailer.length,
        write(bytes) {
          const body = bytes.subarray(0, Math.max(0, size - received));
          trailer.set(bytes.subarray(body.length), Math.max(0, received - size));
          received += bytes.length;
          return body.length > 0 ? upload.write(body) : Promise.resolve();
        },
        abort: () => upload.abort(),
        async finish(): Promise<Outcome> {
          const text = new TextDecoder().decode(trailer);
          if (after && !/^[0-9a-fA-F]{64}\n$/.test(text)) {
            await upload.abort();
            throw new ProtocolError(
              Reply.INVALID_VALUE,
              "Upload failed: the bytes must be followed by their SHA-256 (64 hex digits and a newline); nothing was stored",
            );
          }
          await upload.finish(ctx.clock.now(), after ? text.trim() : undefined);
          ctx.log.info(`${user} uploaded ${filename} (${size} bytes) to ${name}`);
          return ok(`${user} uploaded file ${filename} to ${name} thread`);
        },
      },
    };
  },

  async DOWNLOAD(ctx, _caller, [name, filename]) {
    const thread = await ctx.forum.thread(name);
    const file = await ctx.forum.file(thread, filename);
    if (!file) throw noFile(filename, name);
    return {
      code: Reply.DATA_FOLLOWS,
      text: formatDownloadHeader({ size: file.size, sha256: file.sha256, name: file.filename }),
      async stream(write) {
        const handle = await ctx.forum.open(file);
        try {
          // 64 KiB, doubled up to 1 MiB while the reader takes each piece at once: fewer turns per
          // MiB for one who keeps up, no more than 64 KiB held for one who never read.
          let buffer = new Uint8Array(64 * 1024);
          let left = file.size;
          while (left > 0) {
            const n = await handle.read(buffer.subarray(0, Math.min(buffer.length, left)));
            if (n === null) throw new Error(`Blob ${file.blob} is shorter than recorded`);
            const started = performance.now();
            await write(buffer.subarray(0, n));
            left -= n;
            const quick = performance.now() - started < QUICK_WRITE_MS;
            if (quick && n === buffer.length && buffer.length < 1024 * 1024) {
              buffer = new Uint8Array(buffer.length * 2);
            }
          }
        } finally {
          handle.close();
        }
      },
    };
  },
};
