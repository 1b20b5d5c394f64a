import { assertEquals } from "@std/assert";
import { hashFile } from "../../lib/fs/hash_file.ts";

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("hashFile: size and SHA-256 of an empty file and of one past a yield to the event loop", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/empty`, new Uint8Array(0));
    assertEquals(await hashFile(`${dir}/empty`), {
      size: 0,
      sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    });
    // 48 MiB and 5 bytes: three turns' worth, and a last read shorter than the rest.
    const bytes = new Uint8Array(48 * 1024 * 1024 + 5);
    for (let i = 0; i < bytes.length; i += 65536) {
      crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65536)));
    }
    await Deno.writeFile(`${dir}/big`, bytes);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const result = await hashFile(`${dir}/big`);
    clearInterval(ticker);
    assertEquals(result, {
      size: bytes.length,
      sha256: hex(await crypto.subtle.digest("SHA-256", bytes)),
    });
    assertEquals(ticks >= 2, true, `the event loop ran while the file was hashed (${ticks} turns)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
