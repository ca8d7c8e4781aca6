/**
 * Target specifications as nmap accepts them: addresses, CIDR blocks, octet
 * ranges, dash ranges and hostnames, parsed into numeric ranges.
 *
 * @module
 */

import { type AddressProblem, scanIpv4, scanIpv6, scanOctet } from "./ip.ts";
import type { Family } from "./types.ts";

/** An inclusive range of addresses of one family. */
export interface AddressRange {
  family: Family;
  /** First address. */
  start: bigint;
  /** Last address (inclusive). */
  end: bigint;
}

/** A parsed target specification. */
export type TargetSpec =
  | {
    kind: "ranges";
    /** The spec as given. */
    text: string;
    /** Addresses the spec stands for, ascending, non-overlapping. */
    ranges: AddressRange[];
  }
  | {
    kind: "hostname";
    /** The spec as given. */
    text: string;
    /** The name to resolve. */
    hostname: string;
    /** `name/24`: scan the block around the resolved address. */
    prefixLength?: number;
  };

/**
 * Upper bound on the separate ranges one octet-range spec may expand to:
 * `*.*.*.1` would be 16M ranges, which is not worth its memory.
 */
export const MAX_OCTET_RANGES = 65536;

const IPV4_SHAPE = /^[0-9.*,-]+$/;
const LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const ALL_DIGITS = /^[0-9]+$/;

function syntaxError(spec: string, reason: string): SyntaxError {
  return new SyntaxError(`Cannot parse target "${spec}": ${reason}`);
}

function rangeError(spec: string, reason: string): RangeError {
  return new RangeError(`Cannot parse target "${spec}": ${reason}`);
}

function fail(spec: string, problem: AddressProblem): never {
  throw problem.toError("target", spec);
}

/**
 * Whether `name` is an RFC 1123 hostname: dot-separated labels of letters,
 * digits and inner hyphens, at most 253 characters, optional trailing dot.
 * An all-numeric last label is refused so that a bad dotted quad is never
 * taken for a name.
 */
export function isHostname(name: string): boolean {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  if (bare === "" || bare.length > 253) return false;
  const labels = bare.split(".");
  if (!labels.every((label) => LABEL.test(label))) return false;
  return !ALL_DIGITS.test(labels[labels.length - 1]!);
}

/** Mask a value to its prefix block. */
function block(family: Family, value: bigint, prefixLength: number): AddressRange {
  const bits = family === 4 ? 32n : 128n;
  const hostBits = bits - BigInt(prefixLength);
  const size = 1n << hostBits;
  const start = (value >> hostBits) << hostBits;
  return { family, start, end: start + size - 1n };
}

/** Parse the text after "/" for a family; throws on anything but 0..max. */
function parsePrefix(spec: string, text: string, family: Family): number {
  const max = family === 4 ? 32 : 128;
  if (!ALL_DIGITS.test(text)) throw syntaxError(spec, `prefix length "${text}" is not a number`);
  const value = Number(text);
  if (value > max) throw rangeError(spec, `prefix length ${text} is > ${max}`);
  return value;
}

/** Parse a single IPv4 or IPv6 address, throwing with the spec as subject. */
function address(spec: string, text: string, family: Family): bigint {
  if (family === 4) {
    const v4 = scanIpv4(text);
    return typeof v4 === "number" ? BigInt(v4) : fail(spec, v4);
  }
  const v6 = scanIpv6(text);
  return typeof v6 === "bigint" ? v6 : fail(spec, v6);
}

