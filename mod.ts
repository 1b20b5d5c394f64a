/**
 * labchat: a chat and forum system for lab and LAN machines.
 *
 * This module exports the pieces scripts and tests build on: the protocol (codes, framing,
 * command table, events), the typed client, and the server factory.
 *
 * @example Run a server and talk to it
 * ```ts ignore
 * import { ChatConnection, startChatServer } from "./mod.ts";
 *
 * await using server = await startChatServer({ hostname: "127.0.0.1", port: 0, dataDir: "/tmp/lc" });
 * await using chat = await ChatConnection.connect({ port: server.addr.port });
 * console.log((await chat.request("REGISTER yoda wise@!man")).text); // Welcome to labchat, yoda!
 * ```
 * @module
 */

export {
  Event,
  type EventCode,
  isEventCode,
  Reply,
  type ReplyCode,
  Text,
} from "./lib/protocol/codes.ts";
export {
  type Access,
  type ArgSpec,
  COMMANDS,
  type CommandSpec,
  findCommand,
  helpLines,
  usageOf,
} from "./lib/protocol/commands.ts";
export { type ChatEvent, eventText, formatEvent, parseEvent } from "./lib/protocol/events.ts";
export {
  type EventFrame,
  FrameError,
  JSON_SUBPROTOCOL,
  parseServerFrames,
  type ReplyFrame,
  type ServerFrame,
} from "./lib/protocol/frames.ts";
export { type Frame, type LineErrorReason, LineSplitter } from "./lib/protocol/line_splitter.ts";
export { ProtocolError } from "./lib/protocol/protocol_error.ts";
export { formatReply, parseReplyLine, type ReplyLine } from "./lib/protocol/reply.ts";
export type { ReplyData, ReplyDetail } from "./lib/protocol/reply_data.ts";
export { type ParsedRequest, parseRequest } from "./lib/protocol/request.ts";
export { formatDuration, formatTimestamp, parseTimestamp } from "./lib/protocol/timestamp.ts";
export {
  ChatConnection,
  type ChatReply,
  ConnectionClosedError,
  type ConnectOptions,
} from "./lib/client/chat_connection.ts";
export { ChatServer, type ChatServerOptions, startChatServer } from "./lib/server/chat_server.ts";
export type { Logger } from "./lib/server/context.ts";
export { DEFAULT_SERVER_CONFIG, type ServerConfig } from "./lib/config.ts";
