/**
 * IPv4 and IPv6 addresses: parsing with precise error messages, and
 * canonical formatting (dotted quad, RFC 5952).
 *
 * @module
 */

import type { Family } from "./types.ts";

/** Why a text is not an address; `range` marks a well-formed but out-of-range value. */
export class AddressProblem {
  /** Human-readable reason, e.g. `octet 300 is > 255`. */
  readonly reason: string;
  /** True when the text is well-formed but a value is too large. */
  readonly range: boolean;

  constructor(reason: string, range = false) {
    this.reason = reason;
    this.range = range;
  }

  /** The error to throw for `text`, in the house style. */
  toError(subject: string, text: string): SyntaxError | RangeError {
    const message = `Cannot parse ${subject} "${text}": ${this.reason}`;
    return this.range ? new RangeError(message) : new SyntaxError(message);
  }
}

/** Largest IPv6 value plus one. */
const IPV6_LIMIT = 1n << 128n;
const DECIMAL = /^[0-9]+$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const HEX = /^[0-9a-fA-F]+$/;

/** Options of the throwing parsers. */
export interface ParseAddressOptions {
  /** What the error message calls the text: "address" by default, "target" for target specs. */
  subject?: string;
}

/**
 * Check one decimal octet; returns its value or the problem.
 * Leading zeros are refused because other tools read them as octal.
 */
export function scanOctet(text: string): number | AddressProblem {
  if (text === "") return new AddressProblem("empty octet");
  if (!DECIMAL.test(text)) return new AddressProblem(`octet "${text}" is not a decimal number`);
  if (text.length > 1 && text.charCodeAt(0) === 48) {
    return new AddressProblem(`octet "${text}" has a leading zero`);
  }
  const value = Number(text);
  if (value > 255) return new AddressProblem(`octet ${text} is > 255`, true);
  return value;
}

/** Parse a dotted quad; returns the 32-bit value or the problem. Never throws. */
export function scanIpv4(text: string): number | AddressProblem {
  const parts = text.split(".");
  if (parts.length !== 4) {
    return new AddressProblem(`expected 4 dot-separated octets, got ${parts.length}`);
  }
  let value = 0;
  for (const part of parts) {
    const octet = scanOctet(part);
    if (typeof octet !== "number") return octet;
    value = value * 256 + octet;
  }
  return value;
}

/** Parse one IPv6 hex group list into `out`; returns the problem or undefined. */
function scanGroups(groups: string[], out: number[], last: boolean): AddressProblem | undefined {
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (group.includes(".")) {
      if (!last || i !== groups.length - 1) {
        return new AddressProblem("an embedded IPv4 address must come last");
      }
      const v4 = scanIpv4(group);
      if (typeof v4 !== "number") {
        return new AddressProblem(`embedded IPv4 address: ${v4.reason}`, v4.range);
      }
      out.push(Math.floor(v4 / 65536), v4 & 0xffff);
    } else if (HEX_GROUP.test(group)) {
      out.push(parseInt(group, 16));
    } else if (group === "") {
      return new AddressProblem("empty group");
    } else if (HEX.test(group)) {
      return new AddressProblem(`group "${group}" has more than 4 hex digits`);
    } else {
      return new AddressProblem(`group "${group}" is not hexadecimal`);
    }
  }
  return undefined;
}

