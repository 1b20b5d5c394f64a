/**
 * Forum uploads and downloads against plain TCP copies of the same file, in turns, three rounds
 * (medians): the copy into nothing (the network's part alone), into a new file (what a download
 * must do), and into a new file fsynced (what an acknowledged upload must do).
 * @module
 */

import { downloadFile, uploadFile } from "../../lib/client/transfers.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";
import { connectUsers, percentile, plainTcpCopy, type Row, startServer } from "../common.ts";

const ROUNDS = 3;

export async function forumTransfer(mib: number): Promise<Row> {
  const server = await startServer(["--max-upload-mb", String(mib + 1)]);
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-file-" });
  try {
    const path = `${dir}/payload.bin`;
    await writeRandomFile(path, mib * 1024 * 1024);
    const [chat] = await connectUsers(server.port, 1, "f");
    await chat.request("THREAD CREATE bench");
    const seconds = { upload: [], download: [], discard: [], file: [], synced: [] } as Record<
      "upload" | "download" | "discard" | "file" | "synced",
      number[]
    >;
    const timed = async (into: number[], work: () => Promise<unknown>) => {
      const start = performance.now();
      await work();
      into.push((performance.now() - start) / 1000);
    };
    // Every written file is kept to the end: each writer pays for fresh page-cache pages alike.
    for (let round = 0; round < ROUNDS; round++) {
      const name = `payload-${round}.bin`;
      await Deno.link(path, `${dir}/${name}`);
      await timed(seconds.upload, async () => {
        const up = await uploadFile(chat, "bench", `${dir}/${name}`);
        if (up.code !== 200) throw new Error(`Upload failed: ${up.text}`);
      });
      await timed(seconds.download, () => downloadFile(chat, "bench", name, `${dir}/dl`));
      await timed(
        seconds.synced,
        () => plainTcpCopy(path, { file: `${dir}/s${round}`, sync: true }),
      );
      await timed(
        seconds.file,
        () => plainTcpCopy(path, { file: `${dir}/f${round}`, sync: false }),
      );
      await timed(seconds.discard, () => plainTcpCopy(path));
    }
    await chat.close();
    const median = (list: number[]) => percentile([...list].sort((a, b) => a - b), 0.5);
    const mibps = (list: number[]) => +(mib / median(list)).toFixed(1);
    const ratio = (list: number[], to: number[]) => +(median(to) / median(list)).toFixed(2);
    return {
      scenario: `forum upload/download of ${mib} MiB vs plain TCP copies (medians of ${ROUNDS})`,
      figures: {
        "upload MiB/s": mibps(seconds.upload),
        "download MiB/s": mibps(seconds.download),
        "copy discarded MiB/s": mibps(seconds.discard),
        "copy to file MiB/s": mibps(seconds.file),
        "copy to file+fsync MiB/s": mibps(seconds.synced),
        "upload/discarded": ratio(seconds.upload, seconds.discard),
        "upload/file+fsync": ratio(seconds.upload, seconds.synced),
        "download/discarded": ratio(seconds.download, seconds.discard),
        "download/file": ratio(seconds.download, seconds.file),
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.stop();
  }
}
