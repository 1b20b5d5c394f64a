/**
 * Login and logout notices. While logins are few, each is announced at once to everyone online
 * (except where a block stands either way). During a storm, when more than a threshold arrive in
 * a second, they are gathered and announced together once a second as one `presence` event:
 * 5000 users logging in at once cost five thousand lines per flush instead of 12.5 million.
 * During a storm a newcomer's messages may arrive before the notice of its login; WHO is exact.
 * @module
 */

import { OutboundEvent } from "../protocol/events.ts";
import type { Hub } from "./hub.ts";
import { unblockedWith } from "./audience.ts";
import type { BlockService } from "./services/blocks.ts";
import type { Clock, ClockTimer } from "./services/clock.ts";

/** Why a session ended, and where it was (its IRC mask's ident and host). */
export interface LogoutReason {
  readonly reason: string;
  readonly ident?: string;
  readonly ip: string;
}

/** Tuning of {@linkcode PresenceNotices}. */
export interface PresenceNoticeOptions {
  /** Notices in one second above which they are gathered (default 50). */
  readonly stormPerSecond?: number;
  /** How long a gathered batch waits before it is announced, ms (default 1000). */
  readonly flushMs?: number;
}

/** Announces presence changes; see the module documentation. */
export class PresenceNotices {
  readonly #hub: Hub;
  readonly #blocks: Pick<BlockService, "has" | "either" | "blockedBy" | "blockersOf">;
  readonly #clock: Clock;
  readonly #stormPerSecond: number;
  readonly #flushMs: number;
  #windowStart = -Infinity;
  #inWindow = 0;
  /** The batch being gathered: user to its last change (insertion order is announcement order). */
  readonly #pending = new Map<string, { type: "login" | "logout"; seq: number }>();
  /** Numbers every presence change, announced at once or gathered. */
  #seq = 0;
  #timer: ClockTimer | undefined;
  #stopped = false;

  constructor(
    hub: Hub,
    blocks: Pick<BlockService, "has" | "either" | "blockedBy" | "blockersOf">,
    clock: Clock,
    options: PresenceNoticeOptions = {},
  ) {
    this.#hub = hub;
    this.#blocks = blocks;
    this.#clock = clock;
    this.#stormPerSecond = options.stormPerSecond ?? 50;
    this.#flushMs = options.flushMs ?? 1000;
  }

  /**
   * Tells the others that `user` logged in or out: now, or with the storm's next batch. `why`,
   * for a logout: its reason and the user's host, which IRC shows in its QUIT.
   */
  announce(
    user: string,
    type: "login" | "logout",
    why?: LogoutReason,
  ): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    this.#inWindow++;
    const seq = ++this.#seq;
    // Once a batch is open, everything joins it: notices never overtake each other.
    if (this.#inWindow <= this.#stormPerSecond && this.#pending.size === 0) {
      const event = new OutboundEvent(
        type === "logout" && why ? { type, user, ...why } : { type, user },
        this.#clock.now(),
      );
      this.#hub.fanout(event, unblockedWith({ blocks: this.#blocks }, user));
      return;
    }
    const before = this.#pending.get(user);
    this.#pending.delete(user); // re-inserted last: its latest change is what counts
    // In and out again within one batch: the others saw neither, so they hear of neither.
    if (before === undefined || before.type === type) this.#pending.set(user, { type, seq });
    this.#timer ??= this.#clock.setTimeout(() => this.flush(), this.#flushMs);
  }

  /**
   * Tells everyone that `user` (a guest) is now called `name`. Whatever was gathered goes out
   * first: nobody hears of the new name before the login of the old one.
   */
  renamed(user: string, name: string, where: { ident?: string; ip: string }): void {
    if (this.#stopped) return;
    this.flush();
    this.#seq++;
    const event = new OutboundEvent({ type: "nick", user, name, ...where }, this.#clock.now());
    this.#hub.fanout(event, unblockedWith({ blocks: this.#blocks }, name));
  }

  /** Announces the gathered batch now. */
  flush(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0 || this.#stopped) return;
    const logins: string[] = [];
    const logouts: string[] = [];
    const loginSeqs: number[] = [];
    const logoutSeqs: number[] = [];
    for (const [user, { type, seq }] of this.#pending) {
      (type === "login" ? logins : logouts).push(user);
      (type === "login" ? loginSeqs : logoutSeqs).push(seq);
    }
    this.#pending.clear();
    const at = this.#clock.now();
    const shared = new OutboundEvent(
      { type: "presence", logins, logouts, loginSeqs, logoutSeqs },
      at,
    );
    // Users in the batch with a block either way: only they make anyone's notice different.
    const blocking = [...logins, ...logouts].filter((user) =>
      this.#blocks.blockedBy(user).size > 0 || this.#blocks.blockersOf(user).size > 0
    );
    if (blocking.length === 0) {
      this.#hub.fanout(shared, () => true);
      return;
    }
    const hidden = (recipient: string) =>
      blocking.filter((user) => this.#blocks.either(user, recipient));
    this.#hub.fanout(shared, (recipient) => hidden(recipient).length === 0);
    for (const recipient of [...this.#hub.list()].map((u) => u.name)) {
      const leave = new Set(hidden(recipient));
      if (leave.size === 0) continue;
      const keep = (_: unknown, i: number, users: readonly string[]) => !leave.has(users[i]);
      const own = {
        type: "presence" as const,
        logins: logins.filter((u) => !leave.has(u)),
        logouts: logouts.filter((u) => !leave.has(u)),
        loginSeqs: loginSeqs.filter((s, i) => keep(s, i, logins)),
        logoutSeqs: logoutSeqs.filter((s, i) => keep(s, i, logouts)),
      };
      if (own.logins.length + own.logouts.length > 0) {
        this.#hub.deliver(recipient, new OutboundEvent(own, at));
      }
    }
  }

  /**
   * The number of the latest presence change: a client shown who is online now (NAMES) needs
   * only changes numbered above it.
   */
  get sequence(): number {
    return this.#seq;
  }

  /** Stops announcing (shutdown): nothing gathered is sent, no timer is left. */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