/** Parse an IPv6 address; returns the 128-bit value or the problem. Never throws. */
export function scanIpv6(text: string): bigint | AddressProblem {
  if (text === "") return new AddressProblem("empty address");
  if (text.includes("%")) return new AddressProblem("zone ids (%…) are not supported");
  if (!text.includes(":")) return new AddressProblem("not an IPv6 address (no ':')");
  if (text.includes(":::")) return new AddressProblem("':::' is not valid");
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) {
    return new AddressProblem("'::' may appear only once");
  }
  if (text.startsWith(":") && gap !== 0) {
    return new AddressProblem("cannot start with a single ':'");
  }
  if (text.endsWith(":") && gap !== text.length - 2) {
    return new AddressProblem("cannot end with a single ':'");
  }
  const head: number[] = [];
  const tail: number[] = [];
  if (gap === -1) {
    const problem = scanGroups(text.split(":"), head, true);
    if (problem) return problem;
    if (head.length !== 8) {
      return new AddressProblem(
        head.length > 8
          ? `has ${head.length} groups, at most 8`
          : `has ${head.length} groups, expected 8 (or '::')`,
      );
    }
  } else {
    const before = text.slice(0, gap);
    const after = text.slice(gap + 2);
    const problem = (before === "" ? undefined : scanGroups(before.split(":"), head, false)) ??
      (after === "" ? undefined : scanGroups(after.split(":"), tail, true));
    if (problem) return problem;
    const count = head.length + tail.length;
    if (count > 7) {
      return new AddressProblem(
        count > 8
          ? `has ${count} groups, at most 8`
          : "'::' must stand for at least one zero group but 8 groups are given",
      );
    }
    while (head.length + tail.length < 8) head.push(0);
    head.push(...tail);
  }
  let value = 0n;
  for (const group of head) value = (value << 16n) | BigInt(group);
  return value;
}

/**
 * Parse a dotted-quad IPv4 address.
 *
 * @throws {SyntaxError} malformed text; {RangeError} an octet above 255.
 */
export function parseIpv4(text: string, options: ParseAddressOptions = {}): number {
  const result = scanIpv4(text);
  if (typeof result === "number") return result;
  throw result.toError(options.subject ?? "address", text);
}

/**
 * Parse an IPv6 address (with optional trailing dotted quad). Zone ids are refused.
 *
 * @throws {SyntaxError} malformed text; {RangeError} an embedded octet above 255.
 */
export function parseIpv6(text: string, options: ParseAddressOptions = {}): bigint {
  const result = scanIpv6(text);
  if (typeof result === "bigint") return result;
  throw result.toError(options.subject ?? "address", text);
}

/**
 * Parse an address of either family; a ':' selects IPv6.
 *
 * @throws {SyntaxError | RangeError} when the text is not a valid address.
 */
export function parseIp(
  text: string,
  options: ParseAddressOptions = {},
): { family: Family; value: bigint } {
  if (text.includes(":")) return { family: 6, value: parseIpv6(text, options) };
  return { family: 4, value: BigInt(parseIpv4(text, options)) };
}

/** "0".."255" as strings, so formatting a dotted quad is four lookups. */
const OCTETS: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Format a 32-bit value as a dotted quad. */
export function formatIpv4(value: number): string {
  return OCTETS[(value >>> 24) & 255]! + "." + OCTETS[(value >>> 16) & 255]! + "." +
    OCTETS[(value >>> 8) & 255]! + "." + OCTETS[value & 255]!;
}

/**
 * Format a 128-bit value in RFC 5952 canonical form: lower case, no leading
 * zeros, the longest (first on a tie) run of two or more zero groups as "::",
 * and IPv4-mapped addresses as `::ffff:a.b.c.d`.
 *
 * @throws {RangeError} when the value is not in [0, 2^128).
 */
export function formatIpv6(value: bigint): string {
  if (value < 0n || value >= IPV6_LIMIT) {
    throw new RangeError(`Cannot format IPv6 address: value ${value} is out of range`);
  }
  const groups: number[] = new Array(8);
  for (let i = 0; i < 4; i++) {
    const word = Number((value >> BigInt(96 - 32 * i)) & 0xffffffffn);
    groups[2 * i] = word >>> 16;
    groups[2 * i + 1] = word & 0xffff;
  }
  if (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 &&
    groups[4] === 0 && groups[5] === 0xffff
  ) {
    return "::ffff:" + formatIpv4(Number(value & 0xffffffffn));
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups.slice(from, to).map((g) => g.toString(16)).join(":");
  if (bestStart === -1) return hex(0, 8);
  return hex(0, bestStart) + "::" + hex(bestStart + bestLength, 8);
}

/** Format an address of either family. */
export function formatIp(family: Family, value: bigint): string {
  return family === 4 ? formatIpv4(Number(value)) : formatIpv6(value);
}
