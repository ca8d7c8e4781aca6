/**
 * The raw engine's walk over the probe space: the core's seeded permutation
 * over (host, port), cut into shards. Shard I of N takes the positions i of
 * the permutation with i % N === I, so shards run with the same seed cover
 * the space exactly once between them, with no coordination.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";
import { createPermutation } from "./permutation.ts";
import type { RawScanPlan, Shard } from "./raw/types.ts";

/** One probe unit: a host and an index into the plan's ports (or probe list). */
export interface OrderItem {
  /** Position in this shard's order (what resume points count). */
  index: number;
  hostIndex: bigint;
  host: Host;
  portIndex: number;
}

/**
 * Parse "I/N" (--shard). Shards are numbered from 0.
 *
 * @throws {SyntaxError} or {RangeError} on a malformed or out-of-range value.
 */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new SyntaxError(`Cannot parse shard "${text}": expected INDEX/COUNT`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > 1_000_000) {
    throw new RangeError(`Cannot parse shard "${text}": count must be 1-1000000`);
  }
  if (index >= count) {
    throw new RangeError(`Cannot parse shard "${text}": index ${index} must be < ${count}`);
  }
  return { index, count };
}

/** How many positions of a space of `total` shard `shard` holds. */
export function shardSize(total: bigint, shard: Shard): bigint {
  const count = BigInt(shard.count);
  const index = BigInt(shard.index);
  return total <= index ? 0n : (total - index - 1n) / count + 1n;
}

/** Walks one shard of a plan's (host, unit) space in the plan's order. */
export class RawOrder {
  /** Positions in this shard. */
  readonly total: number;
  #plan: RawScanPlan;
  #units: number;
  #shard: Shard;
  #next: number;
  #done: ReadonlySet<number>;
  #permute: ((i: number) => number) | undefined;
  #cachedIndex = -1n;
  #cachedHost: Host | undefined;
  #onSkip: ((index: number) => void) | undefined;

  /**
   * @param units Probe units per host: the number of ports, or 1 for discovery.
   * @throws {RangeError} when the space exceeds 2^53 positions or the shard is malformed.
   */
  constructor(
    plan: RawScanPlan,
    units: number,
    options: { onSkip?: (index: number) => void } = {},
  ) {
    this.#plan = plan;
    this.#units = units;
    this.#shard = plan.shard ?? { index: 0, count: 1 };
    const { index, count } = this.#shard;
    if (
      !Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 ||
      index >= count
    ) {
      throw new RangeError(`Cannot use shard "${index}/${count}": index must be in 0..count-1`);
    }
    const space = plan.targets.size * BigInt(units);
    if (space > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`Cannot scan ${space} probes in one raw scan: the limit is 2^53`);
    }
    this.total = Number(shardSize(space, this.#shard));
    if (!plan.sequential && space > 1n) {
      const permutation = createPermutation(space, { seed: plan.seed });
      this.#permute = (i) => permutation.atNumber(i);
    }
    this.#next = plan.resume?.next ?? 0;
    this.#done = new Set(plan.resume?.done ?? []);
    this.#onSkip = options.onSkip;
  }

  /** The next unit, or undefined when the shard is exhausted. */
  next(): OrderItem | undefined {
    const { index: shardIndex, count } = this.#shard;
    for (;;) {
      if (this.#next >= this.total) return undefined;
      const index = this.#next++;
      if (this.#done.has(index)) continue;
      const position = index * count + shardIndex;
      const flat = this.#permute ? this.#permute(position) : position;
      const hostIndex = BigInt(Math.floor(flat / this.#units));
      const portIndex = flat % this.#units;
      if (this.#plan.hostFilter && !this.#plan.hostFilter(hostIndex)) {
        this.#onSkip?.(index);
        continue;
      }
      if (hostIndex !== this.#cachedIndex || this.#cachedHost === undefined) {
        this.#cachedHost = this.#plan.targets.at(hostIndex);
        this.#cachedIndex = hostIndex;
      }
      return { index, hostIndex, host: this.#cachedHost, portIndex };
    }
  }
}
