/**
 * The {@linkcode Store} on Redis, shared by the nodes of a cluster. Every record is JSON under
 * keys that start with one prefix (`labchat:` by default). Numbers (broadcasts, private
 * messages, rooms, threads, …) come from counters in Redis, taken in the same Lua script that
 * stores the record, so a number is handed out once across every node. Writes resolve when Redis
 * has replied: with `appendfsync always` that is after the append-only file was synced.
 * @module
 */

import type { LockoutState } from "../auth/lockout.ts";
import { NO_FAILURES } from "../auth/lockout.ts";
import type { PasswordHash } from "../auth/password.ts";
import { foldName } from "../protocol/names.ts";
import { type ChangedLog, type FeedChanges, feedMember, parseFeedMember } from "./change_feed.ts";
import { closeQuietly, redisCall, type RedisClient, REPLY_TIMEOUT_MS } from "./redis_client.ts";
import { StoreUnavailableError } from "./store_unavailable.ts";
import type {
  FileItem,
  HistoryQuery,
  LoginRecord,
  Pending,
  PendingPrivate,
  PostItem,
  PrivateMessage,
  RequestKey,
  RoomRecord,
  SeenRecord,
  Store,
  StoredMessage,
  ThreadItem,
  ThreadRecord,
  UserRecord,
  WebSessionRecord,
} from "./store.ts";
import { RequestIdReusedError } from "./store.ts";
import { REQUEST_ID_TTL_MS } from "../protocol/request_id.ts";

/** Messages read per round trip while paging through a history. */
const HISTORY_PAGE = 200;

/** Lua: the thread called ARGV[1] is still the one numbered ARGV[2] (KEYS[1] holds threads). */
const LIVE_THREAD = `
local function live(threads, name, id)
  local current = redis.call('HGET', threads, name)
  return current and cjson.decode(current).id == tonumber(id)
end
`;

/**
 * Lua: notes in the change feed that `member` changed (the counters hash numbers the feed; the
 * feed's sorted set holds each member at its last change; `last` is its last message number).
 */
const FEED = `
local function changed(counters, feed, lasts, member, last)
  redis.call('ZADD', feed, redis.call('HINCRBY', counters, 'feed', 1), member)
  if last then redis.call('HSET', lasts, member, last) end
end
`;

/**
 * Lua: request ids. `repeated` returns what a request id (KEY, '' fingerprint for none) stored
 * before, if anything; `remember` keeps what it stores now, for `ttl` ms.
 */
const REQUEST = `
local function repeated(key, fingerprint)
  if fingerprint == '' then return nil end
  return redis.call('GET', key)
end
local function remember(key, fingerprint, ttl, value, received)
  if fingerprint == '' then return end
  local extra = ''
  if received then extra = ',"received":' .. received end
  redis.call('SET', key, '{"fingerprint":' .. cjson.encode(fingerprint) .. ',"value":' .. value ..
    extra .. '}', 'PX', ttl)
end
`;

/**
 * Lua scripts, each one atomic. Records are built as `{"<field>":<number>` + the rest of the
 * record's JSON, so the number taken from the counter is inside the stored record.
 */
