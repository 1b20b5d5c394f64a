/**
 * Messages between users: MSG, BROADCAST, HISTORY, BLOCK, UNBLOCK.
 * @module
 */

import { HISTORY_LIMIT } from "../../config.ts";
import { Reply, Text } from "../../protocol/codes.ts";
import { PAGE_SIZE } from "../../protocol/commands.ts";
import { OutboundEvent, withTags } from "../../protocol/events.ts";
import { foldName } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatTimestamp, parseTimestamp } from "../../protocol/timestamp.ts";
import type { HistoryQuery, PrivateMessage, StoredMessage } from "../../store/store.ts";
import { redeliver, repeatedReply, requestKey } from "./request_ids.ts";
import { everyoneHearing, hears } from "../audience.ts";
import { ok, okWith, type Outcome, type PartialHandlers, type ServerContext } from "../context.ts";

/** The canonical name of an existing account; throws `text` with 420 otherwise. */
async function requireUser(ctx: ServerContext, name: string, text: string): Promise<string> {
  const canonical = await ctx.accounts.canonical(name);
  if (canonical === undefined) {
    throw new ProtocolError(Reply.UNKNOWN_USER, text, { reason: "no_such_user" });
  }
  return canonical;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** What HISTORY was asked for. */
interface HistoryRequest {
  readonly target: string;
  readonly query: HistoryQuery;
}

/**
 * Reads HISTORY's arguments: a target, then `before N`, `after N`, `limit N`, `until TIME` and
 * a time in any order. A time means strictly after it, at the second the user sees (or to the
 * millisecond for an ISO time with a fraction); `until` means strictly before it.
 */
function historyRequest(args: readonly string[]): HistoryRequest {
  const whole = args.join(" ").trim();
  const asTime = parseTimestamp(whole);
  if (whole !== "" && asTime !== undefined) {
    return { target: "b", query: { since: strictlyAfter(whole, asTime), limit: PAGE_SIZE } };
  }
  const target = args[0] ?? "b";
  const words = (args[1] ?? "").split(/\s+/).filter((w) => w !== "");
  let before: number | undefined;
  let after: number | undefined;
  let until: number | undefined;
  let limit = PAGE_SIZE;
  let i = 0;
  for (; i + 1 < words.length; i += 2) {
    const [word, value] = [words[i].toLowerCase(), words[i + 1]];
    if (word === "until") {
      until = readTime(value);
      continue;
    }
    if (!["before", "after", "limit"].includes(word) || !/^\d{1,9}$/.test(value)) break;
    if (word === "before") before = Number(value);
    else if (word === "after") after = Number(value);
    else limit = Math.min(HISTORY_LIMIT, Math.max(1, Number(value)));
  }
  const timeText = words.slice(i).join(" ");
  const since = timeText === "" ? undefined : strictlyAfter(timeText, readTime(timeText));
  return { target, query: { since, until, before, after, limit } };
}

function readTime(text: string): number {
  const time = parseTimestamp(text);
  if (time === undefined) {
    throw new ProtocolError(
      Reply.INVALID_VALUE,
      `Cannot read time "${text.slice(0, 40)}": use "03 Aug 2022 23:25:03" or ISO 8601`,
    );
  }
  return time;
}

/** The first millisecond after `time` as written: the next second, or the next millisecond. */
function strictlyAfter(text: string, time: number): number {
  return /\.\d/.test(text) ? time + 1 : afterSecond(time);
}

/** The first millisecond of the second after `time`: "since T" means later than T as shown. */
function afterSecond(time: number): number {
  return (Math.floor(time / 1000) + 1) * 1000;
}

/**
 * A history reply: a line per message and a summary that says how to read the page before when
 * there is one (`more` is true when the log holds older matching messages); its data for front
 * ends that show history their own way.
 */
function historyReply(
  messages: readonly StoredMessage[],
  what: string,
  more: boolean,
  target: string,
) {
  const entries = messages.map(({ number, at, from, text, ...m }) => ({
    number,
    at,
    from,
    to: "to" in m ? (m as PrivateMessage).to : undefined,
    text,
  }));
  const lines = entries.map((m) =>
    `${m.number}; ${formatTimestamp(m.at)}; ${m.from}${m.to ? ` -> ${m.to}` : ""}; ${m.text}`
  );
  const summary = plural(messages.length, what);
  lines.push(
    more && messages.length > 0
      ? `${summary}; older ones: HISTORY ${target} before ${messages[0].number}`
      : summary,
  );
  return okWith(lines, { kind: "history", target, messages: entries });
}

/** Reads one page: one more than asked for tells whether older ones exist. */
async function page<T extends StoredMessage>(
  query: HistoryQuery,
  read: (query: HistoryQuery) => Promise<T[]>,
): Promise<{ messages: T[]; more: boolean }> {
  const messages = await read({ ...query, limit: query.limit + 1 });
  const more = messages.length > query.limit;
  // Read from the newest, the extra one is the oldest; read forward (after N), the newest.
  const page = !more
    ? messages
    : query.after === undefined
    ? messages.slice(1)
    : messages.slice(0, -1);
  return { messages: page, more };
}

/**
 * A private message's delivery id (IRC's msgid): it is delivered before the store numbers it, so
 * it gets a random one, `p` and 16 hex digits, which the sender's reply carries too.
 */
function privateMessageId(): string {
  return `p${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/** The reply to a message delivered at once; a sender is told the recipient is away. */
function sentText(to: string, away: string | undefined, offline = false): string {
  if (offline) return `${to} is offline; the message will be delivered at next login`;
  return away ? `Message sent to ${to}; ${to} is away: ${away}` : `Message sent to ${to}`;
}

/** Handlers of the messaging commands. */
export const messagingHandlers: PartialHandlers<
  "MSG" | "BROADCAST" | "HISTORY" | "BLOCK" | "BLOCKED" | "UNBLOCK"
> = {
  BLOCKED(ctx, { identity }) {
    const blocked = ctx.blocks.blockedBy(identity.name);
    const names = [...blocked].sort();
    const summary = names.length === 0
      ? "You have blocked nobody"
      : plural(names.length, "user") + " blocked";
    return Promise.resolve(okWith([...names, summary], { kind: "names", names }));
  },

  async MSG(ctx, { identity, client, tags, requestId }, [toName, text]) {
    const from = identity.name;
    const request = requestKey(from, requestId);
    if (foldName(toName) === foldName(from)) {
      throw new ProtocolError(Reply.INVALID_VALUE, "The receiver can not be yourself.");
    }
    const guest = ctx.hub.find(toName);
    const to = guest?.guest ? guest.name : await requireUser(ctx, toName, Text.UNKNOWN_RECIPIENT);
    if (!hears(ctx, to, from)) {
      throw new ProtocolError(Reply.BLOCKED_BY_RECIPIENT, Text.BLOCKED_BY_RECIPIENT, {
        reason: "blocked",
      });
    }
    const at = ctx.clock.now();
    const recipient = ctx.hub.online(to);
    const away = recipient?.away || undefined;
    const msgid = privateMessageId();
    const event = new OutboundEvent(
      { type: "private", from, text, msgid, ...withTags(tags) },
      at,
    );
    // What the sender's other sessions show of it.
    const echo = new OutboundEvent({ type: "private_sent", to, text, msgid }, at);
    if (identity.guest || recipient?.guest) {
      // A guest's messages are not kept: a later account of that name must not read them.
      if (!recipient || !ctx.hub.deliver(to, event)) {
        throw new ProtocolError(
          Reply.UNKNOWN_USER,
          `${to} is not online, and messages from or to guests are not kept`,
          { reason: "no_such_user" },
        );
      }
      return okWith(sentText(to, away), { kind: "sent", at, away, msgid });
    }
    if (recipient !== undefined && (ctx.hub.remote !== undefined || request !== undefined)) {
      // In a cluster, or for a request with an id: stored first, in the offline queue too, then
      // delivered with that copy's number, which the recipient's node drops once it has handed
      // the message over. If that node dies first, the message waits for the next login: never
      // acknowledged, then lost; a message the store refused ("not carried out") was never
      // delivered either; and a repeated request's message reaches a session once at most.
      // Held in its place, so what the sender sends next does not overtake it.
      const place = ctx.hub.hold();
      const deferred = ctx.messages.private(from, to, text, at, true, request).then((stored) => {
        if (!redeliver(ctx, stored)) {
          return repeatedReply(ctx, `Message sent to ${to}`, stored, requestId);
        }
        const sent = place.deliver(to, event, stored.receivedNumber);
        if (!stored.repeated) place.echo(from, echo, client);
        if (stored.repeated) return repeatedReply(ctx, `Message sent to ${to}`, stored, requestId);
        const number = stored.value.number;
        return {
          ...okWith(sentText(to, away, !sent), {
            kind: "sent",
            number,
            at,
            away,
            msgid,
            offline: !sent,
          }),
          durable: stored.committed,
        };
      }).finally(() => place.release());
      return { deferred };
    }
    // Delivered at once when the recipient is online; kept for the next login otherwise. The
    // reply waits for the store; the connection's next request does not.
    const delivered = recipient !== undefined && ctx.hub.deliver(to, event);
    ctx.hub.echo(from, echo, client);
    const reply = sentText(to, away, !delivered);
    const deferred = ctx.messages.private(from, to, text, at, !delivered, request).then((
      stored,
    ) =>
      stored.repeated ? repeatedReply(ctx, `Message sent to ${to}`, stored, requestId) : {
        ...okWith(reply, {
          kind: "sent",
          number: stored.value.number,
          at,
          away,
          msgid,
          offline: !delivered,
        }),
        durable: stored.committed,
      }
    );
    return { deferred };
  },

  BROADCAST(ctx, { identity, client, tags, requestId }, [text]) {
    const from = identity.name;
    const request = requestKey(from, requestId);
    const at = ctx.clock.now();
    // The number comes from the store (a round trip in a cluster): the connection goes on with
    // its next request meanwhile, and the broadcast keeps its place among the deliveries.
    const place = ctx.hub.hold();
    const deferred = (async (): Promise<Outcome> => {
      try {
        const stored = await ctx.messages.broadcast(from, text, at, request);
        const { value: message, committed } = stored;
        const when = formatTimestamp(message.at);
        const summary = `Broadcast message, #${message.number} broadcast at ${when}.`;
        if (!redeliver(ctx, stored)) return repeatedReply(ctx, summary, stored, requestId);
        if (!stored.repeated) {
          ctx.log.info(`${from} broadcasted BCM #${message.number} "${text}" at ${when}.`);
        }
        const event = new OutboundEvent(
          { type: "broadcast", from, number: message.number, text, ...withTags(tags) },
          message.at,
        );
        // Delivered at once; acknowledged to the sender only once stored (the reply waits).
        place.fanout(event, everyoneHearing(ctx, from));
        if (!stored.repeated) place.echo(from, event, client);
        if (stored.repeated) return repeatedReply(ctx, summary, stored, requestId);
        const refused = [...ctx.blocks.blockersOf(from)].some((u) => ctx.hub.online(u));
        const detail = { data: { kind: "sent", number: message.number, at } } as const;
        if (refused) {
          const partial = `${summary} ${Text.PARTIAL_BROADCAST}`;
          return { code: Reply.PARTIAL, text: partial, durable: committed, detail };
        }
        return { ...ok(summary), durable: committed, detail };
      } finally {
        place.release();
      }
    })();
    return Promise.resolve({ deferred });
  },

  async HISTORY(ctx, { identity }, args) {
    const me = identity.name;
    const { target, query } = historyRequest(args);
    const kind = target.toLowerCase();
    if (kind === "b") {
      const { messages, more } = await page(query, (q) => ctx.messages.broadcasts(q));
      return historyReply(messages, "broadcast", more, "b");
    }
    if (kind === "p") {
      const { messages, more } = await page(query, (q) => ctx.messages.privateOf(me, q));
      return historyReply(messages, "private message", more, "p");
    }
    if (kind === "s") {
      // Every room of mine, merged by time: toom's `RDM s <time>`.
      const perRoom = await Promise.all(
        ctx.rooms.forMember(me).map(async (room) => {
          const messages = await ctx.rooms.history(room.id, { ...query, limit: query.limit + 1 });
          return messages.map((m) => ({ room: room.id, m }));
        }),
      );
      const all = perRoom.flat().sort((a, b) => a.m.at - b.m.at);
      const merged = all.slice(-query.limit);
      const lines = merged.map(({ room, m }) =>
        `room ${room}: ${m.number}; ${formatTimestamp(m.at)}; ${m.from}; ${m.text}`
      );
      const summary = plural(merged.length, "room message");
      lines.push(
        all.length > merged.length
          ? `${summary}; older ones: HISTORY <room-id> before N, one room at a time`
          : summary,
      );
      return ok(lines);
    }
    if (target.startsWith("#")) {
      const view = ctx.channels.view(target);
      if (!view || !ctx.channels.isMember(view.name, me)) {
        throw new ProtocolError(
          Reply.NOT_ALLOWED,
          `Join ${target.slice(0, 50)} to read what is said in it`,
          { reason: "not_on_channel" },
        );
      }
      const { messages, more } = await page(query, (q) => ctx.channels.history(view.name, q));
      return historyReply(messages, "message", more, view.name);
    }
    if (/^\d+$/.test(target)) {
      const room = ctx.rooms.get(Number(target));
      if (!room) throw new ProtocolError(Reply.NOT_FOUND, `Cannot find room ${target}`);
      if (!room.members.includes(me)) {
        throw new ProtocolError(Reply.NOT_ALLOWED, `You are not a member of room ${target}`);
      }
      const { messages, more } = await page(query, (q) => ctx.rooms.history(room.id, q));
      return historyReply(messages, "message", more, target);
    }
    const other = await requireUser(ctx, target, `Cannot find user "${target.slice(0, 32)}"`);
    const { messages, more } = await page(query, (q) => ctx.messages.privateOf(me, q, other));
    return historyReply(messages, "private message", more, other);
  },

  async BLOCK(ctx, { identity }, [name]) {
    const me = identity.name;
    if (foldName(name) === foldName(me)) {
      throw new ProtocolError(Reply.INVALID_VALUE, "Error. Cannot block self");
    }
    const user = await requireUser(ctx, name, "Error. Cannot find the person");
    if (ctx.blocks.has(me, user)) {
      throw new ProtocolError(Reply.ALREADY_EXISTS, `${user} is already blocked`);
    }
    await ctx.blocks.block(me, user);
    return ok(`${user} has been blocked`);
  },

  async UNBLOCK(ctx, { identity }, [name]) {
    const me = identity.name;
    if (foldName(name) === foldName(me)) {
      throw new ProtocolError(Reply.INVALID_VALUE, "Error. Cannot unblock self");
    }
    const user = await requireUser(ctx, name, "Error. Cannot find this user");
    if (!ctx.blocks.has(me, user)) {
      throw new ProtocolError(Reply.NOT_FOUND, "Error. This user was not already blocked");
    }
    await ctx.blocks.unblock(me, user);
    return ok(`You unblocked ${user}`);
  },
};
