/**
 * Accumulates port and host verdicts into a {@link ScanReport}.
 *
 * Memory grows with the interesting results only: open ports are always kept,
 * closed ports are kept port by port only while a host has few of them, and
 * are otherwise reduced to counts per reason (nmap's "Not shown: 995 closed
 * tcp ports"); counted ports are named as ranges per reason (nmap's
 * `<extrareasons ports=…>`), in bounded memory.
 *
 * Given the scanned ports ({@link ReportBuilderOptions.scanned}), the builder
 * is bounded by what answered: a port that went unanswered (filtered or
 * open|filtered, with a silent reason) is only counted, globally, so a host
 * that never answered costs nothing; a host's silent ports are derived when
 * the report is built, as the scanned ports it has no other verdict for, and
 * its counted closed ports are named from the same bits. An answering host
 * is then a row of {@link CompactHosts} (≈ 170 B with one open port, that
 * port's verdict included) until it needs more than a row holds, and the
 * report is built host by host from the rows.
 *
 * @module
 */

import type {
  ExtraPorts,
  HostReport,
  HostResult,
  HostState,
  PortResult,
  PortState,
  Protocol,
  ScanInfo,
  ScanReport,
} from "../model/mod.ts";
import { comparePorts, isSilent, SILENT_REASONS } from "../model/mod.ts";
import { plainIpv4 } from "../targets/parse.ts";
import { addressSortKey, hostSortKey } from "../targets/sort_key.ts";
import type { Host } from "../targets/types.ts";
import {
  CompactHosts,
  type HostEntry,
  type PortRanges,
  Reasons,
  type StateBucket,
} from "./host_table.ts";

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
  /**
   * The ports scanned on every host, per protocol. Given, unanswered ports
   * are not kept (see the module doc); absent, every verdict is kept.
   */
  scanned?: ScannedPorts;
  /**
   * With {@link scanned}: derive each answering host's silent ports at the
   * end (default true). A shard (`--shard`) probes only part of a host's
   * ports and cannot tell which are silent: it passes false, reports only
   * what answered, and `portolan merge` derives the rest.
   */
  deriveSilent?: boolean;
}

/** Ports scanned per protocol, ascending. */
export interface ScannedPorts {
  tcp?: readonly number[];
  udp?: readonly number[];
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
  /**
   * Hosts found down; defaults to the hosts reported down through `addHost`,
   * or, with `unansweredDown`, to every host that answered nothing.
   */
  hostsDown?: number;
  /**
   * Discovery was folded into the port scan: a host that answered no probe
   * counts as down (or filtered), as it would have after discovery.
   */
  unansweredDown?: boolean;
  /** Packets the raw receiver lost for want of buffer (raw scans only). */
  receiverDrops?: number;
  /** The most probes sent in any one-second window, over the scan's phases. */
  sendRate?: number;
}

/** Builds the report of one scan. */
export interface ReportBuilder {
  /** Record a host verdict (host discovery, or a summary after its ports). */
  addHost(host: HostResult, options?: AddOptions): void;
  /** Record a port's final verdict. */
  addPort(result: PortResult, options?: AddOptions): void;
  /**
   * Record a port's final verdict with the target it was sent to: the same
   * as {@link addPort} with the host's sort key and name, worked out only
   * when the builder first meets the host.
   */
  addPortOf(result: PortResult, host: Host | undefined): void;
  /** Count ports given only as a summary (restoring an interrupted scan's report). */
  addExtra(address: string, extra: ExtraPorts, options?: AddOptions): void;
  /** The report so far, with `end` empty: what the "start" event carries. */
  snapshot(): ScanReport;
  /**
   * The complete report. `partial`: the scan was interrupted, so ports not
   * heard from may never have been probed and are not derived as silent.
   */
  finish(stats: FinishStats, end: Date, options?: { partial?: boolean }): ScanReport;
}

/** Ranges kept per reason as a list at most; beyond, a bitmap of every port. */
const MAX_RANGES = 1024;

