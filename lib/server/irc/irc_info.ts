/**
 * What IRC clients ask about the server and its users: ISUPPORT, LUSERS, MOTD, WHO, WHOIS,
 * WHOWAS, ISON, USERHOST, VERSION, TIME, ADMIN, INFO. Read from the hub and the channel service,
 * which are shared with every front end.
 * @module
 */

import { MAX_CHANNEL_BYTES, MAX_USERNAME_BYTES } from "../../protocol/names.ts";
import { maskMatches, MAX_BANS, MAX_KEY_LENGTH, MAX_TOPIC_LENGTH } from "../services/channel.ts";
import { MAX_CHANNELS_PER_USER } from "../services/channels.ts";
import type { OnlineUser } from "../hub.ts";
import type { IrcMessage } from "./irc_message.ts";
import { nameOfNick, nickOf } from "../../protocol/nicks.ts";
import type { IrcSession } from "./irc_session.ts";
import { identOf } from "../../protocol/nicks.ts";
import { isLab, labMembers, roomIdOf, roomMembers } from "./irc_views.ts";
import { Numeric } from "./numerics.ts";
import { IRC_VERSION } from "./irc_common.ts";
import type { MemberView } from "../../protocol/reply_data.ts";

/** Most targets one PRIVMSG, NOTICE, JOIN, PART, WHOIS, KICK or ISON names. */
export const MAX_TARGETS = 4;

/** ERR_TOOMANYTARGETS for each target past {@linkcode MAX_TARGETS}, by name. */
export function refuseTargetsPastLimit(session: IrcSession, targets: readonly string[]): void {
  for (const target of targets.slice(MAX_TARGETS)) {
    session.numeric(
      Numeric.ERR_TOOMANYTARGETS,
      target,
      `Too many recipients: only ${MAX_TARGETS} per message`,
    );
  }
}

/** RPL_ISUPPORT tokens. */
export function supportTokens(session: IrcSession): string[] {
  return [
    "AWAYLEN=300",
    "CASEMAPPING=ascii",
    `CHANLIMIT=#:${MAX_CHANNELS_PER_USER}`,
    "CHANMODES=b,k,l,imnst",
    `CHANNELLEN=${MAX_CHANNEL_BYTES}`,
    "CHANTYPES=#&",
    "CHATHISTORY=100",
    "ELIST=",
    `KEYLEN=${MAX_KEY_LENGTH}`,
    `KICKLEN=${MAX_TOPIC_LENGTH}`,
    `MAXLIST=b:${MAX_BANS}`,
    `MAXTARGETS=${MAX_TARGETS}`,
    "MODES=4",
    `NETWORK=${session.serverName}`,
    `NICKLEN=${MAX_USERNAME_BYTES}`,
    "PREFIX=(ov)@+",
    "SAFELIST",
    "SILENCE=64",
    `TARGMAX=JOIN:,KICK:1,NAMES:1,NOTICE:${MAX_TARGETS},PART:,PRIVMSG:${MAX_TARGETS},TAGMSG:${MAX_TARGETS},WHOIS:1`,
    `TOPICLEN=${MAX_TOPIC_LENGTH}`,
    "USERLEN=10",
    "UTF8ONLY",
    "WHOX",
  ];
}

/** RPL_LUSER* and the local and global user counts. */
export function sendLusers(session: IrcSession): void {
  const n = session.ctx.hub.size;
  const ops = session.ctx.hub.operators().length;
  const channels = session.ctx.channels.list(session.me ?? "").length + 1;
  session.numeric(
    Numeric.RPL_LUSERCLIENT,
    `There are ${n} users and 0 invisible on 1 servers`,
  );
  session.numeric(Numeric.RPL_LUSEROP, String(ops), "operator(s) online");
  const unknown = session.ctx.unregistered();
  const here = session.ctx.hub.localSize ?? n;
  const peak = session.ctx.peakUsers();
  session.numeric(Numeric.RPL_LUSERUNKNOWN, String(unknown), "unknown connection(s)");
  session.numeric(Numeric.RPL_LUSERCHANNELS, String(channels), "channels formed");
  session.numeric(Numeric.RPL_LUSERME, `I have ${here} clients and 0 servers`);
  session.numeric(
    Numeric.RPL_LOCALUSERS,
    String(here),
    String(peak.here),
    `Current local users ${here}, max ${peak.here}`,
  );
  session.numeric(
    Numeric.RPL_GLOBALUSERS,
    String(n),
    String(peak.all),
    `Current global users ${n}, max ${peak.all}`,
  );
}

