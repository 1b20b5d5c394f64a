/**
 * Separate rooms with a fixed member set: ROOM CREATE, ROOM SAY, ROOM LIST.
 * @module
 */

import { MAX_ROOM_MEMBERS } from "../../config.ts";
import { Reply } from "../../protocol/codes.ts";
import { OutboundEvent, withTags } from "../../protocol/events.ts";
import { foldName, usernameProblem } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import type { RoomView } from "../../protocol/reply_data.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import type { RoomRecord } from "../../store/store.ts";
import { intArg, okWith, type PartialHandlers, type ServerContext } from "../context.ts";
import { redeliver, repeatedReply, requestKey } from "./request_ids.ts";
import { hears, membersHearing, tell } from "../audience.ts";

function roomFor(ctx: ServerContext, idText: string, me: string): RoomRecord {
  const room = ctx.rooms.get(intArg(idText));
  if (!room) throw new ProtocolError(Reply.NOT_FOUND, `Cannot find room ${idText}`);
  if (!room.members.includes(me)) {
    throw new ProtocolError(Reply.NOT_ALLOWED, `You are not a member of room ${idText}`);
  }
  return room;
}

/**
 * The other members of a new room, by their canonical names. As in toom, every one must exist and
 * be online; and nobody who has blocked the creator can be put in a room with them.
 */
async function otherMembers(ctx: ServerContext, me: string, usersText: string): Promise<string[]> {
  const named = [...new Set(usersText.split(/[\s,]+/).filter((u) => u !== ""))];
  const others = named.filter((u) => foldName(u) !== foldName(me));
  if (others.length === 0) {
    throw new ProtocolError(Reply.USAGE, "Name at least one other user: ROOM CREATE <users...>");
  }
  if (others.length + 1 > MAX_ROOM_MEMBERS) {
    throw new ProtocolError(Reply.INVALID_VALUE, `A room has at most ${MAX_ROOM_MEMBERS} members`);
  }
  const members: string[] = [];
  for (const name of others) {
    const problem = usernameProblem(name);
    if (problem) throw new ProtocolError(Reply.INVALID_VALUE, problem);
    const user = await ctx.accounts.canonical(name);
    if (user === undefined) {
      throw new ProtocolError(
        Reply.UNKNOWN_USER,
        `Cannot create room: user "${name}" does not exist`,
      );
    }
    if (!hears(ctx, user, me)) {
      throw new ProtocolError(
        Reply.BLOCKED_BY_RECIPIENT,
        `Cannot create room: ${user} has blocked you`,
      );
    }
    if (!ctx.hub.online(user)) {
      throw new ProtocolError(Reply.UNKNOWN_USER, `Cannot create room: ${user} is not logged in`);
    }
    members.push(user);
  }
  return [...new Set(members)];
}

/** Handlers of the room commands. */
export const roomHandlers: PartialHandlers<"ROOM CREATE" | "ROOM SAY" | "ROOM LIST"> = {
  async "ROOM CREATE"(ctx, { identity }, [usersText]) {
    const me = identity.name;
    const others = await otherMembers(ctx, me, usersText);
    const now = ctx.clock.now();
    const { room, created } = await ctx.rooms.create([me, ...others], me, now);
    if (!created) {
      throw new ProtocolError(
        Reply.ALREADY_EXISTS,
        `a separate room (ID: ${room.id}) already created for these users`,
      );
    }
    const members = room.members.join(",");
    ctx.log.info(`${me} created room ${room.id} with ${members}`);
    return okWith(
      `Separate chat room has been created, room ID: ${room.id}, users in this room: ${members}`,
      { kind: "room", room: roomView(room) },
      () => {
        const event = new OutboundEvent(
          { type: "room_created", room: room.id, by: me, members: room.members },
          now,
        );
        tell(ctx.hub, room.members.filter((user) => user !== me), event);
      },
    );
  },

  "ROOM SAY"(ctx, { identity, client, tags, requestId }, [idText, text]) {
    const me = identity.name;
    const room = roomFor(ctx, idText, me);
    const at = ctx.clock.now();
    // As BROADCAST: numbered by the store without holding up the connection, in its place.
    const place = ctx.hub.hold();
    const request = requestKey(me, requestId);
    const deferred = ctx.rooms.say(room.id, me, text, at, request).then((stored) => {
      const { value: message, committed } = stored;
      const summary = `Message #${message.number} sent to room ${room.id}`;
      if (!redeliver(ctx, stored)) return repeatedReply(ctx, summary, stored, requestId);
      if (!stored.repeated) {
        ctx.log.info(
          `${me} issued a message in separate room ${room.id}: ${message.number}; ${
            formatTimestamp(message.at)
          }; ${me}; ${text}`,
        );
      }
      const event = new OutboundEvent(
        {
          type: "room",
          room: room.id,
          from: me,
          number: message.number,
          text,
          ...withTags(tags),
        },
        message.at,
      );
      tell(place, membersHearing(ctx, room.members, me), event);
      if (!stored.repeated) place.echo(me, event, client);
      if (stored.repeated) return repeatedReply(ctx, summary, stored, requestId);
      const sent = okWith(`Message #${message.number} sent to room ${room.id}`, {
        kind: "sent",
        number: message.number,
        at,
      });
      return { ...sent, durable: committed };
    }).finally(() => place.release());
    return Promise.resolve({ deferred });
  },

  "ROOM LIST"(ctx, { identity }) {
    const mine = ctx.rooms.forMember(identity.name);
    const lines = mine.map((r) =>
      `${r.id}: ${r.members.join(",")} (created by ${r.creator} at ${formatTimestamp(r.createdAt)})`
    );
    lines.push(
      mine.length === 0
        ? "You are not in any room"
        : `${mine.length} room${mine.length === 1 ? "" : "s"}`,
    );
    return Promise.resolve(okWith(lines, { kind: "rooms", rooms: mine.map(roomView) }));
  },
};

/** A room as reply data (a copy: the record is the service's). */
function roomView(room: RoomRecord): RoomView {
  const { id, members, creator, createdAt } = room;
  return { id, members: [...members], creator, createdAt };
}