const SCRIPTS = {
  /**
   * KEYS: counters, feed, feed's last numbers, request id, then sorted sets. ARGV: counter
   * field, rest of the JSON, feed member, request fingerprint ('' for none), its time to live.
   * Returns the number, or the request id's record when it was stored before.
   */
  append: FEED + REQUEST + `
local before = repeated(KEYS[4], ARGV[4])
if before then return before end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local json = '{"number":' .. n .. ARGV[2]
for i = 5, #KEYS do redis.call('ZADD', KEYS[i], n, json) end
changed(KEYS[1], KEYS[2], KEYS[3], ARGV[3], n)
remember(KEYS[4], ARGV[4], ARGV[5], json)
return n`,
  /**
   * A private message, numbered in each side's own mailbox. KEYS: counters, mailbox numbers,
   * feed, feed's last numbers, request id, sender's log, recipient's log, [recipient's offline
   * queue]. ARGV: from, to, rest of the JSON, request fingerprint ('' for none), its time to
   * live. A mailbox begins after the numbers everyone shared before mailboxes had their own.
   * Returns both numbers, or the request id's record when it was stored before.
   */
  appendPrivate: FEED + REQUEST + `
local before = repeated(KEYS[5], ARGV[4])
if before then return before end
local function nextIn(user)
  if redis.call('HEXISTS', KEYS[2], user) == 0 then
    redis.call('HSET', KEYS[2], user, redis.call('HGET', KEYS[1], 'pm') or 0)
  end
  return redis.call('HINCRBY', KEYS[2], user, 1)
end
local sent = nextIn(ARGV[1])
local got = nextIn(ARGV[2])
local received = '{"number":' .. got .. ARGV[3]
local json = '{"number":' .. sent .. ARGV[3]
redis.call('ZADD', KEYS[6], sent, json)
redis.call('ZADD', KEYS[7], got, received)
if KEYS[8] then redis.call('ZADD', KEYS[8], got, received) end
changed(KEYS[1], KEYS[3], KEYS[4], 'p:' .. ARGV[1], sent)
changed(KEYS[1], KEYS[3], KEYS[4], 'p:' .. ARGV[2], got)
remember(KEYS[5], ARGV[4], ARGV[5], json, got)
return {sent, got}`,
  /** KEYS: by members, rooms, counters. ARGV: members key, rest of the JSON. */
  createRoom: `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  local room = redis.call('HGET', KEYS[2], existing)
  if room then return {0, room} end
end
local id = redis.call('HINCRBY', KEYS[3], 'room', 1)
local json = '{"id":' .. id .. ARGV[2]
redis.call('HSET', KEYS[2], id, json)
redis.call('HSET', KEYS[1], ARGV[1], id)
return {1, json}`,
  /** KEYS: threads, counters. ARGV: name, rest of the JSON. */
  createThread: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return false end
local id = redis.call('HINCRBY', KEYS[2], 'thread', 1)
local json = '{"id":' .. id .. ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], json)
return json`,
  /**
   * KEYS: threads, items, counters, files, feed. ARGV: name, thread id, rest of the JSON, file
   * name.
   */
  addItem: LIVE_THREAD + FEED + `
if not live(KEYS[1], ARGV[1], ARGV[2]) then return false end
if ARGV[4] ~= '' and redis.call('HEXISTS', KEYS[4], ARGV[4]) == 1 then return false end
local id = redis.call('HINCRBY', KEYS[3], 'thread_item', 1)
local json = '{"id":' .. id .. ARGV[3]
redis.call('HSET', KEYS[2], id, json)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[4], ARGV[4], id) end
changed(KEYS[3], KEYS[5], nil, 't:' .. ARGV[2])
return json`,
  /** KEYS: threads, items, counters, feed. ARGV: name, thread id, item id, new JSON ('' deletes). */
  changeItem: LIVE_THREAD + FEED + `
