/**
 * Recording a scan into the history while it runs. Every batch of results is
 * one transaction, so a crash loses at most the batch being written.
 *
 * Closed ports are counted per host and reason (as the report's
 * `extraports`), not stored one by one: a `-p-` scan of a host that answers
 * RST would otherwise cost 65,535 rows. Every other state is stored per port.
 *
 * @module
 */

import {
  type HostResult,
  type PortResult,
  type ScanInfo,
  type ScanReport,
  type ScanStats,
  SILENT_REASONS,
} from "../model/mod.ts";
import { VERSION } from "../version.ts";
import { type HistoryDb, HistoryError, transaction } from "./db.ts";
import type { SQLInputValue } from "node:sqlite";
import { serviceColumns, serviceColumnValues } from "./service_fields.ts";

/** What is known when a scan starts. */
export interface StartInfo {
  /** The command line, program name first. */
  args: readonly string[];
  start: Date | string;
  /** The target specification, see {@link normalizeTargetSpec}. */
  targets: string;
  scaninfo: readonly ScanInfo[];
  /** Version of the scanner; default this portolan's. */
  version?: string;
}

/** What is known when a scan ends. */
export interface FinishInfo {
  end: Date | string;
  stats: ScanStats;
  /** Stopped by a signal before every probe was sent. */
  interrupted?: boolean;
}

function isoOf(time: Date | string): string {
  return typeof time === "string" ? time : time.toISOString();
}

/**
 * One canonical text for a target specification, so that scans of the same
 * targets typed differently are found together: whitespace- and
 * comma-separated items, lower-cased, de-duplicated and sorted.
 *
 * @example
 * ```ts
 * import { normalizeTargetSpec } from "./record.ts";
 * normalizeTargetSpec(["198.51.100.0/24", " Host.EXAMPLE ", "198.51.100.0/24"]);
 * // "198.51.100.0/24 host.example"
 * ```
 */
export function normalizeTargetSpec(spec: string | readonly string[]): string {
  const items = (typeof spec === "string" ? [spec] : spec)
    .flatMap((part) => part.split(/[\s,]+/))
    .map((item) => item.toLowerCase())
    .filter((item) => item !== "");
  return [...new Set(items)].sort().join(" ");
}

/**
 * Record the start of a scan; returns its id.
 *
 * @example
 * ```ts
 * import { openHistory } from "./db.ts";
 * import { startScan } from "./record.ts";
 * const db = openHistory(":memory:");
 * const id = startScan(db, { args: ["portolan", "127.0.0.1"], start: new Date(), targets: "127.0.0.1", scaninfo: [] });
 * db.close();
 * ```
 */
export function startScan(db: HistoryDb, info: StartInfo): number {
  return transaction(db, () => {
    const result = db.prepare(
      `INSERT INTO scans (scanner, version, args, targets, start, scaninfo)
       VALUES ('portolan', ?, ?, ?, ?, ?)`,
    ).run(
      info.version ?? VERSION,
      JSON.stringify(info.args),
      info.targets,
      isoOf(info.start),
      JSON.stringify(info.scaninfo),
    );
    return Number(result.lastInsertRowid);
  });
}

/** A port count of one host: an `extraports` row. */
export interface PortCount {
  address: string;
  state: string;
  reason: string;
  count: number;
}

/**
 * The history's writes, their statements prepared once per database and
 * reused batch after batch. Each method writes without a transaction of its
 * own: call them inside {@link transaction}, as {@link addResults} does.
 */
export interface RecordWriter {
  /** Throw a RangeError when `scanId` is not in the history. */
  requireScan(scanId: number, action: string): void;
  /** One port row as it is (its host's row must exist). */
  port(scanId: number, result: PortResult): void;
  /** Port verdicts (see {@link addResults}); sorts `batch` in place by address. */
  results(scanId: number, batch: PortResult[]): void;
  /** Host verdicts (see {@link addHosts}); a row that would not change is not written. */
  hosts(scanId: number, hosts: readonly HostResult[]): void;
  /** Counts added to those stored; `hostsKnown`: every host already has its row. */
  counts(scanId: number, counts: readonly PortCount[], hostsKnown?: boolean): void;
  /** The scan's end, counters and interruption. */
  finish(scanId: number, info: FinishInfo): void;
}

