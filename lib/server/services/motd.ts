/**
 * Messages of the day in rotation: each request gets the next one; a message added joins the end
 * of the rotation, which carries on from where it was.
 * @module
 */

import { join } from "node:path";
import { FALLBACK_MOTD } from "../../config.ts";
import type { MotdStore } from "../../store/store.ts";
import type { ShareChange } from "../shared_changes.ts";

/** Reads the MOTD seed file: one message per non-empty line. */
async function readSeed(dataDir: string): Promise<string[]> {
  try {
    const text = await Deno.readTextFile(join(dataDir, "motd.txt"));
    return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [...FALLBACK_MOTD];
    throw error;
  }
}

/** The rotation of one server. */
export class MotdService {
  readonly #store: MotdStore;
  readonly #messages: string[];
  #cursor: number;
  /** Tells the other nodes of a cluster what changed. */
  share: ShareChange = () => {};

  private constructor(store: MotdStore, messages: string[], cursor: number) {
    this.#store = store;
    this.#messages = messages;
    this.#cursor = cursor;
  }

  /** Loads the messages; a new store is seeded from `dataDir/motd.txt` (or built-in messages). */
  static async open(store: MotdStore, dataDir: string): Promise<MotdService> {
    let messages = await store.listMotd();
    if (messages.length === 0) {
      messages = await readSeed(dataDir);
      for (const text of messages) await store.addMotd(text);
    }
    return new MotdService(store, messages, await store.getMotdCursor());
  }

  /** The next message, or `undefined` when there is none. */
  async next(): Promise<string | undefined> {
    if (this.#messages.length === 0) return undefined;
    const index = this.#cursor % this.#messages.length;
    this.#cursor = (index + 1) % this.#messages.length;
    await this.#store.setMotdCursor(this.#cursor);
    return this.#messages[index];
  }

  /** Adds a message at the end of the rotation. */
  async add(text: string): Promise<void> {
    await this.#store.addMotd(text);
    this.#messages.push(text);
    this.share({ kind: "motd", text });
  }

  /** Learns of a message added on another node. */
  applied(text: string): void {
    this.#messages.push(text);
  }

  /** Reads the messages again (after an outage, when one added elsewhere may have gone untold). */
  async reload(): Promise<void> {
    const messages = await this.#store.listMotd();
    if (messages.length > 0) this.#messages.splice(0, this.#messages.length, ...messages);
  }
}
