/**
 * Separate rooms with a fixed member set: ROOM CREATE, ROOM SAY, ROOM LIST.
 * @module
 */

import { MAX_ROOM_MEMBERS } from "../../config.ts";
import { Reply } from "../../protocol/codes.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import type { RoomRecord } from "../../store/store.ts";
import { type HandlerTable, ok, type ServerContext } from "../context.ts";
import { encodeEvent } from "../session.ts";

function roomFor(ctx: ServerContext, idText: string, me: string): RoomRecord {
  if (!/^\d{1,9}$/.test(idText)) {
    throw new ProtocolError(
      Reply.INVALID_VALUE,
      `Cannot use "${idText}" as a room ID: use a number`,
    );
  }
  const room = ctx.rooms.get(Number(idText));
  if (!room) throw new ProtocolError(Reply.NOT_FOUND, `Cannot find room ${idText}`);
  if (!room.members.includes(me)) {
    throw new ProtocolError(Reply.NOT_ALLOWED, `You are not a member of room ${idText}`);
  }
  return room;
}

/** Handlers of the room commands. */
export const roomHandlers: HandlerTable = {
  async "ROOM CREATE"(ctx, session, [usersText]) {
    const me = session.user as string;
    const others = [...new Set(usersText.split(/[\s,]+/).filter((u) => u && u !== me))];
    if (others.length === 0) {
      throw new ProtocolError(Reply.USAGE, "Name at least one other user: ROOM CREATE <users...>");
    }
    if (others.length + 1 > MAX_ROOM_MEMBERS) {
      throw new ProtocolError(
        Reply.INVALID_VALUE,
        `A room has at most ${MAX_ROOM_MEMBERS} members`,
      );
    }
    for (const user of others) {
      if (!(await ctx.store.getUser(user))) {
        throw new ProtocolError(
          Reply.UNKNOWN_USER,
          `Cannot create room: user "${user}" does not exist`,
        );
      }
    }
    const { room, created } = await ctx.store.createRoom([me, ...others], me, Date.now());
    if (!created) {
      throw new ProtocolError(
        Reply.ALREADY_EXISTS,
        `a separate room (ID: ${room.id}) already created for these users`,
      );
    }
    ctx.rooms.set(room.id, room);
    const members = room.members.join(",");
    ctx.log.info(`${me} created room ${room.id} with ${members}`);
    return ok(
      `Separate chat room has been created, room ID: ${room.id}, users in this room: ${members}`,
      () => {
        const bytes = encodeEvent({
          type: "room_created",
          room: room.id,
          by: me,
          members: room.members,
        });
        for (const user of room.members) if (user !== me) ctx.hub.sendTo(user, bytes);
      },
    );
  },

  "ROOM SAY"(ctx, session, [idText, text]) {
    const me = session.user as string;
    const room = roomFor(ctx, idText, me);
    const { value: message, committed } = ctx.store.appendRoomMessage(
      room.id,
      me,
      text,
      Date.now(),
    );
    ctx.log.info(
      `${me} issued a message in separate room ${room.id}: ${message.number}; ${
        formatTimestamp(message.at)
      }; ${me}; ${text}`,
    );
    const bytes = encodeEvent({ type: "room", room: room.id, from: me, text });
    for (const user of room.members) {
      if (user !== me && !ctx.blocks.has(user, me)) ctx.hub.sendTo(user, bytes);
    }
    const reply = ok(`Message #${message.number} sent to room ${room.id}`);
    return Promise.resolve({ ...reply, durable: committed });
  },

  "ROOM LIST"(ctx, session) {
    const me = session.user as string;
    const mine = [...ctx.rooms.values()].filter((r) => r.members.includes(me));
    const lines = mine.map((r) =>
      `${r.id}: ${r.members.join(",")} (created by ${r.creator} at ${formatTimestamp(r.createdAt)})`
    );
    lines.push(
      mine.length === 0
        ? "You are not in any room"
        : `${mine.length} room${mine.length === 1 ? "" : "s"}`,
    );
    return Promise.resolve(ok(lines));
  },
};
