/**
 * What nmap says while it scans, said the same way: `-v` announces each
 * phase and every open port as found ("Discovered open port 22/tcp on …"),
 * `-d` adds the timing report and the path's final times, `--packet-trace`
 * a line per try sent and per answer, `--stats-every` nmap's stats lines.
 *
 * @module
 */

import type { PortResult } from "../model/mod.ts";
import type { Timing } from "../engine/types.ts";
import type { TraceEvent } from "../engine/trace.ts";
import { clockText, type Progress } from "../output/progress.ts";
import type { PhaseInfo } from "../scan/phase_info.ts";
import type { Host } from "../targets/types.ts";
import type { CliOptions } from "./args.ts";

/** Where the chatter goes. */
export interface ChatterIo {
  /** nmap's stdout lines (phases, open ports, stats): stderr when stdout carries a format. */
  say(text: string): void;
  /** The packet trace: stderr. */
  trace(text: string): void;
  /** The progress meter: told of phases, and cleared before any line. */
  progress: Progress;
  /** Milliseconds; `performance.now` by default. */
  now?: () => number;
  /** Wall clock for "at 12:24"; `new Date()` by default. */
  clock?: () => Date;
}

/** The scan hooks the chatter fills, and its end. */
export interface Chatter {
  phase(info: PhaseInfo): void;
  found?(result: PortResult, host: Host): void;
  trace?(event: TraceEvent): void;
  /** The scan's engines are done: the last phase is completed, the stats timer stops. */
  settled(): void;
}

/** Shortest --stats-every interval honoured, ms: a line a tenth of a second at most. */
const MIN_STATS_MS = 100;

/** Lines that say up front what of the command line this build leaves out. */
export function notices(options: CliOptions): string[] {
  return options.osDetection
    ? ["portolan: warning: OS detection (-O) is not available in this build; scanning without it\n"]
    : [];
}

/** nmap's `-d` timing report, with this scan's values (ms). */
export function timingReport(timing: Timing): string {
  return [
    "--------------- Timing report ---------------",
    `  rtt-timeouts: init ${timing.initialRttTimeout}, min ${timing.minRttTimeout}, max ${timing.maxRttTimeout}`,
    `  scan-delay: ${timing.scanDelay}`,
    `  parallelism: max ${timing.maxParallelism}`,
    `  max-retries: ${timing.maxRetries}, host-timeout: ${timing.hostTimeout}`,
    `  min-rate: ${timing.minRate}, max-rate: ${timing.maxRate}`,
    "---------------------------------------------",
    "",
  ].join("\n");
}

const CONNECT_ANSWERS: Record<string, string> = {
  "syn-ack": "Connected",
  "conn-refused": "Connection refused",
  "host-unreach": "No route to host",
  "net-unreach": "Network is unreachable",
  "no-route": "No route to host",
  "admin-prohibited": "Operation not permitted",
};

/**
 * One `--packet-trace` line, nmap's layout: `CONN (0.0237s) TCP localhost >
 * 127.0.0.1:8089 => Connected` for connect tries; `SENT`/`RCVD` for raw ones.
 * `seconds` is the time since the scan began.
 */
export function traceLine(event: TraceEvent, seconds: number): string | undefined {
  if (event.type === "times") return undefined;
  const time = `(${seconds.toFixed(4)}s)`;
  const protocol = event.kind === "udp" ? "UDP" : event.kind === "discovery" ? "PROBE" : "TCP";
  const target = event.port === undefined ? event.address : `${event.address}:${event.port}`;
  const where = event.address.includes(":") && event.port !== undefined
    ? `[${event.address}]:${event.port}`
    : target;
  if (event.kind === "connect") {
    if (event.type === "sent") {
      return `CONN ${time} TCP localhost > ${where} => Operation now in progress${
        event.attempt > 0 ? ` (try ${event.attempt + 1})` : ""
      }\n`;
    }
    const said = event.reason === undefined
      ? "no verdict"
      : CONNECT_ANSWERS[event.reason] ?? event.reason;
    return `CONN ${time} TCP localhost > ${where} => ${said}\n`;
  }
  if (event.type === "sent") {
    const flags = event.kind === "syn" ? " S" : "";
    return `SENT ${time} ${protocol} > ${where}${flags} try=${event.attempt + 1}\n`;
  }
  const verdict = event.state === undefined ? "no verdict" : `${event.state} (${event.reason})`;
  const ttl = event.ttl > 0 ? ` ttl=${event.ttl}` : "";
  return `RCVD ${time} ${protocol} ${where} > ${verdict}${ttl}\n`;
}

/** Create the chatter of one scan; `options` says how much of it is wanted. */
export function createChatter(options: CliOptions, io: ChatterIo): Chatter {
  const now = io.now ?? (() => performance.now());
  const clock = io.clock ?? (() => new Date());
  const started = now();
  let current: { info: PhaseInfo; at: number } | undefined;
  const say = (text: string): void => {
    io.progress.clear();
    io.say(text);
  };
  const complete = (): void => {
    if (current === undefined || options.verbose === 0) return;
    const { info, at } = current;
    const seconds = ((now() - at) / 1000).toFixed(2);
    say(
      `Completed ${info.name} at ${clockText(clock())}, ${seconds}s elapsed${
        info.total === undefined ? "" : ` (${info.total})`
      }\n`,
    );
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  if (options.statsEvery !== undefined) {
    timer = setInterval(() => {
      say(io.progress.stats(clock(), current?.info.hosts));
    }, Math.max(MIN_STATS_MS, options.statsEvery));
  }
  const chatter: Chatter = {
    phase(info: PhaseInfo): void {
      complete();
      current = { info, at: now() };
      io.progress.phase(info.name);
      if (options.verbose === 0) return;
      say(`Initiating ${info.name} at ${clockText(clock())}\n`);
      if (info.scanning !== undefined) say(`Scanning ${info.scanning}\n`);
    },
    settled(): void {
      complete();
      current = undefined;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
  if (options.verbose > 0) {
    chatter.found = (result): void => {
      say(`Discovered open port ${result.port}/${result.protocol} on ${result.address}\n`);
    };
  }
  if (options.packetTrace || options.debug > 0) {
    chatter.trace = (event): void => {
      if (event.type === "times") {
        if (options.debug === 0) return;
        // nmap's figures are microseconds.
        const us = (ms: number): number => Math.round(ms * 1000);
        say(
          `Final times: srtt: ${us(event.srtt)} rttvar: ${us(event.rttvar)}  to: ${
            us(event.timeout)
          }\n`,
        );
        return;
      }
      if (!options.packetTrace) return;
      const line = traceLine(event, (now() - started) / 1000);
      if (line !== undefined) {
        io.progress.clear();
        io.trace(line);
      }
    };
  }
  return chatter;
}
