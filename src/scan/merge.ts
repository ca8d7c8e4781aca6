/**
 * `portolan merge`: the outputs of the shards of one scan (`--shard I/N`),
 * as `-oJ`, `-oX` or JSONL files, turned back into the report of the whole
 * scan and written to any output.
 *
 * Every input goes through one bounded {@link Pipeline}, as verdicts do in
 * a scan: a port reported by several inputs is taken once (an answer over
 * silence), closed ports are summed, and each host's unanswered ports are
 * derived again from the scan's port set, since a shard cannot know them
 * (it probed only part of each host's ports). JSONL inputs are read line by
 * line, so their size costs no memory.
 *
 * @module
 */

import type { HostResult, Protocol, ScanInfo, ScanReport, ScanStats } from "../model/mod.ts";
import { parsePorts } from "../ports/mod.ts";
import { parseReportText, portFromJson } from "../store/report_file.ts";
import { openPipeline, type PipelineOptions, type PipelineResult } from "./pipeline.ts";

/** The head of an input: what a pipeline needs before its first verdict. */
interface InputHead {
  path: string;
  args: string[];
  version: string;
  start: string;
  end: string;
  scaninfo: ScanInfo[];
  stats: ScanReport["stats"] | undefined;
  /** A whole-document input, already read. */
  report?: ScanReport;
  jsonl: boolean;
}

/** Options of {@link mergeReports}. */
export interface MergeOptions {
  outputs: PipelineOptions["outputs"];
  /** Where an output to "-" goes (the process's stdout when absent). */
  stdout?: PipelineOptions["stdout"];
  history?: PipelineOptions["history"];
  /** `--open`: list only open ports. */
  openOnly?: boolean;
  /** Keep hosts found down. */
  includeDown?: boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** The counters of a JSONL end line; a missing or wrong one counts 0. */
function statsOf(stats: Json): ScanStats {
  return {
    probes: count(stats.probes),
    retries: count(stats.retries),
    seconds: count(stats.seconds),
    hostsUp: count(stats.hostsUp),
    hostsDown: count(stats.hostsDown),
    hostsTotal: count(stats.hostsTotal),
    ...(stats.receiverDrops === undefined ? {} : { receiverDrops: count(stats.receiverDrops) }),
    ...(stats.sendRate === undefined ? {} : { sendRate: count(stats.sendRate) }),
  };
}

/** The lines of a file, read as a stream. */
async function* lines(path: string): AsyncGenerator<string> {
  const file = await Deno.open(path, { read: true });
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const chunk of file.readable) {
      rest += decoder.decode(chunk, { stream: true });
      let newline = rest.indexOf("\n");
      while (newline !== -1) {
        yield rest.slice(0, newline);
        rest = rest.slice(newline + 1);
        newline = rest.indexOf("\n");
      }
    }
    rest += decoder.decode();
    if (rest !== "") yield rest;
  } finally {
    try {
      file.close();
    } catch {
      // Closed by the stream already (BadResource). Anything else is swallowed too: a throw
      // in this finally would hide the error, if any, that brought the read here.
    }
  }
}

function readError(path: string, error: unknown): Error {
  const why = error instanceof Deno.errors.NotFound
    ? "no such file"
    : error instanceof Error
    ? error.message
    : String(error);
  return new Error(`Cannot read report "${path}": ${why}`, { cause: error });
}

/** Read an input's head: a JSONL file's start line, or a whole JSON/XML report. */
async function readHead(path: string): Promise<InputHead> {
  let first: string | undefined;
  try {
    for await (const line of lines(path)) {
      if (line.trim() === "") continue;
      first = line;
      break;
    }
  } catch (error) {
    throw readError(path, error);
  }
  let start: unknown;
  try {
    start = first === undefined ? undefined : JSON.parse(first);
  } catch (error) {
    // Not one JSON object on the first line: a whole document.
    if (!(error instanceof SyntaxError)) throw error;
  }
  if (isObject(start) && start.type === "start") {
    const head: InputHead = {
      path,
      args: Array.isArray(start.args) ? start.args.map(String) : [],
      version: typeof start.version === "string" ? start.version : "",
      start: typeof start.start === "string" ? start.start : "",
      end: "",
      scaninfo: Array.isArray(start.scaninfo) ? start.scaninfo as ScanInfo[] : [],
      stats: undefined,
      jsonl: true,
    };
    // The end line (last) carries the end time and the counters.
    for await (const line of lines(path)) {
      if (!line.startsWith('{"type":"end"')) continue;
      const end = JSON.parse(line) as Json;
      head.end = typeof end.end === "string" ? end.end : "";
      if (isObject(end.stats)) head.stats = statsOf(end.stats);
    }
    return head;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw readError(path, error);
  }
  const report = parseReportText(text, path);
  return {
    path,
    args: report.args,
    version: report.version,
    start: report.start,
    end: report.end,
    scaninfo: report.scaninfo,
    stats: report.end === "" ? undefined : report.stats,
    report,
    jsonl: false,
  };
}