// Rows a multi-row INSERT carries: one call into SQLite for many rows.
const ROWS_PER_STATEMENT = 64;

/** Rows for one INSERT, sent {@link ROWS_PER_STATEMENT} at a time. */
interface RowSink {
  /** Push one row's values here, then call {@link RowSink.row}. */
  readonly values: SQLInputValue[];
  row(): void;
  /** Send the rows still held. */
  end(): void;
  /** Drop the rows still held (a write that failed half-way). */
  clear(): void;
}

function rowSink(db: HistoryDb, head: string, columns: number, tail: string): RowSink {
  const row = `(${new Array(columns).fill("?").join(", ")})`;
  const many = db.prepare(
    `${head} VALUES ${new Array(ROWS_PER_STATEMENT).fill(row).join(", ")} ${tail}`,
  );
  const one = db.prepare(`${head} VALUES ${row} ${tail}`);
  const values: SQLInputValue[] = [];
  return {
    values,
    row(): void {
      if (values.length < columns * ROWS_PER_STATEMENT) return;
      try {
        many.run(...values);
      } finally {
        values.length = 0;
      }
    },
    end(): void {
      try {
        for (let i = 0; i < values.length; i += columns) one.run(...values.slice(i, i + columns));
      } finally {
        values.length = 0;
      }
    },
    clear(): void {
      values.length = 0;
    },
  };
}

// A host row; "up" marks a host not yet known up, "unknown" only makes sure the row is there.
const HOST_ROW = [
  "INSERT INTO hosts (scan_id, address, state, reason)",
  4,
  `ON CONFLICT (scan_id, address) DO UPDATE SET state = 'up', reason = excluded.reason
   WHERE excluded.state = 'up' AND state = 'unknown'`,
] as const;
const PORT_ROW = [
  `INSERT INTO ports (scan_id, address, protocol, port, state, reason, rtt, reason_ttl, service,
     service_name, product, version, extra_info, cpe, cert_fingerprint, cert_subject, cert_not_after)`,
  17,
  `ON CONFLICT (scan_id, address, protocol, port) DO UPDATE SET
     state = excluded.state, reason = excluded.reason, rtt = excluded.rtt,
     reason_ttl = excluded.reason_ttl, service = excluded.service,
     service_name = excluded.service_name, product = excluded.product,
     version = excluded.version, extra_info = excluded.extra_info, cpe = excluded.cpe,
     cert_fingerprint = excluded.cert_fingerprint, cert_subject = excluded.cert_subject,
     cert_not_after = excluded.cert_not_after`,
] as const;
const COUNT_ROW = [
  "INSERT INTO extraports (scan_id, address, state, reason, count)",
  5,
  `ON CONFLICT (scan_id, address, state, reason) DO UPDATE SET count = count + excluded.count`,
] as const;
// A settled host verdict: "unknown" keeps the known state, no names keep the stored ones; a
// row that would not change is not written.
const SETTLED_HOST_ROW = [
  "INSERT INTO hosts (scan_id, address, hostnames, state, reason)",
  5,
  `ON CONFLICT (scan_id, address) DO UPDATE SET
     hostnames = CASE WHEN excluded.hostnames = '[]' THEN hostnames ELSE excluded.hostnames END,
     state = CASE WHEN excluded.state = 'unknown' THEN state ELSE excluded.state END,
     reason = CASE WHEN excluded.state = 'unknown' THEN reason ELSE excluded.reason END
   WHERE (excluded.hostnames <> '[]' AND excluded.hostnames <> hostnames)
     OR (excluded.state <> 'unknown' AND (excluded.state <> state OR excluded.reason <> reason))`,
] as const;

