/**
 * A refused request as the IRC numeric clients expect: the core says why (its reason), the
 * gateway picks the numeric and its parameters.
 * @module
 */

import type { CoreReply, IrcSession } from "./irc_session.ts";
import { Numeric } from "./numerics.ts";

/** What the request was about, for the numeric's parameters. */
export interface FailureContext {
  readonly command: string;
  readonly channel?: string;
  readonly nick?: string;
}

/** Sends the numeric for a refused request (or a NOTICE with the core's text). */
export function sendFailure(session: IrcSession, reply: CoreReply, about: FailureContext): void {
  const text = reply.lines[0] ?? "Refused";
  const channel = about.channel ?? "*";
  const nick = about.nick ?? "*";
  switch (reply.detail?.reason) {
    case "no_such_user":
      session.numeric(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
      return;
    case "no_such_channel":
    case "bad_channel_name":
      session.numeric(Numeric.ERR_NOSUCHCHANNEL, channel, "No such channel");
      return;
    case "not_on_channel":
      session.numeric(Numeric.ERR_NOTONCHANNEL, channel, "You're not on that channel");
      return;
    case "user_not_on_channel":
      session.numeric(Numeric.ERR_USERNOTINCHANNEL, nick, channel, "They aren't on that channel");
      return;
    case "already_on_channel":
      session.numeric(Numeric.ERR_USERONCHANNEL, nick, channel, "is already on channel");
      return;
    case "chanop_needed":
      session.numeric(Numeric.ERR_CHANOPRIVSNEEDED, channel, "You're not channel operator");
      return;
    case "cannot_send":
      session.numeric(Numeric.ERR_CANNOTSENDTOCHAN, channel, "Cannot send to channel");
      return;
    case "channel_full":
      session.numeric(Numeric.ERR_CHANNELISFULL, channel, "Cannot join channel (+l)");
      return;
    case "invite_only":
      session.numeric(Numeric.ERR_INVITEONLYCHAN, channel, "Cannot join channel (+i)");
      return;
    case "banned":
      session.numeric(Numeric.ERR_BANNEDFROMCHAN, channel, "Cannot join channel (+b)");
      return;
    case "bad_key":
      session.numeric(Numeric.ERR_BADCHANNELKEY, channel, "Cannot join channel (+k)");
      return;
    case "too_many_channels":
      session.numeric(Numeric.ERR_TOOMANYCHANNELS, channel, "You have joined too many channels");
      return;
    case "unknown_mode": {
      const char = /mode (\S)/.exec(text)?.[1] ?? "?";
      session.numeric(Numeric.ERR_UNKNOWNMODE, char, "is unknown mode char to me");
      return;
    }
    case "name_in_use":
    case "name_is_account":
      session.numeric(Numeric.ERR_NICKNAMEINUSE, nick, text);
      return;
  }
  session.notice(`${about.command}: ${text}`);
}
