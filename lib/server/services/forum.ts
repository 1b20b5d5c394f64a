/**
 * The forum of seed 001: threads, numbered posts and attached files. Every write names the
 * thread it read, so a write racing a THREAD REMOVE fails instead of landing in the removed
 * thread or in a new thread of the same name. Removing a thread is one atomic step; its contents
 * and files are collected afterwards, resumably, and again at every start.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import type { BlobStore } from "../../store/blob_store.ts";
import type {
  FileItem,
  ForumStore,
  PostItem,
  ThreadItem,
  ThreadRecord,
} from "../../store/store.ts";

/** How old an unreferenced blob must be before start-up deletes it (an upload may be committing). */
const ORPHAN_GRACE_MS = 60 * 60_000;

const gone = (name: string) => new ProtocolError(Reply.NOT_FOUND, `Thread ${name} does not exist`);

/** A file that is not in a thread. */
export const noFile = (filename: string, thread: string): ProtocolError =>
  new ProtocolError(Reply.NOT_FOUND, `File ${filename} does not exist in thread ${thread}`);

/** An upload being received into a thread. */
export interface ForumUpload {
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Verifies and attaches the file: against the SHA-256 announced with the upload, or `sha256`
   * when it comes after the bytes.
   *
   * @throws {ProtocolError} 416 damaged, 404 the thread was removed meanwhile, 406 the name was
   * taken meanwhile; nothing is kept then.
   */
  finish(at: number, sha256?: string): Promise<FileItem>;
  /** Discards what was received. */
  abort(): Promise<void>;
}

/** The forum of one server. */
export class ForumService {
  readonly #store: ForumStore;
  readonly #blobs: BlobStore;
  #collecting: Promise<void> | undefined;

  private constructor(store: ForumStore, blobs: BlobStore) {
    this.#store = store;
    this.#blobs = blobs;
  }

  /**
   * Opens the forum and finishes what a crash may have left: removed threads not yet collected,
   * blobs marked for deletion, and blobs nothing refers to. Returns how many blobs it deleted.
   */
  static async open(
    store: ForumStore,
    blobs: BlobStore,
  ): Promise<{ forum: ForumService; removedBlobs: number }> {
    const forum = new ForumService(store, blobs);
    let removedBlobs = await forum.#collectNow();
    removedBlobs += await blobs.sweepOrphans(await store.listLiveBlobs(), ORPHAN_GRACE_MS);
    return { forum, removedBlobs };
  }

  /**
   * The thread called `name`.
   *
   * @throws {ProtocolError} 404 in the seed's words when there is none.
   */
  async thread(name: string): Promise<ThreadRecord> {
    const thread = await this.#store.getThread(name);
    if (!thread) throw gone(name);
    return thread;
  }

  /** @throws {ProtocolError} 406 when the name is taken. */
  async create(name: string, creator: string, at: number): Promise<ThreadRecord> {
    const thread = await this.#store.createThread(name, creator, at);
    if (!thread) throw new ProtocolError(Reply.ALREADY_EXISTS, `Thread ${name} already exists`);
    return thread;
  }

  list(): Promise<ThreadRecord[]> {
    return this.#store.listThreads();
  }

  items(thread: ThreadRecord): Promise<ThreadItem[]> {
    return this.#store.listThreadItems(thread);
  }

  /** @throws {ProtocolError} 404 when the thread was removed meanwhile. */
  async post(thread: ThreadRecord, author: string, text: string, at: number): Promise<PostItem> {
    const post = await this.#store.addPost(thread, author, text, at);
    if (!post) throw gone(thread.name);
    return post;
  }

  /**
   * Changes or deletes post number `number` of its author.
   *
   * @throws {ProtocolError} 404 no such number, 402 someone else's post.
   */
  async changeOwnPost(
    thread: ThreadRecord,
    number: number,
    user: string,
    change: { readonly edit: string } | { readonly delete: true },
  ): Promise<void> {
    const posts = (await this.items(thread)).filter((i): i is PostItem => i.kind === "post");
    const post = posts[number - 1];
    const verb = "edit" in change ? "edited" : "deleted";
    if (number < 1 || !post) throw new ProtocolError(Reply.NOT_FOUND, "Invalid message number");
    if (post.author !== user) {
      throw new ProtocolError(
        Reply.NOT_ALLOWED,
        `The message belongs to another user and cannot be ${verb}`,
      );
    }
    const done = "edit" in change
      ? await this.#store.editPost(thread, post, change.edit)
      : await this.#store.deletePost(thread, post);
    if (!done) throw new ProtocolError(Reply.NOT_FOUND, "Invalid message number");
  }

