/**
 * Requests with an id (`@id=TOKEN BROADCAST …`): the key the store keeps them by, and the reply
 * to one carried out before.
 * @module
 */

import type { Pending, RequestKey, StoredMessage } from "../../store/store.ts";
import { okWith, type Outcome } from "../context.ts";

/** The store's key of a request id, when the request has one. */
export function requestKey(user: string, id: string | undefined): RequestKey | undefined {
  return id === undefined ? undefined : { user, id };
}

/**
 * The reply to a request whose id was carried out before: what it stored then, and that
 * nothing was stored or sent now.
 */
export function repeatedReply(
  summary: string,
  stored: Pending<StoredMessage>,
  id: string | undefined,
): Outcome {
  const { number, at } = stored.value;
  return okWith(`${summary} (request ${id} was carried out before; nothing sent again)`, {
    kind: "sent",
    number,
    at,
  });
}
