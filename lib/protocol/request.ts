/**
 * Parsing of one request line against the command table, and its inverse.
 * @module
 */

import { Reply, Text } from "./codes.ts";
import {
  type ArgKind,
  type ArgSpec,
  type CommandName,
  type CommandSpec,
  findCommand,
  usageOf,
} from "./commands.ts";
import {
  channelNameProblem,
  fileNameProblem,
  threadNameProblem,
  usernameProblem,
} from "./names.ts";
import { ProtocolError } from "./protocol_error.ts";

/** A request whose command is known and whose arguments fit it. */
export interface ParsedRequest {
  readonly command: CommandSpec;
  /** One entry per argument given; a rest argument keeps its inner spacing. */
  readonly args: readonly string[];
}

interface Token {
  readonly word: string;
  readonly start: number;
}

/** Words of a line with the offset each starts at. Separators are spaces and tabs. */
function words(line: string): Token[] {
  const out: Token[] = [];
  for (const match of line.matchAll(/[^ \t]+/g)) out.push({ word: match[0], start: match.index });
  return out;
}

/** A request line whose command is known; its arguments not yet checked. */
export interface ResolvedRequest {
  readonly command: CommandSpec;
  readonly line: string;
  readonly argTokens: readonly Token[];
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
 * Checks a resolved request's arguments against its command: their number (403 with the usage)
 * and their kind (414 saying what is wrong).
 *
 * @throws {ProtocolError} 403 or 414.
 */
export function bindRequestArgs(request: ResolvedRequest): ParsedRequest {
  const args = bindArgs(request.command, request.line, request.argTokens);
  request.command.args.forEach((spec, i) => {
    if (args[i] !== undefined) checkKind(spec, args[i]);
  });
  return { command: request.command, args };
}

/**
 * Parses a request line.
 *
 * @throws {ProtocolError} 400 for an unknown command, 403 with the usage for wrong arguments,
 * 414 for an argument of the wrong kind.
 */
export function parseRequest(line: string): ParsedRequest {
  return bindRequestArgs(resolveCommand(line));
}

function bindArgs(command: CommandSpec, line: string, tokens: readonly Token[]): string[] {
  const specs = command.args;
  const required = specs.filter((s) => !s.optional).length;
  const hasRest = specs.at(-1)?.rest === true;
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

const KIND_RULES: Record<ArgKind, (value: string) => string | undefined> = {
  word: () => undefined,
  text: () => undefined,
  user: usernameProblem,
  channel: channelNameProblem,
  thread: threadNameProblem,
  filename: fileNameProblem,
  int: (v) => /^\d{1,9}$/.test(v) ? undefined : "use a whole number",
  port: (v) =>
    /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : "use 1 to 65535",
  sha256: (v) =>
    v === "-" || /^[0-9a-fA-F]{64}$/.test(v)
      ? undefined
      : "give 64 hex digits (or - to send them after the bytes)",
};

function checkKind(spec: ArgSpec, value: string): void {
  const problem = KIND_RULES[spec.kind ?? "word"](value);
  if (problem === undefined) return;
  // Name rules give a whole sentence; the others say what the value should be.
  const message = /^[A-Z]/.test(problem)
    ? problem
    : `Cannot use "${value.slice(0, 32)}" as ${spec.label ?? spec.name}: ${problem}`;
  throw new ProtocolError(Reply.INVALID_VALUE, message);
}

/**
 * The request line for a command and its arguments: the inverse of {@linkcode parseRequest}.
 * Clients build requests with it rather than by pasting strings together.
 *
 * @example Usage
 * ```ts
 * import { formatRequest } from "./request.ts";
 * formatRequest("MSG", ["hans", "hello, hans"]); // "MSG hans hello, hans"
 * ```
 *
 * @throws {TypeError} for an unknown command, a missing argument, a word argument with spaces,
 * or a line break anywhere.
 */
export function formatRequest(name: CommandName, args: readonly string[] = []): string {
  const command = findCommand(name);
  if (!command) throw new TypeError(`Cannot format request: unknown command "${name}"`);
  const given = [...args];
  while (given.length > 0 && given.at(-1) === "") given.pop();
  const specs = command.args;
  if (given.length > specs.length || given.length < specs.filter((s) => !s.optional).length) {
    throw new TypeError(`Cannot format request: usage is ${usageOf(command)}`);
  }
  given.forEach((value, i) => {
    if (/[\r\n]/.test(value)) {
      throw new TypeError(`Cannot format request: ${specs[i].name} contains a line break`);
    }
    if (!specs[i].rest && (value === "" || /[ \t]/.test(value))) {
      throw new TypeError(`Cannot format request: ${specs[i].name} must be one word`);
    }
  });
  return [command.name, ...given].join(" ");
}
