/**
 * The resume state an interrupted scan leaves behind, and its reader. The
 * file is versioned; anything else (corrupt, foreign, newer) is refused with
 * one clear line.
 *
 * @module
 */

import { isHostState, isPortState, serviceFromJson } from "../model/mod.ts";
import type { ResumeState } from "../scan/resume_state.ts";
import { readBoundedText } from "../store/bounded_read.ts";
import { parseIp } from "../targets/ip.ts";

/** Version of the resume format this build writes and reads. */
export const RESUME_VERSION = 1;
const FORMAT: ResumeState["format"] = "portolan-resume";

export type { ResumeState };

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

/** Largest count a report can hold: every port of every IPv4 address, with room. */
const MAX_COUNT = 2 ** 53 - 1;
/** Text fields' longest length: far past any banner cap. */
const MAX_TEXT = 1 << 20;

/** A damaged state: the one error {@link validateResumeState} throws for it. */
class Damaged extends SyntaxError {}

function damaged(why: string): never {
  throw new Damaged(why);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 &&
    value <= MAX_COUNT;
}

function isText(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_TEXT;
}

function isTime(value: unknown): boolean {
  return typeof value === "string" && value.length <= 64 && value !== "" &&
    Number.isFinite(Date.parse(value));
}

function isAddress(value: unknown): value is string {
  if (typeof value !== "string" || value.length > 64) return false;
  try {
    parseIp(value);
    return true;
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof RangeError) return false;
    throw error;
  }
}

function checkStrings(value: unknown, what: string): void {
  if (!Array.isArray(value) || !value.every(isText)) damaged(`${what} is not a list of strings`);
}

function checkService(value: unknown, where: string): void {
  if (value === undefined) return;
  if (!isObject(value)) damaged(`${where}.service is not an object`);
  for (const [key, field] of Object.entries(value)) {
    const ok = isText(field) || typeof field === "number" && Number.isFinite(field) ||
      typeof field === "boolean" || (Array.isArray(field) && field.every(isText)) ||
      (isObject(field) &&
        Object.values(field).every((inner) =>
          isText(inner) || typeof inner === "number" && Number.isFinite(inner)
        ));
    if (!ok) damaged(`${where}.service.${key} has the wrong type`);
  }
}

function checkPort(value: unknown, where: string): void {
  if (!isObject(value)) damaged(`${where} is not a port`);
  if (value.protocol !== "tcp" && value.protocol !== "udp") damaged(`${where}.protocol is wrong`);
  if (!isCount(value.port) || value.port > 65535) damaged(`${where}.port is not a port number`);
  if (!isPortState(value.state)) damaged(`${where}.state is not a port state`);
  if (!isText(value.reason)) damaged(`${where}.reason is not a string`);
  if (!isAddress(value.address)) damaged(`${where}.address is not an address`);
  for (const key of ["rtt", "reasonTtl"] as const) {
    const field = value[key];
    if (
      field !== undefined && !(typeof field === "number" && Number.isFinite(field) && field >= 0)
    ) {
      damaged(`${where}.${key} is not a number`);
    }
  }
  checkService(value.service, where);
  // Sound but perhaps foreign: narrowed to the model's shape, what does not fit dropped.
  const service = serviceFromJson(value.service);
  if (service === undefined) delete value.service;
  else value.service = service;
  if (
    value.scripts !== undefined &&
    !(Array.isArray(value.scripts) &&
      value.scripts.every((s) => isObject(s) && isText(s.id) && isText(s.output)))
  ) {
    damaged(`${where}.scripts is not a list of script outputs`);
  }
}