/** Push a port row's values. */
function portRow(values: SQLInputValue[], scanId: number, result: PortResult): void {
  const service = result.service;
  const hasService = service !== undefined && Object.keys(service).length > 0;
  values.push(
    scanId,
    result.address,
    result.protocol,
    result.port,
    result.state,
    result.reason,
    result.rtt ?? null,
    result.reasonTtl ?? null,
    hasService ? JSON.stringify(service) : null,
    ...serviceColumnValues(serviceColumns(service)),
  );
}

/** Prepare the history's writes on `db`. */
export function createRecordWriter(db: HistoryDb): RecordWriter {
  const scan = db.prepare("SELECT 1 AS found FROM scans WHERE id = ?");
  const hostRows = rowSink(db, ...HOST_ROW);
  const portRows = rowSink(db, ...PORT_ROW);
  const countRows = rowSink(db, ...COUNT_ROW);
  const settledRows = rowSink(db, ...SETTLED_HOST_ROW);
  const finish = db.prepare(`UPDATE scans SET "end" = ?, stats = ?, interrupted = ? WHERE id = ?`);
  const sinks = [hostRows, settledRows, portRows, countRows];
  // Every host row is sent before the port and count rows that refer to it.
  const endRows = (): void => {
    for (const sink of sinks) sink.end();
  };
  // What a write that threw left behind is not sent with the next one.
  const clear = (): void => {
    for (const sink of sinks) sink.clear();
  };

  return {
    requireScan(scanId: number, action: string): void {
      if (scan.get(scanId) === undefined) {
        throw new RangeError(`Cannot ${action} scan ${scanId}: not in the history`);
      }
    },
    port(scanId: number, result: PortResult): void {
      clear();
      portRow(portRows.values, scanId, result);
      portRows.end();
    },
    results(scanId: number, batch: PortResult[]): void {
      // In key order the rows of a batch share B-tree pages: fewer pages touched and written.
      // The sort is stable: a host's ports keep the order they came in.
      batch.sort(byAddress);
      clear();
      for (let first = 0; first < batch.length;) {
        const address = batch[first]!.address;
        let answer: string | undefined;
        for (let i = first; i < batch.length && batch[i]!.address === address; i++) {
          answer ??= SILENT_REASONS.has(batch[i]!.reason) ? undefined : batch[i]!.reason;
          first = i + 1;
        }
        hostRows.values.push(
          scanId,
          address,
          answer === undefined ? "unknown" : "up",
          answer ?? "",
        );
        hostRows.row();
      }
      hostRows.end();
      // Closed ports are counted per host and reason, not stored one by one.
      let closed: { address: string; reason: string; count: number } | undefined;
      const countClosed = (): void => {
        if (closed === undefined) return;
        countRows.values.push(scanId, closed.address, "closed", closed.reason, closed.count);
        countRows.row();
      };
      for (const result of batch) {
        if (result.state !== "closed" || result.service !== undefined) {
          portRow(portRows.values, scanId, result);
          portRows.row();
        } else if (closed?.address === result.address && closed.reason === result.reason) {
          closed.count++;
        } else {
          countClosed();
          closed = { address: result.address, reason: result.reason, count: 1 };
        }
      }
      countClosed();
      endRows();
    },
    hosts(scanId: number, hosts: readonly HostResult[]): void {
      clear();
      for (const h of hosts) {
        const names = h.hostnames.length === 0 ? "[]" : JSON.stringify(h.hostnames);
        settledRows.values.push(scanId, h.address, names, h.state, h.reason);
        settledRows.row();
      }
      settledRows.end();
    },
    counts(scanId: number, counts: readonly PortCount[], hostsKnown = false): void {
      clear();
      if (!hostsKnown) {
        for (const { address } of counts) {
          hostRows.values.push(scanId, address, "unknown", "");
          hostRows.row();
        }
        hostRows.end();
      }
      for (const { address, state, reason, count } of counts) {
        countRows.values.push(scanId, address, state, reason, count);
        countRows.row();
      }
      countRows.end();
    },
    finish(scanId: number, info: FinishInfo): void {
      finish.run(
        isoOf(info.end),
        JSON.stringify(info.stats),
        info.interrupted === true ? 1 : 0,
        scanId,
      );
    },
  };
}

