/**
 * Channels: JOIN, PART, SAY, NOTICE, TOPIC, NAMES, CHANNELS, KICK, INVITE, MODE. Who hears what
 * is decided here, for every front end alike: members hear each other, except whom they blocked.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { type ChatEvent, OutboundEvent, withTags } from "../../protocol/events.ts";
import { foldName } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { formatTimestamp } from "../../protocol/timestamp.ts";
import { type Caller, ok, okWith, type PartialHandlers, type ServerContext } from "../context.ts";
import { hears, maskOf, membersHearing, tell } from "../audience.ts";
import { redeliver, repeatedReply, requestKey } from "./request_ids.ts";
import type { HubHold } from "../hub.ts";
import type { ChannelView } from "../../protocol/reply_data.ts";

/**
 * Tells the channel's members who hear `from` (but `from`), through `via` when the delivery
 * keeps a place taken earlier.
 */
function tellChannel(
  ctx: ServerContext,
  channel: string,
  event: ChatEvent,
  from: Caller<"user">,
  via: Pick<HubHold, "deliver" | "echo"> = ctx.hub,
  at: number = ctx.clock.now(),
): void {
  const me = from.identity.name;
  const members = membersHearing(ctx, ctx.channels.members(channel), me);
  const outbound = new OutboundEvent(event, at);
  tell(via, members, outbound);
  via.echo(me, outbound, from.client); // the sender's other sessions
}

/** `@yoda +hans obiwan`: members with their ranks. */
function memberList(view: ChannelView): string {
  return view.members.map((m) => `${m.op ? "@" : m.voice ? "+" : ""}${m.name}`).join(" ");
}

/** The online user called `name` in any case. @throws {ProtocolError} 420 when not online. */
function onlineUser(ctx: ServerContext, name: string): string {
  const online = ctx.hub.find(name);
  if (!online) {
    throw new ProtocolError(Reply.UNKNOWN_USER, `${name.slice(0, 32)} is not online`, {
      reason: "no_such_user",
    });
  }
  return online.name;
}

/** Handlers of the channel commands. */
export const channelHandlers: PartialHandlers<
  | "JOIN"
  | "PART"
  | "SAY"
  | "NOTICE"
  | "TOPIC"
  | "TOPIC CLEAR"
  | "NAMES"
  | "CHANNELS"
  | "KICK"
  | "INVITE"
  | "MODE"
