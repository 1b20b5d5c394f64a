/**
 * Reply and event codes of the wire protocol. 2xx ok, 3xx send more, 4xx the client's error,
 * 5xx the server's error, 6xx events. yamotd's codes (200, 210, 401, 402, 410, 420) keep their meaning.
 * @module
 */

/** Codes a reply to a request can carry. */
export const Reply = {
  OK: 200,
  /** DOWNLOAD: `201 size sha256 name`, then exactly size raw bytes. */
  DATA_FOLLOWS: 201,
  /** Done, but not for everyone (a broadcast some recipients blocked). */
  PARTIAL: 202,
  /** USER: the account exists, send LOGIN with the password. */
  PASSWORD_REQUIRED: 331,
  /** USER: no such account, REGISTER may create it. */
  NEW_USER: 332,
  /** UPLOAD: send exactly the announced number of raw bytes now. */
  SEND_DATA: 350,
  UNKNOWN_COMMAND: 400,
  NOT_LOGGED_IN: 401,
  NOT_ALLOWED: 402,
  USAGE: 403,
  NOT_FOUND: 404,
  BLOCKED_BY_RECIPIENT: 405,
  ALREADY_EXISTS: 406,
  BAD_LINE: 407,
  ALREADY_LOGGED_IN: 409,
  WRONG_CREDENTIALS: 410,
  ACCOUNT_NOW_BLOCKED: 411,
  ACCOUNT_BLOCKED: 412,
  REGISTRATION_CLOSED: 413,
  INVALID_VALUE: 414,
  /** A file over the size limit. */
  TOO_LARGE: 415,
  /** The uploaded bytes do not have the announced SHA-256. */
  CHECKSUM_MISMATCH: 416,
  UNKNOWN_USER: 420,
  /** Connection refused: too many connections in all or from this address. */
  SERVER_BUSY: 421,
  SERVER_ERROR: 500,
} as const;

/** Codes of events the server pushes between replies. */
export const Event = {
  /** Kept from yamotd: `210 the server is about to shutdown ...`. */
  SHUTDOWN: 210,
  PRIVATE: 600,
  PRIVATE_OFFLINE: 601,
  BROADCAST: 602,
  ROOM: 603,
  LOGIN: 604,
  LOGOUT: 605,
  IDLE: 606,
  DISCONNECT: 607,
  ROOM_CREATED: 608,
  /** A private message that is not kept: a notice (IRC's NOTICE). */
  PRIVATE_NOTICE: 609,
  CHANNEL_MESSAGE: 610,
  CHANNEL_NOTICE: 611,
  CHANNEL_JOIN: 612,
  CHANNEL_PART: 613,
  CHANNEL_KICK: 614,
  CHANNEL_TOPIC: 615,
  CHANNEL_MODE: 616,
  CHANNEL_INVITE: 617,
  AWAY: 618,
  /** Logins and logouts of a storm, announced together once a second. */
  PRESENCE: 619,
  /** Another user asks to reach you directly over UDP (file or private chat). */
  PEER: 620,
  /** Tags alone, from IRC's TAGMSG (typing, reactions): only IRC clients with message-tags. */
  TAG_MESSAGE: 621,
  /** A message to admins (and IRC users who asked with +w), IRC's WALLOPS. */
  WALLOPS: 622,
  /**
   * What you sent to someone from another of your sessions (`623 to bob: text`), so that your
   * conversations read the same in every client you are logged in on.
   */
  PRIVATE_SENT: 623,
  /** A guest took another name (`624 bob is now known as rob`), IRC's NICK. */
  NICK: 624,
} as const;

/** A reply code. */
export type ReplyCode = typeof Reply[keyof typeof Reply];
/** An event code. */
export type EventCode = typeof Event[keyof typeof Event];

const EVENT_CODES: ReadonlySet<number> = new Set(Object.values(Event));

/** Whether a line with this code is an event rather than the reply to a request. */
export function isEventCode(code: number): boolean {
  return EVENT_CODES.has(code);
}

/** The exact texts users of the five systems know. */
export const Text = {
  NOT_LOGGED_IN: "You are not currently logged in, login first.",
  NOT_ALLOWED: "User not allowed to execute this command.",
  WRONG_CREDENTIALS: "Wrong UserID or Password",
  INVALID_PASSWORD: "Invalid Password. Please try again",
  ACCOUNT_NOW_BLOCKED: "Invalid Password. Your account has been blocked. Please try again later",
  ACCOUNT_BLOCKED: "Your account is blocked due to multiple login failures. Please try again later",
  UNKNOWN_RECIPIENT: "either the user does not exist or is not logged in",
  BLOCKED_BY_RECIPIENT: "Your message could not be delivered as the recipient has blocked you",
  PARTIAL_BROADCAST: "Your message could not be delivered to some recipients",
  SHUTDOWN: "the server is about to shutdown ...",
  INVALID_COMMAND: "Error. Invalid command",
} as const;