if not live(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then return 0 end
if ARGV[4] == '' then redis.call('HDEL', KEYS[2], ARGV[3])
else redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
changed(KEYS[3], KEYS[4], nil, 't:' .. ARGV[2])
return 1`,
  /**
   * KEYS: threads, items, files, doomed blobs, counters, feed. ARGV: name, thread id, item id,
   * file name, blob.
   */
  removeFile: LIVE_THREAD + FEED + `
if not live(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('HDEL', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[5])
changed(KEYS[5], KEYS[6], nil, 't:' .. ARGV[2])
return 1`,
  /** KEYS: threads, removed, counters, feed. ARGV: name, thread id, thread JSON. */
  removeThread: LIVE_THREAD + FEED + `
if not live(KEYS[1], ARGV[1], ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
changed(KEYS[3], KEYS[4], nil, 't:' .. ARGV[2])
return 1`,
  /**
   * The change feed after a position. KEYS: epoch, counters, feed, feed's last numbers. ARGV:
   * position, an epoch to start if there is none. Returns epoch, head, then member and last
   * number pairs.
   */
  changes: `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[2])
  epoch = ARGV[2]
end
local head = tonumber(redis.call('HGET', KEYS[2], 'feed') or '0')
local out = {epoch, head}
if tonumber(ARGV[1]) < head then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[3], '(' .. ARGV[1], '+inf', 'BYSCORE')) do
    out[#out + 1] = member
    out[#out + 1] = redis.call('HGET', KEYS[4], member) or '0'
  end
end
return out`,
  /**
   * KEYS: a hash. ARGV: field, expected value, new value. Compare and set; '' stands for a
   * missing field, as expected value and as new value (which deletes).
   */
  replace: `
if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`,
  /** The same on a plain key that expires: ARGV: expected value, new value, ms to live. */
  replaceExpiring: `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`,
} as const;

/**
 * What a request id stored before, from its record.
 *
 * @throws {RequestIdReusedError} when that was another request.
 */
function repeatOf(
  record: string,
  request: { readonly key: RequestKey; readonly fingerprint: string } | undefined,
): { value: StoredMessage; received?: number } {
  const parsed = JSON.parse(record) as {
    fingerprint: string;
    value: StoredMessage;
    received?: number;
  };
  if (request === undefined || parsed.fingerprint !== request.fingerprint) {
    throw new RequestIdReusedError(request?.key.id ?? "");
  }
  return parsed;
}

/** `{"a":1,"b":2}` → `,"a":1,"b":2}`: what follows the number a script puts first. */
const restOf = (record: object): string => `,${JSON.stringify(record).slice(1)}`;

/** Options of {@linkcode RedisStore.open}. */
export interface RedisStoreOptions {
  /** Keys start with this (default `labchat:`). */
  readonly prefix?: string;
  /**
   * Replicas that must have each write before it counts as done (Redis `WAIT`); 0 (the
   * default) does not wait.
   */
  readonly acks?: number;
  /** How long a write waits for those replicas (default 2 s) before it is reported unsure. */
  readonly ackTimeoutMs?: number;
  /** Called once the store's connection is closed (to close what leads to Redis). */
  readonly onClose?: () => Promise<void>;
}

/** A {@linkcode Store} on Redis; see the module documentation. */
export class RedisStore implements Store {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  /** Aborted by {@linkcode close}: calls under way end then. */
  readonly #closing = new AbortController();
  readonly #acks: number;
  readonly #ackTimeoutMs: number;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #scripts = new Map<string, string>();
  #closed = false;
  /** Writes sent so far (numbered in the order they go out on the connection). */
  #writesSent = 0;
  /** The last `WAIT` sent, and how many writes it covers (all those sent before it). */
  #wait: { covers: number; done: Promise<void> } | undefined;

  private constructor(redis: RedisClient, options: RedisStoreOptions) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? "labchat:";
    this.#acks = options.acks ?? 0;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 2000;
    this.#onClose = options.onClose;
  }

  /**
   * A store on `redis` (owned from now on: closed with the store). Loads the scripts first, so
   * that every command is sent in call order: a read sees every write started before it.
   */
  static async open(redis: RedisClient, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const store = new RedisStore(redis, options);
    for (const name of Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[]) {
      store.#scripts.set(name, await redisCall(() => redis.scriptLoad(SCRIPTS[name])));
    }
    return store;
  }

  #key(...parts: (string | number)[]): string {
    return this.#prefix + parts.join(":");
  }

  reachable(): boolean {
    return this.#redis.isReady;
  }

  /**
   * Runs a script by its SHA-1, or by its text when Redis lost it (a restart). Every script
   * writes (but `changes`, which reads): it is done once the replicas asked for have it.
   */
  async #script(name: keyof typeof SCRIPTS, keys: string[], args: string[]): Promise<unknown> {
    let sent = 0;
    const result = await redisCall(
      async () => {
        const sha = this.#scripts.get(name) ?? "";
        try {
          sent = ++this.#writesSent;
          return await this.#redis.evalSha(sha, { keys, arguments: args });
        } catch (error) {
          if (!String(error).includes("NOSCRIPT")) throw error;
          sent = ++this.#writesSent;
          return await this.#redis.eval(SCRIPTS[name], { keys, arguments: args });
        }
      },
      REPLY_TIMEOUT_MS,
      this.#closing.signal,
    );
    if (name !== "changes") await this.#replicated(sent);
    return result;
  }

  /** Runs commands that read. */
  #call<T>(call: (redis: RedisClient) => Promise<T>): Promise<T> {
    return redisCall(() => call(this.#redis), REPLY_TIMEOUT_MS, this.#closing.signal);
  }

  /** Runs commands that write: done once the replicas asked for have them. */
  async #write<T>(call: (redis: RedisClient) => Promise<T>): Promise<T> {
    const sent = ++this.#writesSent;
    const result = await redisCall(
      () => call(this.#redis),
      REPLY_TIMEOUT_MS,
      this.#closing.signal,
    );
    await this.#replicated(sent);
    return result;
  }

  /**
   * Waits until `--cluster-acks` replicas have write number `sent`: one `WAIT` covers every
   * write sent on the connection before it, so writes finishing together share one.
   *
   * @throws {StoreUnavailableError} (`unreplicated`) when fewer replicas confirmed in time.
   */
  async #replicated(sent: number): Promise<void> {
    if (this.#acks === 0) return;
    let wait = this.#wait;
    if (wait === undefined || wait.covers < sent) {
      const acks = this.#acks;
      const covers = this.#writesSent;
      const done = redisCall(
        () => this.#redis.sendCommand(["WAIT", String(acks), String(this.#ackTimeoutMs)]),
        REPLY_TIMEOUT_MS,
        this.#closing.signal,
      ).catch((error) => {
        // The writes it waits for were carried out: whatever became of the WAIT, they may stay.
        if (error instanceof StoreUnavailableError && error.outcome === "not_done") {
          throw new StoreUnavailableError(error.cause, "unknown");
        }
        throw error;
      }).then((confirmed) => {
        if (Number(confirmed) < acks) {
          const why =
            `${confirmed} of ${acks} Redis replicas confirmed within ${this.#ackTimeoutMs} ms`;
          throw new StoreUnavailableError(new Error(why), "unreplicated");
        }
      });
      wait = this.#wait = { covers, done };
    }
    await wait.done;
  }

  async #hashGet<T>(key: string, field: string): Promise<T | undefined> {
    const json = await this.#call((r) => r.hGet(key, field));
    return json == null ? undefined : JSON.parse(json) as T;
  }

  async #hashValues<T>(key: string): Promise<T[]> {
    return (await this.#call((r) => r.hVals(key))).map((json) => JSON.parse(json) as T);
  }

  /** Applies `change` to the JSON in a hash field unless it changed meanwhile (then retries). */
  async #update<T>(key: string, field: string, change: (value: T) => T): Promise<boolean> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const json = await this.#call((r) => r.hGet(key, field));
      if (json == null) return false;
      const next = JSON.stringify(change(JSON.parse(json) as T));
      if (await this.#script("replace", [key], [field, json, next]) === 1) return true;
    }
    throw new Error(`Cannot update ${key}: it keeps changing`);
  }

  // ---- accounts ----

  getUser(name: string): Promise<UserRecord | undefined> {
    return this.#hashGet<UserRecord>(this.#key("user"), foldName(name));
  }

  async createUser(user: UserRecord): Promise<boolean> {
    const key = this.#key("user");
    return await this.#write((r) => r.hSetNX(key, foldName(user.name), JSON.stringify(user))) ===
      1;
  }

  updateUser(
    name: string,
    change: { readonly password?: PasswordHash; readonly role?: UserRecord["role"] },
  ): Promise<boolean> {
    return this.#update<UserRecord>(
      this.#key("user"),
      foldName(name),
      (user) => ({ ...user, ...change }),
    );
  }

  async deleteUser(name: string): Promise<boolean> {
    const folded = foldName(name);
    const [deleted] = await this.#write((r) =>
      r.multi().hDel(this.#key("user"), folded).del(this.#lockoutKey(name)).exec()
    );
    return Number(deleted) === 1;
  }

  listUsers(): Promise<UserRecord[]> {
    return this.#hashValues<UserRecord>(this.#key("user"));
  }

  /** An account's failed logins: a hash of source address → state. */
  #lockoutKey(name: string): string {
    return this.#key(`lockout:${foldName(name)}`);
  }

  async getLockout(name: string, source: string): Promise<LockoutState> {
    return await this.#hashGet<LockoutState>(this.#lockoutKey(name), source) ?? NO_FAILURES;
  }

  async updateLockout(
    name: string,
    source: string,
    change: (state: LockoutState) => LockoutState,
  ): Promise<LockoutState> {
    const key = this.#lockoutKey(name);
    return await this.#changeLockout(
      name,
      change,
      () => this.#call((r) => r.hGet(key, source)),
      (json, written) => this.#script("replace", [key], [source, json, written]),
    );
  }

  listLockouts(name: string): Promise<LockoutState[]> {
    return this.#hashValues<LockoutState>(this.#lockoutKey(name));
  }

  async clearLockouts(name: string): Promise<void> {
    // Before failures were counted per address, one hash held every account's state.
    await this.#write((r) =>
      r.multi().del(this.#lockoutKey(name)).hDel(this.#key("lockout"), foldName(name)).exec()
    );
  }

  /**
   * Compare and set of a lockout state: `read` gives the stored JSON (none for no failures),
   * `replace` writes the new one ('' deletes) if the stored one is still `json`, answering 1.
   */
  async #changeLockout(
    name: string,
    change: (state: LockoutState) => LockoutState,
    read: () => Promise<string | null | undefined>,
    replace: (json: string, written: string) => Promise<unknown>,
  ): Promise<LockoutState> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const json = await read() ?? "";
      const next = change(json === "" ? NO_FAILURES : JSON.parse(json) as LockoutState);
      const written = next.failures === 0 && next.blockedUntil === 0 ? "" : JSON.stringify(next);
      if (await replace(json, written) === 1) return next;
    }
    throw new Error(`Cannot update the lockout of ${name}: it keeps changing`);
  }

  async getGhostLockout(name: string): Promise<LockoutState> {
    const json = await this.#call((r) => r.get(this.#key(`ghost:${foldName(name)}`)));
    return json ? JSON.parse(json) as LockoutState : NO_FAILURES;
  }

  async updateGhostLockout(
    name: string,
    change: (state: LockoutState) => LockoutState,
    ttlMs: number,
  ): Promise<LockoutState> {
    const key = this.#key(`ghost:${foldName(name)}`);
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    return await this.#changeLockout(
      name,
      change,
      () => this.#call((r) => r.get(key)),
      (json, written) => this.#script("replaceExpiring", [key], [json, written, ttl]),
    );
  }

  async loadSeen(): Promise<Map<string, SeenRecord>> {
    const records = await this.#hashValues<SeenRecord>(this.#key("seen"));
    return new Map(records.map((record) => [record.name, record]));
  }

  async setSeen(record: SeenRecord): Promise<void> {
    await this.#write((r) => r.hSet(this.#key("seen"), record.name, JSON.stringify(record)));
  }

  async appendLogin(record: Omit<LoginRecord, "number">): Promise<number> {
    const number = await this.#write((r) => r.hIncrBy(this.#key("counter"), "login", 1));
    const login: LoginRecord = { ...record, number };
    await this.#write((r) => r.hSet(this.#key("login"), number, JSON.stringify(login)));
    return number;
  }

  async setLoginUdpPort(number: number, udpPort: number): Promise<void> {
    await this.#update<LoginRecord>(this.#key("login"), String(number), (l) => ({ ...l, udpPort }));
  }

  async *listLogins(): AsyncIterable<LoginRecord> {
    const logins = await this.#hashValues<LoginRecord>(this.#key("login"));
    yield* logins.sort((a, b) => a.number - b.number);
  }

  // ---- blocks ----

  async loadBlocks(): Promise<Map<string, Set<string>>> {
    const blocks = new Map<string, Set<string>>();
    for (const pair of await this.#call((r) => r.sMembers(this.#key("block")))) {
      const [blocker, blocked] = pair.split("\n");
      let set = blocks.get(blocker);
      if (!set) blocks.set(blocker, set = new Set());
      set.add(blocked);
    }
    return blocks;
  }

  async setBlocked(blocker: string, blocked: string, on: boolean): Promise<void> {
    const key = this.#key("block");
    const pair = `${blocker}\n${blocked}`;
    if (on) await this.#write((r) => r.sAdd(key, pair));
    else await this.#write((r) => r.sRem(key, pair));
  }

  async isBlocked(blocker: string, blocked: string): Promise<boolean> {
    const pair = `${blocker}\n${blocked}`;
    return Number(await this.#call((r) => r.sIsMember(this.#key("block"), pair))) === 1;
  }

  // ---- numbered messages ----

  /**
   * Numbers a record from `counter`, adds it to each sorted set in `logs` and notes `log` in the
   * change feed.
   */
  async #append(
    counter: string,
    log: ChangedLog,
    logs: string[],
    record: Omit<StoredMessage, "number">,
    request: { readonly key: RequestKey; readonly fingerprint: string } | undefined,
  ): Promise<Pending<StoredMessage>> {
    const keys = [
      this.#key("counter"),
      this.#key("feed"),
      this.#key("feed_last"),
      this.#requestKey(request?.key),
      ...logs,
    ];
    const reply = await this.#script("append", keys, [
      counter,
      restOf(record),
      feedMember(log),
      request?.fingerprint ?? "",
      String(REQUEST_ID_TTL_MS),
    ]);
    if (typeof reply === "string") {
      const before = repeatOf(reply, request);
      return { value: before.value, committed: Promise.resolve(), repeated: true };
    }
    return { value: { number: Number(reply), ...record }, committed: Promise.resolve() };
  }

  /** Where a request id is kept (a key no request uses, for none). */
  #requestKey(key: RequestKey | undefined): string {
    return key === undefined
      ? this.#key("request")
      : this.#key("request", foldName(key.user), key.id);
  }

  appendBroadcast(
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return this.#append(
      "broadcast",
      { kind: "broadcast", last: 0 },
      [this.#key("broadcast")],
      { from, text, at },
      request && { key: request, fingerprint: `b\n\n${text}` },
    );
  }

  listBroadcasts(query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#history<StoredMessage>(this.#key("broadcast"), query);
  }

  async appendPrivate(
    from: string,
    to: string,
    text: string,
    at: number,
    queueOffline: boolean,
    request?: RequestKey,
  ): Promise<PendingPrivate> {
    const keys = [
      this.#key("counter"),
      this.#key("pm_seq"),
      this.#key("feed"),
      this.#key("feed_last"),
      this.#requestKey(request),
      this.#key("pm", from),
      this.#key("pm", to),
    ];
    if (queueOffline) keys.push(this.#key("offline", to));
    const record = { from, to, text, at };
    const fingerprint = request && `p\n${foldName(to)}\n${text}`;
    const reply = await this.#script("appendPrivate", keys, [
      from,
      to,
      restOf(record),
      fingerprint ?? "",
      String(REQUEST_ID_TTL_MS),
    ]);
    if (typeof reply === "string") {
      const before = repeatOf(reply, request && { key: request, fingerprint: fingerprint ?? "" });
      return {
        value: before.value as PrivateMessage,
        committed: Promise.resolve(),
        receivedNumber: before.received ?? 0,
        repeated: true,
      };
    }
    const [sent, got] = reply as [number, number];
    return {
      value: { number: Number(sent), ...record },
      committed: Promise.resolve(),
      receivedNumber: Number(got),
    };
  }

  listPrivate(user: string, query: HistoryQuery, withUser?: string): Promise<PrivateMessage[]> {
    const filter = withUser === undefined
      ? undefined
      : (m: PrivateMessage) => m.from === withUser || m.to === withUser;
    return this.#history<PrivateMessage>(this.#key("pm", user), query, filter);
  }

  async listOffline(user: string, after: number, limit: number): Promise<PrivateMessage[]> {
    const key = this.#key("offline", user);
    const page = await this.#call((r) =>
      r.zRange(key, `(${after}`, "+inf", { BY: "SCORE", LIMIT: { offset: 0, count: limit } })
    );
    return page.map((json) => JSON.parse(json) as PrivateMessage);
  }

  async *allBroadcasts(): AsyncIterable<StoredMessage> {
    yield* this.#all<StoredMessage>(this.#key("broadcast"));
  }

  async *allPrivate(): AsyncIterable<PrivateMessage> {
    // Each message is kept under both users; the sender's copy stands for it. Oldest first.
    const all: PrivateMessage[] = [];
    const prefix = this.#key("pm", "");
    for await (const keys of this.#redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      for (const key of keys) {
        const user = key.slice(prefix.length);
        for await (const m of this.#all<PrivateMessage>(key)) if (m.from === user) all.push(m);
      }
    }
    yield* all.sort((a, b) => a.at - b.at || a.number - b.number);
  }

  async unqueueOffline(user: string, number: number): Promise<void> {
    await this.#write((r) => r.zRemRangeByScore(this.#key("offline", user), number, number));
  }

  async ackOffline(user: string, upTo: number): Promise<void> {
    await this.#write((r) => r.zRemRangeByScore(this.#key("offline", user), "-inf", upTo));
  }

  // ---- rooms ----

  async createRoom(
    members: readonly string[],
    creator: string,
    at: number,
  ): Promise<{ room: RoomRecord; created: boolean }> {
    const sorted = [...members].sort();
    const reply = await this.#script(
      "createRoom",
      [this.#key("room_by_members"), this.#key("room"), this.#key("counter")],
      [sorted.join("\n"), restOf({ members: sorted, creator, createdAt: at })],
    ) as [number, string];
    return { room: JSON.parse(reply[1]) as RoomRecord, created: reply[0] === 1 };
  }

  listRooms(): Promise<RoomRecord[]> {
    return this.#hashValues<RoomRecord>(this.#key("room"));
  }

  appendRoomMessage(
    room: number,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return this.#append(
      `room:${room}`,
      { kind: "room", room, last: 0 },
      [
        this.#key("room_msg", room),
      ],
      { from, text, at },
      request && { key: request, fingerprint: `r\n${room}\n${text}` },
    );
  }

  listRoomMessages(room: number, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#history<StoredMessage>(this.#key("room_msg", room), query);
  }

  async *allRoomMessages(room: number): AsyncIterable<StoredMessage> {
    yield* this.#all<StoredMessage>(this.#key("room_msg", room));
  }

  // ---- channels ----

  appendChannelMessage(
    channel: string,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return this.#append(
      `chan:${channel}`,
      { kind: "channel", channel, last: 0 },
      [
        this.#key("chan_msg", channel),
      ],
      { from, text, at },
      request && { key: request, fingerprint: `c\n${channel}\n${text}` },
    );
  }

  listChannelMessages(channel: string, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#history<StoredMessage>(this.#key("chan_msg", channel), query);
  }

  async listChannelLogs(): Promise<string[]> {
    const fields = await this.#call((r) => r.hKeys(this.#key("counter")));
    return fields.filter((field) => field.startsWith("chan:")).map((field) => field.slice(5));
  }

  // ---- the change feed ----

  async changesSince(after: number): Promise<FeedChanges> {
    const keys = [
      this.#key("feed_epoch"),
      this.#key("counter"),
      this.#key("feed"),
      this.#key("feed_last"),
    ];
    const reply = await this.#script("changes", keys, [String(after), crypto.randomUUID()]);
    const [epoch, head, ...pairs] = reply as (string | number)[];
    const changed: ChangedLog[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const log = parseFeedMember(String(pairs[i]), Number(pairs[i + 1]));
      if (log) changed.push(log);
    }
    return { epoch: String(epoch), head: Number(head), changed };
  }

  // ---- forum ----

  async createThread(name: string, creator: string, at: number): Promise<ThreadRecord | undefined> {
    const json = await this.#script(
      "createThread",
      [this.#key("thread"), this.#key("counter")],
      [name, restOf({ name, creator, createdAt: at })],
    );
    return typeof json === "string" ? JSON.parse(json) as ThreadRecord : undefined;
  }

  getThread(name: string): Promise<ThreadRecord | undefined> {
    return this.#hashGet<ThreadRecord>(this.#key("thread"), name);
  }

  listThreads(): Promise<ThreadRecord[]> {
    return this.#hashValues<ThreadRecord>(this.#key("thread"));
  }

  async listThreadItems(thread: ThreadRecord): Promise<ThreadItem[]> {
    const items = await this.#hashValues<ThreadItem>(this.#key("thread_item", thread.id));
    return items.sort((a, b) => a.id - b.id);
  }

  async #addItem<T extends ThreadItem>(
    thread: ThreadRecord,
    item: Omit<T, "id">,
    filename = "",
  ): Promise<T | undefined> {
    const json = await this.#script(
      "addItem",
      [
        this.#key("thread"),
        this.#key("thread_item", thread.id),
        this.#key("counter"),
        this.#key("thread_file", thread.id),
        this.#key("feed"),
      ],
      [thread.name, String(thread.id), restOf(item), filename],
    );
    return typeof json === "string" ? JSON.parse(json) as T : undefined;
  }

  addPost(
    thread: ThreadRecord,
    author: string,
    text: string,
    at: number,
  ): Promise<PostItem | undefined> {
    return this.#addItem<PostItem>(thread, { kind: "post", author, text, at });
  }

  addFile(
    thread: ThreadRecord,
    file: Omit<FileItem, "id" | "kind">,
  ): Promise<FileItem | undefined> {
    return this.#addItem<FileItem>(thread, { kind: "file", ...file }, file.filename);
  }

  async #changeItem(thread: ThreadRecord, post: PostItem, json: string): Promise<boolean> {
    const changed = await this.#script(
      "changeItem",
      [
        this.#key("thread"),
        this.#key("thread_item", thread.id),
        this.#key("counter"),
        this.#key("feed"),
      ],
      [thread.name, String(thread.id), String(post.id), json],
    );
    return changed === 1;
  }

  editPost(thread: ThreadRecord, post: PostItem, text: string): Promise<boolean> {
    return this.#changeItem(thread, post, JSON.stringify({ ...post, text }));
  }

  deletePost(thread: ThreadRecord, post: PostItem): Promise<boolean> {
    return this.#changeItem(thread, post, "");
  }

  async removeFile(thread: ThreadRecord, file: FileItem): Promise<boolean> {
    const removed = await this.#script(
      "removeFile",
      [
        this.#key("thread"),
        this.#key("thread_item", thread.id),
        this.#key("thread_file", thread.id),
        this.#key("gc_blob"),
        this.#key("counter"),
        this.#key("feed"),
      ],
      [thread.name, String(thread.id), String(file.id), file.filename, file.blob],
    );
    return removed === 1;
  }

  async removeThread(thread: ThreadRecord): Promise<boolean> {
    const removed = await this.#script(
      "removeThread",
      [this.#key("thread"), this.#key("thread_removed"), this.#key("counter"), this.#key("feed")],
      [thread.name, String(thread.id), JSON.stringify(thread)],
    );
    return removed === 1;
  }

  async collectRemovedThreads(): Promise<string[]> {
    const removed = await this.#call((r) => r.hKeys(this.#key("thread_removed")));
    for (const id of removed) {
      const items = await this.#hashValues<ThreadItem>(this.#key("thread_item", id));
      const blobs = items.flatMap((item) => item.kind === "file" ? [item.blob] : []);
      await this.#write((r) => {
        const multi = r.multi();
        if (blobs.length > 0) multi.sAdd(this.#key("gc_blob"), blobs);
        return multi
          .del([this.#key("thread_item", id), this.#key("thread_file", id)])
          .hDel(this.#key("thread_removed"), id)
          .exec();
      });
    }
    return this.listDoomedBlobs();
  }

  listDoomedBlobs(): Promise<string[]> {
    return this.#call((r) => r.sMembers(this.#key("gc_blob")));
  }

  async forgetDoomedBlobs(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#write((r) => r.sRem(this.#key("gc_blob"), [...ids]));
  }

  async listLiveBlobs(): Promise<Set<string>> {
    const blobs = new Set<string>();
    for (const thread of await this.listThreads()) {
      for (const item of await this.listThreadItems(thread)) {
        if (item.kind === "file") blobs.add(item.blob);
      }
    }
    return blobs;
  }

  // ---- web sessions ----

  async putWebSession(id: string, session: WebSessionRecord): Promise<void> {
    const ms = Math.max(1000, Math.round(session.expiresAt - Date.now()));
    await this.#write((r) =>
      r.set(this.#key("web_session", id), JSON.stringify(session), { PX: ms } as const)
    );
  }

  async getWebSession(id: string): Promise<WebSessionRecord | undefined> {
    const json = await this.#call((r) => r.get(this.#key("web_session", id)));
    return json == null ? undefined : JSON.parse(json) as WebSessionRecord;
  }

  async deleteWebSession(id: string): Promise<void> {
    await this.#write((r) => r.del(this.#key("web_session", id)));
  }

  // ---- message of the day ----

  listMotd(): Promise<string[]> {
    return this.#call((r) => r.lRange(this.#key("motd"), 0, -1));
  }

  async addMotd(text: string): Promise<void> {
    await this.#write((r) => r.rPush(this.#key("motd"), text));
  }

  async getMotdCursor(): Promise<number> {
    return Number(await this.#call((r) => r.get(this.#key("motd_cursor"))) ?? 0);
  }

  async setMotdCursor(index: number): Promise<void> {
    await this.#write((r) => r.set(this.#key("motd_cursor"), String(index)));
  }

  // ---- machinery ----

  /** Every record of a sorted set, oldest first, a page at a time. */
  async *#all<T>(key: string): AsyncIterable<T> {
    let after = "-inf";
    while (true) {
      const min = after;
      const page = await this.#call((r) =>
        r.zRange(key, min, "+inf", {
          BY: "SCORE",
          LIMIT: { offset: 0, count: HISTORY_PAGE },
        })
      );
      for (const json of page) yield JSON.parse(json) as T;
      if (page.length < HISTORY_PAGE) return;
      after = `(${(JSON.parse(page[page.length - 1]) as { number: number }).number}`;
    }
  }

  /**
   * Records of a sorted set (scored by number) within the query, oldest first: the newest
   * `limit` of them, or with `after`, the oldest `limit` numbered above it.
   */
  async #history<T extends StoredMessage>(
    key: string,
    query: HistoryQuery,
    filter?: (value: T) => boolean,
  ): Promise<T[]> {
    const out: T[] = [];
    const forward = query.after !== undefined;
    const upper = query.before === undefined ? "+inf" : `(${query.before}`;
    let bound = forward ? `(${query.after}` : upper;
    while (out.length < query.limit) {
      const from = bound;
      const page = await this.#call((r) =>
        forward
          ? r.zRange(key, from, upper, { BY: "SCORE", LIMIT: { offset: 0, count: HISTORY_PAGE } })
          : r.zRange(key, from, "-inf", {
            BY: "SCORE",
            REV: true,
            LIMIT: { offset: 0, count: HISTORY_PAGE },
          })
      );
      for (const json of page) {
        const message = JSON.parse(json) as T;
        const at = message.at;
        if (query.since !== undefined && at < query.since) {
          if (forward) continue;
          return out.reverse();
        }
        if (query.until !== undefined && at >= query.until) {
          if (forward) return out;
          continue;
        }
        if (filter && !filter(message)) continue;
        out.push(message);
        if (out.length >= query.limit) break;
      }
      if (page.length < HISTORY_PAGE) break;
      bound = `(${(JSON.parse(page[page.length - 1]) as T).number}`;
    }
    return forward ? out : out.reverse();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Calls still under way (a background read, say) end now, their timers with them.
    this.#closing.abort();
    await closeQuietly(this.#redis);
    await this.#onClose?.();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