  /**
   * Removes a file from a thread: its uploader may, and so may the thread's creator (who may
   * remove the whole thread). Its bytes are deleted right after.
   *
   * @throws {ProtocolError} 404 no such file (or thread), 402 someone else's file.
   */
  async removeFile(thread: ThreadRecord, filename: string, user: string): Promise<FileItem> {
    const file = await this.file(thread, filename);
    if (!file) throw noFile(filename, thread.name);
    if (file.uploader !== user && thread.creator !== user) {
      throw new ProtocolError(
        Reply.NOT_ALLOWED,
        `${filename} was uploaded by ${file.uploader}; only they or the thread's creator can remove it`,
      );
    }
    if (!(await this.#store.removeFile(thread, file))) throw noFile(filename, thread.name);
    await this.#blobs.remove(file.blob);
    await this.#store.forgetDoomedBlobs([file.blob]);
    return file;
  }

  /**
   * Removes a thread of `user`'s: gone for everyone at once, its files deleted right after.
   *
   * @throws {ProtocolError} 402 someone else's thread, 404 removed meanwhile.
   */
  async remove(thread: ThreadRecord, user: string): Promise<void> {
    if (thread.creator !== user) {
      throw new ProtocolError(
        Reply.NOT_ALLOWED,
        "The thread was created by another user and cannot be removed",
      );
    }
    if (!(await this.#store.removeThread(thread))) throw gone(thread.name);
    await this.collect();
  }

  /** Collects removed threads and deletes their files; one collection at a time. */
  collect(): Promise<void> {
    this.#collecting ??= this.#collectNow().then(() => {}).finally(() => {
      this.#collecting = undefined;
    });
    return this.#collecting;
  }

  async #collectNow(): Promise<number> {
    const doomed = await this.#store.collectRemovedThreads();
    for (const id of doomed) await this.#blobs.remove(id);
    await this.#store.forgetDoomedBlobs(doomed);
    return doomed.length;
  }

  /** The file called `filename` in a thread, or `undefined`. */
  async file(thread: ThreadRecord, filename: string): Promise<FileItem | undefined> {
    const items = await this.items(thread);
    return items.find((i): i is FileItem => i.kind === "file" && i.filename === filename);
  }

  /** Opens a file's bytes for reading. */
  open(file: FileItem): Promise<Deno.FsFile> {
    return this.#blobs.open(file.blob);
  }

  /**
   * Starts receiving a file into a thread.
   *
   * @throws {ProtocolError} 406 when the thread has a file of that name already.
   */
  async upload(
    thread: ThreadRecord,
    uploader: string,
    filename: string,
    size: number,
    sha256: string | undefined,
  ): Promise<ForumUpload> {
    const taken = () =>
      new ProtocolError(
        Reply.ALREADY_EXISTS,
        `${filename} already exists in thread ${thread.name}`,
      );
    if (await this.file(thread, filename)) throw taken();
    const blob = await this.#blobs.create();
    return {
      write: (bytes) => blob.write(bytes),
      abort: () => blob.abort(),
      finish: async (at, after) => {
        const digest = (after ?? sha256 ?? "").toLowerCase();
        if (!(await blob.commit({ size, sha256: digest }))) {
          throw new ProtocolError(
            Reply.CHECKSUM_MISMATCH,
            "Upload failed: the SHA-256 does not match; nothing was stored",
          );
        }
        // The file becomes visible only now; a thread removed or a name taken meanwhile undoes it.
        const item = await this.#store.addFile(thread, {
          uploader,
          filename,
          size,
          sha256: digest,
          blob: blob.id,
          at,
        });
        if (item) return item;
        await this.#blobs.remove(blob.id);
        if ((await this.#store.getThread(thread.name))?.id !== thread.id) {
          throw new ProtocolError(
            Reply.NOT_FOUND,
            `Thread ${thread.name} was removed during the upload; nothing was stored`,
          );
        }
        throw taken();
      },
    };
  }
}
