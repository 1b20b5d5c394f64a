/**
 * Channels: named rooms anyone may join and leave (`#networks`), as IRC has them, open to every
 * front end. Membership lasts while the member is logged in; a channel lives while it has
 * members, and what is said in it is kept (history outlives the channel, as on IRC servers with
 * history). The first member is its operator. Modes: `o` and `v` ranks, bans (`b`), a key
 * (`k`), a member limit (`l`), invite only (`i`), moderated (`m`), no messages from outside
 * (`n`), secret (`s`), topic for operators only (`t`).
 *
 * Every change is an operation ({@linkcode ChannelOp}). A server alone applies it at once. In a
 * cluster the node puts it in one Redis stream, every node applies every operation in the
 * stream's order (its own too, and only then), and the node that made it answers with what it
 * came to: two nodes that make or change the same channel at the same moment end with the same
 * channel, as one server would have made it.
 * @module
 */

import { type StoredEntry, whenStored } from "./messages.ts";
import {
  type Ban,
  Channel,
  type ChannelSnapshot,
  maskMatches,
  MAX_TOPIC_LENGTH,
} from "./channel.ts";
import type { ChannelOp, LoggedOp, Place } from "./channel_ops.ts";
import { modeStep, modeSteps, takesArgument } from "./channel_modes.ts";
import { Reply } from "../../protocol/codes.ts";
import {
  BROADCAST_CHANNEL,
  channelNameProblem,
  foldChannel,
  foldName,
} from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { StoreUnavailableError } from "../../store/store_unavailable.ts";
import type {
  ChannelStore,
  HistoryQuery,
  Pending,
  RequestKey,
  StoredMessage,
} from "../../store/store.ts";
import type { ChannelView } from "../../protocol/reply_data.ts";

/** Channels one user may be in at once. */
export const MAX_CHANNELS_PER_USER = 50;

/**
 * How long a cluster's node waits for an operation it made to come back through the stream
 * applied, before it tells the user the outcome is not known (Redis is away, say).
 */
export const APPLY_WAIT_MS = 10_000;

/**
 * How long after the cluster has a user here online again an operation of another node that
 * took them out of their channels (read late) still puts them back.
 */
const BACK_WINDOW_MS = 30_000;

/** What a JOIN came to. */
export interface Joined {
  readonly channel: ChannelView;
  readonly created: boolean;
  /** The user was on the channel already: nothing changed. */
  readonly already: boolean;
}

/** What a KICK came to: the channel's name and who was in it just before. */
export interface Kicked {
  readonly channel: string;
  readonly members: readonly string[];
}

/** A change of modes as applied: `+o-v` and the arguments in order. */
export interface ModeChange {
  readonly modes: string;
  readonly args: readonly string[];
  /** Mode characters this server does not know, left out. */
  readonly unknown: readonly string[];
}

/** Where a cluster's node puts its channel operations in the one order (its hub). */
export interface ChannelReplication {
  /** Appends an operation to the stream every node applies. Rejects when it cannot. */
  append(entry: LoggedOp): Promise<void>;
  /** A channel changed: its state is to be kept for nodes that start later. */
  changed(name: string): void;
}

type Outcome = Joined | ChannelView | Kicked | ModeChange | string | string[];

interface Waiter {
  readonly resolve: (outcome: Outcome) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const error = (
  code: number,
  text: string,
  reason: NonNullable<ProtocolError["reason"]>,
): ProtocolError => new ProtocolError(code, text, { reason });

const NEVER = () => false;

/** The channels of one server (or of one cluster), and what is said in them. */
export class ChannelService {
  readonly #store: ChannelStore;
  readonly #channels = new Map<string, Channel>();
  /** Folded channel names each user is in. */
  readonly #joined = new Map<string, Set<string>>();

