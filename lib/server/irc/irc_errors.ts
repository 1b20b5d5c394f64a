/**
 * A refused request as the IRC numeric clients expect: the core says why (its reason), the
 * gateway picks the numeric and its parameters.
 * @module
 */

import type { ErrorReason } from "../../protocol/protocol_error.ts";
import type { CoreReply, IrcSession } from "./irc_session.ts";
import { Numeric } from "./numerics.ts";

/** What the request was about, for the numeric's parameters. */
export interface FailureContext {
  readonly command: string;
  readonly channel?: string;
  readonly nick?: string;
}

/** The numeric for each reason, what its first parameters name, and its text. */
const NUMERICS: Partial<
  Record<ErrorReason, readonly [string, readonly ("channel" | "nick")[], string]>
> = {
  no_such_user: [Numeric.ERR_NOSUCHNICK, ["nick"], "No such nick/channel"],
  no_such_channel: [Numeric.ERR_NOSUCHCHANNEL, ["channel"], "No such channel"],
  bad_channel_name: [Numeric.ERR_NOSUCHCHANNEL, ["channel"], "No such channel"],
  not_on_channel: [Numeric.ERR_NOTONCHANNEL, ["channel"], "You're not on that channel"],
  user_not_on_channel: [
    Numeric.ERR_USERNOTINCHANNEL,
    ["nick", "channel"],
    "They aren't on that channel",
  ],
  already_on_channel: [Numeric.ERR_USERONCHANNEL, ["nick", "channel"], "is already on channel"],
  chanop_needed: [Numeric.ERR_CHANOPRIVSNEEDED, ["channel"], "You're not channel operator"],
  cannot_send: [Numeric.ERR_CANNOTSENDTOCHAN, ["channel"], "Cannot send to channel"],
  channel_full: [Numeric.ERR_CHANNELISFULL, ["channel"], "Cannot join channel (+l)"],
  invite_only: [Numeric.ERR_INVITEONLYCHAN, ["channel"], "Cannot join channel (+i)"],
  banned: [Numeric.ERR_BANNEDFROMCHAN, ["channel"], "Cannot join channel (+b)"],
  bad_key: [Numeric.ERR_BADCHANNELKEY, ["channel"], "Cannot join channel (+k)"],
  too_many_channels: [
    Numeric.ERR_TOOMANYCHANNELS,
    ["channel"],
    "You have joined too many channels",
  ],
};

/** Sends the numeric for a refused request (or a NOTICE with the core's text). */
export function sendFailure(session: IrcSession, reply: CoreReply, about: FailureContext): void {
  const text = reply.lines[0] ?? "Refused";
  const reason = reply.detail?.reason;
  const names = { channel: about.channel ?? "*", nick: about.nick ?? "*" };
  const known = reason === undefined ? undefined : NUMERICS[reason];
  if (known) {
    const [numeric, params, words] = known;
    session.numeric(numeric, ...params.map((p) => names[p]), words);
  } else if (reason === "unknown_mode") {
    const char = /mode (\S)/.exec(text)?.[1] ?? "?";
    session.numeric(Numeric.ERR_UNKNOWNMODE, char, "is unknown mode char to me");
  } else if (reason === "name_in_use" || reason === "name_is_account") {
    session.numeric(Numeric.ERR_NICKNAMEINUSE, names.nick, text);
  } else session.notice(`${about.command}: ${text}`);
}
