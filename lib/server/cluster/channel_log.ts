/**
 * The cluster's channel operations: one Redis stream that every node applies in order (see
 * `ChannelService`), and each channel's state as of an entry of that stream, kept in one hash so
 * that a node that starts later begins where the others are. A node starting reads the hash,
 * then the whole stream, skipping for each channel the entries its kept state already holds.
 *
 * Each node writes the states of the channels that changed, as of the last entry it applied, at
 * most every {@linkcode SAVE_DELAY_MS}, and only over an older state (a Lua script compares the
 * stream IDs). A channel that emptied is kept as a marker with no state, so
 * older entries of it are not applied again; a marker older than the stream's first entry is
 * dropped by the next node that starts. Whenever Redis comes back each node writes what it holds
 * again, over older states only, in case Redis lost its data.
 * @module
 */

import { redisCall, type RedisClient, REPLY_TIMEOUT_MS } from "../../store/redis_client.ts";
import type { ChannelSnapshot } from "../services/channel.ts";
import type { ChannelLogPort, ChannelTarget } from "../hub.ts";
import { type LoggedOp, parseLoggedOp } from "../services/channel_ops.ts";
import { appendCommand, compareIds, fieldsOf } from "./event_log.ts";

/** The stream of channel operations. */
export const CHANNEL_OPS_STREAM = "labchat:channel-ops";

/** Entries the stream keeps (a node away for longer than these take reads the states again). */
export const CHANNEL_OPS_LENGTH = 10_000;

/** How long a node gathers changed channels before it writes their states. */
export const SAVE_DELAY_MS = 100;

/** How long a node waits before it writes again states it could not write. */
export const SAVE_RETRY_MS = 1000;

/** The hash of channel states: folded name → `ID\n` and the state's JSON (none: gone). */
export const CHANNEL_STATES = "labchat:channel-states";

/** Writes a state over an older one only. KEYS: the hash. ARGV: field, ms, seq, value. */
const SAVE_SCRIPT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local ms, seq = string.match(old, '^(%d+)-(%d+)\\n')
  if ms then
    ms = tonumber(ms)
    seq = tonumber(seq)
    local newMs = tonumber(ARGV[2])
    local newSeq = tonumber(ARGV[3])
    if ms > newMs or (ms == newMs and seq >= newSeq) then return 0 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
