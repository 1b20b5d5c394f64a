/**
 * The network test bed from the command line: builds the link (two namespaces, a veth pair with
 * MTU 1500, a tbf rate limit, kernel random loss), runs a command in each namespace, and tears it
 * all down, also when a command fails. `{A}` and `{B}` in the commands are the two addresses.
 *
 *   deno task netlab --rate 1000 --loss 0.05 --b "iperf3 -s -1" --a "iperf3 -c {B}"
 *
 * Needs root.
 * @module
 */

import { parseArgs } from "node:util";
import { NetLab, netLabUnavailable } from "../testing/netlab.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rate: { type: "string", default: "1000" },
      loss: { type: "string", default: "0" },
      a: { type: "string" },
      b: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || (!values.a && !values.b)) {
    console.log(
      'usage: deno task netlab [--rate MBIT] [--loss FRACTION] [--b "server cmd"] --a "client cmd"\n' +
        "  {A} and {B} in a command are the addresses of namespace a and b",
    );
    return values.help ? 0 : 2;
  }
  const unavailable = await netLabUnavailable();
  if (unavailable) {
    console.error(`Cannot build the link: ${unavailable}`);
    return 1;
  }
  await using lab = await NetLab.open({ rateMbit: Number(values.rate), loss: Number(values.loss) });
  console.log(
    `link up: ${lab.a} ${lab.addressA} <-> ${lab.b} ${lab.addressB}, ${values.rate} Mbit/s, loss ${values.loss}`,
  );
  const fill = (command: string) =>
    command.replaceAll("{A}", lab.addressA).replaceAll("{B}", lab.addressB);
  const inB = values.b
    ? new Deno.Command("ip", { args: ["netns", "exec", lab.b, "sh", "-c", fill(values.b)] })
      .spawn()
    : undefined;
  if (inB) await new Promise((r) => setTimeout(r, 300));
  const inA = values.a
    ? await new Deno.Command("ip", { args: ["netns", "exec", lab.a, "sh", "-c", fill(values.a)] })
      .spawn().status
    : undefined;
  const statusB = await inB?.status;
  return (inA?.code ?? 0) || (statusB?.code ?? 0);
}

if (import.meta.main) Deno.exit(await main());
