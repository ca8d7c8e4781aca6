/**
 * `--output jsonl:FILE`: JSON Lines, one object per event as it happens, so a
 * huge or interrupted scan loses nothing that was found before it stopped.
 *
 * Lines, each with a `type`:
 * - `start`: scanner, version, args, start, scaninfo;
 * - `host`: a host's discovery verdict (address, hostnames, state, reason);
 * - `port`: a port's verdict (address, protocol, port, state, reason, rtt?,
 *   reasonTtl?, service), every port, as soon as it is known;
 * - `end`: end, interrupted, stats, and per host its state and port counts.
 *
 * @module
 */

import {
  jsonText,
  type OutputPlugin,
  type PortResult,
  type ScanEvent,
  type ScanReport,
} from "../src/plugin/mod.ts";

function portLine(result: PortResult): Record<string, unknown> {
  return {
    type: "port",
    address: result.address,
    protocol: result.protocol,
    port: result.port,
    state: result.state,
    reason: result.reason,
    ...(result.rtt === undefined ? {} : { rtt: result.rtt }),
    ...(result.reasonTtl === undefined ? {} : { reasonTtl: result.reasonTtl }),
    service: { ...result.service },
    ...(result.scripts === undefined ? {} : { scripts: result.scripts.map((s) => ({ ...s })) }),
  };
}

function endLine(report: ScanReport, interrupted: boolean): Record<string, unknown> {
  return {
    type: "end",
    end: report.end,
    interrupted,
    stats: { ...report.stats },
    hosts: report.hosts.map((host) => {
      const counts: Record<string, number> = {};
      for (const port of host.ports) counts[port.state] = (counts[port.state] ?? 0) + 1;
      for (const extra of host.extraports) {
        counts[extra.state] = (counts[extra.state] ?? 0) + extra.count;
      }
      return { address: host.address, state: host.state, reason: host.reason, ports: counts };
    }),
  };
}

/**
 * One event as one JSON line ({@link jsonText} escapes every control
 * character, so a line never breaks and holds no raw control byte).
 */
export function jsonlLine(event: ScanEvent): string {
  let value: Record<string, unknown>;
  switch (event.type) {
    case "start":
      value = {
        type: "start",
        scanner: event.report.scanner,
        version: event.report.version,
        args: event.report.args,
        start: event.report.start,
        scaninfo: event.report.scaninfo,
      };
      break;
    case "host":
      value = {
        type: "host",
        address: event.host.address,
        hostnames: event.host.hostnames,
        state: event.host.state,
        reason: event.host.reason,
      };
      break;
    case "port":
      value = portLine(event.result);
      break;
    case "end":
      value = endLine(event.report, event.interrupted);
      break;
  }
  // U+2028/2029 (legal in JSON, but they end lines in some readers), DEL, C1 and bidi escaped too.
  return jsonText(value) + "\n";
}

/**
 * The JSON Lines output.
 *
 * @example
 * ```ts
 * import { jsonlOutput } from "./output_jsonl.ts";
 * console.log(jsonlOutput().name); // "jsonl"
 * ```
 */
export function jsonlOutput(): OutputPlugin {
  return {
    name: "jsonl",
    description: "JSON Lines: every event as it happens, then a summary",
    async write(events, out): Promise<void> {
      for await (const event of events) await out.write(jsonlLine(event));
    },
  };
}
