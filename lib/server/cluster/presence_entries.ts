/**
 * What the cluster's shared hash of who is online (`labchat:online`) holds: for each folded name,
 * the person's entries by node. The hub writes it; the operator tool reads it.
 * @module
 */

import type { OnlineUser } from "../hub.ts";
import type { SessionInfo } from "../session_group.ts";

/** The shared hash of who is online. */
export const ONLINE_KEY = "labchat:online";

/** A person's sessions on one node, as the shared hash holds them. */
export interface Presence {
  /** The person as that node shows them (its first session's login). */
  readonly user: OnlineUser;
  readonly node: string;
  /** Names this node's hold on the person (a new one each time the node claims it). */
  readonly session: string;
  /** The run of the node (a new one each start) and the person's number in that run. */
  readonly run: string;
  readonly slot: number;
  /** How many sessions of the person the node has. */
  readonly count: number;
  /** What SESSIONS shows of them. */
  readonly info?: readonly SessionInfo[];
}

/** A person's entries by node, from the shared hash's value (one bare entry in older data). */
export function entriesOf(json: string): Presence[] {
  const value = parse<Record<string, Presence> | Presence>(json);
  if (!value || typeof value !== "object") return [];
  if (typeof (value as Presence).node === "string") return [value as Presence];
  return Object.values(value as Record<string, Presence>).filter((e) =>
    typeof e?.node === "string" && typeof e?.user?.name === "string"
  );
}

/** A JSON value, or `undefined` when it does not parse. */
function parse<T>(json: string): T | undefined {
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}
