/**
 * Requests with an id (`@id=TOKEN BROADCAST …`): the key the store keeps them by, and the reply
 * to one carried out before.
 * @module
 */

import type { Pending, RequestKey, StoredMessage } from "../../store/store.ts";
import { okWith, type Outcome, type ServerContext } from "../context.ts";

/** The store's key of a request id, when the request has one. */
export function requestKey(user: string, id: string | undefined): RequestKey | undefined {
  return id === undefined ? undefined : { user, id };
}

/**
 * Whether a message stored by an earlier try of its request is delivered again. In a cluster,
 * yes: that try may have been cut off between the store and the delivery (its sender was told
 * the outcome is unknown), and each node drops what its users already received. On one
 * server, no: the store and the delivery cannot be parted.
 */
export function redeliver(ctx: ServerContext, stored: Pending<unknown>): boolean {
  return stored.repeated !== true || ctx.hub.shared;
}

/**
 * The reply to a request whose id was carried out before: what it stored then, and that
 * nothing was stored now (nor sent, on one server).
 */
export function repeatedReply(
  ctx: ServerContext,
  summary: string,
  stored: Pending<StoredMessage>,
  id: string | undefined,
): Outcome {
  const { number, at } = stored.value;
  const sent = ctx.hub.shared ? "passed on to whoever had not received it" : "nothing sent again";
  return okWith(`${summary} (request ${id} was carried out before; ${sent})`, {
    kind: "sent",
    number,
    at,
  });
}
