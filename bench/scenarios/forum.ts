/**
 * Forum uploads and downloads against a plain TCP copy of the same file.
 * @module
 */

import { downloadFile, uploadFile } from "../../lib/client/transfers.ts";
import { writeRandomFile } from "../../testing/random_bytes.ts";
import { connectUsers, plainTcpCopy, type Row, startServer } from "../common.ts";

export async function forumTransfer(mib: number): Promise<Row> {
  const server = await startServer(["--max-upload-mb", String(mib + 1)]);
  const dir = await Deno.makeTempDir({ prefix: "labchat-bench-file-" });
  try {
    const path = `${dir}/payload.bin`;
    await writeRandomFile(path, mib * 1024 * 1024);
    const [chat] = await connectUsers(server.port, 1, "f");
    await chat.request("THREAD CREATE bench");
    let start = performance.now();
    const up = await uploadFile(chat, "bench", path);
    const upSeconds = (performance.now() - start) / 1000;
    if (up.code !== 200) throw new Error(`Upload failed: ${up.text}`);
    start = performance.now();
    await downloadFile(chat, "bench", "payload.bin", `${dir}/dl`);
    const downSeconds = (performance.now() - start) / 1000;
    await chat.close();
    const plain = await plainTcpCopy(path);
    const mibps = (s: number) => +(mib / s).toFixed(1);
    return {
      scenario: `forum upload/download of ${mib} MiB vs plain TCP copy`,
      figures: {
        "upload MiB/s": mibps(upSeconds),
        "download MiB/s": mibps(downSeconds),
        "plain TCP MiB/s": mibps(plain),
        "upload/plain": +(plain / upSeconds).toFixed(2),
        "download/plain": +(plain / downSeconds).toFixed(2),
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
    await server.stop();
  }
}
