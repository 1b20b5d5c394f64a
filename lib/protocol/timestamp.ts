/**
 * Timestamps as the seeds show them: `03 Aug 2022 23:25:03`, in the server's local time.
 * @module
 */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const pad = (n: number): string => String(n).padStart(2, "0");

/**
 * Formats a time as `DD Mon YYYY HH:MM:SS`.
 *
 * @example Usage
 * ```ts
 * import { formatTimestamp } from "./timestamp.ts";
 * formatTimestamp(new Date(2022, 7, 3, 23, 25, 3)); // "03 Aug 2022 23:25:03"
 * ```
 */
export function formatTimestamp(time: Date | number): string {
  const d = typeof time === "number" ? new Date(time) : time;
  return `${pad(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Parses `D Mon YYYY[ HH:MM[:SS]]` (local time) or an ISO 8601 date and time. Returns epoch
 * milliseconds, or `undefined` when the text is neither.
 */
export function parseTimestamp(text: string): number | undefined {
  const trimmed = text.trim();
  const match = /^(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(
    trimmed,
  );
  if (match) {
    const month = MONTHS.findIndex((m) => m.toLowerCase() === match[2].toLowerCase());
    if (month === -1) return undefined;
    const [day, year] = [Number(match[1]), Number(match[3])];
    const [hours, minutes, seconds] = [match[4], match[5], match[6]].map((v) => Number(v ?? 0));
    if (day < 1 || day > 31 || hours > 23 || minutes > 59 || seconds > 59) return undefined;
    const date = new Date(year, month, day, hours, minutes, seconds);
    return date.getDate() === day ? date.getTime() : undefined;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const ms = Date.parse(trimmed);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** A duration for people: `300 ms`, `10 seconds`, `10 minutes`, `1 minute`. */
export function formatDuration(ms: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000 || ms % 60_000 !== 0) return unit(Math.round(ms / 1000), "second");
  return unit(ms / 60_000, "minute");
}

/** A byte count for people: `512 B`, `1.0 KiB`, `50.0 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
