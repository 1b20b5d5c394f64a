/**
 * When each user last logged in and out (messenger's whoelsesince), and the login history toom's
 * `userlog.txt` is exported from.
 * @module
 */

import type { AccountStore, SeenRecord } from "../../store/store.ts";
import type { ShareChange } from "../shared_changes.ts";

/** Login and logout times of every user who ever logged in. */
export class SeenService {
  readonly #store: AccountStore;
  readonly #seen: Map<string, SeenRecord>;
  /** Tells the other nodes of a cluster what changed. */
  share: ShareChange = () => {};

  private constructor(store: AccountStore, seen: Map<string, SeenRecord>) {
    this.#store = store;
    this.#seen = seen;
  }

  static async open(store: AccountStore): Promise<SeenService> {
    return new SeenService(store, await store.loadSeen());
  }

  /** Every user's record. */
  all(): IterableIterator<SeenRecord> {
    return this.#seen.values();
  }

  /**
   * Records a login; returns its number in the login history. `who`: the session's ident and
   * real name, when the client gave them (IRC).
   */
  async loggedIn(
    name: string,
    at: number,
    ip: string,
    udpPort?: number,
    who: { readonly ident?: string; readonly realname?: string } = {},
  ): Promise<number> {
    const record: SeenRecord = {
      name,
      lastLogin: at,
      lastLogout: this.#seen.get(name)?.lastLogout ?? 0,
      ip,
      ...who,
    };
    this.#seen.set(name, record);
    this.share({ kind: "seen", record });
    const [number] = await Promise.all([
      this.#store.appendLogin({ at, user: name, ip, udpPort }),
      this.#store.setSeen(record),
    ]);
    return number;
  }

  /** Records a logout. */
  async loggedOut(name: string, loginAt: number, at: number): Promise<void> {
    const record = { ...this.#seen.get(name), name, lastLogin: loginAt, lastLogout: at };
    this.#seen.set(name, record);
    this.share({ kind: "seen", record });
    await this.#store.setSeen(record);
  }

  /**
   * Reads every record from the store again (see `ServerState`'s reload after a stall or an
   * outage): a record newer here (a login or logout recorded meanwhile) is kept.
   */
  async reload(): Promise<void> {
    for (const record of (await this.#store.loadSeen()).values()) {
      const here = this.#seen.get(record.name);
      if (!here || latest(record) > latest(here)) this.#seen.set(record.name, record);
    }
  }

  /** Learns of a login or logout on another node. */
  applied(record: SeenRecord): void {
    this.#seen.set(record.name, record);
  }

  /** Records the UDP port reported during a login. */
  async udpPortReported(login: number, udpPort: number): Promise<void> {
    await this.#store.setLoginUdpPort(login, udpPort);
  }
}

/** When a record last changed: its login or its logout, whichever came later. */
function latest(record: SeenRecord): number {
  return Math.max(record.lastLogin, record.lastLogout);
}
