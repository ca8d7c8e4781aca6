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

function requireScan(db: HistoryDb, scanId: number, action: string): void {
  const row = db.prepare("SELECT 1 AS found FROM scans WHERE id = ?").get(scanId);
  if (row === undefined) {
    throw new RangeError(`Cannot ${action} scan ${scanId}: not in the history`);
  }
}

interface Writers {
  ensureHost(scanId: number, address: string): void;
  markUp(scanId: number, address: string, reason: string): void;
  port(scanId: number, result: PortResult): void;
  count(scanId: number, address: string, state: string, reason: string, count: number): void;
}

function writers(db: HistoryDb): Writers {
  const ensureHost = db.prepare(
    "INSERT INTO hosts (scan_id, address) VALUES (?, ?) ON CONFLICT DO NOTHING",
  );
  const markUp = db.prepare(
    `UPDATE hosts SET state = 'up', reason = ?
     WHERE scan_id = ? AND address = ? AND state = 'unknown'`,
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
  return {
    ensureHost: (scanId, address) => void ensureHost.run(scanId, address),
    markUp: (scanId, address, reason) => void markUp.run(reason, scanId, address),
    port(scanId, result): void {
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
    },
    count: (scanId, address, state, reason, n) => void count.run(scanId, address, state, reason, n),
  };
}

/**
 * Record a batch of port verdicts in one transaction. A host is marked up by
 * its first answering port unless {@link addHosts} said otherwise.
 */
export function addResults(db: HistoryDb, scanId: number, batch: readonly PortResult[]): void {
  if (batch.length === 0) return;
  transaction(db, () => {
    requireScan(db, scanId, "add results to");
    const w = writers(db);
    const closed = new Map<string, { address: string; reason: string; count: number }>();
    // One host row and one "up" mark per host and batch, not per port.
    const seen = new Set<string>();
    const markedUp = new Set<string>();
    for (const result of batch) {
      if (!seen.has(result.address)) {
        seen.add(result.address);
        w.ensureHost(scanId, result.address);
      }
      if (!SILENT_REASONS.has(result.reason) && !markedUp.has(result.address)) {
        markedUp.add(result.address);
        w.markUp(scanId, result.address, result.reason);
      }
      if (result.state === "closed" && result.service === undefined) {
        const key = `${result.address}\n${result.reason}`;
        const entry = closed.get(key);
        if (entry === undefined) {
          closed.set(key, { address: result.address, reason: result.reason, count: 1 });
        } else entry.count++;
      } else {
        w.port(scanId, result);
      }
    }
    for (const entry of closed.values()) {
      w.count(scanId, entry.address, "closed", entry.reason, entry.count);
    }
  });
}

/**
 * Record counted ports (a host's `extraports` entries) in one transaction,
 * added to any count already stored for the same host, state and reason.
 */
export function addCounts(
  db: HistoryDb,
  scanId: number,
  counts: readonly { address: string; state: string; reason: string; count: number }[],
): void {
  if (counts.length === 0) return;
  transaction(db, () => {
    requireScan(db, scanId, "add counts to");
    const w = writers(db);
    for (const { address, state, reason, count } of counts) {
      w.ensureHost(scanId, address);
      w.count(scanId, address, state, reason, count);
    }
  });
}

/**
 * Record host verdicts in one transaction. A verdict of "unknown" does not
 * overwrite a known state; empty hostnames keep the names already stored.
 */
export function addHosts(db: HistoryDb, scanId: number, hosts: readonly HostResult[]): void {
  if (hosts.length === 0) return;
  transaction(db, () => {
    requireScan(db, scanId, "add hosts to");
    const upsert = db.prepare(
      `INSERT INTO hosts (scan_id, address, hostnames, state, reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scan_id, address) DO UPDATE SET
         hostnames = CASE WHEN excluded.hostnames = '[]' THEN hostnames ELSE excluded.hostnames END,
         state = CASE WHEN excluded.state = 'unknown' THEN state ELSE excluded.state END,
         reason = CASE WHEN excluded.state = 'unknown' THEN reason ELSE excluded.reason END`,
    );
    for (const host of hosts) {
      upsert.run(scanId, host.address, JSON.stringify(host.hostnames), host.state, host.reason);
    }
  });
}

/** Record the end of a scan: end time, counters, and whether it was interrupted. */
export function finishScan(db: HistoryDb, scanId: number, info: FinishInfo): void {
  transaction(db, () => {
    requireScan(db, scanId, "finish");
    db.prepare(`UPDATE scans SET "end" = ?, stats = ?, interrupted = ? WHERE id = ?`).run(
      isoOf(info.end),
      JSON.stringify(info.stats),
      info.interrupted === true ? 1 : 0,
      scanId,
    );
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
      const w = writers(db);
      const host = db.prepare(
        `INSERT INTO hosts (scan_id, address, hostnames, state, reason) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      );
      for (const h of report.hosts) {
        host.run(scanId, h.address, JSON.stringify(h.hostnames), h.state, h.reason);
        for (const port of h.ports) w.port(scanId, { ...port, address: h.address });
        for (const extra of h.extraports) {
          const listed = extra.reasons.reduce((sum, r) => sum + r.count, 0);
          for (const r of extra.reasons) w.count(scanId, h.address, extra.state, r.reason, r.count);
          // Counts the report gives without a reason.
          if (extra.count > listed) {
            w.count(scanId, h.address, extra.state, "", extra.count - listed);
          }
        }
      }
      return scanId;
    });
  } catch (error) {
    if (error instanceof HistoryError || error instanceof RangeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new HistoryError(`Cannot import report of ${report.start}: ${message}`, { cause: error });
  }
}