function checkHost(value: unknown, where: string): void {
  if (!isObject(value)) damaged(`${where} is not a host`);
  if (!isAddress(value.address)) damaged(`${where}.address is not an address`);
  checkStrings(value.hostnames, `${where}.hostnames`);
  if (!isHostState(value.state)) damaged(`${where}.state is not a host state`);
  if (!isText(value.reason)) damaged(`${where}.reason is not a string`);
  if (!Array.isArray(value.ports)) damaged(`${where}.ports is not a list`);
  value.ports.forEach((port, i) => checkPort(port, `${where}.ports[${i}]`));
  if (!Array.isArray(value.extraports)) damaged(`${where}.extraports is not a list`);
  value.extraports.forEach((extra: unknown, i) => {
    const at = `${where}.extraports[${i}]`;
    if (!isObject(extra) || !isPortState(extra.state) || !isCount(extra.count)) {
      damaged(`${at} is not a port summary`);
    }
    if (
      !Array.isArray(extra.reasons) ||
      !extra.reasons.every((r: unknown) => isObject(r) && isText(r.reason) && isCount(r.count))
    ) {
      damaged(`${at}.reasons is not a list of counts`);
    }
  });
}

function checkReport(value: unknown): void {
  if (!isObject(value)) damaged("report is not an object");
  if (value.scanner !== "portolan") damaged("report.scanner is not portolan");
  if (!isText(value.version)) damaged("report.version is not a string");
  checkStrings(value.args, "report.args");
  if (!isTime(value.start)) damaged("report.start is not a time");
  if (value.end !== "" && !isTime(value.end)) damaged("report.end is not a time");
  if (!Array.isArray(value.scaninfo)) damaged("report.scaninfo is not a list");
  value.scaninfo.forEach((info: unknown, i) => {
    if (
      !isObject(info) || !isText(info.type) ||
      (info.protocol !== "tcp" && info.protocol !== "udp") ||
      !isCount(info.numServices) || info.numServices > 65536 || !isText(info.services)
    ) {
      damaged(`report.scaninfo[${i}] is not a scan description`);
    }
  });
  if (!Array.isArray(value.hosts)) damaged("report.hosts is not a list");
  value.hosts.forEach((host, i) => checkHost(host, `report.hosts[${i}]`));
  const stats = value.stats;
  if (!isObject(stats)) damaged("report.stats is not an object");
  for (const key of ["probes", "retries", "hostsUp", "hostsDown", "hostsTotal"] as const) {
    if (!isCount(stats[key])) damaged(`report.stats.${key} is not a count`);
  }
  if (
    !(typeof stats.seconds === "number" && Number.isFinite(stats.seconds) && stats.seconds >= 0)
  ) {
    damaged("report.stats.seconds is not a duration");
  }
  if (stats.receiverDrops !== undefined && !isCount(stats.receiverDrops)) {
    damaged("report.stats.receiverDrops is not a count");
  }
  if ((stats.hostsUp as number) + (stats.hostsDown as number) > (stats.hostsTotal as number)) {
    damaged("report.stats counts more hosts up and down than in total");
  }
}

/**
 * Every field of a state but its format and version (checked before):
 * throws {@link Damaged} at the first wrong one, and narrows services.
 */
function checkState(value: unknown): asserts value is ResumeState {
  if (!isObject(value)) damaged("state is not an object");
  if (!isTime(value.written)) damaged("written is not a time");
  checkStrings(value.args, "args");
  if (value.cwd !== undefined && !(isText(value.cwd) && value.cwd.startsWith("/"))) {
    damaged("cwd is not an absolute path");
  }
  if (
    typeof value.seed !== "string" || !/^\d{1,20}$/.test(value.seed) ||
    BigInt(value.seed) >= 2n ** 64n
  ) {
    damaged("seed is not a 64-bit number");
  }
  const point = value.point;
  if (!isObject(point) || !isCount(point.next)) damaged("point.next is not an index");
  if (!Array.isArray(point.done) || !point.done.every(isCount)) {
    damaged("point.done is not a list of indexes");
  }
  const done = point.done as number[];
  if (new Set(done).size !== done.length) damaged("point.done repeats an index");
  if (done.some((index) => index <= (point.next as number))) {
    damaged("point.done holds an index before point.next");
  }
  if (value.phase !== undefined && (!isCount(value.phase) || value.phase > 1)) {
    damaged("phase does not exist");
  }
  if (value.upHosts !== undefined) {
    if (!Array.isArray(value.upHosts) || !value.upHosts.every(isAddress)) {
      damaged("upHosts is not a list of addresses");
    }
    if (new Set(value.upHosts).size !== value.upHosts.length) damaged("upHosts repeats a host");
  }
  checkReport(value.report);
}

