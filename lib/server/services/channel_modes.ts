/**
 * A MODE on a channel, step by step: what a mode string asks for, its arguments taken as IRC
 * takes them, and each change made on the channel's state.
 * @module
 */

import { Reply } from "../../protocol/codes.ts";
import { foldChannel } from "../../protocol/names.ts";
import { ProtocolError } from "../../protocol/protocol_error.ts";
import { type Channel, FLAGS, MAX_BANS, MAX_KEY_LENGTH, normalizeMask } from "./channel.ts";
import type { ChannelOp } from "./channel_ops.ts";

/** One mode change a MODE asks for, checked and not yet made. */
export interface ModeStep {
  readonly sign: "+" | "-";
  readonly mode: string;
  readonly arg?: string;
}

/** Whether a mode character takes an argument when set (`add`) or unset. */
export function takesArgument(mode: string, add: boolean): boolean {
  return mode === "o" || mode === "v" || mode === "k" || mode === "b" || (mode === "l" && add);
}

/**
 * The changes a MODE asks for, in order, its arguments taken as IRC takes them.
 * @throws {ProtocolError} when an `o` or `v` names someone not in the channel.
 */
export function modeSteps(
  channel: Channel,
  op: Extract<ChannelOp, { op: "modes" }>,
): { steps: ModeStep[]; unknown: string[] } {
  const steps: ModeStep[] = [];
  const unknown: string[] = [];
  let sign: "+" | "-" = "+";
  let next = 0;
  for (const mode of op.modes) {
    if (mode === "+" || mode === "-") {
      sign = mode;
      continue;
    }
    if (!FLAGS.includes(mode) && !takesArgument(mode, true)) {
      if (!unknown.includes(mode)) unknown.push(mode);
      continue;
    }
    if (!takesArgument(mode, sign === "+")) {
      steps.push({ sign, mode });
      continue;
    }
    const index = next++;
    const arg = op.args[index];
    if (arg === undefined) {
      if (mode === "k" && sign === "-") steps.push({ sign, mode });
      continue; // `b` alone is a listing, answered by the caller
    }
    if (mode === "o" || mode === "v") {
      const user = op.members[index] ?? undefined;
      if (user === undefined || !channel.members.has(user)) {
        throw new ProtocolError(Reply.NOT_FOUND, `${arg} is not on ${channel.name}`, {
          reason: user === undefined ? "no_such_user" : "user_not_on_channel",
        });
      }
      steps.push({ sign, mode, arg: user });
    } else {
      steps.push({ sign, mode, arg });
    }
  }
  return { steps, unknown };
}

/** Makes one mode change; answers with it as made, or `undefined` when it changes nothing. */
export function modeStep(
  channel: Channel,
  step: ModeStep,
  op: { readonly user: string; readonly at: number },
): ModeStep | undefined {
  const add = step.sign === "+";
  const { sign, mode, arg } = step;
  if (FLAGS.includes(mode)) {
    if (channel.flags.has(mode) === add) return undefined;
    if (add) channel.flags.add(mode);
    else channel.flags.delete(mode);
    return { sign, mode };
  }
  if (mode === "o" || mode === "v") {
    const member = arg === undefined ? undefined : channel.members.get(arg);
    const rank = mode === "o" ? "op" : "voice";
    if (!member || member[rank] === add) return undefined;
    member[rank] = add;
    return { sign, mode, arg: member.name };
  }
  if (mode === "k") {
    if (add) {
      if (arg === undefined || arg === "" || /[\s,]/.test(arg)) return undefined;
      channel.key = arg.slice(0, MAX_KEY_LENGTH);
      return { sign, mode, arg: channel.key };
    }
    if (channel.key === undefined) return undefined;
    channel.key = undefined;
    return { sign, mode, arg: "*" };
  }
  if (mode === "l") {
    if (add) {
      const limit = Number(arg);
      if (!Number.isInteger(limit) || limit < 1) return undefined;
      channel.limit = limit;
      return { sign, mode, arg: String(limit) };
    }
    if (channel.limit === undefined) return undefined;
    channel.limit = undefined;
    return { sign, mode };
  }
  // mode === "b"
  const mask = normalizeMask(arg ?? "");
  const at = channel.bans.findIndex((b) => foldChannel(b.mask) === foldChannel(mask));
  if (add && at === -1 && channel.bans.length < MAX_BANS) {
    channel.bans.push({ mask, by: op.user, at: op.at });
    return { sign, mode, arg: mask };
  }
  if (!add && at !== -1) {
    channel.bans.splice(at, 1);
    return { sign, mode, arg: mask };
  }
  return undefined;
}
