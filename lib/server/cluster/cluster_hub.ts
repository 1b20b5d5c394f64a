/**
 * The hub of a node in a cluster: presence and delivery shared through Redis.
 *
 * - Who is online is one Redis hash (folded name → user, node, session). A login claims its name
 *   there atomically, so a user has one live session across every node. Each node keeps a copy
 *   of the hash, updated from a presence channel, so WHO and the delivery path never wait.
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
} from "../../store/redis_client.ts";
import { appendCommand, EventLogReader } from "./event_log.ts";
import { appendChange, CHANGES_LENGTH, CHANGES_STREAM } from "./changes_stream.ts";
import { BroadcastOrder } from "./broadcast_order.ts";
import {
  type Hub,
  type HubHold,
  type HubListener,
  type HubSession,
  inLoginOrder,
  type OnlineUser,
  type Recipient,
} from "../hub.ts";
import { APPLIED_BY_SENDER, isSharedChange, type SharedChange } from "../shared_changes.ts";

/** An online user as the shared hash holds them. */
interface Presence {
  readonly user: OnlineUser;
  readonly node: string;
  readonly session: string;
  /** The run of the node (a new one each start) and the login's number in that run. */
  readonly run: string;
  readonly slot: number;
}

/** A message on the presence channel. */
type PresenceMessage =
  | { readonly op: "set"; readonly entry: Presence }
  | { readonly op: "del"; readonly name: string; readonly session: string };

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
    (type === "private" && delivery.kept !== undefined);
}

/** Deliveries per node, in order; an open segment belongs to a hold not yet released. */
interface Segment {
  readonly deliveries: Map<string, Delivery[]>;
  open: boolean;
}

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

