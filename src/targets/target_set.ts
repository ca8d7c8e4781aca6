/**
 * The target set: specs and exclusions merged into sorted, disjoint ranges
 * (IPv4 before IPv6) with O(log ranges) random access. Memory grows with the
 * number of ranges, never with the number of hosts; IPv4 ranges live in typed
 * arrays so that a million-line -iL list stays compact and quick to sort.
 *
 * @module
 */

import { type Ipv4Ranges, mergeIpv4, mergeIpv6, SpecCollector } from "./collect.ts";
import { formatIpv4, formatIpv6 } from "./ip.ts";
import { type AddressRange, prefixBlock } from "./parse.ts";
import { type HostsTable, loadHostsFile, resolveHostname } from "./resolve.ts";
import type { Family, Host, TargetSet } from "./types.ts";

function subtractIpv4(keep: Ipv4Ranges, cut: Ipv4Ranges): Ipv4Ranges {
  if (cut.starts.length === 0) return keep;
  const outStarts: number[] = [];
  const outEnds: number[] = [];
  let first = 0;
  for (let i = 0; i < keep.starts.length; i++) {
    const start = keep.starts[i]!;
    const end = keep.ends[i]!;
    while (first < cut.starts.length && cut.ends[first]! < start) first++;
    let next = start;
    for (let k = first; k < cut.starts.length && cut.starts[k]! <= end; k++) {
      if (cut.starts[k]! > next) {
        outStarts.push(next);
        outEnds.push(cut.starts[k]! - 1);
      }
      next = Math.max(next, cut.ends[k]! + 1);
      if (next > end) break;
    }
    if (next <= end) {
      outStarts.push(next);
      outEnds.push(end);
    }
  }
  return { starts: Float64Array.from(outStarts), ends: Float64Array.from(outEnds) };
}

function subtractIpv6(keep: AddressRange[], cut: AddressRange[]): AddressRange[] {
  if (cut.length === 0) return keep;
  const out: AddressRange[] = [];
  let first = 0;
  for (const { start, end } of keep) {
    while (first < cut.length && cut[first]!.end < start) first++;
    let next = start;
    for (let k = first; k < cut.length && cut[k]!.start <= end; k++) {
      if (cut[k]!.start > next) out.push({ family: 6, start: next, end: cut[k]!.start - 1n });
      if (cut[k]!.end + 1n > next) next = cut[k]!.end + 1n;
      if (next > end) break;
    }
    if (next <= end) out.push({ family: 6, start: next, end });
  }
  return out;
}

/** Split by family; IPv4 bounds become numbers. */
function byFamily(
  ranges: readonly AddressRange[],
  extra?: { starts: ArrayLike<number>; ends: ArrayLike<number> },
): { v4: Ipv4Ranges; v6: AddressRange[] } {
  const known = extra?.starts.length ?? 0;
  let count = known;
  for (const range of ranges) if (range.family === 4) count++;
  const starts = new Float64Array(count);
  const ends = new Float64Array(count);
  if (extra !== undefined) {
    starts.set(extra.starts);
    ends.set(extra.ends);
  }
  let k = known;
  const v6: AddressRange[] = [];
  for (const range of ranges) {
    if (range.family === 4) {
      starts[k] = Number(range.start);
      ends[k] = Number(range.end);
      k++;
    } else {
      v6.push(range);
    }
  }
  return { v4: mergeIpv4(starts, ends), v6: mergeIpv6(v6) };
}

function toRanges(v4: Ipv4Ranges, v6: readonly AddressRange[]): AddressRange[] {
  const out: AddressRange[] = [];
  for (let i = 0; i < v4.starts.length; i++) {
    out.push({ family: 4, start: BigInt(v4.starts[i]!), end: BigInt(v4.ends[i]!) });
  }
  for (const range of v6) out.push({ ...range });
  return out;
}

/** Sort ranges (IPv4 first) and merge overlapping or adjacent ones. Does not modify the input. */
export function normalizeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const { v4, v6 } = byFamily(ranges);
  return toRanges(v4, v6);
}

/** Remove every address in `exclude` from `ranges`; both are normalised first. */
export function subtractRanges(
  ranges: readonly AddressRange[],
  exclude: readonly AddressRange[],
): AddressRange[] {
  const keep = byFamily(ranges);
  const cut = byFamily(exclude);
  return toRanges(subtractIpv4(keep.v4, cut.v4), subtractIpv6(keep.v6, cut.v6));
}

/** Options of {@link createTargetSet}. */
export interface CreateTargetSetOptions {
  /** Ranges to leave out. */
  exclude?: readonly AddressRange[];
  /** Names to attach to single addresses (the first name given for an address wins). */
  hostnames?: readonly { family: Family; value: bigint; hostname: string }[];
  /** More IPv4 ranges as 32-bit numbers: a compact form for long lists. */
  ipv4?: { starts: ArrayLike<number>; ends: ArrayLike<number> };
  /** More IPv4 ranges to leave out, in the same form. */
  excludeIpv4?: { starts: ArrayLike<number>; ends: ArrayLike<number> };
}