/**
 * Bitmaps (8 KB each) a report keeps at most: a port scan met in random
 * order fragments into many ranges before they join up (-p- of one host
 * needs one). Beyond, a reason's ports are only counted.
 */
const MAX_BITMAPS = 2048;

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

/** Port numbers, ascending, as nmap writes them: "1-21,23,25-79". */
function portsText(ports: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ports.length;) {
    let j = i;
    while (j + 1 < ports.length && ports[j + 1] === ports[j]! + 1) j++;
    parts.push(i === j ? `${ports[i]}` : `${ports[i]}-${ports[j]}`);
    i = j + 1;
  }
  return parts.join(",");
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

const NO_NAMES: string[] = [];

/** A host's silent ports are listed while at most this many, counted beyond. */
const SILENT_LIST_LIMIT = 1000;

/**
 * A bounded report lists closed and silent ports (from their bits) only
 * while it would list at most this many of them in all: beyond, every host
 * gives them as counts, so a large scan's report grows with its findings
 * (open ports, answers), not with its probes.
 */
const DERIVED_LIST_BUDGET = 10_000;

/** A host of the report being built: a {@link HostEntry}, or a row of {@link CompactHosts}. */
interface HostRef {
  key: bigint | number | undefined;
  address: string;
  id: number;
  host: HostEntry | undefined;
}

