/**
 * Channels: named rooms anyone may join and leave (`#networks`), as IRC has them, open to every
 * front end. Membership lasts while the member is logged in; a channel lives while it has
 * members, and what is said in it is kept (history outlives the channel, as on IRC servers with
 * history). The first member is its operator. Modes: `o` and `v` ranks, bans (`b`), a key
 * (`k`), a member limit (`l`), invite only (`i`), moderated (`m`), no messages from outside
 * (`n`), secret (`s`), topic for operators only (`t`).
 * @module
 */

import { type StoredEntry, whenStored } from "./messages.ts";
import { Reply } from "../../protocol/codes.ts";
import {
  BROADCAST_CHANNEL,
  channelNameProblem,
  foldChannel,
  foldName,
} from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import type {
  ChannelStore,
  HistoryQuery,
  Pending,
  RequestKey,
  StoredMessage,
} from "../../store/store.ts";
import type { ChannelView, MemberView } from "../../protocol/reply_data.ts";

/** Channels one user may be in at once. */
export const MAX_CHANNELS_PER_USER = 50;
/** Bans one channel keeps. */
export const MAX_BANS = 64;
/** Longest topic, in characters. */
export const MAX_TOPIC_LENGTH = 390;
/** Longest channel key. */
export const MAX_KEY_LENGTH = 32;

/** Flag modes, in the order they are shown. */
const FLAGS = "imnst";
/** New channels start with these. */
const DEFAULT_FLAGS = "nt";

/** A ban mask with who set it and when. */
export interface Ban {
  readonly mask: string;
  readonly by: string;
  readonly at: number;
}

interface Member {
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
class Channel {
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

  /** A channel with the state of a snapshot. */
  static from(snapshot: ChannelSnapshot): Channel {
    const channel = new Channel(snapshot.name, snapshot.createdAt);
    channel.topic = snapshot.topic;
    channel.topicBy = snapshot.topicBy;
    channel.topicAt = snapshot.topicAt;
    channel.flags.clear();
    for (const flag of snapshot.flags) if (FLAGS.includes(flag)) channel.flags.add(flag);
    channel.key = snapshot.key;
    channel.limit = snapshot.limit;
    channel.bans.push(...snapshot.bans.slice(0, MAX_BANS));
    for (const name of snapshot.invited) channel.invited.add(name);
    for (const m of snapshot.members) {
      channel.members.set(m.name, { name: m.name, op: m.op === true, voice: m.voice === true });
    }
    return channel;
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

const error = (
  code: number,
  text: string,
  reason: NonNullable<ProtocolError["reason"]>,
): ProtocolError => new ProtocolError(code, text, { reason });

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

/** A change of modes as applied: `+o-v` and the arguments in order. */
export interface ModeChange {
  readonly modes: string;
  readonly args: readonly string[];
  /** Mode characters this server does not know, left out. */
  readonly unknown: readonly string[];
}

/** The channels of one server, and what is said in them. */
export class ChannelService {
  readonly #store: ChannelStore;
  readonly #channels = new Map<string, Channel>();
  /** Folded channel names each user is in. */
  readonly #joined = new Map<string, Set<string>>();

  /**
   * Tells the other nodes of a cluster a channel's new state (`undefined`: nobody is in it any
   * more). Unset on a single server, where no snapshot is made.
   */
  share: ((name: string, snapshot: ChannelSnapshot | undefined) => void) | undefined;

  constructor(store: ChannelStore) {
    this.#store = store;
  }

  #changed(channel: Channel): void {
    if (!this.share) return;
    const key = foldChannel(channel.name);
    this.share(key, this.#channels.has(key) ? channel.snapshot() : undefined);
  }

  /**
   * Takes a channel's state from the cluster (every node applies every snapshot in the order
   * Redis passed them, its own included, so all end with the same state).
   */
  applied(name: string, snapshot: ChannelSnapshot | undefined): void {
    const old = this.#channels.get(name);
    for (const member of old?.members.keys() ?? []) this.#joined.get(member)?.delete(name);
    if (snapshot === undefined || snapshot.members.length === 0) {
      this.#channels.delete(name);
      return;
    }
    const channel = Channel.from(snapshot);
    this.#channels.set(name, channel);
    for (const member of channel.members.keys()) {
      let mine = this.#joined.get(member);
      if (!mine) this.#joined.set(member, mine = new Set());
      mine.add(name);
    }
  }

  /**
   * The channel called `name`.
   *
   * @throws {ProtocolError} 414 for a name that cannot be a channel, 404 when nobody is in it.
   */
  #existing(name: string): Channel {
    const problem = channelNameProblem(name);
    if (problem) throw error(Reply.INVALID_VALUE, problem, "bad_channel_name");
    const channel = this.#channels.get(foldChannel(name));
    if (!channel) throw error(Reply.NOT_FOUND, `No such channel ${name}`, "no_such_channel");
    return channel;
  }

  /** The channel `user` must be in to act on. @throws {ProtocolError} 404 or 402. */
  #asMember(name: string, user: string): Channel {
    const channel = this.#existing(name);
    if (!channel.members.has(user)) {
      throw error(Reply.NOT_ALLOWED, `You are not on ${channel.name}`, "not_on_channel");
    }
    return channel;
  }