function byAddress(a: { address: string }, b: { address: string }): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/**
 * Record a batch of port verdicts in one transaction. A host is marked up by
 * its first answering port unless {@link addHosts} said otherwise.
 */
export function addResults(db: HistoryDb, scanId: number, batch: readonly PortResult[]): void {
  if (batch.length === 0) return;
  const w = createRecordWriter(db);
  transaction(db, () => {
    w.requireScan(scanId, "add results to");
    w.results(scanId, [...batch]);
  });
}

/**
 * Record counted ports (a host's `extraports` entries) in one transaction,
 * added to any count already stored for the same host, state and reason.
 */
export function addCounts(db: HistoryDb, scanId: number, counts: readonly PortCount[]): void {
  if (counts.length === 0) return;
  const w = createRecordWriter(db);
  transaction(db, () => {
    w.requireScan(scanId, "add counts to");
    w.counts(scanId, counts);
  });
}

/**
 * Record host verdicts in one transaction. A verdict of "unknown" does not
 * overwrite a known state; empty hostnames keep the names already stored.
 */
export function addHosts(db: HistoryDb, scanId: number, hosts: readonly HostResult[]): void {
  if (hosts.length === 0) return;
  const w = createRecordWriter(db);
  transaction(db, () => {
    w.requireScan(scanId, "add hosts to");
    w.hosts(scanId, hosts);
  });
}

/** Record the end of a scan: end time, counters, and whether it was interrupted. */
export function finishScan(db: HistoryDb, scanId: number, info: FinishInfo): void {
  const w = createRecordWriter(db);
  transaction(db, () => {
    w.requireScan(scanId, "finish");
    w.finish(scanId, info);
  });
}

/** Options of {@link importReport}. */
export interface ImportOptions {
  /** The target specification; default: the report's host addresses. */
  targets?: string;
  /** Record the scan as interrupted. Default: true when the report has no end time. */
  interrupted?: boolean;
}

/**
 * Record a complete report (a `-oJ` file, or one read from nmap XML) as one
 * scan, in one transaction; returns its id. Ports are stored as the report
 * lists them, `extraports` as counts.
 */
export function importReport(
  db: HistoryDb,
  report: ScanReport,
  options: ImportOptions = {},
): number {
  const targets = options.targets ??
    normalizeTargetSpec(report.hosts.map((host) => host.address));
  try {
    return transaction(db, () => {
      const inserted = db.prepare(
        `INSERT INTO scans (scanner, version, args, targets, start, "end", scaninfo, stats, interrupted)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        report.scanner,
        report.version,
        JSON.stringify(report.args),
        targets,
        report.start,
        report.end,
        JSON.stringify(report.scaninfo),
        report.end === "" ? null : JSON.stringify(report.stats),
        (options.interrupted ?? report.end === "") ? 1 : 0,
      );
      const scanId = Number(inserted.lastInsertRowid);
      const w = createRecordWriter(db);
      const host = db.prepare(
        `INSERT INTO hosts (scan_id, address, hostnames, state, reason) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      );
      for (const h of report.hosts) {
        host.run(scanId, h.address, JSON.stringify(h.hostnames), h.state, h.reason);
        for (const port of h.ports) w.port(scanId, { ...port, address: h.address });
        const counts: PortCount[] = [];
        for (const extra of h.extraports) {
          const listed = extra.reasons.reduce((sum, r) => sum + r.count, 0);
          for (const r of extra.reasons) {
            counts.push({
              address: h.address,
              state: extra.state,
              reason: r.reason,
              count: r.count,
            });
          }
          // Counts the report gives without a reason.
          if (extra.count > listed) {
            counts.push({
              address: h.address,
              state: extra.state,
              reason: "",
              count: extra.count - listed,
            });
          }
        }
        w.counts(scanId, counts, true);
      }
      return scanId;
    });
  } catch (error) {
    if (error instanceof HistoryError || error instanceof RangeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new HistoryError(`Cannot import report of ${report.start}: ${message}`, { cause: error });
  }
}