> = {
  async JOIN(ctx, caller, [name, key]) {
    const { identity } = caller;
    const me = identity.name;
    const joined = await ctx.channels.join(me, name, key, maskOf(ctx, me), ctx.clock.now());
    const channel = joined.channel;
    const data = { kind: "joined", channel, already: joined.already } as const;
    if (joined.already) return okWith(`You are on ${channel.name} already`, data);
    ctx.log.info(`${me} joined ${channel.name}${joined.created ? " (new)" : ""}`);
    const topic = channel.topic === "" ? "no topic" : `topic: ${channel.topic}`;
    return okWith(
      `Joined ${channel.name}: ${memberList(channel)}; ${topic}`,
      data,
      () =>
        tellChannel(
          ctx,
          channel.name,
          { type: "channel_join", channel: channel.name, user: me },
          caller,
        ),
    );
  },

  async PART(ctx, { identity, client }, [name, reason]) {
    const me = identity.name;
    const channel = await ctx.channels.part(me, name);
    ctx.log.info(`${me} left ${channel.name}`);
    const event: ChatEvent = {
      type: "channel_part",
      channel: channel.name,
      user: me,
      reason: reason ?? "",
    };
    // The others still in it hear of it; the channel may be gone now, so name them from before.
    const members = membersHearing(ctx, channel.members.map((m) => m.name), me);
    const outbound = new OutboundEvent(event, ctx.clock.now());
    tell(ctx.hub, members, outbound);
    ctx.hub.echo(me, outbound, client); // the account left it: its other sessions too
    return okWith(`Left ${channel.name}`, { kind: "channel", channel });
  },

  SAY(ctx, caller, [name, text]) {
    const { identity, tags, requestId } = caller;
    const me = identity.name;
    const channel = ctx.channels.checkSpeaker(name, me, maskOf(ctx, me));
    const at = ctx.clock.now();
    // As BROADCAST: numbered by the store without holding up the connection, in its place.
    const place = ctx.hub.hold();
    const request = requestKey(me, requestId);
    const deferred = ctx.channels.say(channel, me, text, at, request).then(
      (stored) => {
        const { value: message, committed } = stored;
        const summary = `Message #${message.number} sent to ${channel}`;
        if (!redeliver(ctx, stored)) return repeatedReply(ctx, summary, stored, requestId);
        if (!stored.repeated) ctx.log.info(`${me} said #${message.number} in ${channel}`);
        tellChannel(
          ctx,
          channel,
          {
            type: "channel_message",
            channel,
            from: me,
            number: message.number,
            text,
            ...withTags(tags),
          },
          caller,
          place,
          message.at, // the time the sender's echo and reply carry too
        );
        if (stored.repeated) return repeatedReply(ctx, summary, stored, requestId);
        const reply = okWith(`Message #${message.number} sent to ${channel}`, {
          kind: "sent",
          number: message.number,
          at,
        });
        return { ...reply, durable: committed };
      },
    ).finally(() => place.release());
    return Promise.resolve({ deferred });
  },

  NOTICE(ctx, caller, [target, text]) {
    const { identity, tags } = caller;
    const me = identity.name;
    if (target.startsWith("#")) {
      const channel = ctx.channels.checkSpeaker(target, me, maskOf(ctx, me));
      const notice = {
        type: "channel_notice",
        channel,
        from: me,
        text,
        ...withTags(tags),
      } as const;
      tellChannel(ctx, channel, notice, caller);
      return Promise.resolve(ok(`Notice sent to ${channel}`));
    }
    const to = onlineUser(ctx, target);
    if (hears(ctx, to, me)) {
      const notice = { type: "private_notice", from: me, text, ...withTags(tags) } as const;
      ctx.hub.deliver(to, new OutboundEvent(notice));
    }
    const sent = { type: "private_sent", to, text, notice: true } as const;
    ctx.hub.echo(me, new OutboundEvent(sent), caller.client);
    return Promise.resolve(ok(`Notice sent to ${to}`));
  },

  TOPIC(ctx, caller, [name, topic]) {
    const me = caller.identity.name;
    if (topic === undefined || topic === "") {
      const shown = ctx.channels.topic(name, me);
      const text = shown.topic === ""
        ? `${shown.channel} has no topic`
        : `${shown.channel}: ${shown.topic} (set by ${shown.by} at ${formatTimestamp(shown.at)})`;
      return Promise.resolve(okWith(text, { kind: "topic", ...shown }));
    }
    return setTopic(ctx, caller, name, topic);
  },

  "TOPIC CLEAR"(ctx, caller, [name]) {
    return setTopic(ctx, caller, name, "");
  },

  NAMES(ctx, { identity }, [name]) {
    const view = ctx.channels.viewFor(name, identity.name);
    return Promise.resolve(
      okWith(`${view.name}: ${memberList(view)}`, { kind: "channel", channel: view }),
    );
  },

  CHANNELS(ctx, { identity }, [name]) {
    const views = ctx.channels.list(identity.name).filter((c) =>
      name === undefined || foldName(c.name) === foldName(name)
    );
    const me = identity.name;
    const channels = views.map((c) => ({
      name: c.name,
      members: c.members.length,
      topic: c.topic,
      joined: c.members.some((m) => m.name === me),
    }));
    const lines = channels.map((c) => `${c.name} ${c.members}${c.topic ? `: ${c.topic}` : ""}`);
    lines.push(`${channels.length} channel${channels.length === 1 ? "" : "s"}`);
    return Promise.resolve(okWith(lines, { kind: "channels", channels }));
  },

  async KICK(ctx, { identity }, [name, who, reason]) {
    const me = identity.name;
    const target = ctx.hub.find(who)?.name ?? who;
    const { channel, members } = await ctx.channels.kick(name, me, target);
    ctx.log.info(`${me} kicked ${target} from ${channel}`);
    const event = new OutboundEvent(
      { type: "channel_kick", channel, by: me, user: target, reason: reason ?? me },
      ctx.clock.now(),
    );
    // The kicked user too, whatever the blocks: a change to who is in the channel.
    tell(ctx.hub, members.filter((member) => member !== me), event);
    return ok(`Kicked ${target} from ${channel}`);
  },

  async INVITE(ctx, { identity }, [who, name]) {
    const me = identity.name;
    const target = onlineUser(ctx, who);
    const channel = await ctx.channels.invite(name, me, target);
    ctx.log.info(`${me} invited ${target} to ${channel}`);
    if (hears(ctx, target, me)) {
      ctx.hub.deliver(
        target,
        new OutboundEvent({ type: "channel_invite", channel, by: me, user: target }),
      );
    }
    const away = ctx.hub.online(target)?.away || undefined;
    return okWith(`Invited ${target} to ${channel}`, {
      kind: "invited",
      channel,
      user: target,
      away,
    });
  },

  async MODE(ctx, caller, [name, modesText]) {
    const { identity } = caller;
    const me = identity.name;
    const view = ctx.channels.viewFor(name, me);
    const [modeString, ...args] = (modesText ?? "").split(/\s+/).filter((w) => w !== "");
    // Asked, not changed: the modes, or the ban list.
    const asked = {
      kind: "modes",
      channel: view.name,
      changed: "",
      changedArgs: [],
      view,
    } as const;
    if (modeString === undefined) {
      const text = `${view.name} ${[view.modes, ...view.modeArgs].join(" ")}`;
      return okWith(text, asked);
    }
    if (/^[+-]?b$/.test(modeString) && args.length === 0) {
      const bans = ctx.channels.bans(view.name);
      const lines = bans.map((b) => `${b.mask} set by ${b.by} at ${formatTimestamp(b.at)}`);
      lines.push(`${bans.length} ban${bans.length === 1 ? "" : "s"} on ${view.name}`);
      return okWith(lines, { ...asked, bans });
    }
    const change = await ctx.channels.setModes(
      view.name,
      me,
      modeString,
      args,
      (user) => ctx.hub.find(user)?.name,
      ctx.clock.now(),
    );
    if (change.modes === "" && change.unknown.length > 0) {
      throw new ProtocolError(Reply.INVALID_VALUE, `Unknown mode ${change.unknown[0]}`, {
        reason: "unknown_mode",
      });
    }
    const now = ctx.channels.view(view.name) ?? view;
    if (change.modes !== "") {
      ctx.log.info(`${me} set mode ${change.modes} on ${view.name}`);
      tellChannel(ctx, view.name, {
        type: "channel_mode",
        channel: view.name,
        by: me,
        modes: change.modes,
        args: change.args,
      }, caller);
    }
    const shown = change.modes === ""
      ? "nothing changed"
      : [change.modes, ...change.args].join(" ");
    return okWith(`${view.name}: ${shown}`, {
      kind: "modes",
      channel: view.name,
      changed: change.modes,
      changedArgs: change.args,
      view: now,
    });
  },
};

async function setTopic(
  ctx: ServerContext,
  caller: Caller<"user">,
  name: string,
  topic: string,
) {
  const me = caller.identity.name;
  const at = ctx.clock.now();
  const channel = await ctx.channels.setTopic(name, me, topic, at);
  ctx.log.info(`${me} set the topic of ${channel}`);
  tellChannel(ctx, channel, { type: "channel_topic", channel, by: me, topic }, caller);
  const text = topic === "" ? `Topic of ${channel} cleared` : `Topic of ${channel} set`;
  return okWith(text, { kind: "topic", channel, topic, by: me, at });
}