function compareHosts(a: HostRef, b: HostRef): number {
  if (a.key !== undefined && b.key !== undefined) return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  // Names that are not addresses go last, by text.
  if (a.key !== undefined) return -1;
  if (b.key !== undefined) return 1;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** Port number -> index in `ports`, -1 where absent. */
function portIndex(ports: readonly number[] | undefined): Int32Array | undefined {
  if (ports === undefined) return undefined;
  const index = new Int32Array(65536).fill(-1);
  ports.forEach((port, i) => {
    if (port >= 0 && port < 65536) index[port] = i;
  });
  return index;
}

/** The state and reason an unanswered port of `protocol` gets when none was seen. */
const DEFAULT_SILENT: Record<"tcp" | "udp", { state: PortState; reason: string }> = {
  tcp: { state: "filtered", reason: "no-response" },
  udp: { state: "open|filtered", reason: "no-response" },
};

/** What a report builder holds: its options, and what it has recorded so far. */
interface BuilderState {
  readonly info: ReportInfo;
  /** Closed ports listed per host at most; see {@link ReportBuilderOptions.closedListLimit}. */
  readonly limit: number;
  readonly openOnly: boolean;
  readonly includeDown: boolean;
  readonly scanned: ScannedPorts | undefined;
  readonly deriveSilent: boolean;
  /** Hosts kept as entries; in bounded mode, those that did not fit {@link compact}. */
  readonly hosts: Map<string, HostEntry>;
  /** Bounded mode: answering hosts as dense rows while they fit. */
  readonly compact: CompactHosts | undefined;
  /** Bounded mode: unanswered verdicts per protocol, by "state\nreason". */
  readonly silent: { tcp: Map<string, number>; udp: Map<string, number> };
  /** The last key counted in {@link silent}, per protocol: no string is built per verdict. */
  readonly lastSilent: Record<
    "tcp" | "udp",
    { state: string; reason: string; key: string } | undefined
  >;
  /** Port number -> index in the scanned list, per protocol (-1: not scanned). */
  readonly indexOf: { tcp: Int32Array | undefined; udp: Int32Array | undefined };
  /** Bitmaps still allowed for ranges of counted ports where no bits name them. */
  readonly budget: { bitmaps: number };
  /** Whether this build lists closed and silent ports; see DERIVED_LIST_BUDGET. */
  listDerived: boolean;
  /** This build's closed-port summaries, shared between hosts; see {@link sharedExtra}. */
  shared: Map<string, ExtraPorts>;
}

function hear(b: BuilderState, host: HostEntry, result: PortResult): void {
  const index = b.indexOf[result.protocol]?.[result.port] ?? -1;
  if (index < 0) return;
  const all = b.scanned?.[result.protocol];
  const count = all?.length ?? 0;
  const bits = host.heard[result.protocol] ??
    (count <= 31 ? 0 : new Uint8Array((count + 7) >> 3));
  if (typeof bits === "number") host.heard[result.protocol] = bits | (1 << index);
  else {
    bits[index >> 3]! |= 1 << (index & 7);
    host.heard[result.protocol] = bits;
  }
}

/** How many closed and silent ports a build would list, at most. */
function derivedListing(b: BuilderState): number {
  let total = 0;
  for (const host of b.hosts.values()) {
    const closed = host.states.get("closed");
    if (closed !== undefined && closed.listed === null && closed.count <= b.limit) {
      total += closed.count;
    }
    for (const protocol of ["tcp", "udp"] as const) {
      const unheard = (b.scanned?.[protocol]?.length ?? 0) - host.answered[protocol];
      if (unheard > 0 && unheard <= SILENT_LIST_LIMIT) total += unheard;
    }
  }
  for (const { id } of b.compact?.rows() ?? []) {
    const counts = b.compact!.counts(id);
    if (counts.closed <= b.limit) total += counts.closed;
    for (const protocol of ["tcp", "udp"] as const) {
      const unheard = (b.scanned?.[protocol]?.length ?? 0) - counts[protocol];
      if (unheard > 0 && unheard <= SILENT_LIST_LIMIT) total += unheard;
    }
  }
  return total;
}

function heardAt(host: HostEntry, protocol: "tcp" | "udp", index: number): boolean {
  const bits = host.heard[protocol];
  if (bits === undefined) return false;
  if (typeof bits === "number") return (bits & (1 << index)) !== 0;
  return (bits[index >> 3]! & (1 << (index & 7))) !== 0;
}
function entry(b: BuilderState, address: string, add: AddOptions | undefined): HostEntry {
  let host = b.hosts.get(address);
  const ip = host === undefined && b.compact !== undefined ? plainIpv4(address) : -1;
  const row = ip < 0 ? -1 : b.compact!.id(ip);
  if (row >= 0) {
    // A compact host that needs more than its row: a HostEntry from now on.
    host = b.compact!.take(row);
    b.hosts.set(address, host);
  }
  if (host === undefined) {
    host = {
      address,
      sortKey: add?.sortKey ?? addressSortKey(address),
      hostnames: NO_NAMES,
      verdict: undefined,
      found: {},
      answer: undefined,
      states: new Map(),
      answered: { tcp: 0, udp: 0 },
      heard: {},
      inexact: false,
    };
    b.hosts.set(address, host);
  } else if (add?.sortKey !== undefined) {
    host.sortKey = add.sortKey;
  }
  for (const name of add?.hostnames ?? []) {
    if (!host.hostnames.includes(name)) host.hostnames = [...host.hostnames, name];
  }
  return host;
}

function listable(b: BuilderState, state: PortState): boolean {
  return !b.openOnly || state === "open" || state === "open|filtered";
}

function stateOf(host: HostEntry): { state: HostState; reason: string } {
  if (host.verdict?.state === "up") return host.verdict;
  if (host.answer !== undefined) return { state: "up", reason: host.answer };
  return host.verdict ?? { state: "unknown", reason: "no-response" };
}

/** A host's ports as the report gives them: listed, and counted. */
interface HostLists {
  ports: PortResult[];
  extraports: ExtraPorts[];
}

/** The report of one host; `derive`: its silent ports are derived (a complete scan). */
function hostReport(
  b: BuilderState,
  host: HostEntry,
  how: { verdict: { state: HostState; reason: string }; derive: boolean },
): HostReport {
  const { verdict, derive } = how;
  const ports: PortResult[] = [];
  const extraports: ExtraPorts[] = [];
  const lists: HostLists = { ports, extraports };
  for (const [state, bucket] of host.states) {
    if (bucket.listed !== null) {
      ports.push(...bucket.listed);
      continue;
    }
    if (
      state === "closed" && b.scanned !== undefined &&
      listClosed(b, host, lists)
    ) {
      continue;
    }
    const reasons = bucket.reasons.entries()
      .map(([reason, count]) => {
        const ranges = bucket.ranges.get(reason);
        return ranges ? { reason, count, protocol: ranges.protocol, ports: rangesText(ranges) } : {
          reason,
          count,
        };
      })
      .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
    extraports.push({ state, count: bucket.count, reasons });
  }
  if (b.scanned !== undefined && derive) addSilent(b, host, lists);
  if (b.scanned !== undefined && !derive && b.deriveSilent) listCounted(b, host, lists);
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
    // Exact-size copies: lists grown by push keep room for 17 items, and a report holds every host.
    ports: ports.slice(),
    extraports: extraports.slice(),
  };
}

