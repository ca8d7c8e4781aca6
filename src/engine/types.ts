/**
 * The engine seam: every scan engine (connect, epoll connect, and later raw
 * SYN/UDP) turns a {@link ScanPlan} into a stream of {@link PortResult}s.
 * Outputs, history and plugins see only the results, the types of
 * `src/model/`.
 *
 * @module
 */

import type { PortResult, Protocol } from "../model/mod.ts";
import type { Host, TargetSet } from "../targets/types.ts";
import type { TraceSink } from "./trace.ts";

/** nmap's timing templates, -T0 … -T5. */
export type TimingLevel = 0 | 1 | 2 | 3 | 4 | 5;

/** Timing knobs after the template and the explicit flags are merged. */
export interface Timing {
  level: TimingLevel;
  /** Lower bound of a probe timeout, ms. */
  minRttTimeout: number;
  /** Upper bound of a probe timeout, ms. */
  maxRttTimeout: number;
  /** Timeout before any RTT has been measured, ms. */
  initialRttTimeout: number;
  /** Retransmissions of a probe that got no answer. */
  maxRetries: number;
  /** Give up on a host after this many ms (0 = never). */
  hostTimeout: number;
  /** Delay between probes, ms (T0–T2 serialise the scan). */
  scanDelay: number;
  /** Probes per second, lower bound (0 = none). */
  minRate: number;
  /** Probes per second, upper bound (0 = none). */
  maxRate: number;
  /** Upper bound on probes in flight. */
  maxParallelism: number;
}

/** Everything an engine needs to run one phase of a scan. */
export interface ScanPlan {
  targets: TargetSet;
  protocol: Protocol;
  /** Ports to probe on every host, sorted ascending. */
  ports: readonly number[];
  timing: Timing;
  /** Seed of the probe-order permutation. */
  seed: bigint;
  /** Probe in host-major, port-ascending order instead of a random permutation (-r). */
  sequential: boolean;
  /** Only hosts whose index is in this set are probed (after host discovery). */
  hostFilter?: (hostIndex: bigint) => boolean;
  /** Continue an interrupted scan of the same plan from here. */
  resume?: ResumePoint;
  /**
   * Probe only this shard of the seeded order (--shard): positions p with
   * p % count === index. Shards of one seed cover the space exactly once.
   */
  shard?: Shard;
}

/** One process's share of a plan's probe space, 0-based. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * How far a scan got, in positions of its probe order: every position below
 * `next` is finished, and so are the ones listed in `done`. A scan resumed
 * from it with the same plan and seed probes exactly what is left.
 */
export interface ResumePoint {
  next: number;
  done: number[];
}

/** Counters of a scan, the same under every transport. */
export interface EngineStats {
  probes: number;
  retries: number;
  /** Times the scheduler found the path or itself overloaded and slowed down. */
  backoffs: number;
  /** Largest number of units in flight at once. */
  peakInFlight: number;
  /** Packets the raw receive socket dropped for want of buffer (0 for connect scans). */
  receiverDrops: number;
  /** Packets the raw receive socket accepted after its filter (0 for connect scans). */
  receiverPackets: number;
  /** Answers that matched a probe of ours. */
  replies: number;
  /** Tries refused locally (full queues, no descriptors); they are sent again. */
  sendErrors: number;
  /** Highest sending rate the rate controller allowed, probes/s. */
  peakRate: number;
  /** Highest sending rate measured: the most probes sent in any one-second window. */
  sendRate: number;
  /** Probe loss measured on the path (probes answered only on a retry). */
  lossRate: number;
  /** Retries not sent: silent ports of hosts never heard from, on a path that lost nothing. */
  darkRetriesSkipped: number;
}

/** Callbacks an engine reports through. */
export interface EngineSink {
  /** A port's final verdict. Called once per (host, port). */
  result(hostIndex: bigint, host: Host, result: PortResult): void;
  /** Progress: probes finished of total. */
  progress?(done: number, total: number): void;
  /** Where a resumed scan would continue; called now and then, and when the run ends. */
  checkpoint?(point: ResumePoint): void;
}

/** Options of {@link ScanEngine.run}. */
export interface EngineRunOptions {
  /** Stop sending when aborted; answers to probes in flight are still awaited briefly. */
  signal?: AbortSignal;
  /** How long to wait for answers in flight after an abort, ms (default 1000). */
  drainMs?: number;
  /** Told of every try sent and answer received (`--packet-trace`, `-d`). */
  trace?: TraceSink;
}

/** A scan engine. */
export interface ScanEngine {
  readonly name: string;
  run(plan: ScanPlan, sink: EngineSink, options: EngineRunOptions): Promise<EngineStats>;
}
