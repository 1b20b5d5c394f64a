/**
 * Exports of the store for people and tools: the seeds' own log files (toom's `userlog.txt`,
 * `messagelog.txt` and `SR_<id>_messageLog.txt`) and JSON lines of everything. Password hashes
 * are never exported.
 * @module
 */

import { join } from "node:path";
import { formatTimestamp } from "../protocol/timestamp.ts";
import type { Store, StoredMessage } from "../store/store.ts";

const encoder = new TextEncoder();

/** Lines written to one file, a batch at a time. */
class LineFile {
  readonly #file: Deno.FsFile;
  #batch: string[] = [];
  count = 0;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  static async create(path: string): Promise<LineFile> {
    return new LineFile(
      await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 }),
    );
  }

  async write(line: string): Promise<void> {
    this.#batch.push(line + "\n");
    this.count++;
    if (this.#batch.length >= 1000) await this.#flush();
  }

  async #flush(): Promise<void> {
    const bytes = encoder.encode(this.#batch.join(""));
    this.#batch = [];
    let offset = 0;
    while (offset < bytes.length) offset += await this.#file.write(bytes.subarray(offset));
  }

  async close(): Promise<void> {
    await this.#flush();
    this.#file.close();
  }
}

/** toom's log line: `n; time; user; text`. */
const logLine = (m: StoredMessage): string =>
  `${m.number}; ${formatTimestamp(m.at)}; ${m.from}; ${m.text}`;

/** JSON with the time both as epoch ms and as ISO 8601. */
function json(value: object): string {
  const at = "at" in value ? value.at : "createdAt" in value ? value.createdAt : undefined;
  const time = typeof at === "number" ? { time: new Date(at).toISOString() } : {};
  return JSON.stringify({ ...value, ...time });
}

/** Writes every export into `dir` (created); returns file name → lines written. */
export async function exportAll(store: Store, dir: string): Promise<Record<string, number>> {
  await Deno.mkdir(dir, { recursive: true });
  const counts: Record<string, number> = {};
  const withFile = async (name: string, fill: (file: LineFile) => Promise<void>) => {
    const file = await LineFile.create(join(dir, name));
    try {
      await fill(file);
    } finally {
      await file.close();
    }
    counts[name] = file.count;
  };
  await withFile("userlog.txt", async (f) => {
    for await (const l of store.listLogins()) {
      await f.write(
        `${l.number}; ${formatTimestamp(l.at)}; ${l.user}; ${l.ip}; ${l.udpPort ?? "-"}`,
      );
    }
  });
  await withFile("logins.jsonl", async (f) => {
    for await (const l of store.listLogins()) await f.write(json(l));
  });
  await withFile("messagelog.txt", async (f) => {
    for await (const m of store.allBroadcasts()) await f.write(logLine(m));
  });
  await withFile("broadcasts.jsonl", async (f) => {
    for await (const m of store.allBroadcasts()) await f.write(json(m));
  });
  await withFile("private.jsonl", async (f) => {
    for await (const m of store.allPrivate()) await f.write(json(m));
  });
  const rooms = await store.listRooms();
  await withFile("rooms.jsonl", async (f) => {
    for (const r of rooms) await f.write(json(r));
  });
  await withFile("room_messages.jsonl", async (f) => {
    for (const room of rooms) {
      for await (const m of store.allRoomMessages(room.id)) {
        await f.write(json({ room: room.id, ...m }));
      }
    }
  });
  for (const room of rooms) {
    await withFile(`SR_${room.id}_messageLog.txt`, async (f) => {
      for await (const m of store.allRoomMessages(room.id)) await f.write(logLine(m));
    });
  }
  const threads = await store.listThreads();
  await withFile("threads.jsonl", async (f) => {
    for (const t of threads) await f.write(json(t));
  });
  await withFile("posts.jsonl", async (f) => {
    for (const thread of threads) {
      let number = 0;
      for (const item of await store.listThreadItems(thread)) {
        const numbered = item.kind === "post" ? { number: ++number } : {};
        await f.write(json({ thread: thread.name, ...numbered, ...item }));
      }
    }
  });
  await withFile("users.jsonl", async (f) => {
    for (const u of await store.listUsers()) {
      await f.write(JSON.stringify({
        name: u.name,
        role: u.role,
        createdAt: u.createdAt,
        created: new Date(u.createdAt).toISOString(),
      }));
    }
  });
  return counts;
}