/** Distinct summaries a build shares between hosts at most. */
const SHARED_EXTRAS = 1024;

/**
 * The same closed-port summary as an earlier host's, if any: a sweep's
 * hosts mostly have the same one, and the report holds every host. Nothing
 * changes a summary once built (outputs only read the report).
 */
function sharedExtra(b: BuilderState, extra: ExtraPorts): ExtraPorts {
  const [only] = extra.reasons;
  if (only === undefined || extra.reasons.length !== 1) return extra;
  const key = `${extra.state}\n${extra.count}\n${only.reason}\n${only.protocol}\n${only.ports}`;
  const known = b.shared.get(key);
  if (known !== undefined) return known;
  if (b.shared.size < SHARED_EXTRAS) b.shared.set(key, extra);
  return extra;
}

/** The unanswered state and reason of `protocol`: the commonest seen, else the default. */
function silentOf(b: BuilderState, protocol: "tcp" | "udp"): { state: PortState; reason: string } {
  let best: { key: string; count: number } | undefined;
  for (const [key, count] of b.silent[protocol]) {
    if (best === undefined || count > best.count || (count === best.count && key < best.key)) {
      best = { key, count };
    }
  }
  if (best === undefined) return DEFAULT_SILENT[protocol];
  const [state, reason] = best.key.split("\n") as [PortState, string];
  return { state, reason };
}

/**
 * A host's silent ports, derived: the scanned ports that did not answer.
 * Listed while few enough (and listable), counted otherwise.
 */
function addSilent(b: BuilderState, host: HostEntry, lists: HostLists): void {
  const { ports, extraports } = lists;
  for (const protocol of ["tcp", "udp"] as const) {
    const all = b.scanned?.[protocol];
    if (all === undefined) continue;
    const count = all.length - host.answered[protocol];
    if (count <= 0) continue;
    const { state, reason } = silentOf(b, protocol);
    if (b.listDerived && listable(b, state) && count <= SILENT_LIST_LIMIT && !host.inexact) {
      for (let index = 0; index < all.length; index++) {
        if (heardAt(host, protocol, index)) continue;
        ports.push({ address: host.address, protocol, port: all[index]!, state, reason });
      }
      continue;
    }
    let extra = extraports.find((item) => item.state === state);
    if (extra === undefined) {
      extra = { state, count: 0, reasons: [] };
      extraports.push(extra);
    }
    extra.count += count;
    const known = extra.reasons.find((item) => item.reason === reason);
    if (known === undefined) {
      // The silent ports by name (nmap's <extrareasons ports=…>), where the bits are exact.
      const silentPorts: number[] = [];
      if (!host.inexact) {
        for (let index = 0; index < all.length; index++) {
          if (!heardAt(host, protocol, index)) silentPorts.push(all[index]!);
        }
      }
      extra.reasons.push(
        silentPorts.length === count
          ? { reason, count, protocol, ports: portsText(silentPorts) }
          : { reason, count },
      );
    } else known.count += count;
    extra.reasons.sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
  }
}

/**
 * A bounded host's closed ports, from its bits, when they are of one reason:
 * the ports that answered and are not otherwise listed (closed is the only
 * listable state kept as bits). Listed while at most `limit`, else counted
 * with their ranges in `extraports`. False when the bits cannot name them.
 */