function sameScan(a: InputHead, b: InputHead): boolean {
  const key = (head: InputHead): string =>
    head.scaninfo.map((info) => `${info.type}/${info.protocol}/${info.services}`).sort().join(
      " ",
    );
  return key(a) === key(b);
}

/** The scanned ports per protocol, from the scaninfo's compact lists. */
function scannedOf(scaninfo: readonly ScanInfo[]): { tcp?: number[]; udp?: number[] } {
  const scanned: { tcp?: number[]; udp?: number[] } = {};
  for (const info of scaninfo) {
    if (info.services === "") continue;
    const protocol: Protocol = info.protocol;
    const ports = parsePorts(info.services, { protocols: [protocol] })[protocol];
    scanned[protocol] = [...new Set([...(scanned[protocol] ?? []), ...ports])].sort((a, b) =>
      a - b
    );
  }
  return scanned;
}

/**
 * Merge the shard outputs at `paths` and write the result to every output.
 *
 * @throws {Error} when an input cannot be read or parsed, or the inputs are
 * not of one scan (different scan types or ports).
 */
export async function mergeReports(
  paths: readonly string[],
  options: MergeOptions,
): Promise<PipelineResult> {
  if (paths.length === 0) throw new RangeError("Cannot merge: no files given");
  const heads: InputHead[] = [];
  for (const path of paths) heads.push(await readHead(path));
  const first = heads[0]!;
  for (const head of heads) {
    if (!sameScan(first, head)) {
      throw new RangeError(
        `Cannot merge "${head.path}" with "${first.path}": they scanned different ports or types`,
      );
    }
  }
  const starts = heads.map((head) => head.start).filter((start) => start !== "").sort();
  const ends = heads.map((head) => head.end).filter((end) => end !== "").sort();
  const pipeline = await openPipeline({
    info: {
      version: first.version,
      args: first.args,
      scaninfo: first.scaninfo,
      start: new Date(starts[0] ?? Date.now()),
    },
    report: {
      scanned: scannedOf(first.scaninfo),
      openOnly: options.openOnly ?? false,
      includeDown: options.includeDown ?? false,
    },
    outputs: options.outputs,
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.history ? { history: options.history } : {}),
  });
  let probes = 0;
  let retries = 0;
  let hostsTotal = 0;
  let hostsDown = 0;
  let receiverDrops: number | undefined;
  let interrupted = false;
  for (const head of heads) {
    if (head.stats === undefined) interrupted = true;
    else {
      probes += head.stats.probes;
      retries += head.stats.retries;
      // Every shard counts the whole target set and (its discovery being whole) the same down hosts.
      hostsTotal = Math.max(hostsTotal, head.stats.hostsTotal);
      hostsDown = Math.max(hostsDown, head.stats.hostsDown);
      if (head.stats.receiverDrops !== undefined) {
        receiverDrops = (receiverDrops ?? 0) + head.stats.receiverDrops;
      }
    }
    if (head.report !== undefined) {
      pipeline.replay(head.report);
      continue;
    }
    for await (const line of lines(head.path)) {
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        throw new SyntaxError(`Cannot parse report "${head.path}": a line is not JSON`);
      }
      if (!isObject(value)) continue;
      if (value.type === "host" && value.state !== "unknown") {
        pipeline.host({
          address: String(value.address),
          hostnames: Array.isArray(value.hostnames) ? value.hostnames.map(String) : [],
          state: value.state as HostResult["state"],
          reason: String(value.reason ?? ""),
        });
      } else if (value.type === "port") {
        // Checked and narrowed as a JSON report's port is; a port that is none is skipped.
        const address = typeof value.address === "string" ? value.address : "";
        const result = address === "" ? undefined : portFromJson(value, address);
        if (result !== undefined) pipeline.port(result);
      }
    }
  }
  return await pipeline.finish(
    {
      probes,
      retries,
      hostsTotal,
      hostsDown,
      ...(receiverDrops !== undefined ? { receiverDrops } : {}),
    },
    { interrupted, ...(ends.length > 0 ? { end: new Date(ends[ends.length - 1]!) } : {}) },
  );
}
