/**
 * One person's sessions on this server: the terminal, the web page and an IRC client of the same
 * account, logged in at once. The hub delivers to the group, and the group to every session, so
 * everything addressed to the person reaches each of them. What the rest of the server sees of
 * the person ({@linkcode SessionGroup.user}) is one {@linkcode OnlineUser}: the first session's,
 * with the address and UDP port of the session that takes peer transfers.
 * @module
 */

import type { OutboundEvent } from "../protocol/events.ts";
import type { SessionInfo } from "../protocol/reply_data.ts";
import type { HubSession, OnlineUser, Recipient } from "./hub.ts";

export type { SessionInfo };

/** A session as the group holds it: what the hub was given at login, and who takes its events. */
interface Member {
  user: OnlineUser;
  readonly recipient: Recipient;
}

/** The sessions of one person on this server, in login order. */
export class SessionGroup implements Recipient {
  readonly #members: Member[] = [];
  /** Person-level state (away, admin, wallops, guest): the same in every session. */
  #shared: Partial<OnlineUser> = {};
  /**
   * {@linkcode user} of a person with one session, kept until something of it changes (WHO,
   * masks and message checks ask for it often; with several, it depends on activity).
   */
  #single: OnlineUser | undefined;

  constructor(user: OnlineUser, recipient: Recipient) {
    this.#members.push({ user, recipient });
  }

  /** Adds a session. */
  add(user: OnlineUser, recipient: Recipient): void {
    this.#members.push({ user, recipient });
    this.#single = undefined;
  }

  /** Removes a session; whether it was there. */
  remove(recipient: Recipient): boolean {
    const index = this.#members.findIndex((m) => m.recipient === recipient);
    if (index < 0) return false;
    this.#members.splice(index, 1);
    this.#single = undefined;
    return true;
  }

  get size(): number {
    return this.#members.length;
  }

  /** Each session with what it showed at login (and its UDP port since). */
  get sessions(): HubSession[] {
    return this.#members.map((m) => ({
      user: { ...m.user, ...this.#shared },
      recipient: m.recipient,
    }));
  }

  /**
   * The person as WHO shows them: the first session's login, the person's away and roles, and
   * the address and UDP port of the session peers should reach (see {@linkcode peerSession}).
   */
  get user(): OnlineUser {
    if (this.#members.length === 1) {
      return this.#single ??= { ...this.#members[0].user, ...this.#shared, sessions: 1 };
    }
    const first = this.#members[0].user;
    const peer = this.peerSession()?.user;
    const reach = peer ? { ip: peer.ip, udpPort: peer.udpPort } : {};
    return { ...first, ...reach, ...this.#shared, sessions: this.#members.length };
  }

  /**
   * The session a peer transfer or a private chat goes to: of those that reported a UDP port,
   * the most recently active; `undefined` when none did.
   */
  peerSession(): HubSession | undefined {
    let best: Member | undefined;
    for (const member of this.#members) {
      if (member.user.udpPort === undefined) continue;
      if (!best || activity(member) > activity(best)) best = member;
    }
    return best && { user: best.user, recipient: best.recipient };
  }

  /** Records the UDP port a session reported. */
  setUdpPort(recipient: Recipient, udpPort: number): void {
    const member = this.#members.find((m) => m.recipient === recipient);
    if (member) member.user = { ...member.user, udpPort };
    this.#single = undefined;
  }

  /** Records what the person says of itself (away, an account now, roles). */
  update(change: Partial<OnlineUser>): void {
    this.#shared = { ...this.#shared, ...change };
    this.#single = undefined;
  }

  /** When any session last sent a request. */
  get lastActivity(): number | undefined {
    let last: number | undefined;
    for (const member of this.#members) {
      const at = member.recipient.lastActivity;
      if (at !== undefined && (last === undefined || at > last)) last = at;
    }
    return last;
  }

  /** Delivers to every session (but the one numbered `exceptId`, the sender's own). */
  deliver(event: OutboundEvent, exceptId?: number): boolean {
    // An introduction for a peer transfer or private chat is for the session that can take it.
    if (event.event.type === "peer" && this.#members.length > 1) {
      const peer = this.peerSession();
      return peer ? peer.recipient.deliver(event) : false;
    }
    let taken = false;
    for (const member of this.#members) {
      if (exceptId !== undefined && member.recipient.id === exceptId) continue;
      if (member.recipient.deliver(event)) taken = true;
    }
    return taken;
  }

  /**
   * Delivers to the sessions that were logged in at `at` (epoch ms): a message read back late
   * goes to those that would have had it then, not to one that came later.
   */
  deliverAsOf(event: OutboundEvent, at: number): number {
    let taken = 0;
    for (const member of this.#members) {
      if (member.user.loginAt <= at && member.recipient.deliver(event)) taken++;
    }
    return taken;
  }

  /**
   * Delivers private message `number` of the person's mailbox to each session that was not
   * handed it already with the offline queue: "seen" when every one was.
   */
  deliverKept(event: OutboundEvent, number: number): boolean | "seen" {
    let taken = false;
    let seen = true;
    for (const member of this.#members) {
      if (member.recipient.privateOnce?.(number) === false) continue;
      seen = false;
      if (member.recipient.deliver(event)) taken = true;
    }
    return seen ? "seen" : taken;
  }

  /** What SESSIONS shows of each session here. */
  describe(node?: string): SessionInfo[] {
    return this.#members.map((m) => describeSession(m.user, m.recipient, node));
  }
}

function activity(member: Member): number {
  return member.recipient.lastActivity ?? member.user.loginAt;
}

/** A session's id: its client's number, with the node's name in a cluster. */
export function sessionId(recipient: Pick<Recipient, "id">, node?: string): string {
  const id = recipient.id ?? "?";
  return node === undefined ? String(id) : `${node}.${id}`;
}

/** What SESSIONS shows of one session. */
export function describeSession(
  user: OnlineUser,
  recipient: Pick<Recipient, "id" | "transport" | "lastActivity">,
  node?: string,
): SessionInfo {
  const info: SessionInfo = {
    id: sessionId(recipient, node),
    client: recipient.transport ?? "tcp",
    ip: user.ip,
    since: user.loginAt,
    ...(user.udpPort === undefined ? {} : { udpPort: user.udpPort }),
    ...(recipient.lastActivity === undefined ? {} : { activeAt: recipient.lastActivity }),
    ...(node === undefined ? {} : { node }),
  };
  return info;
}