  #replication: ChannelReplication | undefined;
  /** What this process's operations' ids start with. */
  readonly #origin = crypto.randomUUID();
  #made = 0;
  /** This node's operations not applied yet, by id: who waits for their outcome. */
  readonly #waiting = new Map<string, Waiter>();
  /** Closed (the server is shutting down): no operation goes through the stream any more. */
  #closed = false;
  /** This node's operations not applied yet, counted by the user who made them. */
  readonly #inFlight = new Map<string, number>();
  /** While a logged operation is applied: the channels whose state is newer than it. */
  #skip: (key: string) => boolean = NEVER;
  /** While a logged operation is applied: whether another node made it. */
  #foreign = false;
  /**
   * While a logged operation is applied: nobody here waits for its outcome, so what only the
   * answer needs (a view of a channel of thousands) is not made.
   */
  #unheard = false;
  /** The channels the operation being applied changed. */
  readonly #touched = new Set<string>();
  /** Users here another node took out of channels, and where they were (see back). */
  readonly #takenOut = new Map<string, Place[]>();
  /** Users here lately back online after the cluster took them for gone, and since when. */
  readonly #back = new Map<string, number>();
  /** Users whose logout could not be made (Redis away): see leaveAll. */
  readonly #owedLeaves = new Set<string>();

  /** Whether `user` has a session on this node (a cluster puts such users back; see rejoin). */
  isHere: (user: string) => boolean = NEVER;
  /** Whether `user` is online on any node (an owed logout is dropped then; see leaveAll). */
  isOnline: (user: string) => boolean = NEVER;
  /** Told when a user was put back in channels after a split, so their members hear of it. */
  rejoined: (user: string, channels: readonly string[]) => void = () => {};
  /** Told of an operation that failed for a reason other than its rules (a defect). */
  report: (text: string, error: unknown) => void = () => {};

  constructor(store: ChannelStore) {
    this.#store = store;
  }

  /**
   * The server is leaving: operations still under way are answered as of unknown outcome, and
   * no timer of theirs outlives it.
   */
  close(): void {
    this.#closed = true;
    for (const [id, waiter] of this.#waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(new StoreUnavailableError(new Error("the server is shutting down"), "unknown"));
      this.#waiting.delete(id);
    }
  }

  /** From now on, changes go through the cluster's stream (see the module documentation). */
  replicate(replication: ChannelReplication): void {
    this.#replication = replication;
  }

  /** Takes the channels' states kept in the cluster (read at start, before any operation). */
  loaded(states: Iterable<readonly [string, unknown]>): void {
    for (const [key, state] of states) {
      const channel = Channel.from(state);
      if (!channel || foldChannel(channel.name) !== key) continue;
      this.#channels.set(key, channel);
      for (const member of channel.members.keys()) this.#joinedBy(member).add(key);
    }
  }

  /**
   * One channel's state by folded name (what a cluster keeps for nodes that start later);
   * `undefined` when nobody is in it.
   */
  snapshotOf(key: string): ChannelSnapshot | undefined {
    return this.#channels.get(key)?.snapshot();
  }