const SCRIPTS = {
  /**
   * Claims a name. KEYS: online, heartbeat prefix, this node's heartbeat. ARGV: folded name,
   * entry JSON, presence channel, presence message, this run. A holder whose node is dead loses
   * the name. -1 when this node's lease (its heartbeat, holding its run) has run out: a node the
   * cluster took for dead must rejoin before it writes presence again (fencing).
   */
  claim: `
if redis.call('GET', KEYS[3]) ~= ARGV[5] then return -1 end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local node = cjson.decode(current).node
  if redis.call('EXISTS', KEYS[2] .. node) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`,
  /**
   * Replaces or deletes (ARGV[3] empty) an entry if it is still this session's. KEYS: online,
   * this node's heartbeat. ARGV: folded name, session, entry JSON, channel, message, this run;
   * -1 when this node's lease has run out (see claim).
   */
  change: `
if redis.call('GET', KEYS[2]) ~= ARGV[6] then return -1 end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or cjson.decode(current).session ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`,
  /**
   * Removes every entry of a dead node. KEYS: online, its heartbeat. ARGV: node, channel, and
   * 'restart' when the node itself clears what its previous run left.
   */
  reap: `
if ARGV[3] ~= 'restart' and redis.call('EXISTS', KEYS[2]) == 1 then return {} end
local gone = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local entry = cjson.decode(all[i + 1])
  if entry.node == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'del', name = entry.user.name, session = entry.session}))
    table.insert(gone, all[i + 1])
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

/** A JSON value, or `undefined` when it does not parse. */
function parse<T>(json: string): T | undefined {
  try {
    return JSON.parse(json) as T;
  } catch {
    return undefined;
  }
}

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
  /** Everyone online on any node, by canonical name (the copy of the shared hash). */
  readonly #online = new Map<string, Presence>();
  /** Names of the online users (any node) with the admin role. */
  readonly #operators = new Set<string>();
  /** Canonical names by folded name. */
  readonly #names = new Map<string, string>();
  /** This node's users, their connections and shared entries (to claim again after a freeze). */
  readonly #local = new Map<
    string,
    { recipient: Recipient; session: string; slot: number; entry: Presence }
  >();
  /** Ticks until the next check of this node's users against the shared hash. */
  #untilReconcile = RECONCILE_EVERY;
  /** A reconciliation under way (one at a time). */
  #reconciling: Promise<void> | undefined;
  /** This run of the node, and its logins by number. */
  readonly #run = crypto.randomUUID().slice(0, 13);
  #lastSlot = 0;
  readonly #bySlot = new Map<number, Recipient>();
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
    this.#events = new EventLogReader(reader, [
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
    // Reading starts after what is there now: nobody of ours was online for the rest.
    await this.#events.start();
    await this.#resync();
    // After an outage: the copy may have missed messages, and a reaper may have removed us.
    this.#subscriber.on("ready", () => void this.#afterReconnect());
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
    for (const user of users) this.#forget(user.name);
    return users;
  }

  async #script(name: keyof typeof SCRIPTS, keys: string[], args: string[]): Promise<unknown> {
    return await redisCall(async () => {
      try {
        return await this.#redis.evalSha(this.#shas.get(name) ?? "", { keys, arguments: args });
      } catch (error) {
        if (!String(error).includes("NOSCRIPT")) throw error;
        return await this.#redis.eval(SCRIPTS[name], { keys, arguments: args });
      }
    });
  }

  // ---- presence ----

  #remember(entry: Presence): void {
    const name = entry.user.name;
    const folded = foldName(name);
    const previous = this.#names.get(folded);
    if (previous !== undefined && previous !== name) {
      this.#online.delete(previous);
      this.#operators.delete(previous);
    }
    this.#online.set(name, entry);
    this.#names.set(folded, name);
    if (entry.user.admin) this.#operators.add(name);
    else this.#operators.delete(name);
  }

  #forget(name: string, session?: string): Presence | undefined {
    const entry = this.#online.get(name);
    if (!entry || (session !== undefined && entry.session !== session)) return undefined;
    this.#online.delete(name);
    this.#names.delete(foldName(name));
    this.#operators.delete(name);
    return entry;
  }

  async claim(user: OnlineUser, recipient: Recipient): Promise<boolean> {
    const session = crypto.randomUUID();
    const slot = ++this.#lastSlot;
    const entry: Presence = { user, node: this.node, session, run: this.#run, slot };
    const json = JSON.stringify(entry);
    const message = JSON.stringify({ op: "set", entry } satisfies PresenceMessage);
    const claimed = await this.#fenced(() => this.#claimEntry(entry, json, message));
    if (claimed !== 1) return false;
    this.#local.set(user.name, { recipient, session, slot, entry });
    this.#bySlot.set(slot, recipient);
    this.#remember(entry);
    return true;
  }

  /** Runs the claim script for an entry: 1 claimed, 0 held by a live session, -1 lease gone. */
  async #claimEntry(entry: Presence, json: string, message: string): Promise<number> {
    return Number(
      await this.#script(
        "claim",
        [this.#key("online"), this.#heartbeatKey(""), this.#heartbeatKey(this.node)],
        [foldName(entry.user.name), json, this.#presenceChannel, message, this.#run],
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

  async release(user: string, recipient: Recipient): Promise<void> {
    const local = this.#local.get(user);
    if (local?.recipient !== recipient) return;
    this.#local.delete(user);
    this.#bySlot.delete(local.slot);
    this.#forget(user, local.session);
    await this.#removeEntry(user, local.session);
  }

  /** Deletes a user's shared entry if it is still that session's, and tells every node. */
  async #removeEntry(name: string, session: string): Promise<void> {
    const message = JSON.stringify({ op: "del", name, session } satisfies PresenceMessage);
    await this.#fenced(() => this.#change(name, session, "", message));
  }

  /** Runs the change script: 1 changed, 0 not this session's any more, -1 lease gone. */
  async #change(name: string, session: string, json: string, message: string): Promise<number> {
    return Number(
      await this.#script(
        "change",
        [this.#key("online"), this.#heartbeatKey(this.node)],
        [foldName(name), session, json, this.#presenceChannel, message, this.#run],
      ),
    );
  }

  async #changeLocal(user: string, change: Partial<OnlineUser>): Promise<void> {
    const local = this.#local.get(user);
    const entry = this.#online.get(user);
    if (!local || !entry) return;
    const next: Presence = { ...entry, user: { ...entry.user, ...change } };
    this.#remember(next);
    local.entry = next;
    const message = JSON.stringify({ op: "set", entry: next } satisfies PresenceMessage);
    await this.#fenced(() => this.#change(user, local.session, JSON.stringify(next), message));
  }

  setUdpPort(user: string, udpPort: number): Promise<void> {
    return this.#changeLocal(user, { udpPort });
  }

  update(
    user: string,
    change: Pick<OnlineUser, "away" | "guest" | "admin" | "wallops">,
  ): Promise<void> {
    return this.#changeLocal(user, change);
  }

  online(user: string): OnlineUser | undefined {
    return this.#online.get(user)?.user;
  }

  find(name: string): OnlineUser | undefined {
    const canonical = this.#names.get(foldName(name));
    return canonical === undefined ? undefined : this.#online.get(canonical)?.user;
  }

  *list(): Iterable<OnlineUser> {
    const users = [...this.#online.values()].map((entry) => entry.user);
    yield* users.sort((a, b) => a.loginAt - b.loginAt);
  }

  operators(): OnlineUser[] {
    return inLoginOrder(this.#operators, (name) => this.#online.get(name)?.user);
  }

  activeAt(user: string): number | undefined {
    return this.#local.get(user)?.recipient.lastActivity;
  }

  get size(): number {
    return this.#online.size;
  }

  /** Users online on this node. */
  get localSize(): number {
    return this.#local.size;
  }

  #onPresence(raw: string): void {
    let message: PresenceMessage;
    try {
      message = JSON.parse(raw) as PresenceMessage;
    } catch {
      return;
    }
    if (message.op === "set" && message.entry?.user?.name) {
      // Our own users are kept as this node decided, not as an echo says.
      if (this.#local.has(message.entry.user.name) && message.entry.node !== this.node) return;
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
      try {
        this.#remember(JSON.parse(json) as Presence);
      } catch {
        // a damaged entry is skipped
      }
    }
  }

  /**
   * After an outage: rejoins, trying again until it works (the presence connection may be back
   * before the command connection is).
   */
  async #afterReconnect(): Promise<void> {
    for (let wait = 250; !this.#closed; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.#rejoin();
        if (this.#owed.size > 0) this.#flushSoon(); // what the outage held up
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
      shared.push(...await redisCall(() => this.#redis.hmGet(this.#key("online"), names)));
    }
    const back: HubSession[] = [];
    const lost: HubSession[] = [];
    for (const [i, [name, local]] of locals.entries()) {
      const json = shared[i];
      const current = json ? parse<Presence>(json) : undefined;
      if (current?.session === local.session) continue;
      const entry = local.entry;
      const message = JSON.stringify({ op: "set", entry } satisfies PresenceMessage);
      const claimed = await this.#claimEntry(entry, JSON.stringify(entry), message);
      if (this.#local.get(name) !== local) continue; // logged out meanwhile
      if (claimed === 1) {
        this.#remember(entry);
        back.push({ user: entry.user, recipient: local.recipient });
      } else {
        this.#local.delete(name);
        this.#bySlot.delete(local.slot);
        lost.push({ user: entry.user, recipient: local.recipient });
      }
    }
    await this.#resync();
    // Entries of this node that no session here holds (they left while Redis was away).
    let stale = 0;
    for (const entry of [...this.#online.values()]) {
      if (entry.node !== this.node || this.#local.get(entry.user.name)?.session === entry.session) {
        continue;
      }
      this.#forget(entry.user.name, entry.session);
      const message = JSON.stringify(
        { op: "del", name: entry.user.name, session: entry.session } satisfies PresenceMessage,
      );
      await this.#change(entry.user.name, entry.session, "", message);
      stale++;
    }
    if (back.length + lost.length + stale > 0) {
      this.#log(
        `Presence repaired: ${back.length} user(s) of this node online again, ${lost.length} ended (logged in elsewhere meanwhile), ${stale} stale entr${
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
    const kept = await redisCall(() =>
      this.#redis.set(key, this.#run, { XX: true, PX: this.#expireMs })
    );
    if (kept !== null) return true;
    await redisCall(() => this.#redis.set(key, this.#run, { PX: this.#expireMs }));
    return false;
  }

  /**
   * Refreshes the heartbeat, removes the users of nodes whose heartbeat has expired, and now and
   * then (at once after a lapsed lease) checks this node's users against the shared hash.
   */
  async #tick(): Promise<void> {
    if (this.#closed || !this.#redis.isReady) return;
    try {
      const leaseKept = await this.#heartbeat();
      if (!leaseKept) this.#log("This node's lease had run out (it froze?): rejoining the cluster");
      if (!leaseKept || --this.#untilReconcile <= 0) {
        this.#untilReconcile = RECONCILE_EVERY;
        await this.#reconcile();
      }
      const nodes = new Set<string>();
      for (const entry of this.#online.values()) {
        if (entry.node !== this.node) nodes.add(entry.node);
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
    return this.#local.get(user)?.recipient;
  }

  remote(user: string): boolean {
    const entry = this.#online.get(user);
    return entry !== undefined && entry.node !== this.node;
  }

  fanout(event: OutboundEvent, accept: (user: string) => boolean): void {
    this.#fanoutInto(this.#plainSegment(), event, accept);
  }

  hold(): HubHold {
    const segment: Segment = { deliveries: new Map(), open: true };
    this.#segments.push(segment);
    return {
      deliver: (user, event, kept) => this.#deliverInto(segment, user, event, kept),
      fanout: (event, accept) => this.#fanoutInto(segment, event, accept),
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
    const entry = this.#online.get(user);
    if (!entry) return false;
    this.#queue(segment, entry, event, kept === undefined ? undefined : { user, number: kept });
    return true;
  }

  #fanoutInto(segment: Segment, event: OutboundEvent, accept: (user: string) => boolean): void {
    for (const [user, entry] of this.#online) {
      if (accept(user)) this.#queue(segment, entry, event);
    }
  }

  /** Adds a delivery to a segment; the same event to the same node goes once. */
  #queue(
    segment: Segment,
    to: Presence,
    event: OutboundEvent,
    kept?: Delivery["kept"],
  ): void {
    let deliveries = segment.deliveries.get(to.node);
    if (!deliveries) segment.deliveries.set(to.node, deliveries = []);
    const last = deliveries[deliveries.length - 1];
    if (kept !== undefined) {
      deliveries.push({
        event: event.event,
        at: event.at,
        run: to.run,
        slots: [to.slot, to.slot],
        kept,
      });
    } else if (last && last.event === event.event && last.at === event.at && last.run === to.run) {
      const slots = last.slots;
      if (slots[slots.length - 1] === to.slot - 1) slots[slots.length - 1] = to.slot;
      else slots.push(to.slot, to.slot);
    } else {
      deliveries.push({ event: event.event, at: event.at, run: to.run, slots: [to.slot, to.slot] });
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
      // have been: passing them on again could give them twice, so they are not.
      const notDone = isRefusedForNow(error) || /EXECABORT|LOADING/.test(String(error)) ||
        (isConnectionError(error) && !String(error).match(/ECONNRESET|closed unexpectedly/i));
      if (notDone) {
        this.#oweAgain(ready);
        return;
      }
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
      if (numbered !== undefined && !this.#handedOut.add(numbered)) continue;
      if (event?.type === "broadcast" && typeof event.number === "number") {
        this.#broadcastOrder.add(event.number, delivery);
      } else {
        this.#handOut(delivery);
      }
    }
  }

  /** Numbered messages handed out lately (see {@linkcode numberedKey}). */
  readonly #handedOut = new RecentKeys(HANDED_OUT_REMEMBERED);

  /** Broadcasts from every node, handed out in the order of their numbers. */
  readonly #broadcastOrder = new BroadcastOrder<Delivery>((delivery) => this.#handOut(delivery));

  /** Hands a delivery to this node's connections it names. */
  #handOut(delivery: Delivery): void {
    const kept = delivery.kept;
    if (kept && typeof kept.number === "number") {
      // Handed over already with what waited in the offline queue: not twice.
      const recipient = this.#bySlot.get(Number(delivery.slots[0]));
      if (recipient?.privateOnce?.(kept.number) === false) return;
    }
    const outbound = new OutboundEvent(delivery.event, delivery.at);
    const taken = this.#deliverToSlots(delivery.slots, outbound);
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

  // ---- shared changes ----

  readonly shared = true;

  share(change: SharedChange): void {
    const message = JSON.stringify({ node: this.node, change });
    appendChange(this.#redis, message).catch((error) => {
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
    if (!isSharedChange(message.change)) return;
    if (message.node === this.node && !APPLIED_BY_SENDER.has(message.change.kind)) return;
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
        for (const [name, local] of this.#local) await this.#removeEntry(name, local.session);
        if (this.#joined) await this.#redis.del(this.#heartbeatKey(this.node));
      }
    } catch {
      // Redis is gone: the heartbeat expires and another node removes our users
    }
    await this.#events.close();
    for (const client of [this.#subscriber, this.#redis]) await closeQuietly(client);
  }
}
