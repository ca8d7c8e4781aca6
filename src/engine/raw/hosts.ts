/**
 * From a reply's address back to its host's index in the target set, with
 * no per-host state: a binary search over the set's ranges.
 *
 * @module
 */

import type { TargetSet } from "../../targets/types.ts";

interface RangeView {
  ipv4: { starts: ArrayLike<number>; ends: ArrayLike<number> };
  ipv6: readonly { start: bigint; end: bigint }[];
}

/** Arrays or typed arrays (the core keeps IPv4 ranges in Float64Arrays). */
function isNumbers(value: unknown): value is ArrayLike<number> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function hasRanges(targets: TargetSet): targets is TargetSet & RangeView {
  const candidate = targets as Partial<RangeView>;
  return isNumbers(candidate.ipv4?.starts) && isNumbers(candidate.ipv4?.ends) &&
    Array.isArray(candidate.ipv6);
}

/** Finds the index of an address in a target set. */
export class HostIndexer {
  #targets: TargetSet;
  #ranges: RangeView | undefined;
  #offsets4: number[] = [];
  #offsets6: bigint[] = [];

  constructor(targets: TargetSet) {
    this.#targets = targets;
    if (hasRanges(targets)) {
      this.#ranges = targets;
      let size = 0;
      for (let i = 0; i < targets.ipv4.starts.length; i++) {
        this.#offsets4.push(size);
        size += targets.ipv4.ends[i]! - targets.ipv4.starts[i]! + 1;
      }
      let size6 = BigInt(size);
      for (const range of targets.ipv6) {
        this.#offsets6.push(size6);
        size6 += range.end - range.start + 1n;
      }
    }
  }

  /** The index of the host with this address, or undefined when it is not a target. */
  indexOf(family: 4 | 6, value: number | bigint): bigint | undefined {
    const ranges = this.#ranges;
    if (ranges === undefined) return this.#search(family, BigInt(value));
    if (family === 4) {
      const n = Number(value);
      const { starts, ends } = ranges.ipv4;
      let low = 0;
      let high = starts.length - 1;
      while (low <= high) {
        const middle = (low + high) >>> 1;
        if (n < starts[middle]!) high = middle - 1;
        else if (n > ends[middle]!) low = middle + 1;
        else return BigInt(this.#offsets4[middle]! + n - starts[middle]!);
      }
      return undefined;
    }
    const v = BigInt(value);
    let low = 0;
    let high = ranges.ipv6.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const range = ranges.ipv6[middle]!;
      if (v < range.start) high = middle - 1;
      else if (v > range.end) low = middle + 1;
      else return this.#offsets6[middle]! + (v - range.start);
    }
    return undefined;
  }

  /** Any target set: hosts are in ascending (family, value) order. */
  #search(family: 4 | 6, value: bigint): bigint | undefined {
    let low = 0n;
    let high = this.#targets.size - 1n;
    while (low <= high) {
      const middle = (low + high) / 2n;
      const host = this.#targets.at(middle);
      const order = host.family !== family
        ? host.family - family
        : host.value < value
        ? -1
        : host.value > value
        ? 1
        : 0;
      if (order === 0) return middle;
      if (order < 0) low = middle + 1n;
      else high = middle - 1n;
    }
    return undefined;
  }
}