/** One octet of an octet-range spec as sorted, merged [low, high] pairs. */
function parseOctetList(spec: string, text: string): [number, number][] {
  if (text === "*") return [[0, 255]];
  const pairs: [number, number][] = [];
  for (const item of text.split(",")) {
    const dash = item.indexOf("-");
    let low: number;
    let high: number;
    if (dash === -1) {
      low = high = octet(spec, item);
    } else {
      // nmap's open ends: "-5" is 0-5 and "250-" is 250-255.
      const left = item.slice(0, dash);
      const right = item.slice(dash + 1);
      low = left === "" ? 0 : octet(spec, left);
      high = right === "" ? 255 : octet(spec, right);
      if (left === "" && right === "") throw syntaxError(spec, `octet range "${item}" is empty`);
      if (high < low) throw rangeError(spec, `octet range ${item} ends below its start`);
    }
    pairs.push([low, high]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const pair of pairs) {
    const last = merged[merged.length - 1];
    if (last && pair[0] <= last[1] + 1) last[1] = Math.max(last[1], pair[1]);
    else merged.push(pair);
  }
  return merged;
}

function octet(spec: string, text: string): number {
  if (text === "*") throw syntaxError(spec, "'*' must stand alone in its octet");
  const value = scanOctet(text);
  return typeof value === "number" ? value : fail(spec, value);
}

/** Expand `10.0.0-3.1-254` into ranges: trailing whole octets become one block each. */
function parseOctetRanges(spec: string): AddressRange[] {
  const parts = spec.split(".");
  if (parts.length !== 4) {
    throw syntaxError(spec, `expected 4 dot-separated octets, got ${parts.length}`);
  }
  const octets = parts.map((part) => parseOctetList(spec, part));
  // Octets after `last` are all 0-255, so each pair of octet `last` is one contiguous block.
  let last = 3;
  while (
    last > 0 && octets[last]!.length === 1 && octets[last]![0]![0] === 0 &&
    octets[last]![0]![1] === 255
  ) {
    last--;
  }
  let count = octets[last]!.length;
  for (let i = 0; i < last; i++) {
    count *= octets[i]!.reduce((sum, [low, high]) => sum + high - low + 1, 0);
  }
  if (count > MAX_OCTET_RANGES) {
    throw rangeError(
      spec,
      `expands to ${count} separate ranges, more than ${MAX_OCTET_RANGES}; use CIDR or dash ranges`,
    );
  }
  const shift = 8 * (3 - last);
  const span = 2 ** shift;
  const ranges: AddressRange[] = [];
  const walk = (index: number, prefix: number): void => {
    if (index === last) {
      for (const [low, high] of octets[last]!) {
        const start = (prefix * 256 + low) * span;
        const end = (prefix * 256 + high) * span + span - 1;
        ranges.push({ family: 4, start: BigInt(start), end: BigInt(end) });
      }
      return;
    }
    for (const [low, high] of octets[index]!) {
      for (let value = low; value <= high; value++) walk(index + 1, prefix * 256 + value);
    }
  };
  walk(0, 0);
  return ranges;
}

/** `a-b` where both ends are full addresses of `family`. */
function parseDashRange(spec: string, left: string, right: string, family: Family): AddressRange {
  const start = address(spec, left, family);
  const end = address(spec, right, family);
  if (end < start) throw rangeError(spec, "range end is below its start");
  return { family, start, end };
}

/**
 * The common case, a plain valid dotted quad, without regexes or splitting
 * (-iL lists run to millions of lines); -1 for anything else.
 */
export function plainIpv4(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + code - 48;
      if (++digits > 3 || octet > 255) return -1;
    } else if (code === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

/**
 * Parse one target specification.
 *
 * Accepted forms: an IPv4 or IPv6 address; CIDR (`10.0.0.0/8`,
 * `2001:db8::/120`, host bits are masked away); nmap octet ranges
 * (`10.0.0-3.1-254`, `192.168.1.*`, `10.0.0,2.1`, open ends `-5` / `250-`);
 * dash ranges of full addresses (`10.0.0.1-10.0.0.50`,
 * `2001:db8::1-2001:db8::ff`); a hostname, optionally with a prefix length
 * (`example.com/24`), which is returned for resolution.
 *
 * @throws {SyntaxError} malformed spec; {RangeError} a value out of range or a reversed range.
 */
export function parseTargetSpec(spec: string): TargetSpec {
  const quad = plainIpv4(spec);
  if (quad !== -1) {
    const value = BigInt(quad);
    return { kind: "ranges", text: spec, ranges: [{ family: 4, start: value, end: value }] };
  }
  if (spec === "") throw syntaxError(spec, "empty target");
  if (/\s/.test(spec)) throw syntaxError(spec, "not an address, range or hostname");

  const slash = spec.indexOf("/");
  const base = slash === -1 ? spec : spec.slice(0, slash);
  const prefixText = slash === -1 ? undefined : spec.slice(slash + 1);

  if (base.includes(":") || base.includes("%")) {
    if (prefixText !== undefined) {
      const prefixLength = parsePrefix(spec, prefixText, 6);
      return {
        kind: "ranges",
        text: spec,
        ranges: [block(6, address(spec, base, 6), prefixLength)],
      };
    }
    const dash = base.indexOf("-");
    if (dash !== -1) {
      const range = parseDashRange(spec, base.slice(0, dash), base.slice(dash + 1), 6);
      return { kind: "ranges", text: spec, ranges: [range] };
    }
    const value = address(spec, base, 6);
    return { kind: "ranges", text: spec, ranges: [{ family: 6, start: value, end: value }] };
  }

  if (IPV4_SHAPE.test(base)) {
    if (prefixText !== undefined) {
      if (/[*,-]/.test(base)) {
        throw syntaxError(spec, "a prefix length cannot follow an octet or dash range");
      }
      const prefixLength = parsePrefix(spec, prefixText, 4);
      return {
        kind: "ranges",
        text: spec,
        ranges: [block(4, address(spec, base, 4), prefixLength)],
      };
    }
    const halves = base.split("-");
    if (
      halves.length === 2 && halves[0]!.split(".").length === 4 &&
      halves[1]!.split(".").length === 4
    ) {
      return {
        kind: "ranges",
        text: spec,
        ranges: [parseDashRange(spec, halves[0]!, halves[1]!, 4)],
      };
    }
    return { kind: "ranges", text: spec, ranges: parseOctetRanges(spec) };
  }

  if (isHostname(base)) {
    if (prefixText === undefined) return { kind: "hostname", text: spec, hostname: base };
    // The family is unknown until resolution; check against the IPv6 bound now, IPv4 later.
    const prefixLength = parsePrefix(spec, prefixText, 6);
    return { kind: "hostname", text: spec, hostname: base, prefixLength };
  }
  throw syntaxError(spec, "not an address, range or hostname");
}

/**
 * The block around a resolved address for a `name/24` spec.
 *
 * @throws {RangeError} when the prefix is too long for the address family.
 */
export function prefixBlock(
  resolved: { family: Family; value: bigint },
  spec: { text: string; prefixLength?: number },
): AddressRange {
  const { family, value } = resolved;
  const prefixLength = spec.prefixLength ?? (family === 4 ? 32 : 128);
  if (family === 4 && prefixLength > 32) {
    throw rangeError(spec.text, `prefix length ${prefixLength} is > 32 for an IPv4 address`);
  }
  return block(family, value, prefixLength);
}
