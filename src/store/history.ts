/**
 * Reading the history: the list of scans, and a scan back as a report.
 *
 * @module
 */

import {
  comparePorts,
  type ExtraPorts,
  type HostReport,
  isHostState,
  isPortState,
  isProtocol,
  type PortResult,
  type ScanInfo,
  type ScanReport,
  type ScanStats,
  serviceFromJson,
} from "../model/mod.ts";
import { addressSortKey } from "../targets/sort_key.ts";
import type { HistoryDb } from "./db.ts";

/** One line of `portolan history`. */
export interface ScanSummary {
  id: number;
  /** ISO-8601. */
  start: string;
  /** ISO-8601; empty when the scan never finished (still running, or crashed). */
  end: string;
  args: string[];
  targets: string;
  hostsUp: number;
  openPorts: number;
  /** Scan types, one per protocol scanned ("connect", "syn", "udp"…). */
  types: string[];
  /** Ports scanned, nmap's compact form; `T:`/`U:`… prefixes when more than one protocol. */
  ports: string;
  /** Ports scanned per host, all protocols. */
  portCount: number;
  /** Stopped by a signal, or never finished. */
  interrupted: boolean;
  /** `finishScan` was called. */
  finished: boolean;
}

/** A scan read back from the history: a report plus what the history knows of it. */
export interface StoredScan extends ScanReport {
  id: number;
  targets: string;
  interrupted: boolean;
  finished: boolean;
}

/** Options of {@link listScans}. */
export interface ListScansOptions {
  /** At most this many, newest first. Default: all. */
  limit?: number;
  /** Only scans of this target specification (compared as stored). */
  targets?: string;
}

type Row = Record<string, unknown>;

