/**
 * Structured replies a client reads fields out of: the DOWNLOAD header, a PEER introduction and
 * the entries of WHO. Each has its formatter (used by the server) and its parser (used by
 * clients), so the two cannot drift apart.
 * @module
 */

import { formatTimestamp } from "./timestamp.ts";

/** `201 size sha256 name`: what follows a DOWNLOAD reply. */
export interface DownloadHeader {
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
  readonly name: string;
}

/** The text of a 201 reply. */
export function formatDownloadHeader(header: DownloadHeader): string {
  return `${header.size} ${header.sha256} ${header.name}`;
}

/** Reads a 201 reply's text; `undefined` when it is not one. */
export function parseDownloadHeader(text: string): DownloadHeader | undefined {
  const m = /^(\d{1,15}) ([0-9a-f]{64}) (\S+)$/.exec(text);
  return m ? { size: Number(m[1]), sha256: m[2], name: m[3] } : undefined;
}

/** A PEER reply: where the other user's client takes datagrams, and the one-time token. */
export interface PeerIntroduction {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  /** 32 hex digits. */
  readonly token: string;
}

/** The text of a PEER reply. */
export function formatPeerIntroduction(intro: PeerIntroduction): string {
  return `${intro.user} ${intro.host} ${intro.port} ${intro.token}`;
}

/** Reads a PEER reply's text; `undefined` when it is not one. */
export function parsePeerIntroduction(text: string): PeerIntroduction | undefined {
  const m = /^(\S+) (\S+) (\d{1,5}) ([0-9a-f]{32})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? { user: m[1], host: m[2], port, token: m[4] } : undefined;
}

/** One line of WHO. */
export interface WhoEntry {
  readonly user: string;
  readonly ip: string;
  /** The UDP port the user's client reported, if any. */
  readonly udpPort?: number;
  /** When the user logged in, as the server shows it (`03 Aug 2022 23:25:03`). */
  readonly since: string;
  /** The away message, when the user set one. */
  readonly away?: string;
}

/** `yoda, 127.0.0.1, 8001, active since 03 Aug 2022 18:59:49` (toom's ATU line). */
export function formatWhoEntry(
  user: string,
  ip: string,
  udpPort: number | undefined,
  loginAt: number,
  away?: string,
): string {
  const line = `${user}, ${ip}, ${udpPort ?? "-"}, active since ${formatTimestamp(loginAt)}`;
  return away ? `${line}, away: ${away}` : line;
}

/** Reads one WHO line; `undefined` for the summary line or anything else. */
export function parseWhoEntry(line: string): WhoEntry | undefined {
  const m = /^(\S+), (\S+), (\d{1,5}|-), active since (.+?)(?:, away: (.*))?$/.exec(line);
  if (!m) return undefined;
  const entry = {
    user: m[1],
    ip: m[2],
    udpPort: m[3] === "-" ? undefined : Number(m[3]),
    since: m[4],
  };
  return m[5] === undefined ? entry : { ...entry, away: m[5] };
}