  /**
   * Applies an operation read from the cluster's stream (every node applies every one, in
   * order). Channels for which `skip` says so are left as they are: their state, read at start,
   * is newer than the entry. The node that made the operation answers its user.
   */
  applyLogged(entry: LoggedOp, skip: (key: string) => boolean = NEVER): void {
    const mine = entry.id.startsWith(`${this.#origin}:`);
    this.#skip = skip;
    this.#foreign = !mine;
    this.#unheard = !this.#waiting.has(entry.id);
    this.#touched.clear();
    let outcome: Outcome | undefined;
    let failure: unknown;
    try {
      outcome = this.#apply(entry.op, true);
    } catch (error) {
      failure = error;
    } finally {
      this.#skip = NEVER;
      this.#foreign = false;
      this.#unheard = false;
    }
    if (mine) this.#landed(entry.op.user);
    for (const key of this.#touched) this.#replication?.changed(key);
    if (this.#owedLeaves.size > 0) this.retryOwed();
    const waiter = this.#waiting.get(entry.id);
    if (waiter) {
      this.#waiting.delete(entry.id);
      clearTimeout(waiter.timer);
      if (failure === undefined && outcome !== undefined) waiter.resolve(outcome);
      else waiter.reject(failure);
    } else if (failure !== undefined && !(failure instanceof ProtocolError)) {
      this.report(`Cannot apply a channel operation (${entry.op.op})`, failure);
    }
  }

  /**
   * Carries out an operation: at once on a server alone; in a cluster, through the stream,
   * answering once it is applied. A request that cannot succeed as things stand here is
   * refused at once, unless the user has operations of their own still under way.
   */
  #commit(op: ChannelOp): Promise<Outcome> {
    const replication = this.#replication;
    try {
      if (!replication) return Promise.resolve(this.#apply(op, true) as Outcome);
      if (this.#closed) {
        // Nobody would answer it, and its timer would outlive the server.
        throw new StoreUnavailableError(new Error("the server is shutting down"), "not_done");
      }
      if (!this.#inFlight.has(op.user)) {
        const early = this.#apply(op, false);
        if (early !== undefined) return Promise.resolve(early);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const id = `${this.#origin}:${++this.#made}`;
    this.#inFlight.set(op.user, (this.#inFlight.get(op.user) ?? 0) + 1);
    return new Promise<Outcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new StoreUnavailableError(new Error("not applied in time"), "unknown"));
      }, APPLY_WAIT_MS);
      this.#waiting.set(id, { resolve, reject, timer });
      replication.append({ id, op }).catch((error) => {
        const waiter = this.#waiting.get(id);
        if (!waiter) return;
        this.#waiting.delete(id);
        clearTimeout(waiter.timer);
        this.#landed(op.user);
        reject(error);
      });
    });
  }

  /** One operation of `user`'s is applied (or was never appended). */
  #landed(user: string): void {
    const count = (this.#inFlight.get(user) ?? 0) - 1;
    if (count > 0) this.#inFlight.set(user, count);
    else this.#inFlight.delete(user);
  }

