/**
 * Scan history and diff: every scan recorded in a SQLite file (`node:sqlite`,
 * WAL, one transaction per batch), read back as reports, and compared with
 * another scan or with a saved `-oJ` / `-oX` file.
 *
 * @example
 * ```ts
 * import { diffReports, formatDiff, importReport, loadScan, openHistory } from "./mod.ts";
 * import type { ScanReport } from "../model/mod.ts";
 * const report = (port: number): ScanReport => ({
 *   scanner: "portolan", version: "0.1.0", args: ["portolan", "127.0.0.1"],
 *   start: "2030-01-01T00:00:00.000Z", end: "2030-01-01T00:00:01.000Z",
 *   scaninfo: [{ type: "connect", protocol: "tcp", numServices: 2, services: "22,8081" }],
 *   hosts: [{ address: "127.0.0.1", hostnames: [], state: "up", reason: "conn-refused",
 *     ports: [{ address: "127.0.0.1", protocol: "tcp", port, state: "open", reason: "syn-ack" }],
 *     extraports: [{ state: "closed", count: 1, reasons: [{ reason: "conn-refused", count: 1 }] }] }],
 *   stats: { probes: 2, retries: 0, seconds: 1, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
 * });
 * const db = openHistory(":memory:");
 * const a = importReport(db, report(22), { targets: "127.0.0.1" });
 * const b = importReport(db, report(8081), { targets: "127.0.0.1" });
 * console.log(formatDiff(diffReports(loadScan(db, a), loadScan(db, b))));
 * db.close();
 * ```
 *
 * @module
 */

export {
  defaultDbPath,
  HistoryError,
  migrate,
  MIGRATIONS,
  openHistory,
  SCHEMA_VERSION,
  transaction,
  userVersion,
} from "./db.ts";
export type { HistoryDb, Migration, OpenHistoryOptions } from "./db.ts";
export {
  addCounts,
  addHosts,
  addResults,
  finishScan,
  importReport,
  normalizeTargetSpec,
  startScan,
} from "./record.ts";
export type { FinishInfo, ImportOptions, StartInfo } from "./record.ts";
export { compareHosts, lastTwoScans, listScans, loadScan } from "./history.ts";
export type { LastTwoOptions, ListScansOptions, ScanSummary, StoredScan } from "./history.ts";
export { diffReports, diffToJson, formatDiff, hasChanges } from "./diff.ts";
export type {
  DiffOptions,
  DiffPortState,
  DiffSource,
  DiffSummary,
  FieldChange,
  FormatDiffOptions,
  HostDiff,
  PortDiff,
  PortSide,
  ScanDiff,
} from "./diff.ts";
export { parseJsonReport, parseReportText, readReportFile } from "./report_file.ts";
export { parseNmapXml, parseXml } from "./nmap_xml.ts";
export type { XmlElement } from "./nmap_xml.ts";
export { serviceColumns } from "./service_fields.ts";
export type { ServiceColumns } from "./service_fields.ts";
export { createHistoryRecorder, historyOutput } from "./history_output.ts";
export type { HistoryOutput, HistoryOutputOptions, HistoryRecorder } from "./history_output.ts";
export { loadComparison } from "./compare.ts";
export type { Comparison, LoadComparisonOptions } from "./compare.ts";
