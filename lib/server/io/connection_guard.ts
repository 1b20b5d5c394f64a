/**
 * Who may connect: caps on connections in all and per address, and on new connections per
 * second per address.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { RateLimiter } from "./rate_limiter.ts";

/** The limits a guard enforces. */
export interface GuardLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** New connections per second per address (bursts of twice that); 0 for no limit. */
  readonly connectRatePerIp: number;
}

/** Counts open connections and refuses those over a limit. */
export class ConnectionGuard {
  readonly #limits: GuardLimits;
  readonly #perIp = new Map<string, number>();
  readonly #rate: RateLimiter;
  #total = 0;

  constructor(limits: GuardLimits) {
    this.#limits = limits;
    this.#rate = new RateLimiter(limits.connectRatePerIp);
  }

  /** Connections open now. */
  get count(): number {
    return this.#total;
  }

  /**
   * Admits a connection from `ip` (counting it), or returns the reply line that refuses it.
   * Every admitted connection must be released once.
   */
  admit(ip: string): string | undefined {
    const fromIp = this.#perIp.get(ip) ?? 0;
    if (this.#total >= this.#limits.maxConnections || fromIp >= this.#limits.maxConnectionsPerIp) {
      return `${Reply.SERVER_BUSY} Too many connections; try again later\n`;
    }
    if (!this.#rate.allow(ip)) {
      return `${Reply.SERVER_BUSY} Too many new connections from your address; slow down\n`;
    }
    this.#perIp.set(ip, fromIp + 1);
    this.#total++;
    return undefined;
  }

  /** Forgets a connection that closed. */
  release(ip: string): void {
    const left = (this.#perIp.get(ip) ?? 1) - 1;
    if (left <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, left);
    this.#total--;
  }
}
