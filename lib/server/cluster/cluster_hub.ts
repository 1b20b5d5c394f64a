/**
 * The hub of a node in a cluster: presence and delivery shared through Redis.
 *
 * - Who is online is one Redis hash: folded name → the nodes holding sessions of that person, each
 *   with how many and what they show (user, session, login number). A node's first session of a
 *   person claims its place there atomically (a Lua script that also keeps the limit of sessions
 *   per person, and a guest's name to one session, across every node); its further sessions only
 *   change the count. Each node keeps a copy of the hash, updated from a presence channel, so WHO
 *   and the delivery path never wait.
 * - Events go to the nodes that hold their recipients, through one Redis stream per node (its
 *   event log). Everything a node sends in one turn of the event loop is appended in one MULTI,
 *   and a node's own users are reached the same way, so every node sees every delivery in the
 *   same order. A node reads its log with a blocking XREAD from the last entry it handled, so
 *   what arrives while its connection is down, or while it is busy, waits in the log and is
 *   delivered once it reads again: nothing is dropped the way a pub/sub message is. Each log
 *   keeps its last {@linkcode LOG_LENGTH} entries.
 * - Each node refreshes a heartbeat key that expires; when a node's key is gone, the first node
 *   to notice removes that node's users, and they are announced as logged out.
 * - Changes to state every node keeps in memory (blocks, rooms, …) travel on one stream every
 *   node reads, in the same XREAD as its log.
 * @module
 */

import { type ChatEvent, OutboundEvent } from "../../protocol/events.ts";
import { foldName } from "../../protocol/names.ts";
import {
  closeQuietly,
  isConnectionError,
  isRefusedForNow,
  redisCall,
  type RedisClient,
  REPLY_TIMEOUT_MS,
} from "../../store/redis_client.ts";
import { appendCommand, EventLogReader } from "./event_log.ts";
import { appendChange, CHANGES_LENGTH, CHANGES_STREAM } from "./changes_stream.ts";
import { ChannelLog } from "./channel_log.ts";
import { BroadcastOrder } from "./broadcast_order.ts";
import { entriesOf, type Presence } from "./presence_entries.ts";
import { KeyedLock } from "../keyed_lock.ts";
import { describeSession, SessionGroup, type SessionInfo } from "../session_group.ts";
import {
  type Claim,
  type Hub,
  type HubHold,
  type HubListener,
  type HubSession,
  inLoginOrder,
  type OnlineUser,
  type ReadBack,
  type Recipient,
} from "../hub.ts";
import { isSharedChange, type SharedChange } from "../shared_changes.ts";

/** A message on the presence channel. */
type PresenceMessage =
  | { readonly op: "set"; readonly entry: Presence }
  | {
    readonly op: "del";
    readonly name: string;
    readonly session: string;
    readonly node?: string;
  };

/** Someone online on any node: their entries by node, and how they show (see `personOf`). */
interface Person {
  readonly entries: Presence[];
  user: OnlineUser;
}

/**
 * The person as WHO shows them, from their nodes' entries: the earliest login, the address and
 * UDP port of a session that takes peer transfers (this node's first), and every session counted.
 */
function personOf(entries: readonly Presence[], here: string): OnlineUser {
  let first = entries[0].user;
  let peer: OnlineUser | undefined;
  let sessions = 0;
  for (const entry of entries) {
    sessions += entry.count ?? 1;
    if (entry.user.loginAt < first.loginAt) first = entry.user;
    if (entry.user.udpPort !== undefined && (!peer || entry.node === here)) peer = entry.user;
  }
  const reach = peer ? { ip: peer.ip, udpPort: peer.udpPort } : {};
  return entries.length === 1 && sessions === 1 ? first : { ...first, ...reach, sessions };
}

/**
 * A delivery for one node: an event and who on that node gets it, as runs of consecutive login
 * numbers of one run of the node (`[first, last, first, last, …]`). Users logged in one after
 * another make one run, so a broadcast to thousands is a few numbers, not thousands of names.
 * A number is never given twice in a run, so a login the sender did not know of yet, or one
 * that ended, cannot receive what was meant for someone else.
 */
interface Delivery {
  readonly event: ChatEvent;
  readonly at: number;
  readonly run: string;
  readonly slots: number[];
  /** A private message kept in its recipient's offline queue under this number, until delivered. */
  readonly kept?: { readonly user: string; readonly number: number };
  /** An echo: not for the session of this id on that node (the sender's own). */
  readonly except?: number;
}

/** How many numbered messages a node remembers handing out, to drop a second delivery. */
const HANDED_OUT_REMEMBERED = 20_000;

/**
 * What identifies a stored message among deliveries: its log and number (`b:12`, `r:3:7`,
 * `c:#lab:4`), or `undefined` for an event that is not one.
 */
function numberedKey(event: ChatEvent | undefined): string | undefined {
  switch (event?.type) {
    case "broadcast":
      return `b:${event.number}`;
    case "room":
      return event.number === undefined ? undefined : `r:${event.room}:${event.number}`;
    case "channel_message":
      return `c:${event.channel.toLowerCase()}:${event.number}`;
    default:
      return undefined;
  }
}