function listClosed(b: BuilderState, host: HostEntry, lists: HostLists): boolean {
  const { ports, extraports } = lists;
  const bucket = host.states.get("closed");
  if (bucket === undefined) return false;
  const only = bucket.reasons.only();
  if (only === undefined || host.inexact) return false;
  // Listed ports by number, UDP's above TCP's: a sweep's host has one or two.
  let listed: number[] | undefined;
  for (const other of host.states.values()) {
    for (const port of other.listed ?? []) {
      (listed ??= []).push(port.port + (port.protocol === "udp" ? 65536 : 0));
    }
  }
  const many = listed !== undefined && listed.length > 8 ? new Set(listed) : undefined;
  // Port numbers, not port objects: a -p- of one host has 65,000 closed ports to count here,
  // and an object each was the largest thing a connect scan's heap ever held.
  const found = { tcp: [] as number[], udp: [] as number[] };
  for (const protocol of ["tcp", "udp"] as const) {
    const all = b.scanned?.[protocol];
    if (all === undefined) continue;
    const above = protocol === "udp" ? 65536 : 0;
    for (let index = 0; index < all.length; index++) {
      if (!heardAt(host, protocol, index)) continue;
      const port = all[index]!;
      if (listed !== undefined) {
        const key = port + above;
        if (many !== undefined ? many.has(key) : listed.includes(key)) continue;
      }
      found[protocol].push(port);
    }
  }
  if (found.tcp.length + found.udp.length !== bucket.count) return false;
  if (b.listDerived && bucket.count <= b.limit && listable(b, "closed")) {
    for (const protocol of ["tcp", "udp"] as const) {
      for (const port of found[protocol]) {
        ports.push({ address: host.address, protocol, port, state: "closed", reason: only });
      }
    }
    return true;
  }
  const protocol: Protocol | undefined = found.udp.length === 0
    ? "tcp"
    : found.tcp.length === 0
    ? "udp"
    : undefined;
  const reason = protocol !== undefined && bucket.count > 0
    ? { reason: only, count: bucket.count, protocol, ports: portsText(found[protocol]) }
    : { reason: only, count: bucket.count };
  extraports.push(sharedExtra(b, { state: "closed", count: bucket.count, reasons: [reason] }));
  return true;
}

/**
 * An interrupted scan's report lists the ports it counted, when they are
 * of one state and reason and known by their bits, so that a resumed run
 * (which reads this report back) still knows which ports answered.
 */
function listCounted(b: BuilderState, host: HostEntry, lists: HostLists): void {
  const { ports, extraports } = lists;
  const protocols = (["tcp", "udp"] as const).filter((p) => b.scanned?.[p] !== undefined);
  const [extra] = extraports;
  const protocol = protocols[0];
  if (protocols.length !== 1 || protocol === undefined || host.inexact) return;
  if (extraports.length !== 1 || extra === undefined || extra.reasons.length !== 1) return;
  const reason = extra.reasons[0]!.reason;
  const listed = new Set(ports.map((port) => port.port));
  const all = b.scanned?.[protocol] ?? [];
  for (let index = 0; index < all.length; index++) {
    const port = all[index]!;
    if (!heardAt(host, protocol, index) || listed.has(port)) continue;
    ports.push({ address: host.address, protocol, port, state: extra.state, reason });
  }
  extraports.length = 0;
}