/**
 * The message of the day (labchat's rotation) as 375/372/376, or 422 when there is none;
 * `then` runs right after, before any later reply.
 */
export function sendMotd(session: IrcSession, then?: () => void): Promise<void> {
  return session.request("MOTD", [], (reply) => {
    if (reply.code !== 200) {
      session.numeric(Numeric.ERR_NOMOTD, "MOTD File is missing");
    } else {
      session.numeric(Numeric.RPL_MOTDSTART, `- ${session.serverName} Message of the day - `);
      for (const line of reply.lines.join("\n").split("\n")) {
        session.numeric(Numeric.RPL_MOTD, `- ${line}`);
      }
      session.numeric(Numeric.RPL_ENDOFMOTD, "End of /MOTD command.");
    }
    then?.();
  });
}

/** The online user a nick names, if any. */
export function onlineByNick(session: IrcSession, nick: string): OnlineUser | undefined {
  const decoded = nameOfNick(nick);
  return "name" in decoded ? session.ctx.hub.find(decoded.name) : undefined;
}

/** `H` or `G` (away), `*` for an admin, `@`/`+` for the rank in the channel. */
function whoFlags(session: IrcSession, user: OnlineUser, member?: MemberView): string {
  let flags = user.away ? "G" : "H";
  if (user.admin) flags += "*";
  if (member?.op) flags += "@";
  if (member?.voice && (!member.op || session.caps.has("multi-prefix"))) flags += "+";
  return flags;
}

/** WHO: a channel's members, a nick, or everyone matching a mask. WHOX fields too. */
export function who(session: IrcSession, message: IrcMessage): void {
  const [mask = "*", options = ""] = message.params;
  const ctx = session.ctx;
  const rows: { user: OnlineUser; channel: string; member?: MemberView }[] = [];
  const channelMembers = membersOf(session, mask);
  if (channelMembers) {
    // The channel as it is spelled, not as typed (#Networks finds #networks).
    const channel = isLab(mask)
      ? "#lab"
      : mask.startsWith("#")
      ? ctx.channels.view(mask)?.name ?? mask
      : mask.toLowerCase();
    for (const member of channelMembers) {
      const user = ctx.hub.online(member.name);
      if (user) rows.push({ user, channel, member });
    }
  } else {
    const all = [...ctx.hub.list()];
    const exact = onlineByNick(session, mask);
    const matching = exact ? [exact] : all.filter((u) =>
      mask === "*" || mask === "0" ||
      maskMatches(mask, nickOf(u.name)) ||
      maskMatches(mask, `${nickOf(u.name)}!${identOf(u.ident ?? u.name)}@${u.ip}`)
    );
    for (const user of matching) rows.push({ user, channel: "*" });
  }
  const whox = options.includes("%") ? whoxFields(options) : undefined;
  for (const { user, channel, member } of rows) {
    const nick = nickOf(user.name);
    const ident = identOf(user.ident ?? user.name);
    const flags = whoFlags(session, user, member);
    if (whox) {
      const values: Record<string, string> = {
        t: whox.token,
        c: channel,
        u: ident,
        i: "255.255.255.255",
        h: user.ip,
        s: session.serverName,
        n: nick,
        f: flags,
        d: "0",
        l: String(
          Math.floor((ctx.clock.now() - (ctx.hub.activeAt?.(user.name) ?? user.loginAt)) / 1000),
        ),
        a: user.guest ? "0" : nick,
        o: "n/a",
        r: user.realname ?? user.name,
      };
      const fields = [..."tcuihsnfdlaor"].filter((f) => whox.fields.includes(f)).map((f) =>
        values[f]
      );
      session.numeric(Numeric.RPL_WHOSPCRPL, ...fields);
    } else {
      session.numeric(
        Numeric.RPL_WHOREPLY,
        channel,
        ident,
        user.ip,
        session.serverName,
        nick,
        flags,
        `0 ${user.realname ?? user.name}`,
      );
    }
  }
  session.numeric(Numeric.RPL_ENDOFWHO, mask, "End of WHO list");
}

