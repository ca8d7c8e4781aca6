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

import {
  type ExtraPorts,
  type HostResult,
  isSilent,
  type PortResult,
  type ScanReport,
} from "../model/mod.ts";
import { createEventBus, runOutputs } from "../output/bus.ts";
import {
  type AddOptions,
  createReportBuilder,
  type FinishStats,
  type ReportBuilderOptions,
  type ReportInfo,
} from "../output/report_builder.ts";
import { type FileWriter, openFileWriter, type StdoutSink } from "../output/writer.ts";
import type { OutputPlugin, OutputWriter } from "../plugin/types.ts";
import { createHistoryRecorder, type HistoryDb, type HistoryRecorder } from "../store/mod.ts";
import { hostSortKey } from "../targets/sort_key.ts";
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
  /** Where an output to "-" goes: the command's stdout (the process's when absent). */
  stdout?: StdoutSink;
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

const NO_NAMES: readonly string[] = Object.freeze([]);

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
      const writer = await openFileWriter(path, { stdout: options.stdout });
      writers.push(writer);
      targets.push({ plugin, writer });
    }
  } catch (error) {
    // The error that stopped the opening is the one to report, not a close's after it.
    for (const writer of writers) await writer.close().catch(() => {});
    throw error;
  }
  const bus = createEventBus();
  const done = runOutputs(targets, bus);
  // Subscriptions are made; they only go away from here on, so a stale "yes" costs an emit.
  const portEvents = bus.wants("port");
  const hostEvents = bus.wants("host");
  const start = builder.snapshot();
  bus.emit({ type: "start", report: start });
  // The history is called directly, not through a queue: one call per verdict it keeps.
  let history: HistoryRecorder | undefined;
  let historyError: Error | undefined;
  // A failed history costs only the history, as a failed output costs only its file.
  const historyFailed = (error: unknown): void => {
    history?.close();
    history = undefined;
    const message = error instanceof Error ? error.message : String(error);
    historyError = new Error(`Output "history" failed: ${message}`, { cause: error });
  };
  if (options.history !== undefined) {
    const { db, targets: spec, scanId } = options.history;
    history = createHistoryRecorder(db, {
      targets: spec,
      ...(scanId !== undefined ? { scanId } : {}),
    });
    try {
      history.start(start);
    } catch (error) {
      historyFailed(error);
    }
  }
  const recordHost = (verdict: HostResult): void => {
    if (history === undefined) return;
    try {
      history.host(verdict);
    } catch (error) {
      historyFailed(error);
    }
  };
  const recordPort = (result: PortResult): void => {
    if (history === undefined || !history.keeps(result)) return;
    try {
      history.port(result);
    } catch (error) {
      historyFailed(error);
    }
  };

  // One options object for every verdict: the builder reads it during the call only.
  const add: { sortKey?: bigint; hostnames?: readonly string[] } = {};
  // The last name's list, kept for the next verdict of the same host (one host, -sT -p-).
  let named: readonly string[] = NO_NAMES;
  const addOptions = (host: Host | undefined): AddOptions | undefined => {
    if (host === undefined) return undefined;
    add.sortKey = hostSortKey(host);
    if (host.hostname === undefined) add.hostnames = NO_NAMES;
    else {
      if (named[0] !== host.hostname) named = Object.freeze([host.hostname]);
      add.hostnames = named;
    }
    return add;
  };

  return {
    host(verdict: HostResult, host?: Host): void {
      builder.addHost(verdict, addOptions(host));
      if (hostEvents) bus.emit({ type: "host", host: verdict });
      recordHost(verdict);
    },
    note(verdict: HostResult, host?: Host): void {
      builder.addHost(verdict, addOptions(host));
    },
    port(result: PortResult, host?: Host): void {
      // An unanswered port is only counted: no sort key, no names, nothing to record.
      if (isSilent(result)) {
        builder.addPort(result);
        if (portEvents) bus.emit({ type: "port", result });
        return;
      }
      // The host's sort key and names are worked out only when the builder first meets it.
      builder.addPortOf(result, host);
      if (portEvents) bus.emit({ type: "port", result });
      recordPort(result);
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
          if (hostEvents) bus.emit({ type: "host", host: verdict });
          recordHost(verdict);
        }
        for (const port of host.ports) {
          builder.addPort(port, add);
          if (portEvents) bus.emit({ type: "port", result: port });
          recordPort(port);
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
      try {
        history?.end(report, finish.interrupted);
      } catch (error) {
        historyFailed(error);
      }
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
