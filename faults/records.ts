/**
 * What a fault run records: every message a user tried to send (broadcasts, private messages,
 * and messages to the channel every user joins) and what each try was told, every login session
 * and what it received, samples of who was online, and the history read back at the end. The
 * checker (checks.ts) reads only these.
 * @module
 */

/** What a try of a request was told. */
export type Outcome =
  /** 200/202: done. */
  | "ok"
  /** 500 "not carried out", or a 4xx: nothing was stored. */
  | "not_done"
  /** 500 "may or may not have been done", or the connection ended before the reply. */
  | "unknown"
  /** 500 "Stored, but not yet on the Redis replicas". */
  | "unreplicated";

/** One try of a request. */
export interface Attempt {
  readonly outcome: Outcome;
  readonly at: number;
  readonly reply: string;
}

/** A message a user tried to send (each try with the same request id and text). */
export interface SentMessage {
  /** The request id, which is also the message's text: unique in the run. */
  readonly id: string;
  readonly kind: "broadcast" | "private" | "channel";
  readonly from: string;
  readonly to?: string;
  readonly attempts: Attempt[];
}

/** A broadcast (or channel message: numbered per channel) as a session received it. */
export interface ReceivedBroadcast {
  readonly number: number;
  readonly text: string;
  readonly from: string;
}

/** A private message as a session received it (live, or from the offline queue). */
export interface ReceivedPrivate {
  readonly text: string;
  readonly from: string;
  readonly offline: boolean;
}

/** One login of a user, from its LOGIN reply until its connection ended. */
export interface Session {
  readonly user: string;
  readonly node: string;
  readonly start: number;
  end?: number;
  readonly broadcasts: ReceivedBroadcast[];
  readonly privates: ReceivedPrivate[];
  /** Messages to the run's channel, which the session joins after its login. */
  readonly channel: ReceivedBroadcast[];
}

/** A look at WHO on one node. */
export interface WhoSample {
  readonly node: string;
  readonly at: number;
  readonly users: readonly string[];
}

/** What the stores hold at the end. */
export interface HistorySnapshot {
  readonly broadcasts: readonly ReceivedBroadcast[];
  /** What was said in the run's channel. */
  readonly channel: readonly ReceivedBroadcast[];
  /** Each user's mailbox: what they sent and received. */
  readonly mailboxes: ReadonlyMap<string, readonly { from: string; to: string; text: string }[]>;
}

/** A whole run. */
export interface RunRecord {
  readonly scenario: string;
  readonly messages: readonly SentMessage[];
  readonly sessions: readonly Session[];
  readonly whoSamples: readonly WhoSample[];
  /** When the fault began. */
  readonly faultStart: number;
  /** When the fault ended (the node back, Redis back, the partition healed). */
  readonly faultEnd: number;
  /**
   * A node the cluster took for gone while its users stayed connected to it (frozen, or cut off
   * from Redis): they miss what was said meanwhile, live (HISTORY has it).
   */
  readonly cutOff?: string;
  /** How long after `faultEnd` every node's WHO matched who was logged in (undefined: never). */
  readonly convergedMs?: number;
  /** How long writes were refused, from the fault's start to the first success after it. */
  readonly unavailableMs?: number;
}