/** A {@link TargetSet} over normalised ranges. */
export class RangeTargetSet implements TargetSet {
  readonly size: bigint;
  /** Disjoint ascending IPv4 ranges; treat as read-only. */
  readonly ipv4: Readonly<Ipv4Ranges>;
  /** Disjoint ascending IPv6 ranges. */
  readonly ipv6: readonly AddressRange[];
  /** Index of each IPv4 range's first host. */
  readonly #offsets4: Float64Array;
  readonly #size4: number;
  /** {@link #size4} as a bigint, so a lookup allocates none to compare. */
  readonly #size4n: bigint;
  /** Index of each IPv6 range's first host. */
  readonly #offsets6: bigint[];
  readonly #names4 = new Map<number, string>();
  readonly #names6 = new Map<bigint, string>();

  constructor(ranges: readonly AddressRange[], options: CreateTargetSetOptions = {}) {
    const keep = byFamily(ranges, options.ipv4);
    const cut = byFamily(options.exclude ?? [], options.excludeIpv4);
    this.ipv4 = subtractIpv4(keep.v4, cut.v4);
    this.ipv6 = subtractIpv6(keep.v6, cut.v6);
    const count = this.ipv4.starts.length;
    this.#offsets4 = new Float64Array(count);
    let size4 = 0;
    for (let i = 0; i < count; i++) {
      this.#offsets4[i] = size4;
      size4 += this.ipv4.ends[i]! - this.ipv4.starts[i]! + 1;
    }
    this.#size4 = size4;
    this.#size4n = BigInt(size4);
    let size = BigInt(size4);
    this.#offsets6 = this.ipv6.map((range) => {
      const offset = size;
      size += range.end - range.start + 1n;
      return offset;
    });
    this.size = size;
    for (const { family, value, hostname } of options.hostnames ?? []) {
      if (family === 4) {
        if (!this.#names4.has(Number(value))) this.#names4.set(Number(value), hostname);
      } else if (!this.#names6.has(value)) {
        this.#names6.set(value, hostname);
      }
    }
  }

  /** The ranges, IPv4 first, as fresh objects (costs O(ranges)). */
  get ranges(): AddressRange[] {
    return toRanges(this.ipv4, this.ipv6);
  }

  /** Whether any host carries a name (lets fast paths skip lookups). */
  get hasHostnames(): boolean {
    return this.#names4.size > 0 || this.#names6.size > 0;
  }

  /** The name the user gave for an address, if it came from a hostname. */
  hostnameOf(family: Family, value: bigint): string | undefined {
    return family === 4 ? this.#names4.get(Number(value)) : this.#names6.get(value);
  }

  /**
   * The host at `index`, by binary search over the ranges.
   *
   * @throws {RangeError} when `index` is not in [0, size).
   */
  at(index: bigint): Host {
    if (index < 0n || index >= this.size) {
      throw new RangeError(`Target index ${index} is out of range: the set has ${this.size} hosts`);
    }
    if (index < this.#size4n) {
      const position = Number(index);
      const offsets = this.#offsets4;
      let low = 0;
      let high = offsets.length - 1;
      while (low < high) {
        const middle = (low + high + 1) >>> 1;
        if (offsets[middle]! <= position) low = middle;
        else high = middle - 1;
      }
      return this.#host4(this.ipv4.starts[low]! + position - offsets[low]!);
    }
    const offsets = this.#offsets6;
    let low = 0;
    let high = offsets.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (offsets[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return this.#host6(this.ipv6[low]!.start + (index - offsets[low]!));
  }

  /** All hosts in ascending order, produced lazily. */
  *hosts(): Generator<Host> {
    const { starts, ends } = this.ipv4;
    for (let i = 0; i < starts.length; i++) {
      const end = ends[i]!;
      for (let n = starts[i]!; n <= end; n++) yield this.#host4(n);
    }
    for (const range of this.ipv6) {
      for (let value = range.start; value <= range.end; value++) yield this.#host6(value);
    }
  }

  #host4(n: number): Host {
    const host: Host = { family: 4, value: BigInt(n), address: formatIpv4(n) };
    const name = this.#names4.size > 0 ? this.#names4.get(n) : undefined;
    if (name !== undefined) host.hostname = name;
    return host;
  }

  #host6(value: bigint): Host {
    const host: Host = { family: 6, value, address: formatIpv6(value) };
    const name = this.#names6.size > 0 ? this.#names6.get(value) : undefined;
    if (name !== undefined) host.hostname = name;
    return host;
  }
}

/** Build a target set from numeric ranges, without any parsing or resolution. */
export function createTargetSet(
  ranges: readonly AddressRange[],
  options: CreateTargetSetOptions = {},
): RangeTargetSet {
  return new RangeTargetSet(ranges, options);
}

