/**
 * Accumulates port and host verdicts into a {@link ScanReport}.
 *
 * Memory grows with the interesting results only: open ports are always kept,
 * every other state is kept port by port only while a host has few ports in
 * that state, and is otherwise reduced to counts per reason (nmap's "Not
 * shown: 995 closed tcp ports"). Counted ports are remembered as ranges per
 * reason (nmap's `<extrareasons ports=…>`), in bounded memory.
 *
 * @module
 */

import type { HostResult, HostState, PortResult, PortState } from "../engine/types.ts";
import type { Family } from "../targets/types.ts";
import type { ExtraPorts, HostReport, ScanInfo, ScanReport } from "./report.ts";

/** What the report says about the scan itself. */
export interface ReportInfo {
  version: string;
  args: string[];
  scaninfo: ScanInfo[];
  start: Date;
}

/** Options of {@link createReportBuilder}. */
export interface ReportBuilderOptions {
  /**
   * A host's closed ports are listed one by one while there are at most this
   * many of them, and only counted beyond. Default 25, as nmap. Every other
   * state is always listed (the JSON schema promises it).
   */
  closedListLimit?: number;
  /** `--open`: count every port that is not open or open|filtered. */
  openOnly?: boolean;
  /** Keep hosts found down in the report (verbose); otherwise they are only counted. */
  includeDown?: boolean;
}

/** Per-call options of {@link ReportBuilder.addPort} and {@link ReportBuilder.addHost}. */
export interface AddOptions {
  /**
   * Ordering key of the host, see {@link hostSortKey}. Computed from the
   * address text when absent.
   */
  sortKey?: bigint;
  /** Names of the host, merged into those already known. */
  hostnames?: readonly string[];
}

/** Counters the engine knows and the builder does not. */
export interface FinishStats {
  probes: number;
  retries: number;
  /** Hosts scanned; defaults to the number of hosts the builder saw. */
  hostsTotal?: number;
  /** Hosts found down; defaults to the hosts reported down through `addHost`. */
  hostsDown?: number;
  /** Packets the raw receiver lost for want of buffer (raw scans only). */
  receiverDrops?: number;
}

/** Builds the report of one scan. */
export interface ReportBuilder {
  /** Record a host verdict (host discovery, or a summary after its ports). */
  addHost(host: HostResult, options?: AddOptions): void;
  /** Record a port's final verdict. */
  addPort(result: PortResult, options?: AddOptions): void;
  /** Count ports given only as a summary (restoring an interrupted scan's report). */
  addExtra(address: string, extra: ExtraPorts, options?: AddOptions): void;
  /** The report so far, with `end` empty: what the "start" event carries. */
  snapshot(): ScanReport;
  /** The complete report. */
  finish(stats: FinishStats, end: Date): ScanReport;
}

interface StateBucket {
  count: number;
  reasons: Map<string, number>;
  /** The ports themselves, or null once the state is only counted. */
  listed: PortResult[] | null;
  /**
   * Once only counted: the ports of each reason as ranges (nmap's
   * `<extrareasons ports=…>`), null for a reason whose ports are not known.
   */
  ranges: Map<string, PortRanges | null>;
}

/** Ranges kept per reason as a list at most; beyond, a bitmap of every port. */
const MAX_RANGES = 1024;

/**
 * Bitmaps (8 KB each) a report keeps at most: a port scan met in random
 * order fragments into many ranges before they join up (-p- of one host
 * needs one). Beyond, a reason's ports are only counted.
 */
const MAX_BITMAPS = 2048;

/**
 * Ports of one protocol: sorted, disjoint, non-adjacent [first, last] pairs,
 * flat; or, once they were too many, one bit per port.
 */
interface PortRanges {
  protocol: PortResult["protocol"];
  bounds: number[];
  bits?: Uint8Array;
}

