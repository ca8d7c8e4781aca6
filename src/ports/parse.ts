/**
 * Port lists in nmap's `-p` syntax, and the compact form nmap prints them in.
 *
 * @module
 */

import type { Protocol } from "../model/mod.ts";

/** Ports per transport protocol, each list sorted ascending without duplicates. */
export interface PortSpec {
  tcp: number[];
  udp: number[];
}

/** Options of {@link parsePorts}. */
export interface ParsePortsOptions {
  /**
   * Protocols that items without a `T:`/`U:` prefix belong to. Defaults to
   * both, as in nmap, where the scan types then decide which list is used.
   */
  protocols?: readonly Protocol[];
}

/** Highest valid port number. */
export const MAX_PORT = 65535;

const DECIMAL = /^\d+$/;

/**
 * Parses a port list in nmap's `-p` syntax: `22,80,1000-2000`, `-` for
 * 1-65535, open-ended ranges `-1024` and `60000-`, and protocol prefixes
 * `U:53,111,T:21-25` that apply until the next prefix. Port 0 is only
 * included when named explicitly. Service names are not supported.
 *
 * @example
 * ```ts
 * import { parsePorts } from "./parse.ts";
 * parsePorts("U:53,T:21-23,80"); // { tcp: [21, 22, 23, 80], udp: [53] }
 * ```
 *
 * @throws {SyntaxError} on malformed items, SCTP prefixes or an empty list.
 * @throws {RangeError} on values above 65535 or reversed ranges.
 */
export function parsePorts(spec: string, options: ParsePortsOptions = {}): PortSpec {
  const unprefixed = options.protocols ?? ["tcp", "udp"];
  const seen: Record<Protocol, [number, number][]> = { tcp: [], udp: [] };
  let current: readonly Protocol[] = unprefixed;
  let items = 0;
  for (const raw of spec.split(",")) {
    let item = raw.trim();
    const prefix = /^([A-Za-z]):/.exec(item);
    if (prefix !== null) {
      current = prefixProtocols(prefix[1]!, item);
      item = item.slice(2).trim();
    }
    if (item === "") continue;
    const [low, high] = parseItem(item);
    for (const protocol of current) seen[protocol].push([low, high]);
    items++;
  }
  if (items === 0) throw new SyntaxError(`Cannot parse ports "${spec}": the list is empty`);
  return { tcp: collect(seen.tcp), udp: collect(seen.udp) };
}

function prefixProtocols(letter: string, item: string): readonly Protocol[] {
  switch (letter.toUpperCase()) {
    case "T":
      return ["tcp"];
    case "U":
      return ["udp"];
    case "S":
      throw new SyntaxError(`Cannot parse port "${item}": SCTP ports are not supported`);
    case "P":
      throw new SyntaxError(`Cannot parse port "${item}": IP protocol scans are not supported`);
    default:
      throw new SyntaxError(`Cannot parse port "${item}": unknown protocol prefix "${letter}:"`);
  }
}

/** One item (`80`, `1-1024`, `-1024`, `60000-`, `-`) as an inclusive [low, high]. */
function parseItem(item: string): [number, number] {
  const dash = item.indexOf("-");
  if (dash < 0) {
    if (!DECIMAL.test(item)) throw new SyntaxError(`Cannot parse port "${item}": not a number`);
    const port = checkBound(item, item);
    return [port, port];
  }
  if (item.indexOf("-", dash + 1) >= 0) {
    throw new SyntaxError(`Cannot parse port range "${item}": expected one "-" between two ports`);
  }
  const startText = item.slice(0, dash).trim();
  const endText = item.slice(dash + 1).trim();
  const low = startText === "" ? 1 : parseBound(item, startText);
  const high = endText === "" ? MAX_PORT : parseBound(item, endText);
  if (high < low) {
    throw new RangeError(`Cannot parse port range "${item}": range end is below its start`);
  }
  return [low, high];
}

function parseBound(item: string, text: string): number {
  if (!DECIMAL.test(text)) {
    throw new SyntaxError(`Cannot parse port range "${item}": "${text}" is not a number`);
  }
  return checkBound(item, text);
}

function checkBound(item: string, text: string): number {
  const value = Number(text);
  if (value > MAX_PORT) {
    throw new RangeError(`Cannot parse port range "${item}": value must be <= ${MAX_PORT}`);
  }
  return value;
}

/** The ports of some (possibly overlapping) inclusive ranges, ascending and unique. */
function collect(ranges: [number, number][]): number[] {
  ranges.sort((a, b) => a[0] - b[0]);
  const ports: number[] = [];
  let next = 0;
  for (const [low, high] of ranges) {
    for (let port = Math.max(low, next); port <= high; port++) ports.push(port);
    next = Math.max(next, high + 1);
  }
  return ports;
}

/**
 * Removes the ports of `exclude` from `spec`, protocol by protocol
 * (`--exclude-ports`).
 *
 * @example
 * ```ts
 * import { excludePorts, parsePorts } from "./parse.ts";
 * excludePorts(parsePorts("T:20-25"), parsePorts("22")); // { tcp: [20, 21, 23, 24, 25], udp: [] }
 * ```
 */
export function excludePorts(spec: PortSpec, exclude: PortSpec): PortSpec {
  return { tcp: without(spec.tcp, exclude.tcp), udp: without(spec.udp, exclude.udp) };
}

function without(ports: readonly number[], removed: readonly number[]): number[] {
  if (removed.length === 0) return [...ports];
  const drop = new Set(removed);
  return ports.filter((port) => !drop.has(port));
}

/**
 * Formats ports in nmap's compact form, merging runs of consecutive ports:
 * `[1, 2, 3, 8080]` → `"1-3,8080"`. The input need not be sorted or unique.
 */
export function formatPortRanges(ports: readonly number[]): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i]!;
    parts.push(start === end ? `${start}` : `${start}-${end}`);
    i++;
  }
  return parts.join(",");
}