function str(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function json<T>(value: unknown, fallback: T): T {
  if (typeof value !== "string") return fallback;
  try {
    return JSON.parse(value) as T;
  } catch (error) {
    if (error instanceof SyntaxError) return fallback;
    throw error;
  }
}

/** Type and ports of a stored scaninfo; tolerant: a damaged row lists nothing. */
function scannedOf(value: unknown): Pick<ScanSummary, "types" | "ports" | "portCount"> {
  const infos = (Array.isArray(value) ? value : []).filter((info): info is Row =>
    typeof info === "object" && info !== null
  );
  const prefix = infos.length > 1;
  return {
    types: [...new Set(infos.map((info) => str(info.type)).filter((t) => t !== ""))],
    ports: infos.map((info) =>
      (prefix ? `${str(info.protocol).slice(0, 1).toUpperCase()}:` : "") + str(info.services)
    ).join(","),
    portCount: infos.reduce((sum, info) => sum + (Number(info.numServices) || 0), 0),
  };
}

function summaryOf(row: Row): ScanSummary {
  const finished = str(row.end) !== "";
  return {
    id: Number(row.id),
    start: str(row.start),
    end: str(row.end),
    args: json<string[]>(row.args, []),
    targets: str(row.targets),
    hostsUp: Number(row.hosts_up ?? 0),
    openPorts: Number(row.open_ports ?? 0),
    ...scannedOf(json<unknown>(row.scaninfo, [])),
    interrupted: Number(row.interrupted) !== 0 || !finished,
    finished,
  };
}

const SUMMARY_SELECT = `
  SELECT s.id, s.start, s."end", s.args, s.targets, s.interrupted, s.scaninfo,
    (SELECT count(*) FROM hosts h WHERE h.scan_id = s.id AND h.state = 'up') AS hosts_up,
    (SELECT count(*) FROM ports p WHERE p.scan_id = s.id AND p.state = 'open') AS open_ports
  FROM scans s`;

/**
 * The recorded scans, newest first.
 *
 * @example
 * ```ts
 * import { listScans, openHistory } from "./mod.ts";
 * const db = openHistory(":memory:");
 * console.log(listScans(db, { limit: 10 })); // []
 * db.close();
 * ```
 */
export function listScans(db: HistoryDb, options: ListScansOptions = {}): ScanSummary[] {
  const where = options.targets === undefined ? "" : " WHERE s.targets = ?";
  const limit = options.limit === undefined
    ? ""
    : ` LIMIT ${Math.max(0, Math.trunc(options.limit))}`;
  const params = options.targets === undefined ? [] : [options.targets];
  return db.prepare(`${SUMMARY_SELECT}${where} ORDER BY s.start DESC, s.id DESC${limit}`)
    .all(...params)
    .map(summaryOf);
}

/** Options of {@link lastTwoScans}. */
export interface LastTwoOptions {
  /** Target specification; default: that of the newest scan. */
  targets?: string;
  /** Also consider interrupted and unfinished scans. Default false: they would show ports as gone. */
  includeInterrupted?: boolean;
}

/**
 * The two newest scans of the same targets, older first: what `portolan diff`
 * compares by default. Fewer than two when the history holds fewer.
 */
export function lastTwoScans(db: HistoryDb, options: LastTwoOptions = {}): ScanSummary[] {
  const complete = options.includeInterrupted === true
    ? ""
    : ` AND s."end" <> '' AND s.interrupted = 0`;
  let targets = options.targets;
  if (targets === undefined) {
    const newest = db.prepare(
      `SELECT s.targets FROM scans s WHERE 1 = 1${complete} ORDER BY s.start DESC, s.id DESC LIMIT 1`,
    ).get();
    if (newest === undefined) return [];
    targets = str(newest.targets);
  }
  return db.prepare(
    `${SUMMARY_SELECT} WHERE s.targets = ?${complete} ORDER BY s.start DESC, s.id DESC LIMIT 2`,
  ).all(targets).map(summaryOf).reverse();
}

/**
 * A recorded scan as a report: hosts sorted by address, ports ascending,
 * counted ports as `extraports`. For an unfinished scan `end` is empty and
 * the stats are counted from what was recorded.
 */
export function loadScan(db: HistoryDb, id: number): StoredScan {
  const scan = db.prepare(`SELECT * FROM scans WHERE id = ?`).get(id);
  if (scan === undefined) throw new RangeError(`Cannot load scan ${id}: not in the history`);

  const hosts = new Map<string, HostReport>();
  for (const row of db.prepare("SELECT * FROM hosts WHERE scan_id = ?").all(id)) {
    const state = str(row.state);
    hosts.set(str(row.address), {
      address: str(row.address),
      hostnames: json<string[]>(row.hostnames, []),
      state: isHostState(state) ? state : "unknown",
      reason: str(row.reason),
      ports: [],
      extraports: [],
    });
  }
  const ports = db.prepare(
    "SELECT * FROM ports WHERE scan_id = ? ORDER BY address, protocol, port",
  ).all(id);
  for (const row of ports) {
    const host = hosts.get(str(row.address));
    const protocol = str(row.protocol);
    const state = str(row.state);
    if (host === undefined || !isProtocol(protocol) || !isPortState(state)) continue;
    const port: PortResult = {
      address: host.address,
      protocol,
      port: Number(row.port),
      state,
      reason: str(row.reason),
    };
    if (row.rtt !== null && row.rtt !== undefined) port.rtt = Number(row.rtt);
    if (row.reason_ttl !== null && row.reason_ttl !== undefined) {
      port.reasonTtl = Number(row.reason_ttl);
    }
    // The column is JSON anyone could have written: narrowed to the model's shape.
    const service = serviceFromJson(json<unknown>(row.service, null));
    if (service !== undefined) port.service = service;
    host.ports.push(port);
  }
  const extras = db.prepare(
    "SELECT * FROM extraports WHERE scan_id = ? ORDER BY address, state, count DESC, reason",
  ).all(id);
  for (const row of extras) {
    const host = hosts.get(str(row.address));
    const state = str(row.state);
    if (host === undefined || !isPortState(state)) continue;
    let extra: ExtraPorts | undefined = host.extraports.find((e) => e.state === state);
    if (extra === undefined) {
      extra = { state, count: 0, reasons: [] };
      host.extraports.push(extra);
    }
    extra.count += Number(row.count);
    if (str(row.reason) !== "") {
      extra.reasons.push({ reason: str(row.reason), count: Number(row.count) });
    }
  }

  const hostList = [...hosts.values()];
  for (const host of hostList) {
    host.ports.sort(comparePorts);
    host.extraports.sort((a, b) => b.count - a.count);
  }
  hostList.sort(compareHosts);

  const end = str(scan.end);
  const counted: ScanStats = {
    probes: 0,
    retries: 0,
    seconds: 0,
    hostsUp: hostList.filter((h) => h.state === "up").length,
    hostsDown: hostList.filter((h) => h.state === "down").length,
    hostsTotal: hostList.length,
  };
  return {
    scanner: "portolan",
    version: str(scan.version),
    args: json<string[]>(scan.args, []),
    start: str(scan.start),
    end,
    scaninfo: json<ScanInfo[]>(scan.scaninfo, []),
    hosts: hostList,
    stats: { ...counted, ...json<Partial<ScanStats>>(scan.stats, {}) },
    id,
    targets: str(scan.targets),
    interrupted: Number(scan.interrupted) !== 0 || end === "",
    finished: end !== "",
  };
}

/** Order of hosts: IPv4, then IPv6, numerically; names last, alphabetically. */
export function compareHosts(a: { address: string }, b: { address: string }): number {
  const ka = addressSortKey(a.address);
  const kb = addressSortKey(b.address);
  if (ka !== undefined && kb !== undefined) return ka < kb ? -1 : ka > kb ? 1 : 0;
  if (ka !== undefined) return -1;
  if (kb !== undefined) return 1;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}