function whoxFields(options: string): { fields: string; token: string } {
  const spec = options.slice(options.indexOf("%") + 1);
  const [fields, token = "0"] = spec.split(",");
  return { fields, token };
}

/** Members of a channel the client may see, or `undefined` when `name` is no visible channel. */
export function membersOf(session: IrcSession, name: string): MemberView[] | undefined {
  if (isLab(name)) return labMembers(session);
  const room = roomIdOf(name);
  if (room !== undefined) {
    const members = roomMembers(session, room);
    return members?.some((m) => m.name === session.me) ? members : undefined;
  }
  if (!name.startsWith("#")) return undefined;
  const view = session.ctx.channels.view(name);
  if (!view) return undefined;
  if (view.secret && !view.members.some((m) => m.name === session.me)) return undefined;
  return [...view.members];
}

/** The channels `name` is on that the asker may see, with `@`/`+`. */
function channelsOf(session: IrcSession, user: OnlineUser): string[] {
  const ctx = session.ctx;
  const list: string[] = ["#lab"];
  for (const channel of ctx.channels.channelsOf(user.name)) {
    const view = ctx.channels.view(channel);
    if (!view) continue;
    if (view.secret && !view.members.some((m) => m.name === session.me)) continue;
    const member = view.members.find((m) => m.name === user.name);
    list.push(`${member?.op ? "@" : member?.voice ? "+" : ""}${view.name}`);
  }
  return list;
}

