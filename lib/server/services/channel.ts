/**
 * One channel's state (members and their ranks, topic, modes, bans, invitations) and the mask
 * matching its bans use. The rules for changing it are in `channels.ts`.
 * @module
 */

import { foldChannel } from "../../protocol/names.ts";
import type { ChannelView, MemberView } from "../../protocol/reply_data.ts";

/** Bans one channel keeps. */
export const MAX_BANS = 64;
/** Longest topic, in characters. */
export const MAX_TOPIC_LENGTH = 390;
/** Longest channel key. */
export const MAX_KEY_LENGTH = 32;

/** Flag modes, in the order they are shown. */
export const FLAGS = "imnst";
/** New channels start with these. */
const DEFAULT_FLAGS = "nt";

/** A ban mask with who set it and when. */
export interface Ban {
  readonly mask: string;
  readonly by: string;
  readonly at: number;
}

/** A member and its ranks. */
export interface Member {
  readonly name: string;
  op: boolean;
  voice: boolean;
}

/** A channel's whole state as data (what a cluster's nodes pass each other). */
export interface ChannelSnapshot {
  readonly name: string;
  readonly createdAt: number;
  readonly topic: string;
  readonly topicBy: string;
  readonly topicAt: number;
  readonly flags: string;
  readonly key?: string;
  readonly limit?: number;
  readonly bans: readonly Ban[];
  readonly invited: readonly string[];
  readonly members: readonly {
    readonly name: string;
    readonly op: boolean;
    readonly voice: boolean;
  }[];
}

/** One channel's state. */
export class Channel {
  readonly name: string;
  readonly createdAt: number;
  topic = "";
  topicBy = "";
  topicAt = 0;
  readonly flags = new Set<string>(DEFAULT_FLAGS);
  key: string | undefined;
  limit: number | undefined;
  readonly bans: Ban[] = [];
  /** Folded names of users invited since they last joined. */
  readonly invited = new Set<string>();
  /** By canonical user name, in joining order. */
  readonly members = new Map<string, Member>();

  constructor(name: string, createdAt: number) {
    this.name = name;
    this.createdAt = createdAt;
  }

  isOp(user: string): boolean {
    return this.members.get(user)?.op ?? false;
  }

  /** The whole state as data, for the other nodes of a cluster. */
  snapshot(): ChannelSnapshot {
    return {
      name: this.name,
      createdAt: this.createdAt,
      topic: this.topic,
      topicBy: this.topicBy,
      topicAt: this.topicAt,
      flags: [...this.flags].join(""),
      key: this.key,
      limit: this.limit,
      bans: [...this.bans],
      invited: [...this.invited],
      members: [...this.members.values()].map((m) => ({ ...m })),
    };
  }

  /**
   * A channel with the state of a snapshot (read back from the cluster's Redis, so checked:
   * `undefined` for anything that is not a channel with members).
   */
  static from(value: unknown): Channel | undefined {
    if (typeof value !== "object" || value === null) return undefined;
    const s = value as Partial<Record<keyof ChannelSnapshot, unknown>>;
    if (typeof s.name !== "string" || typeof s.createdAt !== "number") return undefined;
    if (!Array.isArray(s.members) || s.members.length === 0) return undefined;
    const channel = new Channel(s.name, s.createdAt);
    channel.topic = typeof s.topic === "string" ? s.topic.slice(0, MAX_TOPIC_LENGTH) : "";
    channel.topicBy = typeof s.topicBy === "string" ? s.topicBy : "";
    channel.topicAt = typeof s.topicAt === "number" ? s.topicAt : 0;
    channel.flags.clear();
    for (const flag of typeof s.flags === "string" ? s.flags : DEFAULT_FLAGS) {
      if (FLAGS.includes(flag)) channel.flags.add(flag);
    }
    if (typeof s.key === "string" && s.key !== "") channel.key = s.key.slice(0, MAX_KEY_LENGTH);
    if (typeof s.limit === "number" && Number.isInteger(s.limit) && s.limit > 0) {
      channel.limit = s.limit;
    }
    for (const ban of Array.isArray(s.bans) ? s.bans.slice(0, MAX_BANS) : []) {
      const b = ban as Partial<Record<keyof Ban, unknown>>;
      if (typeof b?.mask !== "string") continue;
      channel.bans.push({
        mask: b.mask,
        by: typeof b.by === "string" ? b.by : "",
        at: typeof b.at === "number" ? b.at : 0,
      });
    }
    for (const name of Array.isArray(s.invited) ? s.invited : []) {
      if (typeof name === "string") channel.invited.add(name);
    }
    for (const member of s.members) {
      const m = member as Partial<Record<keyof Member, unknown>>;
      if (typeof m?.name !== "string") continue;
      channel.members.set(m.name, { name: m.name, op: m.op === true, voice: m.voice === true });
    }
    return channel.members.size > 0 ? channel : undefined;
  }

  view(): ChannelView {
    const flags = [...FLAGS].filter((f) => this.flags.has(f)).join("");
    const withArgs: [string, string][] = [];
    if (this.key !== undefined) withArgs.push(["k", this.key]);
    if (this.limit !== undefined) withArgs.push(["l", String(this.limit)]);
    const members: MemberView[] = [...this.members.values()].map((m) => ({ ...m }));
    return {
      name: this.name,
      createdAt: this.createdAt,
      topic: this.topic,
      topicBy: this.topicBy,
      topicAt: this.topicAt,
      members,
      modes: `+${flags}${withArgs.map(([m]) => m).join("")}`,
      modeArgs: withArgs.map(([, a]) => a),
      secret: this.flags.has("s"),
    };
  }
}

/** Whether `text` matches an IRC-style mask: `*` any run, `?` one character, ASCII case folded. */
export function maskMatches(mask: string, text: string): boolean {
  const pattern = [...foldChannel(mask)].map((c) =>
    c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  ).join("");
  return new RegExp(`^${pattern}$`, "s").test(foldChannel(text));
}

/** Completes a ban mask the way IRC servers do: `nick` → `nick!*@*`, `u@h` → `*!u@h`. */
export function normalizeMask(mask: string): string {
  if (mask.includes("!")) return mask.includes("@") ? mask : `${mask}@*`;
  if (mask.includes("@")) return `*!${mask}`;
  return `${mask}!*@*`;
}
