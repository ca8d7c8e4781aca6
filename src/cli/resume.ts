/**
 * The resume state an interrupted scan leaves behind, and its reader. The
 * file is versioned; anything else (corrupt, foreign, newer) is refused with
 * one clear line.
 *
 * @module
 */

import type { ResumePoint } from "../engine/types.ts";
import type { ScanReport } from "../output/report.ts";

/** Version of the resume format this build writes and reads. */
export const RESUME_VERSION = 1;
const FORMAT = "portolan-resume";

/** What an interrupted scan needs to go on. */
export interface ResumeState {
  format: typeof FORMAT;
  version: number;
  /** When the state was written (ISO-8601). */
  written: string;
  /** The original command line (without --resume / --resume-file). */
  args: string[];
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

/** The default resume file: `$XDG_STATE_HOME/portolan/resume.json` or `~/.local/state/…`. */
export function defaultResumePath(env: (name: string) => string | undefined): string {
  const state = env("XDG_STATE_HOME") ?? `${env("HOME") ?? "."}/.local/state`;
  return `${state}/portolan/resume.json`;
}

/** Write `state` to `path` atomically (write a temporary file, then rename). */
export async function writeResumeState(path: string, state: ResumeState): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  const temporary = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(temporary, JSON.stringify(state) + "\n");
  await Deno.rename(temporary, path);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Check that `value` is a resume state this build understands.
 *
 * @throws {SyntaxError} naming what is wrong.
 */
export function validateResumeState(value: unknown, path: string): ResumeState {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot resume from "${path}": ${why}`);
  };
  if (!isObject(value) || value.format !== FORMAT) return fail("not a portolan resume file");
  if (typeof value.version !== "number" || !Number.isInteger(value.version)) {
    return fail("it has no format version");
  }
  if (value.version > RESUME_VERSION) {
    return fail(`format version ${value.version} is newer than this portolan (${RESUME_VERSION})`);
  }
  if (value.version < 1) return fail(`format version ${value.version} is unknown`);
  if (!Array.isArray(value.args) || !value.args.every((arg) => typeof arg === "string")) {
    return fail("its command line is damaged");
  }
  if (typeof value.seed !== "string" || !/^\d{1,20}$/.test(value.seed)) {
    return fail("its seed is damaged");
  }
  const point = value.point;
  if (
    !isObject(point) || typeof point.next !== "number" || !Number.isSafeInteger(point.next) ||
    point.next < 0 || !Array.isArray(point.done) ||
    !point.done.every((index) => Number.isSafeInteger(index) && (index as number) >= 0)
  ) {
    return fail("its progress is damaged");
  }
  if (
    value.phase !== undefined &&
    (typeof value.phase !== "number" || !Number.isInteger(value.phase) || value.phase < 0 ||
      value.phase > 1)
  ) {
    return fail("its progress is damaged");
  }
  if (
    value.upHosts !== undefined &&
    (!Array.isArray(value.upHosts) || !value.upHosts.every((host) => typeof host === "string"))
  ) {
    return fail("its host list is damaged");
  }
  const report = value.report;
  if (!isObject(report) || !Array.isArray(report.hosts) || !isObject(report.stats)) {
    return fail("its results are damaged");
  }
  for (const host of report.hosts as unknown[]) {
    if (
      !isObject(host) || typeof host.address !== "string" || !Array.isArray(host.ports) ||
      !Array.isArray(host.extraports)
    ) {
      return fail("its results are damaged");
    }
  }
  return value as unknown as ResumeState;
}

/** Read and check a resume file. */
export async function readResumeState(path: string): Promise<ResumeState> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "No such file or directory"
      : (error instanceof Error ? error.message : String(error));
    throw new Error(`Cannot resume from "${path}": ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SyntaxError(`Cannot resume from "${path}": the file is not valid JSON (corrupt?)`);
  }
  return validateResumeState(value, path);
}