/** WHOIS nick (the optional server parameter first is accepted and ignored). */
export function whois(session: IrcSession, message: IrcMessage): void {
  const params = message.params;
  const nicks = params.length >= 2 ? params[1] : params[0];
  if (nicks === undefined || nicks === "") {
    session.numeric(Numeric.ERR_NONICKNAMEGIVEN, "No nickname given");
    return;
  }
  const nick = nicks.split(",")[0];
  const user = onlineByNick(session, nick);
  if (!user) {
    session.numeric(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    session.numeric(Numeric.RPL_ENDOFWHOIS, nick, "End of /WHOIS list");
    return;
  }
  const shown = nickOf(user.name);
  const ident = identOf(user.ident ?? user.name);
  session.numeric(Numeric.RPL_WHOISUSER, shown, ident, user.ip, "*", user.realname ?? user.name);
  session.numeric(Numeric.RPL_WHOISCHANNELS, shown, channelsOf(session, user).join(" "));
  session.numeric(Numeric.RPL_WHOISSERVER, shown, session.serverName, "labchat");
  if (user.admin) session.numeric(Numeric.RPL_WHOISOPERATOR, shown, "is a labchat admin");
  if (user.away) session.numeric(Numeric.RPL_AWAY, shown, user.away);
  if (!user.guest) session.numeric(Numeric.RPL_WHOISACCOUNT, shown, shown, "is logged in as");
  const now = session.ctx.clock.now();
  whoisSessions(session, user, shown, now);
  const active = session.ctx.hub.activeAt?.(user.name) ?? user.loginAt;
  session.numeric(
    Numeric.RPL_WHOISIDLE,
    shown,
    String(Math.max(0, Math.floor((now - active) / 1000))),
    String(Math.floor(user.loginAt / 1000)),
    "seconds idle, signon time",
  );
  session.numeric(Numeric.RPL_ENDOFWHOIS, shown, "End of /WHOIS list");
}

/**
 * 320 lines on the person's sessions: each one (client, address, since, idle) to the person
 * and to admins; to others only how many, when more than one.
 */
function whoisSessions(session: IrcSession, user: OnlineUser, shown: string, now: number): void {
  const sessions = session.ctx.hub.sessionInfo(user.name);
  const mine = user.name === session.me || session.client.identity?.admin === true;
  if (!mine) {
    if (sessions.length > 1) {
      session.numeric(
        Numeric.RPL_WHOISSPECIAL,
        shown,
        `is logged in from ${sessions.length} clients`,
      );
    }
    return;
  }
  for (const info of sessions) {
    const idle = info.activeAt === undefined
      ? ""
      : `, idle ${Math.max(0, Math.floor((now - info.activeAt) / 1000))}s`;
    session.numeric(
      Numeric.RPL_WHOISSPECIAL,
      shown,
      `session ${info.id}: ${info.client} from ${info.ip}${info.node ? ` on ${info.node}` : ""}` +
        ` since ${new Date(info.since).toISOString()}${idle}`,
    );
  }
}

/** WHOWAS: labchat keeps last logins of accounts. */
export function whowas(session: IrcSession, message: IrcMessage): void {
  const [nick] = message.params;
  if (nick === undefined || nick === "") {
    session.numeric(Numeric.ERR_NONICKNAMEGIVEN, "No nickname given");
    return;
  }
  const decoded = nameOfNick(nick);
  const record = "name" in decoded
    ? [...session.ctx.seen.all()].find((r) => r.name.toLowerCase() === decoded.name.toLowerCase())
    : undefined;
  if (!record) {
    session.numeric(Numeric.ERR_WASNOSUCHNICK, nick, "There was no such nickname");
  } else {
    // 314 <nick> <username> <host> * :<realname>, as the user was last seen.
    const shown = nickOf(record.name);
    session.numeric(
      Numeric.RPL_WHOWASUSER,
      shown,
      identOf(record.ident ?? record.name),
      record.ip ?? session.serverName,
      "*",
      record.realname ?? record.name,
    );
    session.numeric(Numeric.RPL_WHOISSERVER, shown, session.serverName, "labchat");
  }
  session.numeric(Numeric.RPL_ENDOFWHOWAS, nick, "End of WHOWAS");
}

/** ISON nick... */
export function ison(session: IrcSession, message: IrcMessage): void {
  const nicks = message.params.flatMap((p) => p.split(" ")).filter((n) => n !== "");
  const online = nicks.map((n) => onlineByNick(session, n)).filter((u) => u !== undefined)
    .map((u) => nickOf(u.name));
  session.numeric(Numeric.RPL_ISON, online.join(" "));
}

/** USERHOST nick... (at most five). */
export function userhost(session: IrcSession, message: IrcMessage): void {
  const entries = message.params.slice(0, 5).map((n) => onlineByNick(session, n))
    .filter((u) => u !== undefined)
    .map((u) =>
      `${nickOf(u.name)}${u.admin ? "*" : ""}=${u.away ? "-" : "+"}${
        identOf(u.ident ?? u.name)
      }@${u.ip}`
    );
  session.numeric(Numeric.RPL_USERHOST, entries.join(" "));
}

/** VERSION, TIME, ADMIN, INFO. */
export function serverInfo(session: IrcSession, message: IrcMessage): void {
  // A server named in the query was checked by the command table (`onThisServer`).
  switch (message.command) {
    case "VERSION":
      session.numeric(Numeric.RPL_VERSION, IRC_VERSION, session.serverName, "labchat IRC gateway");
      for (let i = 0, tokens = supportTokens(session); i < tokens.length; i += 12) {
        session.numeric(Numeric.RPL_ISUPPORT, ...tokens.slice(i, i + 12), "are supported");
      }
      return;
    case "TIME":
      session.numeric(Numeric.RPL_TIME, session.serverName, new Date().toUTCString());
      return;
    case "ADMIN":
      session.numeric(Numeric.RPL_ADMINME, session.serverName, "Administrative info");
      session.numeric(Numeric.RPL_ADMINLOC1, "A labchat server");
      session.numeric(Numeric.RPL_ADMINLOC2, "Ask the lab's operator");
      session.numeric(Numeric.RPL_ADMINEMAIL, "-");
      return;
    case "INFO":
      for (
        const line of [
          `${IRC_VERSION}: chat and forum for lab and LAN machines`,
          "This is the IRC gateway; the same users and messages reach chat-client and browsers.",
          "Send /msg labchat HELP for forum, history and the other labchat commands.",
        ]
      ) session.numeric(Numeric.RPL_INFO, line);
      session.numeric(Numeric.RPL_ENDOFINFO, "End of INFO list");
  }
}
