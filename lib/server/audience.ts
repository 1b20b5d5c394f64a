/**
 * Who hears what. Every event a user causes goes to an audience named here, so the rules live in
 * one place, and every front end, and a person's several sessions, follow them alike:
 *
 * - {@linkcode hears}: a user hears another unless they blocked them (a private message, a
 *   notice, an invitation, a TAGMSG to one user).
 * - {@linkcode everyoneHearing}: everyone online but the sender and those who blocked them (a
 *   broadcast, a TAGMSG to `#lab`).
 * - {@linkcode membersHearing}: the members of a room or channel but the sender and those who
 *   blocked them (what is said there, and what happens to it: a part, a topic, a mode).
 * - {@linkcode unblockedWith}: everyone online but the user with no block between them either
 *   way (a login, a logout, AWAY; peers are introduced only so).
 * - {@linkcode operators}: the admins online and those who asked for WALLOPS.
 *
 * A user as channel bans match them is {@linkcode maskOf}: `nick!ident@address`, one string for
 * every front end (IRC shows it as it is).
 * @module
 */

import type { ServerContext } from "./context.ts";
import type { OutboundEvent } from "../protocol/events.ts";
import type { HubHold } from "./hub.ts";
import type { BlockService } from "./services/blocks.ts";
import { identOf, nickOf } from "../protocol/nicks.ts";

/** Who blocked whom. */
type Blocks = { readonly blocks: Pick<BlockService, "has" | "either"> };

/** Whether `to` hears `from`: unless `to` blocked `from`. */
export function hears(ctx: Blocks, to: string, from: string): boolean {
  return !ctx.blocks.has(to, from);
}

/** Everyone online but `from` and those who blocked `from`: a predicate for a fan-out. */
export function everyoneHearing(ctx: Blocks, from: string): (user: string) => boolean {
  return (user) => user !== from && !ctx.blocks.has(user, from);
}

/** Of `members`, those but `from` (and `except`) who did not block `from`. */
export function membersHearing(
  ctx: Blocks,
  members: Iterable<string>,
  from: string,
  except: string = from,
): string[] {
  const out: string[] = [];
  for (const member of members) {
    if (member !== except && member !== from && !ctx.blocks.has(member, from)) out.push(member);
  }
  return out;
}

/** Everyone online but `user` with no block between them either way: a predicate. */
export function unblockedWith(ctx: Blocks, user: string): (other: string) => boolean {
  return (other) => other !== user && !ctx.blocks.either(user, other);
}

/** The admins online and those who asked for WALLOPS (user mode +w): a predicate. */
export function operators(ctx: Pick<ServerContext, "hub">): (user: string) => boolean {
  return (user) => {
    const online = ctx.hub.online(user);
    return online?.admin === true || online?.wallops === true;
  };
}

/** Delivers `event` to each of `users`, through `via` (the hub, or a place held in its order). */
export function tell(
  via: Pick<HubHold, "deliver">,
  users: Iterable<string>,
  event: OutboundEvent,
): void {
  for (const user of users) via.deliver(user, event);
}

/**
 * `nick!ident@address` of a user, as channel bans (`+b`) match it and IRC shows it: the name as
 * a nick, the ident its session gave (or the name), the address it came from (or the server's
 * name, for someone not online).
 */
export function maskOf(ctx: Pick<ServerContext, "hub" | "config">, user: string): string {
  const online = ctx.hub.online(user);
  const host = online?.ip ?? ctx.config.ircServerName;
  return `${nickOf(user)}!${identOf(online?.ident ?? user)}@${host}`;
}
