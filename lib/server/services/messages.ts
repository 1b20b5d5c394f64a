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
  RequestKey,
  StoredMessage,
} from "../../store/store.ts";

/** What was stored, once committed (for the search index). */
export type StoredEntry =
  | { readonly kind: "broadcast"; readonly message: StoredMessage }
  | { readonly kind: "private"; readonly message: PrivateMessage; readonly receivedNumber: number }
  | { readonly kind: "room"; readonly room: number; readonly message: StoredMessage }
  | { readonly kind: "channel"; readonly channel: string; readonly message: StoredMessage };

/**
 * Tells `stored` of a write once it is committed (never of one that failed, nor of a request
 * repeated, which stored nothing).
 */
export function whenStored<T extends Pending<unknown>>(
  pending: Promise<T>,
  stored: (value: T) => void,
): Promise<T> {
  return pending.then((value) => {
    if (!value.repeated) value.committed.then(() => stored(value), () => {});
    return value;
  });
}

/** The message logs of one server. */
export class MessageService {
  readonly #store: MessageStore;
  /** Told of every message once stored (the search index listens). */
  stored: (entry: StoredEntry) => void = () => {};

  constructor(store: MessageStore) {
    this.#store = store;
  }

  /** Stores a broadcast (once per request id, when there is one). */
  broadcast(
    from: string,
    text: string,
    at: number,
    request?: RequestKey,
  ): Promise<Pending<StoredMessage>> {
    return whenStored(
      this.#store.appendBroadcast(from, text, at, request),
      ({ value }) => this.stored({ kind: "broadcast", message: value }),
    );
  }

  /**
   * Stores a private message; `queueOffline` keeps it for the recipient's next login too. Once
   * per request id, when there is one.
   */
  private(
    from: string,
    to: string,
    text: string,
    at: number,
    queueOffline: boolean,
    request?: RequestKey,
  ): Promise<PendingPrivate> {
    return whenStored(
      this.#store.appendPrivate(from, to, text, at, queueOffline, request),
      ({ value, receivedNumber }) =>
        this.stored({ kind: "private", message: value, receivedNumber }),
    );
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
