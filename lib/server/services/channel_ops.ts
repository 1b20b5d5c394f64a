/**
 * Changes to the channels as data. A server applies each as it is made; the nodes of a cluster
 * put each in one Redis stream and every node applies every one in the stream's order, its own
 * included, so all of them hold the same channels (see `ChannelService`). An operation carries
 * everything its outcome depends on (the joining user's mask, the time, the canonical names a
 * MODE's arguments stood for when it was given), so it comes out the same on every node.
 * @module
 */

/** A member's place in a channel, to put back (see the `rejoin` operation). */
export interface Place {
  readonly channel: string;
  readonly op: boolean;
  readonly voice: boolean;
}

/** One change to the channels; `user` is who made it. */
export type ChannelOp =
  | {
    readonly op: "join";
    readonly user: string;
    readonly channel: string;
    readonly key?: string;
    /** `nick!ident@host`, matched against bans. */
    readonly mask: string;
    readonly at: number;
  }
  | { readonly op: "part"; readonly user: string; readonly channel: string }
  /** Logged out: out of every channel. */
  | { readonly op: "leave_all"; readonly user: string }
  /** A guest's new name. */
  | { readonly op: "rename"; readonly user: string; readonly to: string }
  | {
    readonly op: "topic";
    readonly user: string;
    readonly channel: string;
    readonly topic: string;
    readonly at: number;
  }
  | {
    readonly op: "kick";
    readonly user: string;
    readonly channel: string;
    readonly target: string;
  }
  | {
    readonly op: "invite";
    readonly user: string;
    readonly channel: string;
    readonly target: string;
  }
  | {
    readonly op: "modes";
    readonly user: string;
    readonly channel: string;
    readonly modes: string;
    readonly args: readonly string[];
    /** For each argument: the online user it named when the mode was given, if any. */
    readonly members: readonly (string | null)[];
    readonly at: number;
  }
  /**
   * Puts a user back where the cluster took them out of while their node was cut off (their
   * sessions lived on): no key, limit, invitation or ban is asked again, as IRC servers do
   * when a split network joins up.
   */
  | {
    readonly op: "rejoin";
    readonly user: string;
    readonly places: readonly Place[];
    readonly at: number;
  };

/** An operation as it travels: the id its maker knows it by, and what it does. */
export interface LoggedOp {
  readonly id: string;
  readonly op: ChannelOp;
}

type FieldKind = "string" | "string?" | "number" | "strings" | "names" | "places";

/** The fields of each operation and what each holds. */
const FIELDS: { readonly [K in ChannelOp["op"]]: Readonly<Record<string, FieldKind>> } = {
  join: { user: "string", channel: "string", key: "string?", mask: "string", at: "number" },
  part: { user: "string", channel: "string" },
  leave_all: { user: "string" },
  rename: { user: "string", to: "string" },
  topic: { user: "string", channel: "string", topic: "string", at: "number" },
  kick: { user: "string", channel: "string", target: "string" },
  invite: { user: "string", channel: "string", target: "string" },
  modes: {
    user: "string",
    channel: "string",
    modes: "string",
    args: "strings",
    members: "names",
    at: "number",
  },
  rejoin: { user: "string", places: "places", at: "number" },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function holds(kind: FieldKind, value: unknown): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "string?":
      return value === undefined || typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "strings":
      return Array.isArray(value) && value.every((v) => typeof v === "string");
    case "names":
      return Array.isArray(value) && value.every((v) => v === null || typeof v === "string");
    case "places":
      return Array.isArray(value) &&
        value.every((p) =>
          isRecord(p) && typeof p.channel === "string" && typeof p.op === "boolean" &&
          typeof p.voice === "boolean"
        );
  }
}

/**
 * The operation in a value read from the cluster's stream, or `undefined` when it is not one
 * this version knows (checked field by field: the stream is outside this process).
 */
export function parseLoggedOp(value: unknown): LoggedOp | undefined {
  if (!isRecord(value) || typeof value.id !== "string" || !isRecord(value.op)) return undefined;
  const op = value.op;
  const kind = op.op;
  if (typeof kind !== "string" || !Object.hasOwn(FIELDS, kind)) return undefined;
  const fields = FIELDS[kind as ChannelOp["op"]];
  for (const [field, fieldKind] of Object.entries(fields)) {
    if (!holds(fieldKind, op[field])) return undefined;
  }
  return { id: value.id, op: op as unknown as ChannelOp };
}
