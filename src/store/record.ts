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

import type { HostResult, PortResult } from "../engine/types.ts";
import type { ScanInfo, ScanReport, ScanStats } from "../output/report.ts";
import { VERSION } from "../version.ts";
import { type HistoryDb, HistoryError, transaction } from "./db.ts";
import { serviceColumns } from "./service_fields.ts";

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

/** Reasons that mean nothing came back from the host. */
const SILENT_REASONS: ReadonlySet<string> = new Set(["", "no-response", "timeout", "host-timeout"]);

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

/** Prepare the history's writes on `db`. */
export function createRecordWriter(db: HistoryDb): RecordWriter {
  const scan = db.prepare("SELECT 1 AS found FROM scans WHERE id = ?");
  const ensureHost = db.prepare(
    "INSERT INTO hosts (scan_id, address) VALUES (?, ?) ON CONFLICT DO NOTHING",
  );
  // The host row and its "up" mark in one statement: an answer marks a host not yet known.
  const upHost = db.prepare(
    `INSERT INTO hosts (scan_id, address, state, reason) VALUES (?, ?, 'up', ?)
     ON CONFLICT (scan_id, address) DO UPDATE SET state = 'up', reason = excluded.reason
     WHERE state = 'unknown'`,
  );
  const port = db.prepare(
    `INSERT INTO ports (scan_id, address, protocol, port, state, reason, rtt, reason_ttl, service,
       service_name, product, version, extra_info, cpe, cert_fingerprint, cert_subject, cert_not_after)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (scan_id, address, protocol, port) DO UPDATE SET
       state = excluded.state, reason = excluded.reason, rtt = excluded.rtt,
       reason_ttl = excluded.reason_ttl, service = excluded.service,
       service_name = excluded.service_name, product = excluded.product,
       version = excluded.version, extra_info = excluded.extra_info, cpe = excluded.cpe,
       cert_fingerprint = excluded.cert_fingerprint, cert_subject = excluded.cert_subject,
       cert_not_after = excluded.cert_not_after`,
  );
  const count = db.prepare(
    `INSERT INTO extraports (scan_id, address, state, reason, count) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (scan_id, address, state, reason) DO UPDATE SET count = count + excluded.count`,
  );
  // "unknown" keeps the known state, no names keep the stored ones; an unchanged row is left alone.
  const host = db.prepare(
    `INSERT INTO hosts (scan_id, address, hostnames, state, reason) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (scan_id, address) DO UPDATE SET
       hostnames = CASE WHEN excluded.hostnames = '[]' THEN hostnames ELSE excluded.hostnames END,
       state = CASE WHEN excluded.state = 'unknown' THEN state ELSE excluded.state END,
       reason = CASE WHEN excluded.state = 'unknown' THEN reason ELSE excluded.reason END
     WHERE (excluded.hostnames <> '[]' AND excluded.hostnames <> hostnames)
       OR (excluded.state <> 'unknown' AND (excluded.state <> state OR excluded.reason <> reason))`,
  );
  const finish = db.prepare(
    `UPDATE scans SET "end" = ?, stats = ?, interrupted = ? WHERE id = ?`,
  );

  const writePort = (scanId: number, result: PortResult): void => {
    const service = result.service;
    const hasService = service !== undefined && Object.keys(service).length > 0;
    const c = serviceColumns(service);
    port.run(
      scanId,
      result.address,
      result.protocol,
      result.port,
      result.state,
      result.reason,
      result.rtt ?? null,
      result.reasonTtl ?? null,
      hasService ? JSON.stringify(service) : null,
      c.name,
      c.product,
      c.version,
      c.extraInfo,
      c.cpe,
      c.certFingerprint,
      c.certSubject,
      c.certNotAfter,
    );
  };

  return {
    requireScan(scanId: number, action: string): void {
      if (scan.get(scanId) === undefined) {
        throw new RangeError(`Cannot ${action} scan ${scanId}: not in the history`);
      }
    },
    port: writePort,
    results(scanId: number, batch: PortResult[]): void {
      // In key order the rows of a batch share B-tree pages: fewer pages touched and written.
      // The sort is stable: a host's ports keep the order they came in.
      batch.sort(byAddress);
      for (let first = 0; first < batch.length;) {
        const address = batch[first]!.address;
        let end = first;
        let answer: string | undefined;
        for (; end < batch.length && batch[end]!.address === address; end++) {
          answer ??= SILENT_REASONS.has(batch[end]!.reason) ? undefined : batch[end]!.reason;
        }
        if (answer === undefined) ensureHost.run(scanId, address);
        else upHost.run(scanId, address, answer);
        // Closed ports are counted per reason, not stored one by one.
        let closed: Map<string, number> | undefined;
        for (let i = first; i < end; i++) {
          const result = batch[i]!;
          if (result.state === "closed" && result.service === undefined) {
            closed ??= new Map();
            closed.set(result.reason, (closed.get(result.reason) ?? 0) + 1);
          } else writePort(scanId, result);
        }
        for (const [reason, n] of closed ?? []) count.run(scanId, address, "closed", reason, n);
        first = end;
      }
    },
    hosts(scanId: number, hosts: readonly HostResult[]): void {
      for (const h of hosts) {
        const names = h.hostnames.length === 0 ? "[]" : JSON.stringify(h.hostnames);
        host.run(scanId, h.address, names, h.state, h.reason);
      }
    },
    counts(scanId: number, counts: readonly PortCount[], hostsKnown = false): void {
      for (const { address, state, reason, count: n } of counts) {
        if (!hostsKnown) ensureHost.run(scanId, address);
        count.run(scanId, address, state, reason, n);
      }
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
