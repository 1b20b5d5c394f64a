/**
 * The discussion forum of seed 001: THREAD CREATE/LIST/READ/REMOVE, POST, EDIT, DELETE, and files
 * attached to threads with UPLOAD and DOWNLOAD.
 * @module
 */

import { fileNameProblem, threadNameProblem } from "../../protocol/file_names.ts";
import { Reply } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatBytes } from "../../protocol/timestamp.ts";
import type { PostItem, ThreadItem, ThreadRecord } from "../../store/store.ts";
import { type HandlerTable, ok, type Outcome, type ServerContext } from "../context.ts";

async function requireThread(ctx: ServerContext, name: string): Promise<ThreadRecord> {
  const problem = threadNameProblem(name);
  if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
  const thread = await ctx.store.getThread(name);
  if (!thread) throw new ProtocolError(Reply.NOT_FOUND, `Thread ${name} not exists`);
  return thread;
}

/** The post numbered `numberText` (1-based among the thread's posts, so it renumbers). */
function nthPost(items: readonly ThreadItem[], numberText: string): PostItem {
  const posts = items.filter((i): i is PostItem => i.kind === "post");
  const n = /^\d{1,9}$/.test(numberText) ? Number(numberText) : 0;
  if (n < 1 || n > posts.length) throw new ProtocolError(Reply.NOT_FOUND, "Invalid message number");
  return posts[n - 1];
}

/**
 * EDIT and DELETE: under the thread's lock, finds post number n, checks the caller wrote it
 * (else the seed's refusal), and applies `change`.
 */
function changeOwnPost(
  ctx: ServerContext,
  user: string | undefined,
  name: string,
  numberText: string,
  verb: "edited" | "deleted",
  change: (post: PostItem) => Promise<void>,
): Promise<Outcome> {
  return withThread(ctx, name, async () => {
    await requireThread(ctx, name);
    const post = nthPost(await ctx.store.listThreadItems(name), numberText);
    if (post.author !== user) {
      throw new ProtocolError(
        Reply.NOT_ALLOWED,
        `The message belongs to another user and cannot be ${verb}`,
      );
    }
    await change(post);
    return ok(`Message has been ${verb}`);
  });
}

/** Runs `task` while holding the thread's lock, so numbering cannot shift underneath it. */
function withThread<T>(ctx: ServerContext, name: string, task: () => Promise<T>): Promise<T> {
  return ctx.locks.run(`thread:${name}`, task);
}

/** Lines of THREAD READ: numbered posts and uploads, in the order they happened. */
function threadLines(name: string, items: readonly ThreadItem[]): string[] {
  let number = 0;
  const lines = items.map((item) =>
    item.kind === "post"
      ? `${++number} ${item.author}: ${item.text}`
      : `${item.uploader} uploaded ${item.filename}`
  );
  const files = items.length - number;
  lines.push(
    `Thread ${name}: ${number} message${number === 1 ? "" : "s"}, ${files} file${
      files === 1 ? "" : "s"
    }`,
  );
  return lines;
}

