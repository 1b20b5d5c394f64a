/**
 * The faults the suite throws at the cluster, each with the rig it needs. `durationMs` scales
 * the outages (the CI run uses shorter ones); a node's lease is 4 s, so a freeze or a partition
 * of 10 s outlasts it.
 * @module
 */

import type { ClusterRig, RigOptions } from "./rig.ts";

/** What a fault did, in time. */
export interface FaultTimes {
  readonly start: number;
  readonly end: number;
}

/** One kind of fault. */
export interface Scenario {
  readonly name: string;
  readonly summary: string;
  readonly rig: RigOptions;
  /** The node whose users stay connected while the cluster takes it for gone, if any. */
  readonly cutOff?: string;
  /** Throws the fault; resolves once the cluster is whole again (from the rig's side). */
  fault(rig: ClusterRig, outageMs: number): Promise<FaultTimes>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every scenario, in the order the suite runs them. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "node-kill",
    summary: "node b SIGKILLed, started again after the outage",
    rig: {},
    async fault(rig, outageMs) {
      const start = Date.now();
      await rig.killNode("b");
      await sleep(outageMs);
      await rig.startNode("b");
      return { start, end: Date.now() };
    },
  },
  {
    name: "node-freeze",
    summary: "node b SIGSTOPped for the outage (past its 4 s lease), then SIGCONT",
    rig: {},
    cutOff: "b",
    async fault(rig, outageMs) {
      const start = Date.now();
      rig.freezeNode("b");
      await sleep(Math.max(outageMs, 6000));
      rig.thawNode("b");
      return { start, end: Date.now() };
    },
  },
  redisRestart("redis-term", "SIGTERMed", false),
  redisRestart("redis-kill", "SIGKILLed", true),
  {
    name: "failover",
    summary: "the Redis primary SIGKILLed under Sentinel; a replica promoted (--cluster-acks 1)",
    rig: { sentinel: true, acks: 1 },
    async fault(rig) {
      const start = Date.now();
      await rig.killPrimary();
      return { start, end: Date.now() };
    },
  },
  {
    name: "partition",
    summary: "node b cut off from Redis (iptables drops both ways) for the outage",
    rig: { partitionable: true },
    cutOff: "b",
    async fault(rig, outageMs) {
      const start = Date.now();
      await rig.partition();
      await sleep(Math.max(outageMs, 6000));
      await rig.heal();
      return { start, end: Date.now() };
    },
  },
];

/** Redis stopped (by `signal`) for half the outage, then started again on its data. */
function redisRestart(name: string, signal: string, kill: boolean): Scenario {
  return {
    name,
    summary: `Redis ${signal}, started again after the outage`,
    rig: {},
    async fault(rig, outageMs) {
      const start = Date.now();
      await rig.stopRedis(kill);
      await sleep(outageMs / 2);
      await rig.startRedis();
      return { start, end: Date.now() };
    },
  };
}
