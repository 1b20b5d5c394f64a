/**
 * The progress line of a file transfer: bar, percentage, bytes, speed, time left and, for
 * peer-to-peer transfers, the share of data that had to be resent.
 * @module
 */

import { formatBytes } from "../protocol/timestamp.ts";

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** What a progress line may add. */
export interface ProgressExtra {
  /** Share of the data resent, shown as ` loss 4.9%`. */
  readonly lossPercent?: number;
  /** Bytes already there when the clock started (a resumed transfer): not counted in the rate. */
  readonly startedAt?: number;
}

/**
 * `notes.txt [##########----------] 50% 1.0 MiB/2.0 MiB 4.0 MiB/s ETA 00:01`, followed by
 * ` loss 4.9%` when `lossPercent` is given.
 *
 * @example Usage
 * ```ts
 * import { formatProgress } from "./progress.ts";
 * formatProgress("a.bin", 512, 1024, 1000, 10); // "a.bin [#####-----] 50% 512 B/1.0 KiB 512 B/s ETA 00:01"
 * ```
 */
export function formatProgress(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  width = 20,
  extra: ProgressExtra = {},
): string {
  const { lossPercent, startedAt = 0 } = extra;
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  const rate = elapsedMs > 0 ? Math.max(0, done - startedAt) / (elapsedMs / 1000) : 0;
  const eta = rate > 0 ? (total - done) / rate : Number.NaN;
  return `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${
    Math.floor(fraction * 100)
  }% ` +
    `${formatBytes(done)}/${formatBytes(total)} ${formatBytes(Math.round(rate))}/s ETA ${
      formatEta(eta)
    }` + (lossPercent === undefined ? "" : ` loss ${lossPercent.toFixed(1)}%`);
}

/** Calls `show` at most every `intervalMs`, and always for the last update. */
export function throttledProgress(
  label: string,
  show: (line: string) => void,
  intervalMs = 100,
): (done: number, total: number, lossPercent?: number) => void {
  const started = performance.now();
  let last = -Infinity;
  let first: { done: number; at: number } | undefined;
  return (done, total, lossPercent) => {
    const now = performance.now();
    // A resumed transfer starts part way: once there are two reports, the rate is measured from
    // the first one, so bytes that were already there do not count as moved now.
    first ??= { done, at: now };
    if (done < total && now - last < intervalMs) return;
    last = now;
    const from = now > first.at ? first : { done: 0, at: started };
    show(
      formatProgress(label, done, total, now - from.at, 20, { lossPercent, startedAt: from.done }),
    );
  };
}