/** A set of the last `limit` keys added. */
class RecentKeys {
  readonly #keys = new Set<string>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Adds `key`; whether it was new. */
  add(key: string): boolean {
    if (this.#keys.has(key)) return false;
    this.#keys.add(key);
    if (this.#keys.size > this.#limit) {
      // Sets iterate in insertion order: the oldest goes.
      this.#keys.delete(this.#keys.values().next().value as string);
    }
    return true;
  }
}

/** Most deliveries held up by an outage for later (beyond, they are dropped and counted). */
const MAX_OWED = 20_000;

/** Whether a delivery is of a message that was stored before it was sent (owed to its user). */
function isStoredMessage(delivery: Delivery): boolean {
  const type = delivery.event.type;
  return type === "broadcast" || type === "room" || type === "channel_message" ||
    isKeptPrivate(delivery);
}

/** A private message kept in its recipient's offline queue until a session takes it. */
function isKeptPrivate(delivery: Delivery): boolean {
  return delivery.event.type === "private" && delivery.kept !== undefined;
}

/** Deliveries per node, in order; an open segment belongs to a hold not yet released. */
interface Segment {
  readonly deliveries: Map<string, Delivery[]>;
  open: boolean;
}

/**
 * Heartbeats' time between two firings of the heartbeat timer that means this node stalled and
 * reads what every node keeps in memory again.
 */
const STALL_BEATS = 2.5;

/** Options of {@linkcode ClusterHub.open}. */
export interface ClusterHubOptions {
  /** This node's name, unique in the cluster. */
  readonly node: string;
  /** How often the heartbeat is refreshed and dead nodes are looked for (default 1 s). */
  readonly heartbeatMs?: number;
  /** A node whose heartbeat is this old is dead (default 4 s). */
  readonly expireMs?: number;
  /** Where trouble is reported. */
  readonly log: (line: string) => void;
}

/** Lua: decodes a person's value into a table by node (older data held one bare entry). */
const DECODE = `
local function entries(json)
  local value = cjson.decode(json)
  if value.node then return {[value.node] = value} end
  return value
end
local function store(key, field, map)
  if next(map) == nil then redis.call('HDEL', key, field) return 2 end
  redis.call('HSET', key, field, cjson.encode(map))
  return 1
end`;

const SCRIPTS = {
  /**
   * A node's first session of a person. KEYS: online, heartbeat prefix, this node's heartbeat.
   * ARGV: folded name, entry JSON, presence channel, presence message, this run, the limit of
   * sessions, '1' for a guest, this node. Entries of dead nodes do not count. 1: the person's
   * first session anywhere; 2: the person was online elsewhere; 0: refused (a guest's name, or
   * any name when the limit is 1); -2: as many sessions as the limit already; -1 when this
   * node's lease (its heartbeat, holding its run) has run out: a node the cluster took for dead
   * must rejoin before it writes presence again (fencing).
   */
  claim: DECODE + `
if redis.call('GET', KEYS[3]) ~= ARGV[5] then return -1 end
local current = redis.call('HGET', KEYS[1], ARGV[1])
local map = {}
local others = 0
local count = 0
local guest = ARGV[7] == '1'
if current then
  for node, entry in pairs(entries(current)) do
    if node ~= ARGV[8] and redis.call('EXISTS', KEYS[2] .. node) == 1 then
      map[node] = entry
      others = others + 1
      count = count + (entry.count or 1)
      if entry.user.guest then guest = true end
    end
  end
end
local mine = cjson.decode(ARGV[2])
if others > 0 and (guest or tonumber(ARGV[6]) <= 1) then return 0 end
if count + mine.count > tonumber(ARGV[6]) then return -2 end
map[ARGV[8]] = mine
store(KEYS[1], ARGV[1], map)
redis.call('PUBLISH', ARGV[3], ARGV[4])
if others == 0 then return 1 end
return 2`,
  /**
   * Replaces or deletes (ARGV[3] empty) this node's entry of a person if it is still this
   * hold's. KEYS: online, this node's heartbeat. ARGV: folded name, session, entry JSON,
   * channel, message, this run, this node, the limit of sessions (0: not adding one). 1 changed,
   * 2 deleted and the person has no session left anywhere, 0 not this hold's any more, -2 over
   * the limit, -1 when this node's lease has run out (see claim).
   */
  change: DECODE + `
if redis.call('GET', KEYS[2]) ~= ARGV[6] then return -1 end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local map = entries(current)
local mine = map[ARGV[7]]
if not mine or mine.session ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  map[ARGV[7]] = nil
else
  local entry = cjson.decode(ARGV[3])
  if tonumber(ARGV[8]) > 0 then
    local count = 0
    for node, other in pairs(map) do
      if node ~= ARGV[7] then count = count + (other.count or 1) end
    end
    if count + entry.count > tonumber(ARGV[8]) then return -2 end
  end
  map[ARGV[7]] = entry
end
local result = store(KEYS[1], ARGV[1], map)
redis.call('PUBLISH', ARGV[4], ARGV[5])
return result`,
  /**
   * Removes every entry of a dead node. KEYS: online, its heartbeat. ARGV: node, channel, and
   * 'restart' when the node itself clears what its previous run left. Returns the entries of
   * people who have no session left on any node (they are offline now).
   */
  reap: DECODE + `
if ARGV[3] ~= 'restart' and redis.call('EXISTS', KEYS[2]) == 1 then return {} end
local gone = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local map = entries(all[i + 1])
  local entry = map[ARGV[1]]
  if entry then
    map[ARGV[1]] = nil
    if store(KEYS[1], all[i], map) == 2 then table.insert(gone, cjson.encode(entry)) end
    redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'del', name = entry.user.name, session = entry.session, node = ARGV[1]}))
  end
end
return gone`,
} as const;

/** What every key and channel of the cluster starts with (the store's default prefix too). */
const KEY_PREFIX = "labchat:";

/**
 * Entries a node's event log keeps (about; Redis trims whole blocks). A node that falls further
 * behind than this, or stays away longer, loses the oldest; it logs that it did.
 */
export const LOG_LENGTH = 2000;
/** Heartbeats between two checks of this node's users against the shared hash. */
const RECONCILE_EVERY = 5;

/** The cluster's {@linkcode Hub}; see the module documentation. */
export class ClusterHub implements Hub {
  readonly node: string;
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  /** Reads the changes and this node's event log. */
  readonly #events: EventLogReader;
  readonly #log: (line: string) => void;
  readonly #heartbeatMs: number;
  readonly #expireMs: number;
  readonly #shas = new Map<keyof typeof SCRIPTS, string>();
  /** Aborted when the node leaves: calls under way end then, their timers with them. */
  readonly #closing = new AbortController();
  /** Everyone online on any node, by canonical name (the copy of the shared hash). */
  readonly #online = new Map<string, Person>();
  /** Names of the online users (any node) with the admin role. */
  readonly #operators = new Set<string>();
  /** Canonical names by folded name. */
  readonly #names = new Map<string, string>();
  /** This node's people, their sessions and shared entries (to claim again after a freeze). */
  readonly #local = new Map<
    string,
    { group: SessionGroup; session: string; slot: number; entry: Presence }
  >();
  /** Claims and releases of one person on this node, one at a time. */
  readonly #claims = new KeyedLock();
  /** The limit of sessions per person the last claim was given (for claims again on rejoin). */
  #limit = 16;
  /** Ticks until the next check of this node's users against the shared hash. */
  #untilReconcile = RECONCILE_EVERY;
  /** A reconciliation under way (one at a time). */
  #reconciling: Promise<void> | undefined;
  /** This run of the node, and its logins by number. */
  readonly #run = crypto.randomUUID().slice(0, 13);
  #lastSlot = 0;
  readonly #bySlot = new Map<number, SessionGroup>();
  /**
   * Deliveries not yet sent, in order: each segment holds deliveries per node; a hold's segment
   * stays open until released, and everything after it waits (see {@linkcode hold}).
   */
  #segments: Segment[] = [];
  #flushQueued = false;
  /** Deliveries dropped while Redis was unreachable, not yet reported. */
  #dropped = 0;
  #droppedReport: ReturnType<typeof setTimeout> | undefined;
  /** The wait before trying to rejoin again, ended early by close. */
  #retry: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;
  #listener: HubListener = {};
  /** Users a previous run of this node left online, told to the listener once attached. */
  #leftOver: OnlineUser[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  /**
   * When this node last took its lease again after it had run out (epoch ms): the cluster may
   * have taken its users for gone until then, so nothing was meant to reach them here.
   */
  #leaseRegainedAt = 0;
  /** When this node last refreshed its lease (epoch ms). */
  #beatAt = Date.now();
  /** When the heartbeat timer last fired (monotonic ms), to notice a stall in between. */
  #tickedAt = performance.now();

