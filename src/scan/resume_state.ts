/**
 * What an interrupted scan leaves to go on from: the scan defines it, the
 * command writes and reads it as a file (`src/cli/resume.ts`).
 *
 * @module
 */

import type { ResumePoint } from "../engine/types.ts";
import type { ScanReport } from "../model/mod.ts";

/** What an interrupted scan needs to go on. */
export interface ResumeState {
  format: "portolan-resume";
  version: number;
  /** When the state was written (ISO-8601). */
  written: string;
  /** The original command line (without --resume / --resume-file). */
  args: string[];
  /** Where the user ran it: the base of its relative paths (absent in older states). */
  cwd?: string;
  /** Seed of the probe order, as a decimal string (JSON has no bigint). */
  seed: string;
  /** Hosts found up by discovery, in scan order (absent with -Pn). */
  upHosts?: string[];
  /** Which phase of the port scan (TCP, then UDP) was running; the ones before it are done. */
  phase?: number;
  /** Progress of that phase. */
  point: ResumePoint;
  /** The results so far. */
  report: ScanReport;
}