/**
 * Check that `value` is a resume state this build understands, whole:
 * every field's type and range, the results included.
 *
 * @throws {SyntaxError} `Cannot resume from "x": damaged (report.start is not a time)`,
 * `Cannot resume from "x": not a portolan resume file`, `… format version 9 is newer …`.
 */
export function validateResumeState(value: unknown, path: string): ResumeState {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot resume from "${path}": ${why}`);
  };
  if (!isObject(value) || value.format !== FORMAT) return fail("not a portolan resume file");
  if (typeof value.version !== "number" || !Number.isInteger(value.version)) {
    return fail("damaged (it has no format version)");
  }
  if (value.version > RESUME_VERSION) {
    return fail(`format version ${value.version} is newer than this portolan (${RESUME_VERSION})`);
  }
  if (value.version < 1) return fail(`format version ${value.version} is unknown`);
  try {
    checkState(value);
  } catch (error) {
    if (error instanceof Damaged) return fail(`damaged (${error.message})`);
    throw error;
  }
  return value;
}

/** The scan a resumed state's command line plans, for {@link checkResumePlan}. */
export interface ResumePlan {
  /** Ports per phase of the port scan, in order (none with -sn). */
  phasePorts: readonly number[];
  /** The targets the command line names. */
  targets: { size: bigint; hosts(): Iterable<{ address: string }> };
  /** Whether discovery runs (no -Pn): then progress needs the hosts it found. */
  discovery: boolean;
}

/** How many target addresses are looked up one by one before a large set is trusted by count. */
const MEMBERSHIP_LIMIT = 1_000_000n;

/**
 * Check a state against the scan its own command line plans, before
 * anything is touched: the phase exists, its progress lies within that
 * phase's probes (`done` holds only indexes after `next`, so it can never
 * claim the whole phase), the hosts found up are among the targets.
 *
 * @throws {SyntaxError} `Cannot resume from "x": damaged (point.next is past the end of phase 0)`.
 */
export function checkResumePlan(state: ResumeState, path: string, plan: ResumePlan): void {
  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot resume from "${path}": damaged (${why})`);
  };
  const phase = state.phase ?? 0;
  const progressed = state.point.next > 0 || state.point.done.length > 0 || phase > 0;
  if (plan.phasePorts.length === 0) {
    if (progressed) fail("it has port-scan progress, but its command line scans no ports");
    return;
  }
  if (phase >= plan.phasePorts.length) fail(`phase ${phase} does not exist in its command line`);
  if (plan.discovery && progressed && state.upHosts === undefined) {
    fail("it has progress but not the hosts discovery found");
  }
  const upHosts = state.upHosts;
  if (upHosts !== undefined) {
    if (BigInt(upHosts.length) > plan.targets.size) {
      fail("upHosts holds more hosts than its targets");
    }
    if (plan.targets.size <= MEMBERSHIP_LIMIT) {
      const targets = new Set<string>();
      for (const host of plan.targets.hosts()) targets.add(host.address);
      const stray = upHosts.find((address) => !targets.has(address));
      if (stray !== undefined) fail(`upHosts holds ${stray}, which is not a target`);
    }
  }
  const hosts = upHosts !== undefined ? BigInt(upHosts.length) : plan.targets.size;
  const total = hosts * BigInt(plan.phasePorts[phase]!);
  const { next, done } = state.point;
  if (BigInt(next) > total) fail(`point.next is past the end of phase ${phase}`);
  if (done.some((index) => BigInt(index) >= total)) {
    fail(`point.done holds an index past the end of phase ${phase}`);
  }
}

/**
 * Read and check a resume file, whole. Capped and NUL-refusing like other
 * input files, so /dev/zero or an endless pipe ends at once.
 *
 * @throws {SyntaxError} one line, `Cannot resume from "x": …`.
 */
export async function readResumeState(
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<ResumeState> {
  let text: string;
  try {
    text = await readBoundedText(path, options);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new SyntaxError(`Cannot resume from "${path}": ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new SyntaxError(`Cannot resume from "${path}": the file is not valid JSON (corrupt?)`);
  }
  return validateResumeState(value, path);
}