`;

/** A node's side of the cluster's channel log; see the module documentation. */
export class ChannelLog implements ChannelLogPort {
  readonly #redis: RedisClient;
  readonly #log: (line: string) => void;
  /** Per channel, the entry its state read at start is as of (only while catching up). */
  readonly #versions = new Map<string, string>();
  #newestVersion = "0-0";
  #states: [string, unknown][] = [];
  #target: ChannelTarget | undefined;
  /** Entries read before the service was attached. */
  #early: [string, string][] = [];
  /** The last entry applied here. */
  #lastApplied = "0-0";
  /** Channels changed since their states were last written. */
  readonly #dirty = new Set<string>();
  #saveTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Aborted when the node leaves: calls under way end then (the connection is the hub's). */
  readonly #closing: AbortSignal;

  constructor(redis: RedisClient, log: (line: string) => void, closing: AbortSignal) {
    this.#redis = redis;
    this.#log = log;
    this.#closing = closing;
  }

  #call<T>(call: () => Promise<T>): Promise<T> {
    return redisCall(call, REPLY_TIMEOUT_MS, this.#closing);
  }

  /** The stream as the event log reader reads it: from its start. */
  get stream(): {
    key: string;
    length: number;
    fromStart: true;
    onEntry: (json: string, id: string) => void;
  } {
    return {
      key: CHANNEL_OPS_STREAM,
      length: CHANNEL_OPS_LENGTH,
      fromStart: true,
      onEntry: (json, id) => this.#onEntry(json, id),
    };
  }

  /** Reads the kept states (before the stream is read), dropping markers no entry needs. */
  async load(): Promise<void> {
    const info = new Map(
      fieldsOf(
        await this.#call(() => this.#redis.sendCommand(["XINFO", "STREAM", CHANNEL_OPS_STREAM]))
          .catch(() => null),
      ),
    );
    const firstEntry = info.get("first-entry");
    const first = Array.isArray(firstEntry) ? String(firstEntry[0]) : undefined;
    const all = fieldsOf(
      await this.#call(() => this.#redis.sendCommand(["HGETALL", CHANNEL_STATES])),
    );
    const stale: string[] = [];
    for (const [key, raw] of all) {
      const text = String(raw);
      const cut = text.indexOf("\n");
      const version = text.slice(0, cut);
      const json = text.slice(cut + 1);
      if (cut < 0 || !/^\d+-\d+$/.test(version)) continue;
      if (json === "") {
        if (first === undefined || compareIds(version, first) < 0) stale.push(key);
        else this.#noteVersion(key, version);
        continue;
      }
      try {
        this.#states.push([key, JSON.parse(json)]);
        this.#noteVersion(key, version);
      } catch {
        this.#log(`The kept state of channel ${key} is not JSON; it is left out`);
      }
    }
    this.#lastApplied = this.#newestVersion;
    if (stale.length > 0) {
      await this.#call(() => this.#redis.sendCommand(["HDEL", CHANNEL_STATES, ...stale]))
        .catch((error) => this.#log(`Cannot drop old channel markers: ${error}`));
    }
  }

  #noteVersion(key: string, version: string): void {
    this.#versions.set(key, version);
    if (compareIds(version, this.#newestVersion) > 0) this.#newestVersion = version;
  }

  /** From now on entries go to `target`: the kept states first, then what was read meanwhile. */
  attach(target: ChannelTarget): void {
    this.#target = target;
    target.loaded(this.#states);
    this.#states = [];
    const early = this.#early;
    this.#early = [];
    for (const [json, id] of early) this.#onEntry(json, id);
  }

  #onEntry(json: string, id: string): void {
    const target = this.#target;
    if (!target) {
      this.#early.push([json, id]);
      return;
    }
    let entry: LoggedOp | undefined;
    try {
      entry = parseLoggedOp(JSON.parse(json));
    } catch {
      entry = undefined;
    }
    this.#lastApplied = id;
    if (!entry) return;
    if (this.#versions.size > 0 && compareIds(id, this.#newestVersion) > 0) this.#versions.clear();
    const skip = this.#versions.size === 0 ? undefined : (key: string) => {
      const version = this.#versions.get(key);
      return version !== undefined && compareIds(version, id) >= 0;
    };
    target.applyLogged(entry, skip);
  }

  append(entry: LoggedOp): Promise<void> {
    const command = appendCommand(CHANNEL_OPS_STREAM, CHANNEL_OPS_LENGTH, JSON.stringify(entry));
    return this.#call(() => this.#redis.sendCommand(command)).then(() => {});
  }

  changed(name: string): void {
    // Applied after the node left (its last save is done): nothing is kept, no timer is set.
    if (this.#closed) return;
    this.#dirty.add(name);
    this.#saveTimer ??= setTimeout(() => void this.#save(), SAVE_DELAY_MS);
  }

  /**
   * Writes the states of the channels changed since the last time, as they are now. A state that
   * cannot be written (Redis away) is tried again a second later, as it is then.
   */
  async #save(): Promise<void> {
    this.#saveTimer = undefined;
    const target = this.#target;
    if (!target || this.#dirty.size === 0) return;
    const version = this.#lastApplied;
    const states = [...this.#dirty].map((name) => [name, target.snapshotOf(name)] as const);
    this.#dirty.clear();
    const failed: string[] = [];
    await Promise.all(
      states.map(([name, snapshot]) =>
        this.#write(name, version, snapshot).catch(() => failed.push(name))
      ),
    );
    if (failed.length === 0 || this.#closed) return;
    for (const name of failed) this.#dirty.add(name);
    this.#saveTimer ??= setTimeout(() => void this.#save(), SAVE_RETRY_MS);
  }

  /** Writes what is waiting to be written, once (the node is leaving). */
  async close(): Promise<void> {
    clearTimeout(this.#saveTimer);
    this.#closed = true;
    await this.#save();
  }

  async #write(name: string, version: string, snapshot: ChannelSnapshot | undefined) {
    const [ms, seq] = version.split("-");
    const value = `${version}\n${snapshot === undefined ? "" : JSON.stringify(snapshot)}`;
    await this.#call(() =>
      this.#redis.eval(SAVE_SCRIPT, { keys: [CHANNEL_STATES], arguments: [name, ms, seq, value] })
    );
  }

  /**
   * After Redis came back (perhaps without its data: restarted, or a replica promoted that had
   * not caught up): writes every channel this node holds, as of the last entry it applied, over
   * older states only.
   */
  afterReconnect(): void {
    const target = this.#target;
    if (!target) return;
    target.retryOwed();
    const names = target.names();
    if (names.length === 0) return;
    for (const name of names) this.#dirty.add(name);
    clearTimeout(this.#saveTimer);
    void this.#save();
    this.#log(`Keeping the state of ${names.length} channel(s) again after Redis came back`);
  }
}
