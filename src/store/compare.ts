/**
 * What `portolan diff [A] [B]` compares: the operands resolved to two reports.
 *
 * @module
 */

import type { ScanReport } from "../model/mod.ts";
import type { HistoryDb } from "./db.ts";
import { lastTwoScans, loadScan } from "./history.ts";
import { readReportFile } from "./report_file.ts";
import { isAbsolute, resolve } from "../path.ts";

/** Two reports to diff, older first, with labels for the diff header. */
export interface Comparison {
  a: ScanReport;
  b: ScanReport;
  labels: [string, string];
}

/** Options of {@link loadComparison}. */
export interface LoadComparisonOptions {
  /** Without operands: compare the last two scans of these targets (default: of the newest scan). */
  targets?: string;
  /** Ends a report file's read (SIGINT): the read rejects at once. */
  signal?: AbortSignal;
  /** Where relative file operands are taken from (where the user stood), not the process's folder. */
  base?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function needDb(db: HistoryDb | undefined, what: string): HistoryDb {
  if (db === undefined) {
    throw new RangeError(`Cannot diff ${what}: the history is turned off (--no-db)`);
  }
  return db;
}

/** A scan id ("12" or "#12", unless a file of that name exists) or a report file. */
async function operand(
  db: HistoryDb | undefined,
  text: string,
  options: LoadComparisonOptions,
): Promise<{ report: ScanReport; label: string; scanId?: number }> {
  const { signal, base } = options;
  const path = base === undefined || isAbsolute(text) || text === "-" ? text : resolve(base, text);
  const id = /^#?(\d+)$/.exec(text);
  if (id !== null && (text.startsWith("#") || !(await exists(path)))) {
    const scanId = Number(id[1]);
    return {
      report: loadScan(needDb(db, `scan ${text}`), scanId),
      label: `scan ${scanId}`,
      scanId,
    };
  }
  return {
    report: await readReportFile(path, signal === undefined ? {} : { signal }),
    label: text,
  };
}

/**
 * Resolve the operands of `portolan diff`:
 * - none: the last two finished scans of the same targets;
 * - one scan id: that scan and the finished scan of the same targets before it;
 * - two: each a scan id or a `-oJ`/`-oX` file.
 *
 * @example
 * ```ts ignore
 * const { a, b, labels } = await loadComparison(db, ["3", "old.xml"]);
 * console.log(formatDiff(diffReports(a, b, { labels })));
 * ```
 */
export async function loadComparison(
  db: HistoryDb | undefined,
  operands: readonly string[],
  options: LoadComparisonOptions = {},
): Promise<Comparison> {
  if (operands.length > 2) {
    throw new RangeError(`Cannot diff ${operands.length} scans: give none, one or two`);
  }
  const [first, second] = operands;
  if (first !== undefined && second !== undefined) {
    const a = await operand(db, first, options);
    const b = await operand(db, second, options);
    return { a: a.report, b: b.report, labels: [a.label, b.label] };
  }
  if (first !== undefined) {
    const b = await operand(db, first, options);
    if (b.scanId === undefined) {
      throw new RangeError(`Cannot diff "${first}" alone: give a second scan or file`);
    }
    const history = needDb(db, first);
    const stored = loadScan(history, b.scanId);
    const previous = history.prepare(
      `SELECT id FROM scans WHERE targets = ? AND "end" <> '' AND interrupted = 0
         AND (start < ? OR (start = ? AND id < ?))
       ORDER BY start DESC, id DESC LIMIT 1`,
    ).get(stored.targets, stored.start, stored.start, b.scanId);
    if (previous === undefined) {
      throw new RangeError(`Cannot diff scan ${b.scanId}: no earlier scan of "${stored.targets}"`);
    }
    const a = loadScan(history, Number(previous.id));
    return { a, b: stored, labels: [`scan ${a.id}`, `scan ${b.scanId}`] };
  }
  const history = needDb(db, "the last two scans");
  const scans = lastTwoScans(
    history,
    options.targets === undefined ? {} : { targets: options.targets },
  );
  const [older, newer] = scans;
  if (older === undefined || newer === undefined) {
    const what = options.targets === undefined ? "the same targets" : `"${options.targets}"`;
    throw new RangeError(
      `Cannot diff: the history holds ${scans.length} finished scan${
        scans.length === 1 ? "" : "s"
      } of ${what} (need 2)`,
    );
  }
  return {
    a: loadScan(history, older.id),
    b: loadScan(history, newer.id),
    labels: [`scan ${older.id}`, `scan ${newer.id}`],
  };
}
