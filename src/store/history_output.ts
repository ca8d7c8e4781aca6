/**
 * The history as an output plugin: subscribe it to the scan's event bus like
 * any other output and every scan is recorded batch by batch.
 *
 * What it records grows with what was found, not with what was probed: the
 * findings (open, and every port whose answer says something: ICMP
 * unreachable, open|filtered UDP replies…) are written as they land, batch by
 * batch; a closed port or one that went unanswered (filtered or
 * open|filtered with a silent reason) is not, and a host that never answered
 * gets no row. The final report's closed and silent ports (per-host counts,
 * or the few it lists) are written at the end, beside the scan's port set
 * (its scaninfo), so `diff` knows every scanned port's state. A scan that
 * crashes keeps its findings and loses those counts.
 *
 * @module
 */

import type { HostResult, PortResult, ScanReport } from "../model/mod.ts";
import { isSilent } from "../model/mod.ts";
import type { OutputPlugin, OutputWriter, ScanEvent } from "../plugin/types.ts";
import { type HistoryDb, transaction } from "./db.ts";
import { createRecordWriter, type PortCount, type RecordWriter, startScan } from "./record.ts";

/** Options of {@link historyOutput} and {@link createHistoryRecorder}. */
export interface HistoryOutputOptions {
  /** The target specification, see {@link normalizeTargetSpec}. */
  targets: string;
  /** Results per transaction. Default 8192. */
  batchSize?: number;
  /** Write a partial batch after it waited this long, ms, so a crash loses little. Default 1000. */
  flushInterval?: number;
  /** Go on recording into this (unfinished) scan instead of starting one: `--resume`. */
  scanId?: number;
}

/** The recording output; `scanId` is known once the "start" event is read. */
export interface HistoryOutput extends OutputPlugin {
  readonly scanId: number | undefined;
}

/**
 * Records one scan, called directly by the result router (no event queue
 * in between): each call is cheap, batches are written as they fill, a
 * partial batch after `flushInterval`. A write that failed on the timer is
 * thrown by the next call.
 */
export interface HistoryRecorder {
  readonly scanId: number | undefined;
  start(report: ScanReport): void;
  host(host: HostResult): void;
  /** Whether {@link port} keeps `result` now; closed and silent ports are written at the end. */
  keeps(result: PortResult): boolean;
  port(result: PortResult): void;
  /** The scan ended: the settled hosts, the report's silent ports, the end and stats. */
  end(report: ScanReport, interrupted: boolean): void;
  /** Write what is pending (the scan stopped without an end). */
  flush(): void;
  /** Stop the timer; nothing is written after. */
  close(): void;
}