  /**
   * Broadcasts stored since when may have been meant for this node's users: since it last took
   * its lease again, or none at all while the lease may have run out unnoticed (a node woken
   * from a freeze reads its log before its next heartbeat).
   */
  #readBackSince(): number {
    const now = Date.now();
    return now - this.#beatAt > this.#expireMs - this.#heartbeatMs ? now : this.#leaseRegainedAt;
  }
  /** No node is reaped before this time (epoch ms): Redis was away until lately. */
  #reapAfter = 0;
  /** This node holds its heartbeat key (it is its to delete). */
  #joined = false;
  #closed = false;

  private constructor(
    redis: RedisClient,
    subscriber: RedisClient,
    reader: RedisClient,
    options: ClusterHubOptions,
  ) {
    this.#redis = redis;
    this.#subscriber = subscriber;
    this.node = options.node;
    this.channelLog = new ChannelLog(redis, options.log, this.#closing.signal);
    this.#events = new EventLogReader(reader, [
      this.channelLog.stream,
      { key: CHANGES_STREAM, length: CHANGES_LENGTH, onEntry: (json) => this.#onChange(json) },
      {
        key: this.#logKey(options.node),
        length: LOG_LENGTH,
        onEntry: (json) => this.#onDelivery(json),
      },
    ], options.log);
    this.#log = options.log;
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
    this.#expireMs = options.expireMs ?? 4000;
  }

  /**
   * Joins the cluster: `redis` sends commands, `subscriber` listens to presence and `reader`
   * reads the event log (all three owned from now on). Refuses a node name another live node
   * uses.
   */
  static async open(
    redis: RedisClient,
    subscriber: RedisClient,
    reader: RedisClient,
    options: ClusterHubOptions,
  ): Promise<ClusterHub> {
    const hub = new ClusterHub(redis, subscriber, reader, options);
    try {
      await hub.#start();
    } catch (error) {
      await hub.close();
      throw error;
    }
    return hub;
  }