/** Add a port; false when that would need more than {@link MAX_RANGES} ranges. */
function addToRanges(ranges: PortRanges, port: number): boolean {
  const bounds = ranges.bounds;
  // The first range whose end is >= port - 1.
  let low = 0;
  let high = bounds.length / 2;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (bounds[mid * 2 + 1]! < port - 1) low = mid + 1;
    else high = mid;
  }
  const at = low * 2;
  if (at < bounds.length && bounds[at]! <= port + 1) {
    if (port >= bounds[at]! && port <= bounds[at + 1]!) return true;
    if (port === bounds[at]! - 1) bounds[at] = port;
    else bounds[at + 1] = port;
    // Two ranges that now touch become one.
    if (at + 2 < bounds.length && bounds[at + 1]! + 1 >= bounds[at + 2]!) {
      bounds.splice(at + 1, 2);
    }
    return true;
  }
  if (bounds.length / 2 >= MAX_RANGES) return false;
  bounds.splice(at, 0, port, port);
  return true;
}

/** Note a counted port in its reason's ranges; `budget` counts the bitmaps still allowed. */
function countPort(bucket: StateBucket, port: PortResult, budget: { bitmaps: number }): void {
  const known = bucket.ranges.get(port.reason);
  if (known === null) return;
  if (known === undefined) {
    bucket.ranges.set(port.reason, { protocol: port.protocol, bounds: [port.port, port.port] });
    return;
  }
  if (known.protocol !== port.protocol) return void bucket.ranges.set(port.reason, null);
  if (known.bits !== undefined) return setBit(known.bits, port.port);
  if (addToRanges(known, port.port)) return;
  if (budget.bitmaps <= 0) return void bucket.ranges.set(port.reason, null);
  budget.bitmaps--;
  const bits = new Uint8Array(65536 / 8);
  for (let i = 0; i < known.bounds.length; i += 2) {
    for (let p = known.bounds[i]!; p <= known.bounds[i + 1]!; p++) setBit(bits, p);
  }
  setBit(bits, port.port);
  known.bits = bits;
  known.bounds = [];
}

function setBit(bits: Uint8Array, port: number): void {
  bits[port >> 3] = bits[port >> 3]! | (1 << (port & 7));
}

function rangesText(ranges: PortRanges): string {
  const parts: string[] = [];
  const add = (first: number, last: number): void => {
    parts.push(first === last ? `${first}` : `${first}-${last}`);
  };
  const bits = ranges.bits;
  if (bits === undefined) {
    for (let i = 0; i < ranges.bounds.length; i += 2) add(ranges.bounds[i]!, ranges.bounds[i + 1]!);
    return parts.join(",");
  }
  let first = -1;
  for (let port = 0; port <= 65536; port++) {
    const set = port < 65536 && (bits[port >> 3]! & (1 << (port & 7))) !== 0;
    if (set && first < 0) first = port;
    if (!set && first >= 0) {
      add(first, port - 1);
      first = -1;
    }
  }
  return parts.join(",");
}

interface HostEntry {
  address: string;
  sortKey: bigint | undefined;
  hostnames: string[];
  /** Verdict from `addHost`, if any other than "unknown". */
  verdict: { state: HostState; reason: string } | undefined;
  /** What discovery learned of the host beyond its verdict. */
  found: Pick<HostResult, "reasonTtl" | "rtt" | "mac">;
  /** Reason of the first port that answered, if any did. */
  answer: string | undefined;
  states: Map<PortState, StateBucket>;
}

/** Reasons that mean nothing came back from the host. */
const SILENT_REASONS: ReadonlySet<string> = new Set([
  "",
  "no-response",
  "timeout",
  "host-timeout",
]);

const IPV6_OFFSET = 1n << 32n;

/**
 * Ordering key of a host: IPv4 numerically, then IPv6 numerically.
 *
 * @example
 * ```ts
 * import { hostSortKey } from "./report_builder.ts";
 * hostSortKey({ family: 4, value: 0xc6336402n }); // 3325256706n
 * ```
 */
export function hostSortKey(host: { family: Family; value: bigint }): bigint {
  return host.family === 4 ? host.value : IPV6_OFFSET + host.value;
}