/**
 * Split a `--exclude` argument into specs. The rule is simple: split on every
 * comma and require each piece to be a full spec, so an octet list such as
 * `10.0.0,2.1` must be written as separate specs (`10.0.0.1,10.0.2.1`) or as
 * ranges there. Empty pieces (a trailing comma) are ignored.
 */
export function splitExcludeList(argument: string): string[] {
  return argument.split(",").map((piece) => piece.trim()).filter((piece) => piece !== "");
}

/** Options of {@link buildTargetSet}. */
export interface BuildTargetSetOptions {
  /** Specs to leave out, in the same syntax (see {@link splitExcludeList} for `--exclude`). */
  exclude?: readonly string[];
  /** Resolve hostnames (default true); when false a hostname spec is an error. */
  resolve?: boolean;
  /** Family to resolve names to; "any" (default) prefers IPv4. */
  family?: Family | "any";
  /** Scan every address of a name instead of only the first, as nmap does. Default false. */
  allAddresses?: boolean;
  /** Hosts file; `null` skips it. Default "/etc/hosts". */
  hostsFile?: string | null;
  /** Query DNS (default true); false limits resolution to localhost and the hosts file. */
  dns?: boolean;
  /** Called for a name that does not resolve, which is then skipped; without it the build throws. */
  onUnresolved?: (name: string, error: Error) => void;
}

/** Resolve names a few at a time so a long -iL list does not flood the resolver. */
const RESOLVE_CONCURRENCY = 8;

/**
 * Parse target and exclusion specs, resolve hostnames and build the set.
 * A name's address that is also given numerically appears once, with the name.
 * Excluding a name excludes every address it resolves to.
 *
 * @throws {SyntaxError | RangeError} a bad spec; {Error} a name that does not resolve.
 */
export async function buildTargetSet(
  specs: readonly string[],
  options: BuildTargetSetOptions = {},
): Promise<RangeTargetSet> {
  const targets = new SpecCollector();
  for (const spec of specs) targets.add(spec);
  const exclude = new SpecCollector();
  for (const spec of options.exclude ?? []) exclude.add(spec);
  return await buildCollectedTargetSet(targets, { ...options, exclude });
}

/**
 * {@link buildTargetSet} of specs already gathered (a long -iL list read
 * into a {@link SpecCollector} as it streams): resolve names and build the
 * set. The collectors are used up.
 *
 * @throws {RangeError} an address of the family -4/-6 left out; {Error} a name that does not resolve.
 */
export async function buildCollectedTargetSet(
  targets: SpecCollector,
  options: Omit<BuildTargetSetOptions, "exclude"> & { exclude?: SpecCollector } = {},
): Promise<RangeTargetSet> {
  const exclude = options.exclude ?? new SpecCollector();
  // -4 / -6 hold for addresses given as such, not only for names.
  for (const family of [4, 6] as const) {
    const first = targets.first(family);
    if (options.family === (family === 4 ? 6 : 4) && first !== undefined) {
      throw new RangeError(
        `Cannot scan an IPv${family} target with -${family === 4 ? 6 : 4} (the first is ${first})`,
      );
    }
  }
  const named = [...targets.names(), ...exclude.names()];
  const resolved = await resolveNames(named.map((spec) => spec.hostname), options);
  const hostnames: { family: Family; value: bigint; hostname: string }[] = [];
  for (const spec of targets.names()) {
    const found = resolved.get(spec.hostname) ?? [];
    for (const host of options.allAddresses ? found : found.slice(0, 1)) {
      targets.addRange(prefixBlock(host, spec), spec.text);
      if (host.hostname !== undefined) {
        hostnames.push({ family: host.family, value: host.value, hostname: host.hostname });
      }
    }
  }
  for (const spec of exclude.names()) {
    for (const host of resolved.get(spec.hostname) ?? []) {
      exclude.addRange(prefixBlock(host, spec), spec.text);
    }
  }
  return new RangeTargetSet(targets.ipv6(), {
    ipv4: targets.ipv4(),
    exclude: exclude.ipv6(),
    excludeIpv4: exclude.ipv4(),
    hostnames,
  });
}

/** Resolve each name once, a few at a time; a name that does not resolve maps to undefined. */
async function resolveNames(
  all: readonly string[],
  options: Omit<BuildTargetSetOptions, "exclude">,
): Promise<Map<string, Host[] | undefined>> {
  const resolved = new Map<string, Host[] | undefined>();
  if (all.length === 0) return resolved;
  if (options.resolve === false) {
    throw new Error(`Cannot use hostname "${all[0]}": name resolution is disabled`);
  }
  const hosts: HostsTable = options.hostsFile === null
    ? new Map()
    : await loadHostsFile(options.hostsFile ?? undefined);
  const names = [...new Set(all)];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        resolved.set(
          name,
          await resolveHostname(name, {
            family: options.family ?? "any",
            hosts,
            dns: options.dns ?? true,
          }),
        );
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        if (!options.onUnresolved) throw failure;
        options.onUnresolved(name, failure);
        resolved.set(name, undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RESOLVE_CONCURRENCY, names.length) }, worker));
  return resolved;
}