  #key(name: string): string {
    return KEY_PREFIX + name;
  }

  get #presenceChannel(): string {
    return this.#key("presence");
  }

  /** The stream of events for `node`'s users. */
  #logKey(node: string): string {
    return this.#key(`to:${node}`);
  }

  #heartbeatKey(node: string): string {
    return this.#key(`node:${node}`);
  }

  async #start(): Promise<void> {
    for (const name of Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[]) {
      this.#shas.set(name, await this.#redis.scriptLoad(SCRIPTS[name]));
    }
    // A node restarted at once after a crash waits for its old heartbeat to expire; a live node
    // of the same name keeps it fresh, and then this one gives up.
    const deadline = Date.now() + this.#expireMs + 2 * this.#heartbeatMs;
    while (
      await this.#redis.set(this.#heartbeatKey(this.node), this.#run, {
        NX: true,
        PX: this.#expireMs,
      }) === null
    ) {
      if (Date.now() > deadline) {
        throw new Error(
          `Another live node is called ${this.node}; give each node its own --node name`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    this.#joined = true;
    // A previous run of this node that was killed may have left users online: they are not.
    this.#leftOver = await this.#reap(this.node, "restart");
    await this.#subscriber.subscribe(this.#presenceChannel, (m) => this.#onPresence(m));
    // Reading starts after what is there now: nobody of ours was online for the rest. The
    // channel operations are read from the start of their stream, after the states kept.
    await this.channelLog.load();
    await this.#events.start();
    await this.#resync();
    // After an outage: the copy may have missed messages, and a reaper may have removed us.
    this.#subscriber.on("ready", () => void this.#afterReconnect());
    this.#tickedAt = performance.now();
    this.#timer = setInterval(() => void this.#tick(), this.#heartbeatMs);
  }

  /**
   * The newest broadcast number in the store at start: broadcasts from every node are handed
   * out in number order from the next one.
   */
  broadcastsAfter(number: number): void {
    this.#broadcastOrder.expect(number + 1);
  }

  /** Attaches what the server does with changes and departures other nodes report. */
  attach(listener: HubListener): void {
    this.#listener = listener;
    const leftOver = this.#leftOver.splice(0);
    if (leftOver.length > 0) listener.usersGone?.(leftOver);
  }

  /** Removes a dead node's users from the shared hash; returns them (only to one caller). */
  async #reap(node: string, mode = ""): Promise<OnlineUser[]> {
    const gone = await this.#script(
      "reap",
      [this.#key("online"), this.#heartbeatKey(node)],
      [node, this.#presenceChannel, mode],
    ) as string[];
    const users = gone.map((json) => (JSON.parse(json) as Presence).user);
    for (const person of [...this.#online.values()]) {
      for (const entry of person.entries) {
        if (entry.node === node) this.#forget(entry.user.name, entry.session);
      }
    }
    return users;
  }

  async #script(name: keyof typeof SCRIPTS, keys: string[], args: string[]): Promise<unknown> {
    return await this.#call(async () => {
      try {
        return await this.#redis.evalSha(this.#shas.get(name) ?? "", { keys, arguments: args });
      } catch (error) {
        if (!String(error).includes("NOSCRIPT")) throw error;
        return await this.#redis.eval(SCRIPTS[name], { keys, arguments: args });
      }
    });
  }

  // ---- presence ----

  /** Records a node's entry of a person (replacing that node's previous one). */
  #remember(entry: Presence): void {
    const name = entry.user.name;
    const folded = foldName(name);
    const previous = this.#names.get(folded);
    if (previous !== undefined && previous !== name) {
      this.#online.delete(previous);
      this.#operators.delete(previous);
    }
    const person = this.#online.get(name);
    const entries = person ? person.entries.filter((e) => e.node !== entry.node) : [];
    entries.push(entry);
    this.#online.set(name, { entries, user: personOf(entries, this.node) });
    this.#names.set(folded, name);
    if (entry.user.admin) this.#operators.add(name);
    else if (!entries.some((e) => e.user.admin)) this.#operators.delete(name);
  }

  /** Drops the entry of a person that `session` names (any node's, when none is given). */
  #forget(name: string, session?: string): void {
    const person = this.#online.get(name);
    if (!person) return;
    const entries = session === undefined
      ? []
      : person.entries.filter((e) => e.session !== session);
    if (entries.length === person.entries.length) return;
    // Another node's sessions of someone who has sessions here are gone: what waited for them
    // in the offline queue is this node's to hand over.
    const gone = person.entries.filter((e) => !entries.includes(e));
    if (this.#local.has(name) && gone.some((e) => e.node !== this.node)) {
      queueMicrotask(() => this.#listener.otherSessionsGone?.(name));
    }
    if (entries.length > 0) {
      this.#online.set(name, { entries, user: personOf(entries, this.node) });
      if (!entries.some((e) => e.user.admin)) this.#operators.delete(name);
      return;
    }
    this.#online.delete(name);
    this.#names.delete(foldName(name));
    this.#operators.delete(name);
  }

  /** This node's entry of a person with local sessions, as it is now. */
  #entryOf(local: { group: SessionGroup; session: string; slot: number }): Presence {
    return {
      user: { ...local.group.user, sessions: undefined },
      node: this.node,
      session: local.session,
      run: this.#run,
      slot: local.slot,
      count: local.group.size,
      info: local.group.describe(this.node),
    };
  }

  claim(user: OnlineUser, recipient: Recipient, limit: number): Promise<Claim> {
    this.#limit = limit;
    return this.#claims.run(foldName(user.name), () => this.#claimNow(user, recipient, limit));
  }

  async #claimNow(user: OnlineUser, recipient: Recipient, limit: number): Promise<Claim> {
    const local = this.#local.get(user.name) ?? this.#localByFolded(user.name);
    if (local) {
      // Another session of someone this node holds already: the count goes up, if allowed.
      const holder = local.group.user;
      if (limit <= 1 || holder.guest || user.guest || holder.name !== user.name) return "taken";
      if (local.group.size >= limit) return "full";
      local.group.add(user, recipient);
      let changed: number;
      try {
        changed = await this.#writeEntry(user.name, local, limit);
      } catch (error) {
        local.group.remove(recipient);
        throw error;
      }
      if (changed === -2) {
        local.group.remove(recipient);
        return "full";
      }
      // Not this node's hold any more (reaped meanwhile): the next reconciliation claims again.
      return "more";
    }
    const session = crypto.randomUUID();
    const slot = ++this.#lastSlot;
    const group = new SessionGroup(user, recipient);
    const entry = this.#entryOf({ group, session, slot });
    const claimed = await this.#fenced(() => this.#claimEntry(entry, limit));
    if (claimed === 0) return "taken";
    if (claimed === -2 || claimed < 0) return "full";
    this.#local.set(user.name, { group, session, slot, entry });
    this.#bySlot.set(slot, group);
    this.#remember(entry);
    return claimed === 1 ? "first" : "more";
  }

  /** This node's hold on a name spelled otherwise (a guest's), if any. */
  #localByFolded(name: string) {
    const canonical = this.#names.get(foldName(name));
    return canonical === undefined ? undefined : this.#local.get(canonical);
  }

  /**
   * Runs the claim script for an entry: 1 the person's first session, 2 online elsewhere, 0
   * refused, -2 full, -1 lease gone.
   */
  async #claimEntry(entry: Presence, limit: number): Promise<number> {
    return Number(
      await this.#script(
        "claim",
        [this.#key("online"), this.#heartbeatKey(""), this.#heartbeatKey(this.node)],
        [
          foldName(entry.user.name),
          JSON.stringify(entry),
          this.#presenceChannel,
          JSON.stringify({ op: "set", entry } satisfies PresenceMessage),
          this.#run,
          String(limit),
          entry.user.guest ? "1" : "",
          this.node,
        ],
      ),
    );
  }

  /**
   * Runs a presence write; when this node's lease had run out (it froze, or Redis lost it), it
   * rejoins first (taking its lease again and reconciling its users), then writes once more.
   */
  async #fenced(write: () => Promise<number>): Promise<number> {
    const result = await write();
    if (result !== -1) return result;
    this.#log("This node's lease had run out: rejoining the cluster");
    await this.#rejoin();
    return await write();
  }

  release(user: string, recipient: Recipient): Promise<boolean> {
    return this.#claims.run(foldName(user), () => this.#releaseNow(user, recipient));
  }

  async #releaseNow(user: string, recipient: Recipient): Promise<boolean> {
    const local = this.#local.get(user);
    if (!local?.group.remove(recipient)) return false;
    if (local.group.size > 0) {
      await this.#writeEntry(user, local, 0);
      return false;
    }
    this.#local.delete(user);
    this.#bySlot.delete(local.slot);
    this.#forget(user, local.session);
    const removed = await this.#fenced(() => this.#change(user, local.session, undefined, 0));
    // Not ours any more (reaped meanwhile): whether the person is online still is the copy's.
    return removed === 2 || (removed === 0 && !this.#online.has(user));
  }

  /**
   * Runs the change script on this node's entry of a person, if it is still this hold's: sets it
   * to `entry`, or deletes it without one, and tells every node. 1 changed, 2 deleted the last of
   * the person's, 0 not this hold's, -2 full, -1 lease gone.
   */
  async #change(
    name: string,
    session: string,
    entry: Presence | undefined,
    limit: number,
  ): Promise<number> {
    const message: PresenceMessage = entry
      ? { op: "set", entry }
      : { op: "del", name, session, node: this.node };
    return Number(
      await this.#script(
        "change",
        [this.#key("online"), this.#heartbeatKey(this.node)],
        [
          foldName(name),
          session,
          entry ? JSON.stringify(entry) : "",
          this.#presenceChannel,
          JSON.stringify(message),
          this.#run,
          this.node,
          String(limit),
        ],
      ),
    );
  }

  /** Writes this node's entry of a person again after a change to its sessions. */
  async #changeLocal(user: string, change: (group: SessionGroup) => void): Promise<void> {
    await this.#claims.run(foldName(user), async () => {
      const local = this.#local.get(user);
      if (!local) return;
      change(local.group);
      await this.#writeEntry(user, local, 0);
    });
  }

  /**
   * Writes this node's entry of a person after a change to its sessions (the count within
   * `limit`, 0 for none) and tells every node; the change script's answer (see #change).
   */
  async #writeEntry(
    user: string,
    local: { group: SessionGroup; session: string; slot: number; entry: Presence },
    limit: number,
  ): Promise<number> {
    const entry = this.#entryOf(local);
    // A change nothing can refuse (no limit) shows here at once; another, once Redis took it.
    const remember = () => {
      local.entry = entry;
      this.#remember(entry);
    };
    if (limit === 0) remember();
    const changed = await this.#fenced(() => this.#change(user, local.session, entry, limit));
    if (limit !== 0 && changed !== -2) remember();
    return changed;
  }

  setUdpPort(user: string, udpPort: number, recipient: Recipient): Promise<void> {
    return this.#changeLocal(user, (group) => group.setUdpPort(recipient, udpPort));
  }

  update(
    user: string,
    change: Pick<OnlineUser, "away" | "guest" | "admin" | "wallops">,
  ): Promise<void> {
    return this.#changeLocal(user, (group) => group.update(change));
  }

  online(user: string): OnlineUser | undefined {
    return this.#online.get(user)?.user;
  }

  find(name: string): OnlineUser | undefined {
    const canonical = this.#names.get(foldName(name));
    return canonical === undefined ? undefined : this.#online.get(canonical)?.user;
  }

  *list(): Iterable<OnlineUser> {
    const users = [...this.#online.values()].map((person) => person.user);
    yield* users.sort((a, b) => a.loginAt - b.loginAt);
  }

  operators(): OnlineUser[] {
    return inLoginOrder(this.#operators, (name) => this.#online.get(name)?.user);
  }

  activeAt(user: string): number | undefined {
    return this.#local.get(user)?.group.lastActivity;
  }

  get size(): number {
    return this.#online.size;
  }

  /** Users online on this node. */
  get localSize(): number {
    return this.#local.size;
  }

  sessionsOf(user: string): HubSession[] {
    return this.#local.get(user)?.group.sessions ?? [];
  }

  sessionInfo(user: string): SessionInfo[] {
    const person = this.#online.get(user);
    if (!person) return [];
    const info: SessionInfo[] = [];
    for (const entry of person.entries) {
      const local = entry.node === this.node ? this.#local.get(user) : undefined;
      if (local) info.push(...local.group.describe(this.node));
      else if (Array.isArray(entry.info)) info.push(...entry.info);
      else info.push(describeSession(entry.user, {}, entry.node));
    }
    return info;
  }

  #onPresence(raw: string): void {
    let message: PresenceMessage;
    try {
      message = JSON.parse(raw) as PresenceMessage;
    } catch {
      return;
    }
    if (message.op === "set" && message.entry?.user?.name) {
      // This node's own entries are kept as this node decided, not as an echo says.
      if (message.entry.node === this.node) return;
      this.#remember(message.entry);
    } else if (message.op === "del" && typeof message.name === "string") {
      if (this.#local.get(message.name)?.session === message.session) return;
      this.#forget(message.name, message.session);
    }
  }

  /** Reads the whole shared hash again. */
  async #resync(): Promise<void> {
    const all = await this.#redis.hVals(this.#key("online"));
    this.#online.clear();
    this.#names.clear();
    this.#operators.clear();
    for (const json of all) {
      // A damaged value is skipped.
      for (const entry of entriesOf(json)) this.#remember(entry);
    }
  }

  /**
   * After an outage: rejoins, trying again until it works (the presence connection may be back
   * before the command connection is).
   */
  async #afterReconnect(): Promise<void> {
    this.channelLog.afterReconnect();
    // The other nodes could not refresh their heartbeats while Redis was away either: none is
    // taken for dead before it has had a lease's time to write again.
    this.#reapAfter = Date.now() + this.#expireMs;
    for (let wait = 250; !this.#closed; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.#rejoin();
        if (this.#owed.size > 0) this.#flushSoon(); // what the outage held up
        this.#listener.missedChanges?.();
        return;
      } catch (error) {
        this.#log(`Cannot rejoin the cluster yet (trying again in ${wait} ms): ${error}`);
      }
      await new Promise<void>((resolve) => {
        this.#retry = { timer: setTimeout(resolve, wait), resolve };
      });
      this.#retry = undefined;
    }
  }

  /** Takes this node's lease again and reconciles its users with the shared hash. */
  async #rejoin(): Promise<void> {
    await this.#heartbeat();
    await this.#reconcile();
  }

  /**
   * Checks this node's users against the shared hash and repairs what differs: a user the
   * cluster took for gone (this node froze, or lost Redis, and was reaped) is claimed again and
   * announced; one who logged in elsewhere meanwhile ends here; entries of this node nobody
   * holds any more are removed. Then the copy of the hash is read again. One at a time.
   */
  #reconcile(): Promise<void> {
    this.#reconciling ??= this.#reconcileNow().finally(() => this.#reconciling = undefined);
    return this.#reconciling;
  }

  async #reconcileNow(): Promise<void> {
    const locals = [...this.#local];
    const shared: (string | null)[] = [];
    for (let i = 0; i < locals.length; i += 1000) {
      const names = locals.slice(i, i + 1000).map(([name]) => foldName(name));
      shared.push(...await this.#call(() => this.#redis.hmGet(this.#key("online"), names)));
    }
    const back: HubSession[] = [];
    const lost: HubSession[] = [];
    for (const [i, [name, local]] of locals.entries()) {
      const json = shared[i];
      const current = json ? entriesOf(json).find((e) => e.node === this.node) : undefined;
      if (current?.session === local.session) continue;
      const entry = this.#entryOf(local);
      const claimed = await this.#claimEntry(entry, this.#limit);
      if (this.#local.get(name) !== local) continue; // logged out meanwhile
      if (claimed === 1 || claimed === 2) {
        local.entry = entry;
        this.#remember(entry);
        // Online again: announced only if the person had no session left elsewhere.
        if (claimed === 1) back.push(...local.group.sessions);
      } else {
        this.#local.delete(name);
        this.#bySlot.delete(local.slot);
        lost.push(...local.group.sessions);
      }
    }
    await this.#resync();
    // Entries of this node that no session here holds (they left while Redis was away).
    let stale = 0;
    for (const person of [...this.#online.values()]) {
      for (const entry of person.entries) {
        const name = entry.user.name;
        if (entry.node !== this.node || this.#local.get(name)?.session === entry.session) continue;
        this.#forget(name, entry.session);
        await this.#change(name, entry.session, undefined, 0);
        stale++;
      }
    }
    if (back.length + lost.length + stale > 0) {
      this.#log(
        `Presence repaired: ${back.length} session(s) of this node online again, ${lost.length} ended (logged in elsewhere meanwhile), ${stale} stale entr${
          stale === 1 ? "y" : "ies"
        } removed`,
      );
    }
    if (back.length > 0) this.#listener.sessionsBack?.(back);
    if (lost.length > 0) {
      this.#listener.sessionsLost?.(
        lost,
        "You logged in elsewhere while this server was cut off from the cluster; this session ends here",
      );
    }
  }

  /** Refreshes this node's lease; a lease that had run out (a freeze) is taken again. */
  async #heartbeat(): Promise<boolean> {
    const key = this.#heartbeatKey(this.node);
    const kept = await this.#call(() =>
      this.#redis.set(key, this.#run, { XX: true, PX: this.#expireMs })
    );
    if (kept !== null) {
      this.#beatAt = Date.now();
      return true;
    }
    await this.#call(() => this.#redis.set(key, this.#run, { PX: this.#expireMs }));
    this.#leaseRegainedAt = this.#beatAt = Date.now();
    return false;
  }

  /**
   * Refreshes the heartbeat, removes the users of nodes whose heartbeat has expired, and now and
   * then (at once after a lapsed lease) checks this node's users against the shared hash.
   */
  async #tick(): Promise<void> {
    const now = performance.now();
    const stalledMs = now - this.#tickedAt;
    this.#tickedAt = now;
    if (this.#closed || !this.#redis.isReady) return;
    if (stalledMs > STALL_BEATS * this.#heartbeatMs) {
      // Frozen (SIGSTOP, swapping, a VM migration) or starved: the stream of shared changes may
      // have been trimmed past what this node had read meanwhile (after a lost connection, the
      // reconnect reads them again instead).
      this.#log(
        `This node stalled for ${(stalledMs / 1000).toFixed(1)} s: reading shared state again`,
      );
      this.#listener.missedChanges?.();
    }
    try {
      const leaseKept = await this.#heartbeat();
      if (!leaseKept) this.#log("This node's lease had run out (it froze?): rejoining the cluster");
      if (!leaseKept || --this.#untilReconcile <= 0) {
        this.#untilReconcile = RECONCILE_EVERY;
        await this.#reconcile();
      }
      if (Date.now() < this.#reapAfter) return;
      const nodes = new Set<string>();
      for (const person of this.#online.values()) {
        for (const entry of person.entries) if (entry.node !== this.node) nodes.add(entry.node);
      }
      for (const node of nodes) {
        if (await this.#redis.exists(this.#heartbeatKey(node))) continue;
        const users = await this.#reap(node);
        if (users.length > 0) {
          this.#log(`Node ${node} stopped answering; ${users.length} of its users are offline`);
          this.#listener.usersGone?.(users);
        }
      }
    } catch (error) {
      if (!this.#closed) this.#log(`Cluster heartbeat failed: ${error}`);
    }
  }

  // ---- delivery ----

  deliver(user: string, event: OutboundEvent, kept?: number): boolean {
    return this.#deliverInto(this.#plainSegment(), user, event, kept);
  }

  recipientOf(user: string): Recipient | undefined {
    return this.#local.get(user)?.group;
  }

  remote(user: string): boolean {
    const person = this.#online.get(user);
    return person !== undefined && person.entries.some((entry) => entry.node !== this.node);
  }

  fanout(event: OutboundEvent, accept: (user: string) => boolean): void {
    this.#fanoutInto(this.#plainSegment(), event, accept);
  }

  echo(user: string, event: OutboundEvent, from: Recipient): void {
    this.#echoInto(this.#plainSegment(), user, event, from);
  }

  #echoInto(segment: Segment, user: string, event: OutboundEvent, from: Recipient): void {
    const person = this.#online.get(user);
    if (!person || (person.user.sessions ?? 1) < 2) return;
    for (const entry of person.entries) {
      const except = entry.node === this.node ? from.id : undefined;
      if (entry.node === this.node && entry.count < 2) continue;
      this.#queue(segment, entry, event, undefined, except);
    }
  }

  hold(): HubHold {
    const segment: Segment = { deliveries: new Map(), open: true };
    this.#segments.push(segment);
    return {
      deliver: (user, event, kept) => this.#deliverInto(segment, user, event, kept),
      fanout: (event, accept) => this.#fanoutInto(segment, event, accept),
      echo: (user, event, from) => this.#echoInto(segment, user, event, from),
      release: () => {
        segment.open = false;
        this.#flushSoon();
      },
    };
  }

  /** The segment plain deliveries go to now: the last one, unless that is a hold's. */
  #plainSegment(): Segment {
    const last = this.#segments[this.#segments.length - 1];
    if (last && !last.open) return last;
    const segment: Segment = { deliveries: new Map(), open: false };
    this.#segments.push(segment);
    return segment;
  }

  #deliverInto(segment: Segment, user: string, event: OutboundEvent, kept?: number): boolean {
    const person = this.#online.get(user);
    if (!person) return false;
    const keptAs = kept === undefined ? undefined : { user, number: kept };
    for (const entry of person.entries) this.#queue(segment, entry, event, keptAs);
    return true;
  }

  #fanoutInto(segment: Segment, event: OutboundEvent, accept: (user: string) => boolean): void {
    for (const [user, person] of this.#online) {
      if (!accept(user)) continue;
      const entries = person.entries;
      if (entries.length === 1) this.#queue(segment, entries[0], event);
      else for (const entry of entries) this.#queue(segment, entry, event);
    }
  }

  /** Adds a delivery to a segment; the same event to the same node goes once. */
  #queue(
    segment: Segment,
    to: Presence,
    event: OutboundEvent,
    kept?: Delivery["kept"],
    except?: number,
  ): void {
    let deliveries = segment.deliveries.get(to.node);
    if (!deliveries) segment.deliveries.set(to.node, deliveries = []);
    const last = deliveries[deliveries.length - 1];
    if (
      kept === undefined && except === undefined && last?.event === event.event &&
      last.at === event.at && last.run === to.run && last.kept === undefined &&
      last.except === undefined
    ) {
      const slots = last.slots;
      if (slots[slots.length - 1] === to.slot - 1) slots[slots.length - 1] = to.slot;
      else slots.push(to.slot, to.slot);
    } else {
      const slots = [to.slot, to.slot];
      deliveries.push({ event: event.event, at: event.at, run: to.run, slots, kept, except });
    }
    this.#flushSoon();
  }

  #flushSoon(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.#flush());
  }

  /** Sends every segment up to the first open hold, in order, in one MULTI. */
  #flush(): void {
    this.#flushQueued = false;
    if (this.#closed) return;
    const ready = new Map<string, Delivery[]>();
    let count = 0;
    while (count < this.#segments.length && !this.#segments[count].open) {
      for (const [node, deliveries] of this.#segments[count].deliveries) {
        const all = ready.get(node);
        if (all) all.push(...deliveries);
        else ready.set(node, deliveries);
      }
      count++;
    }
    this.#segments.splice(0, count);
    if (this.#owed.size > 0 && this.#redis.isReady) {
      // What an outage held up goes first, in its order.
      const owed = this.#owed;
      this.#owed = new Map();
      this.#owedCount = 0;
      for (const [node, deliveries] of ready) {
        const before = owed.get(node);
        if (before) before.push(...deliveries);
        else owed.set(node, deliveries);
      }
      ready.clear();
      for (const [node, deliveries] of owed) ready.set(node, deliveries);
    }
    if (ready.size === 0) return;
    if (!this.#redis.isReady) {
      // Messages are stored before they are delivered: those are owed to their recipients and
      // passed on once Redis is back (their senders were told they are sent). The rest
      // (presence, channel changes) is not kept: it would arrive stale.
      for (const [node, deliveries] of ready) {
        for (const delivery of deliveries) {
          if (!isStoredMessage(delivery) || this.#owedCount >= MAX_OWED) {
            this.#dropped++;
            continue;
          }
          const owed = this.#owed.get(node);
          if (owed) owed.push(delivery);
          else this.#owed.set(node, [delivery]);
          this.#owedCount++;
        }
      }
      if (this.#dropped > 0) this.#reportDropped();
      return;
    }
    const multi = this.#redis.multi();
    for (const [node, deliveries] of ready) {
      multi.addCommand(appendCommand(this.#logKey(node), LOG_LENGTH, JSON.stringify(deliveries)));
    }
    multi.exec().catch((error) => {
      if (this.#closed) return;
      // Refused whole (Redis still loading its data, or gone before the MULTI left): nothing was
      // appended, so the stored messages among them are owed still. Cut off half-way, they may
      // have been, so only what cannot arrive twice is passed on again: numbered messages (a
      // node hands each number out once) and private messages kept in their recipients' offline
      // queues (a session that got one passes over the repeat). Dropped, a private message
      // reached an online recipient only at their next login, a channel's only in its history.
      const notDone = isRefusedForNow(error) || /EXECABORT|LOADING/.test(String(error)) ||
        (isConnectionError(error) && !String(error).match(/ECONNRESET|closed unexpectedly/i));
      if (notDone) {
        this.#oweAgain(ready);
        return;
      }
      const kept = new Map<string, Delivery[]>();
      for (const [node, deliveries] of ready) {
        const once = deliveries.filter((d) =>
          isKeptPrivate(d) || numberedKey(d.event) !== undefined
        );
        if (once.length > 0) kept.set(node, once);
      }
      if (kept.size > 0) this.#oweAgain(kept);
      this.#log(`Cannot pass events to the cluster: ${error}`);
    });
  }

  /** Deliveries a MULTI could not append: those of stored messages first in line again. */
  #oweAgain(ready: Map<string, Delivery[]>): void {
    const later = this.#owed;
    this.#owed = new Map();
    this.#owedCount = 0;
    for (const [node, deliveries] of ready) {
      const kept = deliveries.filter(isStoredMessage).slice(0, MAX_OWED);
      if (kept.length > 0) this.#owed.set(node, kept);
      this.#owedCount += kept.length;
    }
    for (const [node, deliveries] of later) {
      const owed = this.#owed.get(node);
      if (owed) owed.push(...deliveries);
      else this.#owed.set(node, deliveries);
      this.#owedCount += deliveries.length;
    }
    if (this.#closed) return; // leaving: nothing is retried, no timer outlives the close
    this.#retryOwed ??= setTimeout(() => {
      this.#retryOwed = undefined;
      this.#flushSoon();
    }, 250);
  }

  #retryOwed: ReturnType<typeof setTimeout> | undefined;

  /** Deliveries of stored messages an outage held up, per node, in order. */
  #owed = new Map<string, Delivery[]>();
  #owedCount = 0;

  /** Says, at most once a second, how many deliveries an outage dropped. */
  #reportDropped(): void {
    if (this.#closed) return;
    this.#droppedReport ??= setTimeout(() => {
      this.#droppedReport = undefined;
      this.#log(`Redis is unreachable: ${this.#dropped} deliveries were not passed on`);
      this.#dropped = 0;
    }, 1000);
  }

  #onDelivery(raw: string): void {
    let deliveries: Delivery[];
    try {
      deliveries = JSON.parse(raw) as Delivery[];
    } catch {
      return;
    }
    if (!Array.isArray(deliveries)) return;
    for (const delivery of deliveries) {
      if (delivery?.run !== this.#run || !Array.isArray(delivery.slots)) continue;
      const event = delivery.event;
      // A message passed on again (its request repeated after an unknown outcome) goes to
      // whoever did not get it: once here is enough.
      const numbered = numberedKey(event);
      const echo = delivery.except !== undefined;
      if (numbered !== undefined && !this.#handedOut.add(echo ? `echo:${numbered}` : numbered)) {
        continue;
      }
      // An echo goes to the sender's other sessions as it comes (they saw the numbers before it).
      if (!echo && event?.type === "broadcast" && typeof event.number === "number") {
        this.#broadcastOrder.add(event.number, delivery);
      } else {
        this.#handOut(delivery);
      }
    }
  }

  /** Numbered messages handed out lately (see {@linkcode numberedKey}). */
  readonly #handedOut = new RecentKeys(HANDED_OUT_REMEMBERED);

  /** Broadcasts from every node, handed out in the order of their numbers. */
  readonly #broadcastOrder = new BroadcastOrder<Delivery | ReadBack>(
    (item) => "slots" in item ? this.#handOut(item) : this.#handOutReadBack(item),
    250,
    async (from, to) => {
      const found = await this.#listener.missedBroadcasts?.(from, to, this.#readBackSince());
      return new Map((found ?? []).map((item) => [item.number, item]));
    },
  );

  /**
   * Hands a broadcast read back from the store (its delivery was lost) to this node's users,
   * only sessions logged in when it was stored; never twice (a delivery arriving later is
   * passed over, as one that came first passes this over).
   */
  #handOutReadBack({ event, accept }: ReadBack): void {
    const numbered = numberedKey(event.event);
    if (numbered !== undefined && !this.#handedOut.add(numbered)) return;
    for (const [user, local] of this.#local) {
      if (accept(user)) this.delivered += local.group.deliverAsOf(event, event.at);
    }
  }

  /** Hands a delivery to this node's connections it names. */
  #handOut(delivery: Delivery): void {
    const kept = delivery.kept;
    const outbound = new OutboundEvent(delivery.event, delivery.at);
    let taken: number;
    if (kept && typeof kept.number === "number") {
      // Not twice to a session handed it already with what waited in the offline queue.
      const group = this.#bySlot.get(Number(delivery.slots[0]));
      const delivered = group?.deliverKept(outbound, kept.number) ?? false;
      if (delivered === "seen") return;
      taken = delivered ? 1 : 0;
      this.delivered += taken;
    } else if (typeof delivery.except === "number") {
      const group = this.#bySlot.get(Number(delivery.slots[0]));
      taken = group?.deliver(outbound, delivery.except) ? 1 : 0;
      this.delivered += taken;
    } else {
      taken = this.#deliverToSlots(delivery.slots, outbound);
    }
    if (kept && taken > 0 && typeof kept.number === "number") {
      this.#listener.keptDelivered?.(String(kept.user), kept.number);
    }
  }

  /** Events handed to this node's connections so far. */
  delivered = 0;

  /**
   * Delivers to this node's users among runs of login numbers (a loop: it is the fan-out);
   * returns how many connections took it.
   */
  #deliverToSlots(slots: readonly number[], outbound: OutboundEvent): number {
    let taken = 0;
    for (let i = 0; i + 1 < slots.length; i += 2) {
      const first = Number(slots[i]);
      const last = Math.min(Number(slots[i + 1]), this.#lastSlot);
      if (!Number.isSafeInteger(first) || !(last >= first)) continue;
      // A run wider than the users here is walked through the users instead.
      if (last - first < 4 * this.#bySlot.size + 16) {
        for (let slot = first; slot <= last; slot++) {
          const recipient = this.#bySlot.get(slot);
          if (recipient !== undefined && recipient.deliver(outbound)) taken++;
        }
      } else {
        for (const [slot, recipient] of this.#bySlot) {
          if (slot >= first && slot <= last && recipient.deliver(outbound)) taken++;
        }
      }
    }
    this.delivered += taken;
    return taken;
  }

  /** A Redis call that ends, at the latest, when the node leaves. */
  #call<T>(call: () => Promise<T>): Promise<T> {
    return redisCall(call, REPLY_TIMEOUT_MS, this.#closing.signal);
  }

  // ---- shared changes ----

  readonly shared = true;
  readonly channelLog: ChannelLog;

  share(change: SharedChange): void {
    const message = JSON.stringify({ node: this.node, change });
    appendChange(this.#redis, message, this.#closing.signal).catch((error) => {
      this.#log(`Cannot tell the cluster of a ${change.kind} change: ${error}`);
    });
  }

  #onChange(raw: string): void {
    let message: { node?: unknown; change?: unknown };
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (!isSharedChange(message.change) || message.node === this.node) return;
    this.#listener.applyChange?.(message.change);
  }

  /** Leaves the cluster: this node's users are removed, the connections closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#broadcastOrder.flush();
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#droppedReport);
    clearTimeout(this.#retryOwed);
    if (this.#retry) {
      clearTimeout(this.#retry.timer);
      this.#retry.resolve();
    }
    try {
      if (this.#redis.isReady) {
        for (const [name, local] of [...this.#local]) {
          await this.#fenced(() => this.#change(name, local.session, undefined, 0));
        }
        if (this.#joined) await this.#redis.del(this.#heartbeatKey(this.node));
      }
    } catch {
      // Redis is gone: the heartbeat expires and another node removes our users
    }
    await this.#events.close();
    await this.channelLog.close().catch(() => {});
    // Calls still under way (a heartbeat, a change told) end now, their timers with them.
    this.#closing.abort();
    for (const client of [this.#subscriber, this.#redis]) await closeQuietly(client);
  }
}