/** An unanswered verdict, bounded mode: only counted, per protocol, state and reason. */
function countSilent(b: BuilderState, result: PortResult): void {
  const counts = b.silent[result.protocol];
  // The last key is almost always the one: no string is built per verdict.
  const last = b.lastSilent[result.protocol];
  if (last !== undefined && last.state === result.state && last.reason === result.reason) {
    counts.set(last.key, (counts.get(last.key) ?? 0) + 1);
    return;
  }
  const key = `${result.state}\n${result.reason}`;
  b.lastSilent[result.protocol] = { state: result.state, reason: result.reason, key };
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * An answering verdict of a compact host (a new one made so): one map
 * lookup and no allocation for a closed port. False when the host cannot
 * stay compact; nothing is changed then.
 */
function quick(b: BuilderState, result: PortResult, from: Host | AddOptions | undefined): boolean {
  const table = b.compact!;
  const target = from !== undefined && "family" in from ? from : undefined;
  const add = target === undefined ? from as AddOptions | undefined : undefined;
  // Rows are IPv4 hosts only, found by the address's number (the target's, when the engine gave it).
  const ip = target === undefined
    ? plainIpv4(result.address)
    : target.family === 4
    ? Number(target.value)
    : -1;
  if (ip < 0) return false;
  let id: number | undefined = table.id(ip);
  if (id < 0) {
    if (b.hosts.has(result.address) || target?.hostname !== undefined) return false;
    if ((add?.hostnames?.length ?? 0) > 0) return false;
    const key = target !== undefined
      ? hostSortKey(target)
      : add?.sortKey ?? addressSortKey(result.address);
    id = key === undefined ? undefined : table.create(result.address, ip, key);
    if (id === undefined) return false;
  } else if (target?.hostname !== undefined || (add?.hostnames?.length ?? 0) > 0) {
    return false;
  } else if (add?.sortKey !== undefined && !table.rekey(id, add.sortKey)) {
    return false;
  }
  return table.add(id, result, listable(b, result.state));
}

/** A verdict kept in a {@link HostEntry}. */
function slowPort(b: BuilderState, result: PortResult, add: AddOptions | undefined): void {
  const host = entry(b, result.address, add);
  if (b.scanned !== undefined) {
    host.answered[result.protocol]++;
    hear(b, host, result);
  }
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
      reasons: new Reasons(),
      listed: listable(b, result.state) ? [] : null,
      ranges: new Map(),
    };
    host.states.set(result.state, bucket);
  }
  bucket.count++;
  bucket.reasons.add(result.reason, 1);
  if (bucket.listed === null) {
    // Bounded, the bits name the port when the report is built.
    if (b.scanned === undefined) countPort(bucket, result, b.budget);
    return;
  }
  // Bounded: a closed port is a bit and a count; listed again, when few, from the bits.
  if (b.scanned !== undefined && result.state === "closed" && result.service === undefined) {
    bucket.listed = null;
    return;
  }
  // The schema lists every port that is not closed; only closed ports are summarised.
  if (result.state === "closed" && bucket.count > b.limit) {
    for (const port of bucket.listed) countPort(bucket, port, b.budget);
    bucket.listed = null;
    return countPort(bucket, result, b.budget);
  }
  bucket.listed.push(result);
}

/** Every host, in report order; compact ones by their row, made into entries one at a time. */
function hostOrder(b: BuilderState): HostRef[] {
  const order: HostRef[] = [];
  for (const host of b.hosts.values()) {
    order.push({ key: host.sortKey, address: host.address, id: -1, host });
  }
  for (const { id, address, key } of b.compact?.rows() ?? []) {
    order.push({ key, address, id, host: undefined });
  }
  return order.sort(compareHosts);
}