  /**
   * Checks an operation against the channels and, with `mutate`, makes it. Without `mutate` it
   * only throws what applying it would throw, and returns the outcome when there is nothing to
   * change (`undefined` otherwise).
   */
  #apply(op: ChannelOp, mutate: boolean): Outcome | undefined {
    switch (op.op) {
      case "join":
        return this.#join(op, mutate);
      case "part":
        return this.#part(op, mutate);
      case "leave_all":
        return this.#leaveAll(op.user, mutate);
      case "rename":
        return mutate ? this.#rename(op.user, op.to) : undefined;
      case "rejoin":
        return mutate ? this.#rejoin(op) : undefined;
      case "topic":
        return this.#setTopic(op, mutate);
      case "kick":
        return this.#kick(op, mutate);
      case "invite":
        return this.#invite(op, mutate);
      case "modes":
        return this.#setModes(op, mutate);
    }
  }

  #joinedBy(user: string): Set<string> {
    let mine = this.#joined.get(user);
    if (!mine) this.#joined.set(user, mine = new Set());
    return mine;
  }

  /** Notes a channel a logged operation changed (a server alone keeps no states: no note). */
  #touch(key: string): void {
    if (this.#replication) this.#touched.add(key);
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
  ): Promise<Joined> {
    const op: ChannelOp = { op: "join", user, channel: name, mask, at: now };
    return this.#commit(key === undefined ? op : { ...op, key }) as Promise<Joined>;
  }

  #join(op: Extract<ChannelOp, { op: "join" }>, mutate: boolean): Joined | undefined {
    const { user, channel: name, key } = op;
    const problem = channelNameProblem(name);
    if (problem) throw error(Reply.INVALID_VALUE, problem, "bad_channel_name");
    const folded = foldChannel(name);
    if (folded === BROADCAST_CHANNEL) {
      throw error(
        Reply.NOT_ALLOWED,
        `${BROADCAST_CHANNEL} is the broadcast stream: use BROADCAST`,
        "bad_channel_name",
      );
    }
    if (this.#skip(folded)) return undefined;
    let channel = this.#channels.get(folded);
    if (channel?.members.has(user)) {
      return { channel: channel.view(), created: false, already: true };
    }
    const mine = this.#joined.get(user);
    if ((mine?.size ?? 0) >= MAX_CHANNELS_PER_USER) {
      throw error(
        Reply.NOT_ALLOWED,
        `You are in ${MAX_CHANNELS_PER_USER} channels already`,
        "too_many_channels",
      );
    }
    const invited = channel?.invited.has(foldName(user)) ?? false;
    if (channel) {
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
      if (!invited && channel.bans.some((b) => maskMatches(b.mask, op.mask))) {
        throw error(
          Reply.NOT_ALLOWED,
          `Cannot join ${channel.name}: you are banned (+b)`,
          "banned",
        );
      }
    }
    if (!mutate) return undefined;
    const created = channel === undefined;
    if (channel) {
      channel.invited.delete(foldName(user));
    } else {
      channel = new Channel(name, op.at);
      this.#channels.set(folded, channel);
    }
    channel.members.set(user, { name: user, op: created, voice: false });
    this.#joinedBy(user).add(folded);
    this.#touch(folded);
    if (this.#unheard) return undefined;
    return { channel: channel.view(), created, already: false };
  }

  /**
   * Takes `user` out of the channel; answers with the channel as it was.
   * @throws {ProtocolError} when not in it.
   */
  part(user: string, name: string): Promise<ChannelView> {
    return this.#commit({ op: "part", user, channel: name }) as Promise<ChannelView>;
  }

  #part(op: Extract<ChannelOp, { op: "part" }>, mutate: boolean): ChannelView | undefined {
    if (this.#skip(foldChannel(op.channel))) return undefined;
    const channel = this.#asMember(op.channel, op.user);
    if (!mutate) return undefined;
    const view = this.#unheard ? undefined : channel.view();
    this.#remove(channel, op.user);
    return view;
  }

  /**
   * Takes `user` out of every channel (logged out); answers with the channels it was in. In a
   * cluster, one that fails because Redis is away is owed: it is made again once operations flow
   * again, unless the user is online by then.
   */
  leaveAll(user: string): Promise<string[]> {
    const leaving = this.#commit({ op: "leave_all", user }) as Promise<string[]>;
    leaving.catch((error) => {
      if (error instanceof StoreUnavailableError) this.#owedLeaves.add(user);
    });
    return leaving;
  }

  /** Makes again the logouts Redis was away for (see leaveAll). */
  retryOwed(): void {
    const owed = [...this.#owedLeaves];
    this.#owedLeaves.clear();
    for (const user of owed) {
      if (this.isOnline(user)) continue;
      this.leaveAll(user).catch((error) =>
        this.report(`Cannot take ${user} out of their channels`, error)
      );
    }
  }

  #leaveAll(user: string, mutate: boolean): string[] | undefined {
    const keys = [...this.#joined.get(user) ?? []].filter((key) => !this.#skip(key));
    if (!mutate) return keys.length === 0 ? [] : undefined;
    const names: string[] = [];
    const places: Place[] = [];
    for (const key of keys) {
      const channel = this.#channels.get(key);
      const member = channel?.members.get(user);
      if (!channel || !member) continue;
      names.push(channel.name);
      places.push({ channel: channel.name, op: member.op, voice: member.voice });
      this.#remove(channel, user);
    }
    if (!this.#foreign) {
      this.#takenOut.delete(user);
      this.#back.delete(user);
    } else if (places.length > 0 && this.isHere(user)) {
      // This node was cut off (frozen, or away from Redis) and the cluster took its users for
      // gone: they go back once the cluster has them online again (see back).
      const since = this.#back.get(user);
      this.#back.delete(user);
      if (since !== undefined && Date.now() - since < BACK_WINDOW_MS) this.#putBack(user, places);
      else this.#takenOut.set(user, places);
    }
    return names;
  }

  /**
   * The cluster has `user`'s sessions here online again after it took them for gone (this node
   * was cut off): they are put back in the channels another node took them out of meanwhile,
   * now or when that node's operation comes through, and the channels hear them join again.
   */
  back(user: string): void {
    const places = this.#takenOut.get(user);
    this.#takenOut.delete(user);
    if (places) {
      this.#putBack(user, places);
      return;
    }
    const now = Date.now();
    for (const [name, at] of this.#back) if (now - at >= BACK_WINDOW_MS) this.#back.delete(name);
    this.#back.set(user, now);
  }

  #putBack(user: string, places: readonly Place[]): void {
    this.#commit({ op: "rejoin", user, places, at: Date.now() }).then(
      (names) => {
        if (Array.isArray(names) && names.length > 0) this.rejoined(user, names);
      },
      (error) => this.report(`Cannot put ${user} back in their channels`, error),
    );
  }

  #rejoin(op: Extract<ChannelOp, { op: "rejoin" }>): string[] {
    const names: string[] = [];
    for (const place of op.places.slice(0, MAX_CHANNELS_PER_USER)) {
      if (channelNameProblem(place.channel)) continue;
      const key = foldChannel(place.channel);
      if (key === BROADCAST_CHANNEL || this.#skip(key)) continue;
      let channel = this.#channels.get(key);
      if (channel?.members.has(op.user)) continue;
      if (!channel) this.#channels.set(key, channel = new Channel(place.channel, op.at));
      const first = channel.members.size === 0;
      channel.members.set(op.user, { name: op.user, op: place.op || first, voice: place.voice });
      this.#joinedBy(op.user).add(key);
      this.#touch(key);
      names.push(channel.name);
    }
    return names;
  }

  /**
   * `user` is now called `name` (a guest's NICK): the same place in each channel, rank kept,
   * and its membership under the new name. Answers with the channels it is in.
   */
  rename(user: string, name: string): Promise<string[]> {
    return this.#commit({ op: "rename", user, to: name }) as Promise<string[]>;
  }

  #rename(user: string, name: string): string[] {
    const names: string[] = [];
    const keys = [...this.#joined.get(user) ?? []].filter((key) => !this.#skip(key));
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
      this.#joined.get(user)?.delete(key);
      this.#joinedBy(name).add(key);
      this.#touch(key);
    }
    if (this.#joined.get(user)?.size === 0) this.#joined.delete(user);
    return names;
  }

  #remove(channel: Channel, user: string): void {
    channel.members.delete(user);
    const key = foldChannel(channel.name);
    const mine = this.#joined.get(user);
    mine?.delete(key);
    if (mine?.size === 0) this.#joined.delete(user);
    if (channel.members.size === 0) this.#channels.delete(key);
    this.#touch(key);
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

  /**
   * Sets (or with "", clears) the topic; answers with the channel's name.
   * @throws {ProtocolError} when `user` may not.
   */
  setTopic(name: string, user: string, topic: string, at: number): Promise<string> {
    return this.#commit({ op: "topic", user, channel: name, topic, at }) as Promise<string>;
  }

  #setTopic(op: Extract<ChannelOp, { op: "topic" }>, mutate: boolean): string | undefined {
    if (this.#skip(foldChannel(op.channel))) return undefined;
    const channel = this.#asMember(op.channel, op.user);
    if (channel.flags.has("t") && !channel.isOp(op.user)) {
      throw error(
        Reply.NOT_ALLOWED,
        `Only operators of ${channel.name} may set its topic (+t)`,
        "chanop_needed",
      );
    }
    if (!mutate) return undefined;
    channel.topic = op.topic.slice(0, MAX_TOPIC_LENGTH);
    channel.topicBy = op.user;
    channel.topicAt = op.at;
    this.#touch(foldChannel(channel.name));
    return channel.name;
  }

  /** An operator puts `target` out of the channel. */
  kick(name: string, by: string, target: string): Promise<Kicked> {
    return this.#commit({ op: "kick", user: by, channel: name, target }) as Promise<Kicked>;
  }

  #kick(op: Extract<ChannelOp, { op: "kick" }>, mutate: boolean): Kicked | undefined {
    if (this.#skip(foldChannel(op.channel))) return undefined;
    const channel = this.#asOperator(op.channel, op.user);
    if (!channel.members.has(op.target)) {
      throw error(
        Reply.NOT_FOUND,
        `${op.target} is not on ${channel.name}`,
        "user_not_on_channel",
      );
    }
    if (!mutate) return undefined;
    const members = this.#unheard ? [] : [...channel.members.keys()];
    this.#remove(channel, op.target);
    return this.#unheard ? undefined : { channel: channel.name, members };
  }

  /** A member invites `target` (an operator, when the channel is invite only). */
  invite(name: string, by: string, target: string): Promise<string> {
    return this.#commit({ op: "invite", user: by, channel: name, target }) as Promise<string>;
  }

  #invite(op: Extract<ChannelOp, { op: "invite" }>, mutate: boolean): string | undefined {
    if (this.#skip(foldChannel(op.channel))) return undefined;
    const channel = this.#asMember(op.channel, op.user);
    if (channel.flags.has("i") && !channel.isOp(op.user)) {
      throw error(
        Reply.NOT_ALLOWED,
        `Only operators of ${channel.name} may invite to it (+i)`,
        "chanop_needed",
      );
    }
    if (channel.members.has(op.target)) {
      throw error(
        Reply.ALREADY_EXISTS,
        `${op.target} is already on ${channel.name}`,
        "already_on_channel",
      );
    }
    if (!mutate) return undefined;
    channel.invited.add(foldName(op.target));
    this.#touch(foldChannel(channel.name));
    return channel.name;
  }

  /** The channel's bans. */
  bans(name: string): Ban[] {
    return [...this.#existing(name).bans];
  }

  /**
   * Applies a mode string (`+o-v alice bob`, `+k secret`, `-l`) from an operator. Each change
   * that would change nothing is left out; unknown mode characters are reported, not applied.
   * `canonical` names the online user an `o` or `v` argument stands for.
   *
   * @throws {ProtocolError} when `by` may not, or a named member is not in the channel (then
   * nothing is changed).
   */
  setModes(
    name: string,
    by: string,
    modeString: string,
    args: readonly string[],
    canonical: (user: string) => string | undefined,
    at: number,
  ): Promise<ModeChange> {
    const members: (string | null)[] = args.map(() => null);
    let add = true;
    let next = 0;
    for (const mode of modeString) {
      if (mode === "+" || mode === "-") add = mode === "+";
      else if (takesArgument(mode, add) && next < args.length) {
        if (mode === "o" || mode === "v") members[next] = canonical(args[next]) ?? null;
        next++;
      }
    }
    const op: ChannelOp = {
      op: "modes",
      user: by,
      channel: name,
      modes: modeString,
      args: [...args],
      members,
      at,
    };
    return this.#commit(op) as Promise<ModeChange>;
  }

  #setModes(op: Extract<ChannelOp, { op: "modes" }>, mutate: boolean): ModeChange | undefined {
    if (this.#skip(foldChannel(op.channel))) return undefined;
    const channel = this.#asOperator(op.channel, op.user);
    const { steps, unknown } = modeSteps(channel, op);
    if (!mutate) return steps.length === 0 ? { modes: "", args: [], unknown } : undefined;
    const applied = steps.flatMap((step) => modeStep(channel, step, op) ?? []);
    let modes = "";
    let last = "";
    for (const change of applied) {
      if (change.sign !== last) modes += last = change.sign;
      modes += change.mode;
    }
    if (applied.length > 0) this.#touch(foldChannel(channel.name));
    const changedArgs = applied.flatMap((c) => c.arg === undefined ? [] : [c.arg]);
    return { modes, args: changedArgs, unknown };
  }
}
