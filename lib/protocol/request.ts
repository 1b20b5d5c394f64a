/**
 * Parsing of one request line against the command table.
 * @module
 */

import { Reply, Text } from "./codes.ts";
import { type CommandSpec, findCommand, usageOf } from "./commands.ts";
import { ProtocolError } from "./protocol_error.ts";

/** A request whose command is known and whose arguments fit it. */
export interface ParsedRequest {
  readonly command: CommandSpec;
  /** One entry per argument given; a rest argument keeps its inner spacing. */
  readonly args: readonly string[];
}

/** Words of a line with the offset each starts at. Separators are spaces and tabs. */
function words(line: string): { word: string; start: number }[] {
  const out: { word: string; start: number }[] = [];
  const pattern = /[^ \t]+/g;
  for (const match of line.matchAll(pattern)) out.push({ word: match[0], start: match.index });
  return out;
}

/** A request line whose command is known; its arguments not yet checked. */
export interface ResolvedRequest {
  readonly command: CommandSpec;
  readonly line: string;
  readonly argTokens: readonly { word: string; start: number }[];
}

/**
 * Finds the command of a request line, leaving the arguments for {@linkcode bindRequestArgs}, so
 * a server can check access before arity.
 *
 * @throws {ProtocolError} 400 for an unknown command.
 */
export function resolveCommand(line: string): ResolvedRequest {
  const tokens = words(line);
  if (tokens.length === 0) throw new ProtocolError(Reply.UNKNOWN_COMMAND, Text.INVALID_COMMAND);
  if (tokens.length > 1) {
    const two = findCommand(`${tokens[0].word} ${tokens[1].word}`);
    if (two) return { command: two, line, argTokens: tokens.slice(2) };
  }
  const one = findCommand(tokens[0].word);
  if (!one) {
    const shown = tokens[0].word.length > 32 ? `${tokens[0].word.slice(0, 32)}…` : tokens[0].word;
    throw new ProtocolError(Reply.UNKNOWN_COMMAND, `${Text.INVALID_COMMAND} "${shown}"`);
  }
  return { command: one, line, argTokens: tokens.slice(1) };
}

/**
 * Checks a resolved request's arguments against its command.
 *
 * @throws {ProtocolError} 403 with the usage for wrong arguments.
 */
export function bindRequestArgs(request: ResolvedRequest): ParsedRequest {
  return {
    command: request.command,
    args: bindArgs(request.command, request.line, [...request.argTokens]),
  };
}

/**
 * Parses a request line.
 *
 * @throws {ProtocolError} 400 for an unknown command, 403 with the usage for wrong arguments.
 */
export function parseRequest(line: string): ParsedRequest {
  return bindRequestArgs(resolveCommand(line));
}

function bindArgs(
  command: CommandSpec,
  line: string,
  tokens: { word: string; start: number }[],
): string[] {
  const specs = command.args;
  const required = specs.filter((s) => !s.optional).length;
  const last = specs.at(-1);
  const hasRest = last?.rest === true;
  const tooMany = !hasRest && tokens.length > specs.length;
  if (tokens.length < required || tooMany) {
    throw new ProtocolError(Reply.USAGE, `Usage: ${usageOf(command)}`);
  }
  const args: string[] = [];
  for (let i = 0; i < specs.length && i < tokens.length; i++) {
    if (specs[i].rest) {
      args.push(line.slice(tokens[i].start).trimEnd());
      break;
    }
    args.push(tokens[i].word);
  }
  return args;
}
