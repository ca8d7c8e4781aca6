/**
 * nmap's `--top-ports`: the most frequently open ports, by the ranking in
 * {@link ./top_ports_data.ts}.
 *
 * @module
 */

import type { Protocol } from "../model/mod.ts";
import { TCP_BY_FREQUENCY, UDP_BY_FREQUENCY } from "./top_ports_data.ts";

/** Ports scanned by `-F` (fast mode), as in nmap. */
export const FAST_SCAN_PORT_COUNT = 100;

/** Ports scanned when no port option is given, as in nmap. */
export const DEFAULT_PORT_COUNT = 1000;

/** How many ports of `protocol` the ranking holds; larger counts are clamped to it. */
export function topPortsAvailable(protocol: Protocol): number {
  return ranking(protocol).length;
}

/**
 * The `count` most frequently open ports of `protocol`, sorted ascending.
 * Counts beyond the ranking's length are clamped, as nmap clamps them.
 *
 * @example
 * ```ts
 * import { topPorts } from "./top_ports.ts";
 * topPorts(3, "tcp"); // [23, 80, 443]
 * ```
 *
 * @throws {RangeError} when `count` is not a positive integer.
 */
export function topPorts(count: number, protocol: Protocol): number[] {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`Cannot use --top-ports ${count}: value must be a positive integer`);
  }
  return ranking(protocol).slice(0, count).sort((a, b) => a - b);
}

function ranking(protocol: Protocol): readonly number[] {
  return protocol === "tcp" ? TCP_BY_FREQUENCY : UDP_BY_FREQUENCY;
}