/** {@link hostSortKey} from an address text; undefined when it is not an IP address. */
export function addressSortKey(address: string): bigint | undefined {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(address);
  return v6 === undefined ? undefined : IPV6_OFFSET + v6;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  const zone = text.indexOf("%");
  const bare = zone === -1 ? text : text.slice(0, zone);
  const halves = bare.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (half === undefined || half === "") return [];
    const out: number[] = [];
    const items = half.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i] ?? "";
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const group of [...head, ...new Array<number>(missing).fill(0), ...tail]) {
    value = (value << 16n) | BigInt(group);
  }
  return value;
}

function compareHosts(a: HostEntry, b: HostEntry): number {
  if (a.sortKey !== undefined && b.sortKey !== undefined) {
    return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0;
  }
  // Names that are not addresses go last, by text.
  if (a.sortKey !== undefined) return -1;
  if (b.sortKey !== undefined) return 1;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

function comparePorts(a: PortResult, b: PortResult): number {
  if (a.protocol !== b.protocol) return a.protocol === "tcp" ? -1 : 1;
  return a.port - b.port;
}

/**
 * Start the report of a scan.
 *
 * @example
 * ```ts
 * import { createReportBuilder } from "./report_builder.ts";
 * const builder = createReportBuilder({
 *   version: "0.1.0",
 *   args: ["198.51.100.2"],
 *   scaninfo: [{ type: "connect", protocol: "tcp", numServices: 1, services: "22" }],
 *   start: new Date(),
 * });
 * builder.addPort({ address: "198.51.100.2", protocol: "tcp", port: 22, state: "open", reason: "syn-ack" });
 * const report = builder.finish({ probes: 1, retries: 0 }, new Date());
 * ```
 */
export function createReportBuilder(
  info: ReportInfo,
  options: ReportBuilderOptions = {},
): ReportBuilder {
  const limit = options.closedListLimit ?? 25;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`Cannot use closed list limit "${limit}": value must be an integer >= 0`);
  }
  const openOnly = options.openOnly ?? false;
  const includeDown = options.includeDown ?? false;
  const hosts = new Map<string, HostEntry>();
  const budget = { bitmaps: MAX_BITMAPS };

  function entry(address: string, add: AddOptions | undefined): HostEntry {
    let host = hosts.get(address);
    if (host === undefined) {
      host = {
        address,
        sortKey: add?.sortKey ?? addressSortKey(address),
        hostnames: [],
        verdict: undefined,
        found: {},
        answer: undefined,
        states: new Map(),
      };
      hosts.set(address, host);
    } else if (add?.sortKey !== undefined) {
      host.sortKey = add.sortKey;
    }
    for (const name of add?.hostnames ?? []) {
      if (!host.hostnames.includes(name)) host.hostnames.push(name);
    }
    return host;
  }

  function listable(state: PortState): boolean {
    return !openOnly || state === "open" || state === "open|filtered";
  }

  function stateOf(host: HostEntry): { state: HostState; reason: string } {
    if (host.verdict?.state === "up") return host.verdict;
    if (host.answer !== undefined) return { state: "up", reason: host.answer };
    return host.verdict ?? { state: "unknown", reason: "no-response" };
  }

  function hostReport(host: HostEntry, verdict: { state: HostState; reason: string }): HostReport {
    const ports: PortResult[] = [];
    const extraports: ExtraPorts[] = [];
    for (const [state, bucket] of host.states) {
      if (bucket.listed !== null) {
        ports.push(...bucket.listed);
        continue;
      }
      const reasons = [...bucket.reasons]
        .map(([reason, count]) => {
          const ranges = bucket.ranges.get(reason);
          return ranges
            ? { reason, count, protocol: ranges.protocol, ports: rangesText(ranges) }
            : {
              reason,
              count,
            };
        })
        .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
      extraports.push({ state, count: bucket.count, reasons });
    }
    ports.sort(comparePorts);
    extraports.sort((a, b) => b.count - a.count || (a.state < b.state ? -1 : 1));
    return {
      address: host.address,
      hostnames: [...host.hostnames],
      state: verdict.state,
      reason: verdict.reason,
      // The answer's TTL and time belong to the verdict they came with; the MAC to the host.
      ...(verdict === host.verdict
        ? host.found
        : host.found.mac !== undefined
        ? { mac: host.found.mac }
        : {}),
      ports,
      extraports,
    };
  }

  function build(end: string, stats: FinishStats, seconds: number): ScanReport {
    const reports: HostReport[] = [];
    let up = 0;
    let down = 0;
    for (const host of [...hosts.values()].sort(compareHosts)) {
      const verdict = stateOf(host);
      if (verdict.state === "up") up++;
      if (verdict.state === "down") {
        down++;
        if (!includeDown) continue;
      }
      reports.push(hostReport(host, verdict));
    }
    return {
      scanner: "portolan",
      version: info.version,
      args: [...info.args],
      start: info.start.toISOString(),
      end,
      scaninfo: info.scaninfo.map((item) => ({ ...item })),
      hosts: reports,
      stats: {
        probes: stats.probes,
        retries: stats.retries,
        seconds,
        hostsUp: up,
        hostsDown: stats.hostsDown ?? down,
        hostsTotal: stats.hostsTotal ?? hosts.size,
        ...(stats.receiverDrops !== undefined ? { receiverDrops: stats.receiverDrops } : {}),
      },
    };
  }

  return {
    addHost(result: HostResult, add?: AddOptions): void {
      const host = entry(result.address, {
        ...add,
        hostnames: [...result.hostnames, ...(add?.hostnames ?? [])],
      });
      if (result.state !== "unknown") {
        host.verdict = { state: result.state, reason: result.reason };
        host.found = {
          ...(result.reasonTtl !== undefined ? { reasonTtl: result.reasonTtl } : {}),
          ...(result.rtt !== undefined ? { rtt: result.rtt } : {}),
          ...(result.mac !== undefined ? { mac: result.mac } : {}),
        };
      } else if (result.mac !== undefined) {
        host.found = { ...host.found, mac: result.mac };
      }
    },

    addPort(result: PortResult, add?: AddOptions): void {
      const host = entry(result.address, add);
      if (
        host.answer === undefined &&
        (result.state === "open" || result.state === "closed" || !SILENT_REASONS.has(result.reason))
      ) {
        host.answer = result.reason;
      }
      let bucket = host.states.get(result.state);
      if (bucket === undefined) {
        bucket = {
          count: 0,
          reasons: new Map(),
          listed: listable(result.state) ? [] : null,
          ranges: new Map(),
        };
        host.states.set(result.state, bucket);
      }
      bucket.count++;
      bucket.reasons.set(result.reason, (bucket.reasons.get(result.reason) ?? 0) + 1);
      if (bucket.listed === null) return countPort(bucket, result, budget);
      // The schema lists every port that is not closed; only closed ports are summarised.
      if (result.state === "closed" && bucket.count > limit) {
        for (const port of bucket.listed) countPort(bucket, port, budget);
        bucket.listed = null;
        return countPort(bucket, result, budget);
      }
      bucket.listed.push(result);
    },

    addExtra(address: string, extra: ExtraPorts, add?: AddOptions): void {
      const host = entry(address, add);
      let bucket = host.states.get(extra.state);
      if (bucket === undefined) {
        bucket = { count: 0, reasons: new Map(), listed: null, ranges: new Map() };
        host.states.set(extra.state, bucket);
      }
      // Once a state is summarised anywhere, it is only counted.
      bucket.listed = null;
      bucket.count += extra.count;
      for (const { reason, count } of extra.reasons) {
        bucket.reasons.set(reason, (bucket.reasons.get(reason) ?? 0) + count);
        // Which ports these were is not known here.
        bucket.ranges.set(reason, null);
        if (host.answer === undefined && !SILENT_REASONS.has(reason)) host.answer = reason;
      }
    },

    snapshot(): ScanReport {
      return build("", { probes: 0, retries: 0 }, 0);
    },

    finish(stats: FinishStats, end: Date): ScanReport {
      const seconds = Math.max(0, end.getTime() - info.start.getTime()) / 1000;
      return build(end.toISOString(), stats, seconds);
    },
  };
}
