/**
 * One timer for every client: logs out and disconnects those idle too long (receiving is not
 * activity), telling them why.
 * @module
 */

import { OutboundEvent } from "../protocol/events.ts";
import { formatDuration } from "../protocol/timestamp.ts";
import type { Client } from "./client.ts";
import type { Logger } from "./context.ts";
import type { Clock, ClockTimer } from "./services/clock.ts";

/** Sweeps a set of clients on an interval of the clock's time (tests move it). */
export class IdleSweeper {
  readonly #clock: Clock;
  #timer: ClockTimer | undefined;
  #stopped = false;

  constructor(
    clients: () => Iterable<Client>,
    idleTimeoutMs: number,
    clock: Clock,
    log: Logger,
  ) {
    this.#clock = clock;
    const tick = Math.min(1000, Math.max(20, Math.floor(idleTimeoutMs / 4)));
    const idle = formatDuration(idleTimeoutMs);
    const sweep = () => {
      if (this.#stopped) return;
      this.#timer = clock.setTimeout(sweep, tick);
      const now = clock.now();
      for (const client of clients()) {
        if (client.output.isClosed || now - client.lastActivity < idleTimeoutMs) continue;
        if (client.identity !== undefined) {
          log.info(`${client.identity.name} timed out after ${idle} idle`);
          client.quitReason = `Timed out after ${idle} of inactivity`;
          client.output.event(
            new OutboundEvent({
              type: "idle",
              text: `You have been logged out after ${idle} of inactivity`,
            }),
          );
        } else {
          client.output.event(
            new OutboundEvent({
              type: "disconnect",
              text: `Disconnected after ${idle} of inactivity`,
            }),
          );
        }
        void client.output.close(true, 1000);
      }
    };
    this.#timer = clock.setTimeout(sweep, tick);
  }

  /** Stops sweeping. */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
  }
}