function parseUpload(
  ctx: ServerContext,
  filename: string,
  sizeText: string,
  sha256: string,
): number {
  const problem = fileNameProblem(filename);
  if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
  if (!/^\d{1,15}$/.test(sizeText)) {
    throw new ProtocolError(
      Reply.INVALID_VALUE,
      `Cannot use "${sizeText}" as a size: use a number of bytes`,
    );
  }
  const size = Number(sizeText);
  if (size > ctx.config.maxUploadBytes) {
    throw new ProtocolError(
      Reply.TOO_LARGE,
      `File is larger than the limit of ${formatBytes(ctx.config.maxUploadBytes)}`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new ProtocolError(Reply.INVALID_VALUE, "Cannot use that SHA-256: give 64 hex digits");
  }
  return size;
}

/** Handlers of the forum commands. */
export const forumHandlers: HandlerTable = {
  async "THREAD CREATE"(ctx, session, [name]) {
    const problem = threadNameProblem(name);
    if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
    const created = await ctx.store.createThread({
      name,
      creator: session.user as string,
      createdAt: Date.now(),
    });
    if (!created) throw new ProtocolError(Reply.ALREADY_EXISTS, `Thread ${name} exists`);
    return ok(`Thread ${name} created`);
  },

  async "THREAD LIST"(ctx) {
    const threads = await ctx.store.listThreads();
    if (threads.length === 0) return ok("No threads to list");
    return ok([
      ...threads.map((t) => t.name),
      `${threads.length} thread${threads.length === 1 ? "" : "s"}`,
    ]);
  },

  async "THREAD READ"(ctx, _session, [name]) {
    await requireThread(ctx, name);
    const items = await ctx.store.listThreadItems(name);
    if (items.length === 0) return ok(`Thread ${name} is empty`);
    return ok(threadLines(name, items));
  },

  "THREAD REMOVE"(ctx, session, [name]) {
    return withThread(ctx, name, async () => {
      const thread = await requireThread(ctx, name);
      if (thread.creator !== session.user) {
        throw new ProtocolError(
          Reply.NOT_ALLOWED,
          "The thread was created by another user and cannot be removed",
        );
      }
      const items = await ctx.store.removeThread(name);
      for (const item of items) {
        if (item.kind === "file") await ctx.blobs.remove(item.blob);
      }
      ctx.log.info(`Thread ${name} removed`);
      return ok("The thread has been removed");
    });
  },

  POST(ctx, session, [name, text]) {
    return withThread(ctx, name, async () => {
      await requireThread(ctx, name);
      await ctx.store.addPost(name, session.user as string, text, Date.now());
      return ok(`Message posted to ${name} thread`);
    });
  },

  EDIT(ctx, session, [name, numberText, text]) {
    return changeOwnPost(
      ctx,
      session.user,
      name,
      numberText,
      "edited",
      (post) => ctx.store.editPost(name, post, text),
    );
  },

  DELETE(ctx, session, [name, numberText]) {
    return changeOwnPost(
      ctx,
      session.user,
      name,
      numberText,
      "deleted",
      (post) => ctx.store.deletePost(name, post),
    );
  },

  async UPLOAD(ctx, session, [name, filename, sizeText, sha256]) {
    const user = session.user as string;
    await requireThread(ctx, name);
    const size = parseUpload(ctx, filename, sizeText, sha256);
    const taken = (await ctx.store.listThreadItems(name)).some((i) =>
      i.kind === "file" && i.filename === filename
    );
    if (taken) {
      throw new ProtocolError(Reply.ALREADY_EXISTS, `${filename} already exist in Thread ${name}`);
    }
    const upload = await ctx.blobs.create();
    try {
      session.reply(Reply.SEND_DATA, `Send ${size} bytes`);
      await session.readRaw(size, (bytes) => upload.write(bytes));
      const digest = await upload.finish();
      if (digest !== sha256.toLowerCase()) {
        throw new ProtocolError(
          Reply.CHECKSUM_MISMATCH,
          "Upload failed: the SHA-256 does not match; nothing was stored",
        );
      }
      const blob = await upload.commit();
      // The file becomes visible only now; a thread removed or a name taken meanwhile undoes it.
      const item = await ctx.store.addFile(name, {
        uploader: user,
        filename,
        size,
        sha256: digest,
        blob,
        at: Date.now(),
      });
      if (!item) {
        await ctx.blobs.remove(blob);
        throw new ProtocolError(
          Reply.ALREADY_EXISTS,
          `${filename} already exist in Thread ${name}`,
        );
      }
      ctx.log.info(`${user} uploaded ${filename} (${size} bytes) to ${name}`);
      return ok(`${user} uploaded file ${filename} to ${name} thread`);
    } catch (error) {
      await upload.abort();
      if (error instanceof Deno.errors.UnexpectedEof) {
        ctx.log.info(`${user}: upload of ${filename} interrupted; nothing was stored`);
        throw new ProtocolError(Reply.BAD_LINE, "Upload interrupted; nothing was stored");
      }
      throw error;
    }
  },

  async DOWNLOAD(ctx, _session, [name, filename]) {
    await requireThread(ctx, name);
    const file = (await ctx.store.listThreadItems(name)).find((i) =>
      i.kind === "file" && i.filename === filename
    );
    if (!file || file.kind !== "file") {
      throw new ProtocolError(Reply.NOT_FOUND, `File does not exist in Thread ${name}`);
    }
    const handle = await ctx.blobs.open(file.blob);
    return {
      code: Reply.DATA_FOLLOWS,
      text: `${file.size} ${file.sha256} ${file.filename}`,
      async stream(write) {
        try {
          const buffer = new Uint8Array(64 * 1024);
          let left = file.size;
          while (left > 0) {
            const n = await handle.read(buffer.subarray(0, Math.min(buffer.length, left)));
            if (n === null) throw new Error(`Blob ${file.blob} is shorter than recorded`);
            await write(buffer.subarray(0, n));
            left -= n;
          }
        } finally {
          handle.close();
        }
      },
    };
  },
};
