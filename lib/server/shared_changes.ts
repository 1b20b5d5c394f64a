/**
 * Changes one node makes to state every node keeps in memory (blocks, rooms, last seen, MOTD,
 * cached accounts). In a cluster the hub passes them to the other nodes, which apply them; the
 * embedded server has nobody to tell.
 * @module
 */

import type { RoomRecord, SeenRecord } from "../store/store.ts";

/** One change, as data (it crosses the network as JSON). */
export type SharedChange =
  | {
    readonly kind: "block";
    readonly blocker: string;
    readonly blocked: string;
    readonly on: boolean;
  }
  | { readonly kind: "room"; readonly room: RoomRecord }
  | { readonly kind: "seen"; readonly record: SeenRecord }
  | { readonly kind: "motd"; readonly text: string }
  /** An account changed (password, role, deleted): forget what is cached of it. */
  | { readonly kind: "account"; readonly name: string }
  /**
   * A user's sessions end (KILL, SESSIONS END, a changed password): the nodes that hold them end
   * them: all, the one of id `only`, or all but the one of id `except`.
   */
  | {
    readonly kind: "kill";
    readonly name: string;
    readonly text: string;
    readonly reason: string;
    readonly only?: string;
    readonly except?: string;
  };

/** Where a service reports the changes it made, for the other nodes. */
export type ShareChange = (change: SharedChange) => void;

/** The services a shared change is applied to. */
export interface ChangeTargets {
  readonly blocks: { applied(blocker: string, blocked: string, on: boolean): void };
  readonly rooms: { applied(room: RoomRecord): void };
  readonly seen: { applied(record: SeenRecord): void };
  readonly motd: { applied(text: string): void };
  readonly accounts: { forget(name: string): void };
  /** Ends sessions held here, if any: the user is told `text`, the others `reason`. */
  endLocalSession(
    name: string,
    text: string,
    reason: string,
    which?: { only?: string; except?: string },
  ): boolean;
}

/** Applies a change another node made to this node's memory. */
export function applySharedChange(targets: ChangeTargets, change: SharedChange): void {
  switch (change.kind) {
    case "block":
      targets.blocks.applied(change.blocker, change.blocked, change.on);
      break;
    case "room":
      targets.rooms.applied(change.room);
      break;
    case "seen":
      targets.seen.applied(change.record);
      break;
    case "motd":
      targets.motd.applied(change.text);
      break;
    case "account":
      targets.accounts.forget(change.name);
      break;
    case "kill":
      targets.endLocalSession(String(change.name), String(change.text), String(change.reason), {
        only: typeof change.only === "string" ? change.only : undefined,
        except: typeof change.except === "string" ? change.except : undefined,
      });
      break;
  }
}

/** Whether a value that came over the network is a change this version knows. */
export function isSharedChange(value: unknown): value is SharedChange {
  if (typeof value !== "object" || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === "block" || kind === "room" || kind === "seen" || kind === "motd" ||
    kind === "account" || kind === "kill";
}
