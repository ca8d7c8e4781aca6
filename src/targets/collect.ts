/**
 * Target specs gathered one at a time into merged ranges, so that a list of
 * millions of lines (-iL, --excludefile) costs memory by the ranges it makes,
 * not by its lines: addresses wait in a fixed-size buffer that is sorted and
 * merged into the ranges whenever it fills. Names are kept for resolution.
 *
 * @module
 */

import { type AddressRange, parseTargetSpec, plainIpv4, type TargetSpec } from "./parse.ts";

/** Disjoint ascending IPv4 ranges as parallel arrays of 32-bit values. */
export interface Ipv4Ranges {
  starts: Float64Array;
  ends: Float64Array;
}

/** A hostname spec, resolved when the set is built. */
export type NameSpec = Extract<TargetSpec, { kind: "hostname" }>;

/** Addresses and ranges buffered before a merge. */
const BUFFER = 65_536;

/**
 * The buffer's first size: it doubles up to {@link BUFFER}. A command line
 * names a few specs, and its collectors live as long as the scan (1 MB each
 * at full size, twice: targets and exclusions).
 */
const FIRST_BUFFER = 16;

/**
 * Union of intervals: sorting starts and ends independently is enough, because
 * the union has a gap after the i-th end exactly when the (i+1)-th start lies
 * beyond it. Typed-array sorts are native and need no comparator; `starts`
 * and `ends` are sorted in place.
 */
export function mergeIpv4(starts: Float64Array, ends: Float64Array): Ipv4Ranges {
  const s = starts.sort();
  const e = ends.sort();
  // Written over the sorted inputs: the union never has more ranges than them.
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    if (count === 0 || s[i]! > e[count - 1]! + 1) {
      s[count] = s[i]!;
      e[count] = e[i]!;
      count++;
    } else {
      e[count - 1] = e[i]!;
    }
  }
  return { starts: s.slice(0, count), ends: e.slice(0, count) };
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The bigint twin of {@link mergeIpv4}, for IPv6. */
export function mergeIpv6(ranges: readonly AddressRange[]): AddressRange[] {
  const s = ranges.map((r) => r.start).sort(compareBig);
  const e = ranges.map((r) => r.end).sort(compareBig);
  const out: AddressRange[] = [];
  for (let i = 0; i < s.length; i++) {
    const last = out[out.length - 1];
    if (last && s[i]! <= last.end + 1n) last.end = e[i]!;
    else out.push({ family: 6, start: s[i]!, end: e[i]! });
  }
  return out;
}

/**
 * Specs added one by one (targets, or exclusions), held as merged ranges
 * plus the names still to resolve.
 *
 * @example
 * ```ts
 * import { SpecCollector } from "./collect.ts";
 * const specs = new SpecCollector();
 * for (let i = 0; i < 1000; i++) specs.add(`10.0.${i >> 8}.${i & 255}`);
 * specs.ipv4().starts.length; // 1: one range, whatever the number of lines
 * ```
 */
export class SpecCollector {
  #merged: Ipv4Ranges = { starts: new Float64Array(0), ends: new Float64Array(0) };
  #starts = new Float64Array(FIRST_BUFFER);
  #ends = new Float64Array(FIRST_BUFFER);
  #pending = 0;
  #v6: AddressRange[] = [];
  #v6Merged = 0;
  readonly #names: NameSpec[] = [];
  #count = 0;
  #firstV4: string | undefined;
  #firstV6: string | undefined;

  /** Specs added. */
  get count(): number {
    return this.#count;
  }

  /** The first spec that named an IPv4 or IPv6 address, for messages. */
  first(family: 4 | 6): string | undefined {
    return family === 4 ? this.#firstV4 : this.#firstV6;
  }

  /**
   * Add one spec.
   *
   * @throws {SyntaxError | RangeError} as {@link parseTargetSpec}.
   */
  add(spec: string): void {
    // Plain dotted quads skip the general parser: -iL lists run to millions of lines.
    const quad = plainIpv4(spec);
    this.#count++;
    if (quad !== -1) {
      this.#firstV4 ??= spec;
      this.#push4(quad, quad);
      return;
    }
    const parsed = parseTargetSpec(spec);
    if (parsed.kind === "hostname") {
      this.#names.push(parsed);
      return;
    }
    for (const range of parsed.ranges) this.addRange(range, spec);
  }

  /** Add a range (a resolved name's block, say); `spec` names it in messages. */
  addRange(range: AddressRange, spec: string): void {
    if (range.family === 4) {
      this.#firstV4 ??= spec;
      this.#push4(Number(range.start), Number(range.end));
      return;
    }
    this.#firstV6 ??= spec;
    this.#v6.push({ family: 6, start: range.start, end: range.end });
    if (this.#v6.length - this.#v6Merged >= Math.max(BUFFER, this.#v6Merged)) {
      this.#v6 = mergeIpv6(this.#v6);
      this.#v6Merged = this.#v6.length;
    }
  }

  /** The names to resolve, in the order given. */
  names(): readonly NameSpec[] {
    return this.#names;
  }

  /** Every IPv4 address added so far, merged. */
  ipv4(): Ipv4Ranges {
    this.#merge4();
    return this.#merged;
  }

  /** Every IPv6 range added so far, merged. */
  ipv6(): AddressRange[] {
    this.#v6 = mergeIpv6(this.#v6);
    this.#v6Merged = this.#v6.length;
    return this.#v6;
  }

  #push4(start: number, end: number): void {
    if (this.#pending === this.#starts.length && this.#starts.length < BUFFER) {
      const starts = new Float64Array(Math.min(BUFFER, this.#starts.length * 2));
      const ends = new Float64Array(starts.length);
      starts.set(this.#starts);
      ends.set(this.#ends);
      this.#starts = starts;
      this.#ends = ends;
    } else if (this.#pending === this.#starts.length) {
      this.#merge4();
      // The buffer grows with the merged ranges: merging stays O(n log n) overall.
      const size = Math.max(BUFFER, this.#merged.starts.length);
      if (size > this.#starts.length) {
        this.#starts = new Float64Array(size);
        this.#ends = new Float64Array(size);
      }
    }
    this.#starts[this.#pending] = start;
    this.#ends[this.#pending] = end;
    this.#pending++;
  }

  #merge4(): void {
    if (this.#pending === 0) return;
    const known = this.#merged.starts.length;
    const starts = new Float64Array(known + this.#pending);
    const ends = new Float64Array(known + this.#pending);
    starts.set(this.#merged.starts);
    ends.set(this.#merged.ends);
    starts.set(this.#starts.subarray(0, this.#pending), known);
    ends.set(this.#ends.subarray(0, this.#pending), known);
    this.#pending = 0;
    this.#merged = mergeIpv4(starts, ends);
  }
}