/** The report; `derive`: silent ports are derived (see {@link hostReport}). */
function build(
  b: BuilderState,
  how: { end: string; stats: FinishStats; seconds: number; derive: boolean },
): ScanReport {
  const { end, stats, seconds, derive } = how;
  const reports: HostReport[] = [];
  let up = 0;
  let down = 0;
  b.listDerived = b.scanned === undefined || derivedListing(b) <= DERIVED_LIST_BUDGET;
  b.shared.clear();
  for (const item of hostOrder(b)) {
    const host = item.host ?? b.compact!.entry(item.id);
    const verdict = stateOf(host);
    if (verdict.state === "up") up++;
    if (verdict.state === "down") {
      down++;
      if (!b.includeDown) continue;
    }
    reports.push(hostReport(b, host, { verdict, derive }));
  }
  b.shared.clear();
  return {
    scanner: "portolan",
    version: b.info.version,
    args: [...b.info.args],
    start: b.info.start.toISOString(),
    end,
    scaninfo: b.info.scaninfo.map((item) => ({ ...item })),
    hosts: reports,
    stats: {
      probes: stats.probes,
      retries: stats.retries,
      seconds,
      hostsUp: up,
      hostsDown: stats.hostsDown ??
        (stats.unansweredDown === true && stats.hostsTotal !== undefined
          ? Math.max(down, stats.hostsTotal - up)
          : down),
      hostsTotal: stats.hostsTotal ?? b.hosts.size + (b.compact?.size ?? 0),
      ...(stats.receiverDrops !== undefined ? { receiverDrops: stats.receiverDrops } : {}),
      ...(stats.sendRate !== undefined ? { sendRate: stats.sendRate } : {}),
    },
  };
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
  const scanned = options.scanned;
  const indexOf = { tcp: portIndex(scanned?.tcp), udp: portIndex(scanned?.udp) };
  const b: BuilderState = {
    info,
    limit,
    openOnly: options.openOnly ?? false,
    includeDown: options.includeDown ?? false,
    scanned,
    deriveSilent: options.deriveSilent ?? true,
    hosts: new Map(),
    compact: scanned === undefined ? undefined : new CompactHosts({
      count: { tcp: scanned.tcp?.length ?? 0, udp: scanned.udp?.length ?? 0 },
      indexOf,
    }),
    silent: { tcp: new Map(), udp: new Map() },
    lastSilent: { tcp: undefined, udp: undefined },
    indexOf,
    budget: { bitmaps: MAX_BITMAPS },
    listDerived: true,
    shared: new Map(),
  };

  return {
    addHost(result: HostResult, add?: AddOptions): void {
      const host = entry(b, result.address, {
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
      if (b.scanned !== undefined) {
        if (isSilent(result)) return countSilent(b, result);
        if (quick(b, result, add)) return;
      }
      slowPort(b, result, add);
    },

    addPortOf(result: PortResult, target: Host | undefined): void {
      if (b.scanned !== undefined) {
        if (isSilent(result)) return countSilent(b, result);
        if (quick(b, result, target)) return;
      }
      slowPort(
        b,
        result,
        target === undefined ? undefined : {
          sortKey: hostSortKey(target),
          hostnames: target.hostname === undefined ? [] : [target.hostname],
        },
      );
    },

    addExtra(address: string, extra: ExtraPorts, add?: AddOptions): void {
      const unanswered = extra.reasons.length > 0 &&
        extra.reasons.every((r) => isSilent({ state: extra.state, reason: r.reason }));
      if (b.scanned !== undefined && unanswered) {
        // Derived again when the report is built.
        return;
      }
      const host = entry(b, address, add);
      // Counted ports carry no protocol: they belong to the scan's first one.
      host.answered[b.scanned?.tcp !== undefined ? "tcp" : "udp"] += extra.count;
      if (b.scanned !== undefined) host.inexact = true;
      let bucket = host.states.get(extra.state);
      if (bucket === undefined) {
        bucket = { count: 0, reasons: new Reasons(), listed: null, ranges: new Map() };
        host.states.set(extra.state, bucket);
      }
      // Once a state is summarised anywhere, it is only counted.
      bucket.listed = null;
      bucket.count += extra.count;
      for (const { reason, count } of extra.reasons) {
        bucket.reasons.add(reason, count);
        // Which ports these were is not known here.
        bucket.ranges.set(reason, null);
        if (host.answer === undefined && !SILENT_REASONS.has(reason)) host.answer = reason;
      }
    },

    snapshot(): ScanReport {
      return build(b, { end: "", stats: { probes: 0, retries: 0 }, seconds: 0, derive: false });
    },

    finish(stats: FinishStats, end: Date, finishOptions?: { partial?: boolean }): ScanReport {
      const seconds = Math.max(0, end.getTime() - b.info.start.getTime()) / 1000;
      const derive = b.deriveSilent && finishOptions?.partial !== true;
      return build(b, { end: end.toISOString(), stats, seconds, derive });
    },
  };
}
