/**
 * Broadcasts, private messages, history and offline queues, over the message store.
 * @module
 */

import type {
  HistoryQuery,
  MessageStore,
  Pending,
  PendingPrivate,
  PrivateMessage,
  StoredMessage,
} from "../../store/store.ts";

/** The message logs of one server. */
export class MessageService {
  readonly #store: MessageStore;

  constructor(store: MessageStore) {
    this.#store = store;
  }

  broadcast(from: string, text: string, at: number): Promise<Pending<StoredMessage>> {
    return this.#store.appendBroadcast(from, text, at);
  }

  /** Stores a private message; `queueOffline` keeps it for the recipient's next login too. */
  private(
    from: string,
    to: string,
    text: string,
    at: number,
    queueOffline: boolean,
  ): Promise<PendingPrivate> {
    return this.#store.appendPrivate(from, to, text, at, queueOffline);
  }

  /** Drops one queued message: it reached the user live. */
  unqueue(user: string, number: number): Promise<void> {
    return this.#store.unqueueOffline(user, number);
  }

  broadcasts(query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#store.listBroadcasts(query);
  }

  privateOf(user: string, query: HistoryQuery, withUser?: string): Promise<PrivateMessage[]> {
    return this.#store.listPrivate(user, query, withUser);
  }

  /** The next page of a user's offline queue after message number `after`. */
  offline(user: string, after: number, limit: number): Promise<PrivateMessage[]> {
    return this.#store.listOffline(user, after, limit);
  }

  /** Drops offline messages up to `upTo`: they have reached the user. */
  delivered(user: string, upTo: number): Promise<void> {
    return this.#store.ackOffline(user, upTo);
  }
}