  /** The channel `user` must be an operator of to change. */
  #asOperator(name: string, user: string): Channel {
    const channel = this.#asMember(name, user);
    if (!channel.isOp(user)) {
      throw error(
        Reply.NOT_ALLOWED,
        `You are not an operator of ${channel.name}`,
        "chanop_needed",
      );
    }
    return channel;
  }

  /** The channel's state, or `undefined` when nobody is in it. */
  view(name: string): ChannelView | undefined {
    return this.#channels.get(foldChannel(name))?.view();
  }

  /**
   * The channel as `user` may see it.
   *
   * @throws {ProtocolError} 414 for a name that cannot be a channel; 404 when nobody is in it,
   * or it is secret (+s) and `user` is not.
   */
  viewFor(name: string, user: string): ChannelView {
    const channel = this.#existing(name);
    if (channel.flags.has("s") && !channel.members.has(user)) {
      throw error(Reply.NOT_FOUND, `No such channel ${name}`, "no_such_channel");
    }
    return channel.view();
  }

  /** Whether `user` is in the channel. */
  isMember(name: string, user: string): boolean {
    return this.#channels.get(foldChannel(name))?.members.has(user) ?? false;
  }

  /** The members of a channel, by canonical name (none when it does not exist). */
  members(name: string): string[] {
    return [...(this.#channels.get(foldChannel(name))?.members.keys() ?? [])];
  }

  /** The channels a user is in, by display name. */
  channelsOf(user: string): string[] {
    return [...(this.#joined.get(user) ?? [])].flatMap((key) => {
      const channel = this.#channels.get(key);
      return channel ? [channel.name] : [];
    });
  }

  /** Every channel there is now, by folded name. */
  names(): string[] {
    return [...this.#channels.keys()];
  }

  /** Every channel `user` may see: not secret, or secret with `user` in it. */
  list(user: string): ChannelView[] {
    return [...this.#channels.values()]
      .filter((c) => !c.flags.has("s") || c.members.has(user))
      .map((c) => c.view());
  }

  /**
   * Puts `user` in the channel, creating it (with `user` as operator) if nobody is in it.
   * `mask` is `nick!ident@host`, matched against bans.
   *
   * @throws {ProtocolError} for a bad name, a full channel, an invite-only or banned one, a
   * wrong key, or too many channels.
   */
  join(
    user: string,
    name: string,
    key: string | undefined,
    mask: string,
    now: number,
  ): { channel: ChannelView; created: boolean; already: boolean } {
    const problem = channelNameProblem(name);
    if (problem) throw error(Reply.INVALID_VALUE, problem, "bad_channel_name");
    if (foldChannel(name) === BROADCAST_CHANNEL) {
      throw error(
        Reply.NOT_ALLOWED,
        `${BROADCAST_CHANNEL} is the broadcast stream: use BROADCAST`,
        "bad_channel_name",
      );
    }
    const folded = foldChannel(name);
    let channel = this.#channels.get(folded);
    if (channel?.members.has(user)) {
      return { channel: channel.view(), created: false, already: true };
    }
    const mine = this.#joined.get(user) ?? new Set<string>();
    if (mine.size >= MAX_CHANNELS_PER_USER) {
      throw error(
        Reply.NOT_ALLOWED,
        `You are in ${MAX_CHANNELS_PER_USER} channels already`,
        "too_many_channels",
      );
    }
    const created = channel === undefined;
    if (channel) {
      const invited = channel.invited.has(foldName(user));
      if (channel.key !== undefined && key !== channel.key) {
        throw error(Reply.NOT_ALLOWED, `Cannot join ${channel.name}: wrong key (+k)`, "bad_key");
      }
      if (channel.limit !== undefined && channel.members.size >= channel.limit) {
        throw error(
          Reply.NOT_ALLOWED,
          `Cannot join ${channel.name}: it is full (+l)`,
          "channel_full",
        );
      }
      if (channel.flags.has("i") && !invited) {
        throw error(
          Reply.NOT_ALLOWED,
          `Cannot join ${channel.name}: invite only (+i)`,
          "invite_only",
        );
      }
      if (!invited && channel.bans.some((b) => maskMatches(b.mask, mask))) {
        throw error(
          Reply.NOT_ALLOWED,
          `Cannot join ${channel.name}: you are banned (+b)`,
          "banned",
        );
      }
      channel.invited.delete(foldName(user));
    } else {
      channel = new Channel(name, now);
      this.#channels.set(folded, channel);
    }
    channel.members.set(user, { name: user, op: created, voice: false });
    mine.add(folded);
    this.#joined.set(user, mine);
    this.#changed(channel);
    return { channel: channel.view(), created, already: false };
  }

  /** Takes `user` out of the channel. @throws {ProtocolError} when not in it. */
  part(user: string, name: string): ChannelView {
    const channel = this.#asMember(name, user);
    const view = channel.view();
    this.#remove(channel, user);
    this.#changed(channel);
    return view;
  }

  /** Takes `user` out of every channel (logged out); returns the channels it was in. */
  leaveAll(user: string): string[] {
    const names: string[] = [];
    for (const key of this.#joined.get(user) ?? []) {
      const channel = this.#channels.get(key);
      if (!channel) continue;
      names.push(channel.name);
      this.#remove(channel, user);
      this.#changed(channel);
    }
    this.#joined.delete(user);
    return names;
  }

  /**
   * `user` is now called `name` (a guest's NICK): the same place in each channel, rank kept,
   * and its membership under the new name. Returns the channels it is in.
   */
  rename(user: string, name: string): string[] {
    const names: string[] = [];
    const keys = this.#joined.get(user) ?? new Set<string>();
    for (const key of keys) {
      const channel = this.#channels.get(key);
      if (!channel) continue;
      names.push(channel.name);
      // Rebuilt in joining order with the new name where the old one was.
      const members = [...channel.members.values()];
      channel.members.clear();
      for (const m of members) {
        channel.members.set(m.name === user ? name : m.name, {
          ...m,
          name: m.name === user ? name : m.name,
        });
      }
      if (channel.invited.delete(foldName(user))) channel.invited.add(foldName(name));
      this.#changed(channel);
    }
    this.#joined.delete(user);
    if (keys.size > 0) this.#joined.set(name, keys);
    return names;
  }

  #remove(channel: Channel, user: string): void {
    channel.members.delete(user);
    const key = foldChannel(channel.name);
    this.#joined.get(user)?.delete(key);
    if (channel.members.size === 0) this.#channels.delete(key);
  }

  /**
   * Whether `user` may say something in the channel: a member (or anyone without `+n`), not
   * banned, and with a rank when it is moderated.
   *
   * @throws {ProtocolError} 404 when there is no such channel, 402 when `user` may not.
   */
  checkSpeaker(name: string, user: string, mask: string): string {
    const channel = this.#existing(name);
    const member = channel.members.get(user);
    const refuse = (why: string) =>
      error(Reply.NOT_ALLOWED, `Cannot send to ${channel.name}: ${why}`, "cannot_send");
    if (!member && channel.flags.has("n")) throw refuse("you are not in it (+n)");
    if (member?.op || member?.voice) return channel.name;
    if (channel.flags.has("m")) throw refuse("it is moderated (+m)");
    if (channel.bans.some((b) => maskMatches(b.mask, mask))) throw refuse("you are banned (+b)");
    return channel.name;
  }

  /** Stores a message said in the channel (once per request id, when there is one). */
  say(
    name: string,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    const channel = foldChannel(name);
    return whenStored(
      this.#store.appendChannelMessage(channel, from, text, at, request),
      ({ value }) => this.stored({ kind: "channel", channel, message: value }),
    );
  }

  /** Told of every channel message once stored (the search index listens). */
  stored: (entry: StoredEntry) => void = () => {};

  /** What was said in a channel (whether anyone is in it now or not). */
  history(name: string, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#store.listChannelMessages(foldChannel(name), query);
  }

  /** The topic, for anyone who may see the channel. */
  topic(name: string, user: string): { channel: string; topic: string; by: string; at: number } {
    const view = this.viewFor(name, user);
    return { channel: view.name, topic: view.topic, by: view.topicBy, at: view.topicAt };
  }

  /** Sets (or with "", clears) the topic. @throws {ProtocolError} when `user` may not. */
  setTopic(name: string, user: string, topic: string, at: number): string {
    const channel = this.#asMember(name, user);
    if (channel.flags.has("t") && !channel.isOp(user)) {
      throw error(
        Reply.NOT_ALLOWED,
        `Only operators of ${channel.name} may set its topic (+t)`,
        "chanop_needed",
      );
    }
    channel.topic = topic.slice(0, MAX_TOPIC_LENGTH);
    channel.topicBy = user;
    channel.topicAt = at;
    this.#changed(channel);
    return channel.name;
  }

  /** An operator puts `target` out of the channel. */
  kick(name: string, by: string, target: string): string {
    const channel = this.#asOperator(name, by);
    if (!channel.members.has(target)) {
      throw error(
        Reply.NOT_FOUND,
        `${target} is not on ${channel.name}`,
        "user_not_on_channel",
      );
    }
    this.#remove(channel, target);
    this.#changed(channel);
    return channel.name;
  }

  /** A member invites `target` (an operator, when the channel is invite only). */
  invite(name: string, by: string, target: string): string {
    const channel = this.#asMember(name, by);
    if (channel.flags.has("i") && !channel.isOp(by)) {
      throw error(
        Reply.NOT_ALLOWED,
        `Only operators of ${channel.name} may invite to it (+i)`,
        "chanop_needed",
      );
    }
    if (channel.members.has(target)) {
      throw error(
        Reply.ALREADY_EXISTS,
        `${target} is already on ${channel.name}`,
        "already_on_channel",
      );
    }
    channel.invited.add(foldName(target));
    this.#changed(channel);
    return channel.name;
  }

  /** The channel's bans. */
  bans(name: string): Ban[] {
    return [...this.#existing(name).bans];
  }

  /**
   * Applies a mode string (`+o-v alice bob`, `+k secret`, `-l`) from an operator. Each change
   * that would change nothing is left out; unknown mode characters are reported, not applied.
   *
   * @throws {ProtocolError} when `by` may not, or a named member is not in the channel.
   */
  setModes(
    name: string,
    by: string,
    modeString: string,
    args: readonly string[],
    canonical: (user: string) => string | undefined,
    at: number,
  ): ModeChange {
    const channel = this.#asOperator(name, by);
    const queue = [...args];
    const applied: { sign: "+" | "-"; mode: string; arg?: string }[] = [];
    const unknown: string[] = [];
    let sign: "+" | "-" = "+";
    for (const mode of modeString) {
      if (mode === "+" || mode === "-") {
        sign = mode;
        continue;
      }
      const add = sign === "+";
      if (FLAGS.includes(mode)) {
        if (channel.flags.has(mode) === add) continue;
        if (add) channel.flags.add(mode);
        else channel.flags.delete(mode);
        applied.push({ sign, mode });
      } else if (mode === "o" || mode === "v") {
        const who = queue.shift();
        if (who === undefined) continue;
        const user = canonical(who);
        const member = user === undefined ? undefined : channel.members.get(user);
        if (!member) {
          throw error(
            Reply.NOT_FOUND,
            `${who} is not on ${channel.name}`,
            user === undefined ? "no_such_user" : "user_not_on_channel",
          );
        }
        const rank = mode === "o" ? "op" : "voice";
        if (member[rank] === add) continue;
        member[rank] = add;
        applied.push({ sign, mode, arg: member.name });
      } else if (mode === "k") {
        const key = queue.shift();
        if (add) {
          if (key === undefined || key === "" || /[\s,]/.test(key)) continue;
          channel.key = key.slice(0, MAX_KEY_LENGTH);
          applied.push({ sign, mode, arg: channel.key });
        } else if (channel.key !== undefined) {
          channel.key = undefined;
          applied.push({ sign, mode, arg: "*" });
        }
      } else if (mode === "l") {
        if (add) {
          const limit = Number(queue.shift());
          if (!Number.isInteger(limit) || limit < 1) continue;
          channel.limit = limit;
          applied.push({ sign, mode, arg: String(limit) });
        } else if (channel.limit !== undefined) {
          channel.limit = undefined;
          applied.push({ sign, mode });
        }
      } else if (mode === "b") {
        const given = queue.shift();
        if (given === undefined) continue; // a listing, answered by the caller
        const mask = normalizeMask(given);
        const at_ = channel.bans.findIndex((b) => foldChannel(b.mask) === foldChannel(mask));
        if (add && at_ === -1 && channel.bans.length < MAX_BANS) {
          channel.bans.push({ mask, by, at });
          applied.push({ sign, mode, arg: mask });
        } else if (!add && at_ !== -1) {
          channel.bans.splice(at_, 1);
          applied.push({ sign, mode, arg: mask });
        }
      } else if (!unknown.includes(mode)) {
        unknown.push(mode);
      }
    }
    let modes = "";
    let last = "";
    for (const change of applied) {
      if (change.sign !== last) modes += last = change.sign;
      modes += change.mode;
    }
    if (applied.length > 0) this.#changed(channel);
    const changedArgs = applied.flatMap((c) => c.arg === undefined ? [] : [c.arg]);
    return { modes, args: changedArgs, unknown };
  }
}
