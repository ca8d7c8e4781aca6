/**
 * The scheduler's walk over the probe space: the core's seeded permutation
 * over (host, port), cut into shards. Shard I of N takes the positions i of
 * the permutation with i % N === I, so shards run with the same seed cover
 * the space exactly once between them, with no coordination.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";
import { createPermutation } from "./permutation.ts";
import type { ScanPlan, Shard } from "./types.ts";

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
export class Order {
  /** Positions in this shard (inexact past 2^53, where scans cannot resume). */
  readonly total: number;
  #plan: ScanPlan;
  #units: number;
  #shard: Shard;
  #next: number;
  /** Spaces past 2^53 positions walk in bigints. */
  #big: { next: bigint; total: bigint; permute?: (i: bigint) => bigint } | undefined;
  #done: ReadonlySet<number>;
  #permute: ((i: number) => number) | undefined;
  #cachedIndex = -1n;
  #cachedHost: Host | undefined;
  readonly #item: OrderItem = {
    index: 0,
    hostIndex: 0n,
    host: { family: 4, value: 0n, address: "0.0.0.0" },
    portIndex: 0,
  };
  #onSkip: ((index: number) => void) | undefined;

  /**
   * @param units Probe units per host: the number of ports, or 1 for discovery.
   * @throws {RangeError} when the shard is malformed, or a space past 2^53 is resumed.
   */
  constructor(
    plan: ScanPlan,
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
    const size = shardSize(space, this.#shard);
    this.total = Number(size);
    if (space > BigInt(Number.MAX_SAFE_INTEGER)) {
      if (plan.resume !== undefined) {
        throw new RangeError(`Cannot resume a scan of ${space} probes: the limit is 2^53`);
      }
      const permutation = plan.sequential
        ? undefined
        : createPermutation(space, { seed: plan.seed });
      this.#big = {
        next: 0n,
        total: size,
        ...(permutation ? { permute: (i: bigint) => permutation.at(i) } : {}),
      };
    } else if (!plan.sequential && space > 1n) {
      const permutation = createPermutation(space, { seed: plan.seed });
      this.#permute = (i) => permutation.atNumber(i);
    }
    this.#next = plan.resume?.next ?? 0;
    this.#done = new Set(plan.resume?.done ?? []);
    this.#onSkip = options.onSkip;
  }

  /**
   * The next unit, or undefined when the shard is exhausted. The item is
   * the same object each call, overwritten: read it before calling again (a
   * sweep takes a million of them, and an object each was garbage).
   */
  next(): OrderItem | undefined {
    const { index: shardIndex, count } = this.#shard;
    for (;;) {
      let index: number;
      let hostIndex: bigint;
      let portIndex: number;
      if (this.#big !== undefined) {
        const big = this.#big;
        if (big.next >= big.total) return undefined;
        const i = big.next++;
        index = Number(i);
        const position = i * BigInt(count) + BigInt(shardIndex);
        const flat = big.permute ? big.permute(position) : position;
        hostIndex = flat / BigInt(this.#units);
        portIndex = Number(flat % BigInt(this.#units));
      } else {
        if (this.#next >= this.total) return undefined;
        index = this.#next++;
        if (this.#done.has(index)) continue;
        const position = index * count + shardIndex;
        const flat = this.#permute ? this.#permute(position) : position;
        hostIndex = BigInt(Math.floor(flat / this.#units));
        portIndex = flat % this.#units;
      }
      if (this.#plan.hostFilter && !this.#plan.hostFilter(hostIndex)) {
        this.#onSkip?.(index);
        continue;
      }
      if (hostIndex !== this.#cachedIndex || this.#cachedHost === undefined) {
        this.#cachedHost = this.#plan.targets.at(hostIndex);
        this.#cachedIndex = hostIndex;
      }
      const item = this.#item;
      item.index = index;
      item.hostIndex = hostIndex;
      item.host = this.#cachedHost;
      item.portIndex = portIndex;
      return item;
    }
  }
}
