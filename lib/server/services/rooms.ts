/**
 * Separate rooms with a fixed member set: kept in memory by id and in the store, with what is
 * said in them.
 * @module
 */

import { type StoredEntry, whenStored } from "./messages.ts";
import type {
  HistoryQuery,
  Pending,
  RequestKey,
  RoomRecord,
  RoomStore,
  StoredMessage,
} from "../../store/store.ts";
import type { ShareChange } from "../shared_changes.ts";

/** Rooms of one server. */
export class RoomService {
  readonly #store: RoomStore;
  readonly #rooms: Map<number, RoomRecord>;
  /** Tells the other nodes of a cluster what changed. */
  share: ShareChange = () => {};

  private constructor(store: RoomStore, rooms: Map<number, RoomRecord>) {
    this.#store = store;
    this.#rooms = rooms;
  }

  /** Loads every room. */
  static async open(store: RoomStore): Promise<RoomService> {
    return new RoomService(store, new Map((await store.listRooms()).map((r) => [r.id, r])));
  }

  get(id: number): RoomRecord | undefined {
    return this.#rooms.get(id);
  }

  /** The rooms `user` is a member of, oldest first. */
  forMember(user: string): RoomRecord[] {
    return [...this.#rooms.values()].filter((r) => r.members.includes(user));
  }

  /** Creates a room unless one with the same members exists. */
  async create(
    members: readonly string[],
    creator: string,
    at: number,
  ): Promise<{ room: RoomRecord; created: boolean }> {
    const result = await this.#store.createRoom(members, creator, at);
    this.applied(result.room);
    if (result.created) this.share({ kind: "room", room: result.room });
    return result;
  }

  /** Learns of a room created elsewhere (another node). */
  applied(room: RoomRecord): void {
    this.#rooms.set(room.id, room);
  }

  /** Reads every room again (after an outage, when rooms made elsewhere may have gone untold). */
  async reload(): Promise<void> {
    for (const room of await this.#store.listRooms()) this.#rooms.set(room.id, room);
  }

  /** Stores a room message (once per request id, when there is one). */
  say(
    room: number,
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return whenStored(
      this.#store.appendRoomMessage(room, from, text, at, request),
      ({ value }) => this.stored({ kind: "room", room, message: value }),
    );
  }

  /** Told of every room message once stored (the search index listens). */
  stored: (entry: StoredEntry) => void = () => {};

  history(room: number, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#store.listRoomMessages(room, query);
  }
}