/** Start recording a scan into `db`. */
export function createHistoryRecorder(
  db: HistoryDb,
  options: HistoryOutputOptions,
): HistoryRecorder {
  const batchSize = Math.max(1, options.batchSize ?? 8192);
  const flushInterval = Math.max(0, options.flushInterval ?? 1000);
  let scanId: number | undefined = options.scanId;
  let ports: PortResult[] = [];
  let hosts: HostResult[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerError: unknown;
  let closed = false;
  let writer: RecordWriter | undefined;

  // What is pending, without a transaction of its own.
  const write = (w: RecordWriter, id: number): void => {
    if (hosts.length > 0) {
      const batch = hosts;
      hosts = [];
      w.hosts(id, batch);
    }
    if (ports.length > 0) {
      const batch = ports;
      ports = [];
      w.results(id, batch);
    }
  };
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const id = scanId;
    if (id === undefined || (hosts.length === 0 && ports.length === 0)) return;
    const w = writer ??= createRecordWriter(db);
    transaction(db, () => {
      w.requireScan(id, "add results to");
      write(w, id);
    });
  };
  const schedule = (): void => {
    if (timer !== undefined || scanId === undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      try {
        flush();
      } catch (error) {
        timerError ??= error;
      }
    }, flushInterval);
  };
  const check = (): void => {
    if (timerError !== undefined) throw timerError;
  };

  return {
    get scanId(): number | undefined {
      return scanId;
    },
    start(report: ScanReport): void {
      scanId ??= startScan(db, {
        args: report.args,
        start: report.start,
        targets: options.targets,
        scaninfo: report.scaninfo,
        version: report.version,
      });
    },
    host(host: HostResult): void {
      check();
      hosts.push(host);
      schedule();
    },
    keeps(result: PortResult): boolean {
      return !deferred(result);
    },
    port(result: PortResult): void {
      // Written from the final report, as counts or the few it lists.
      if (deferred(result)) return;
      check();
      ports.push(result);
      if (ports.length >= batchSize) flush();
      else schedule();
    },
    end(report: ScanReport, interrupted: boolean): void {
      check();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const id = scanId;
      if (id === undefined) return;
      const w = writer ??= createRecordWriter(db);
      // One transaction: what is pending, the settled hosts, the counts and the end.
      transaction(db, () => {
        w.requireScan(id, "finish");
        write(w, id);
        // The final report has the settled host verdicts and names.
        w.hosts(
          id,
          report.hosts.map((h) => ({
            address: h.address,
            hostnames: h.hostnames,
            state: h.state,
            reason: h.reason,
          })),
        );
        writeDeferred(w, id, report);
        w.finish(id, { end: report.end, stats: report.stats, interrupted });
      });
    },
    flush,
    close(): void {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * An output plugin that records the scan into `db`.
 *
 * @example
 * ```ts ignore
 * import { historyOutput, normalizeTargetSpec, openHistory } from "./mod.ts";
 * const db = openHistory(path);
 * const history = historyOutput(db, { targets: normalizeTargetSpec(options.targets) });
 * outputTargets.push({ plugin: history, writer: nullWriter });
 * // after the scan: `recorded as scan ${history.scanId}`
 * ```
 */
export function historyOutput(db: HistoryDb, options: HistoryOutputOptions): HistoryOutput {
  const recorder = createHistoryRecorder(db, options);
  return {
    name: "history",
    description: "record the scan in the history database (--db)",
    get scanId(): number | undefined {
      return recorder.scanId;
    },
    async write(events: AsyncIterable<ScanEvent>, _out: OutputWriter): Promise<void> {
      let ended = false;
      try {
        for await (const event of events) {
          if (event.type === "start") recorder.start(event.report);
          else if (event.type === "host") recorder.host(event.host);
          else if (event.type === "port") recorder.port(event.result);
          else {
            recorder.end(event.report, event.interrupted);
            ended = true;
          }
        }
        // The bus closed without an "end" event: keep what arrived.
        if (!ended) recorder.flush();
      } catch (error) {
        try {
          recorder.flush();
        } catch {
          // The error that ended the loop is the one to report.
        }
        throw error;
      } finally {
        recorder.close();
      }
    },
  };
}

/** Closed and unanswered ports: recorded from the final report, not as they land. */
function deferred(
  port: { state: PortResult["state"]; reason: string; service?: PortResult["service"] },
): boolean {
  return (port.state === "closed" && port.service === undefined) || isSilent(port);
}

/** The report's closed and unanswered ports: listed ones as rows (closed as counts), counted ones as counts. */
function writeDeferred(w: RecordWriter, scanId: number, report: ScanReport): void {
  const listed: PortResult[] = [];
  const counts: PortCount[] = [];
  for (const host of report.hosts) {
    for (const port of host.ports) if (deferred(port)) listed.push(port);
    for (const extra of host.extraports) {
      for (const { reason, count } of extra.reasons) {
        if (deferred({ state: extra.state, reason })) {
          counts.push({ address: host.address, state: extra.state, reason, count });
        }
      }
    }
  }
  w.results(scanId, listed);
  // Every host of the report has its row: written just before.
  w.counts(scanId, counts, true);
}
