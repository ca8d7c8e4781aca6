/**
 * The result router: every verdict of a scan comes in here once, and goes
 * from here to the report, to every output plugin and to the history.
 *
 * Memory is bounded by what answered, not by what was probed: the report is
 * built by a bounded {@link createReportBuilder} (unanswered ports counted,
 * hosts that never answered not kept), streaming outputs (JSONL, the
 * history) get each verdict as it lands, and whole-document outputs (JSON,
 * XML, normal, grepable, HTML) render the final report, which holds the
 * findings and per-host counts only.
 *
 * @module
 */

import type { HostResult, PortResult } from "../engine/types.ts";
import { createEventBus, runOutputs } from "../output/bus.ts";
import type { ExtraPorts, ScanReport } from "../output/report.ts";
import {
  createReportBuilder,
  type FinishStats,
  hostSortKey,
  type ReportBuilderOptions,
  type ReportInfo,
} from "../output/report_builder.ts";
import { type FileWriter, openFileWriter } from "../output/writer.ts";
import type { OutputPlugin, OutputWriter } from "../plugins/types.ts";
import { createHistoryRecorder, type HistoryDb, type HistoryRecorder } from "../store/mod.ts";
import type { Host } from "../targets/types.ts";

/** An output asked for on the command line, its plugin already made. */
export interface PlannedOutput {
  plugin: OutputPlugin;
  /** A file, or "-" for stdout. */
  path: string;
}

/** Options of {@link openPipeline}. */
export interface PipelineOptions {
  info: ReportInfo;
  /** How the report keeps verdicts; pass `scanned` to keep it bounded. */
  report: ReportBuilderOptions;
  outputs: readonly PlannedOutput[];
  /** Record into this history. */
  history?: { db: HistoryDb; targets: string; scanId?: number };
}

/** What a finished pipeline hands back. */
export interface PipelineResult {
  report: ScanReport;
  /** Outputs that failed; the others were written. */
  errors: Error[];
}

/** The router of one scan. */
export interface Pipeline {
  /** A host's verdict (discovery); to the report and every output. */
  host(verdict: HostResult, host?: Host): void;
  /** A host's verdict for the report only (hosts found down, listed with -v). */
  note(verdict: HostResult, host?: Host): void;
  /** A port's final verdict; to the report and every output. */
  port(result: PortResult, host?: Host): void;
  /** What an interrupted run found, fed again (`--resume`). */
  replay(report: ScanReport): void;
  /** End the scan (at `end`, default now): render every output, close every file. */
  finish(
    stats: FinishStats,
    options: { interrupted: boolean; end?: Date },
  ): Promise<PipelineResult>;
}

function namesOf(host: Host): string[] {
  return host.hostname === undefined ? [] : [host.hostname];
}

/**
 * Open every output file, subscribe every output (and the history) and send
 * the "start" event.
 *
 * @throws {Error} `Cannot open output file "…": …` when a file cannot be created.
 */
export async function openPipeline(options: PipelineOptions): Promise<Pipeline> {
  const builder = createReportBuilder(options.info, options.report);
  const writers: FileWriter[] = [];
  const targets: { plugin: OutputPlugin; writer: OutputWriter }[] = [];
  try {
    for (const { plugin, path } of options.outputs) {
      const writer = await openFileWriter(path);
      writers.push(writer);
      targets.push({ plugin, writer });
    }
  } catch (error) {
    for (const writer of writers) await writer.close().catch(() => {});
    throw error;
  }
  const bus = createEventBus();
  const done = runOutputs(targets, bus);
  const start = builder.snapshot();
  bus.emit({ type: "start", report: start });
  // The history is called directly, not through a queue: one call per verdict.
  let history: HistoryRecorder | undefined;
  let historyError: Error | undefined;
  const record = (step: (recorder: HistoryRecorder) => void): void => {
    if (history === undefined) return;
    try {
      step(history);
    } catch (error) {
      // A failed history costs only the history, as a failed output costs only its file.
      history.close();
      history = undefined;
      const message = error instanceof Error ? error.message : String(error);
      historyError = new Error(`Output "history" failed: ${message}`, { cause: error });
    }
  };
  if (options.history !== undefined) {
    const { db, targets: spec, scanId } = options.history;
    history = createHistoryRecorder(db, {
      targets: spec,
      ...(scanId !== undefined ? { scanId } : {}),
    });
    record((recorder) => recorder.start(start));
  }

  const addOptions = (
    host: Host | undefined,
  ): { sortKey?: bigint; hostnames?: string[] } =>
    host === undefined ? {} : { sortKey: hostSortKey(host), hostnames: namesOf(host) };

  return {
    host(verdict: HostResult, host?: Host): void {
      builder.addHost(verdict, addOptions(host));
      bus.emit({ type: "host", host: verdict });
      record((recorder) => recorder.host(verdict));
    },
    note(verdict: HostResult, host?: Host): void {
      builder.addHost(verdict, addOptions(host));
    },
    port(result: PortResult, host?: Host): void {
      // The host's sort key and names are worked out only when the builder first meets it.
      builder.addPortOf(result, host);
      bus.emit({ type: "port", result });
      record((recorder) => recorder.port(result));
    },
    replay(report: ScanReport): void {
      for (const host of report.hosts) {
        const add = { hostnames: host.hostnames };
        if (host.state !== "unknown") {
          const verdict = {
            address: host.address,
            hostnames: host.hostnames,
            state: host.state,
            reason: host.reason,
          };
          builder.addHost(verdict, add);
          bus.emit({ type: "host", host: verdict });
          record((recorder) => recorder.host(verdict));
        }
        for (const port of host.ports) {
          builder.addPort(port, add);
          bus.emit({ type: "port", result: port });
          record((recorder) => recorder.port(port));
        }
        for (const extra of host.extraports as ExtraPorts[]) {
          builder.addExtra(host.address, extra, add);
        }
      }
    },
    async finish(
      stats: FinishStats,
      finish: { interrupted: boolean; end?: Date },
    ): Promise<PipelineResult> {
      const report = builder.finish(stats, finish.end ?? new Date(), {
        partial: finish.interrupted,
      });
      bus.emit({ type: "end", report, interrupted: finish.interrupted });
      bus.close();
      record((recorder) => recorder.end(report, finish.interrupted));
      history?.close();
      const errors = await done;
      if (historyError !== undefined) errors.push(historyError);
      for (const writer of writers) {
        try {
          await writer.close();
        } catch (error) {
          errors.push(error instanceof Error ? error : new Error(String(error)));
        }
      }
      return { report, errors };
    },
  };
}
