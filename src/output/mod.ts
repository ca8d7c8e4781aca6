/**
 * Everything between the engine's verdicts and the user's eyes: the report,
 * the event bus that feeds output plugins, writers, the terminal table and
 * the progress line.
 *
 * @module
 */

export type { ExtraPorts, HostReport, ScanInfo, ScanReport, ScanStats } from "./report.ts";
export { addressSortKey, createReportBuilder, hostSortKey, isSilent } from "./report_builder.ts";
export type {
  AddOptions,
  FinishStats,
  ReportBuilder,
  ReportBuilderOptions,
  ReportInfo,
  ScannedPorts,
} from "./report_builder.ts";
export { createEventBus, runOutputs } from "./bus.ts";
export type { EventBus, OutputTarget, Subscription } from "./bus.ts";
export { checkWritable, openFileWriter } from "./writer.ts";
export type { FileWriter } from "./writer.ts";
export { escapeTerminal, renderTable } from "./table.ts";
export type { TableOptions } from "./table.ts";
export { createProgress, estimate, formatDuration, formatProgress } from "./progress.ts";
export type { Estimate, Progress, ProgressOptions } from "./progress.ts";
