/**
 * `-oJ`: the final report as JSON.
 *
 * @module
 */

import type { PortResult } from "../src/engine/types.ts";
import type { HostReport, ScanReport } from "../src/output/report.ts";
import type { OutputPlugin } from "../src/plugins/types.ts";

/** A port as the JSON report shows it: without the host address, always with `service`. */
export interface JsonPort {
  protocol: PortResult["protocol"];
  port: number;
  state: PortResult["state"];
  reason: string;
  rtt?: number;
  reasonTtl?: number;
  service: Record<string, unknown>;
}

function jsonPort(port: PortResult): JsonPort {
  return {
    protocol: port.protocol,
    port: port.port,
    state: port.state,
    reason: port.reason,
    ...(port.rtt === undefined ? {} : { rtt: port.rtt }),
    ...(port.reasonTtl === undefined ? {} : { reasonTtl: port.reasonTtl }),
    service: { ...port.service },
  };
}

function jsonHost(host: HostReport): Record<string, unknown> {
  return {
    address: host.address,
    hostnames: host.hostnames,
    state: host.state,
    reason: host.reason,
    ...(host.mac === undefined ? {} : { mac: host.mac }),
    ports: host.ports.map(jsonPort),
    extraports: host.extraports.map((extra) => ({
      state: extra.state,
      count: extra.count,
      reasons: extra.reasons.map((r) => ({ reason: r.reason, count: r.count })),
    })),
  };
}

/** The report in the `-oJ` schema, keys in a fixed order. */
export function toJson(report: ScanReport): string {
  const ordered = {
    scanner: report.scanner,
    version: report.version,
    args: report.args,
    start: report.start,
    end: report.end,
    scaninfo: report.scaninfo.map((info) => ({
      type: info.type,
      protocol: info.protocol,
      numServices: info.numServices,
      services: info.services,
    })),
    hosts: report.hosts.map(jsonHost),
    stats: {
      probes: report.stats.probes,
      retries: report.stats.retries,
      seconds: report.stats.seconds,
      hostsUp: report.stats.hostsUp,
      hostsDown: report.stats.hostsDown,
      hostsTotal: report.stats.hostsTotal,
      ...(report.stats.receiverDrops !== undefined
        ? { receiverDrops: report.stats.receiverDrops }
        : {}),
    },
  };
  return JSON.stringify(ordered, null, 2) + "\n";
}

/**
 * The JSON output: writes the complete report once the scan ends.
 *
 * @example
 * ```ts
 * import { jsonOutput } from "./output_json.ts";
 * const plugin = jsonOutput();
 * console.log(plugin.name); // "json"
 * ```
 */
export function jsonOutput(): OutputPlugin {
  return {
    name: "json",
    description: "the whole report as JSON (-oJ)",
    async write(events, out): Promise<void> {
      for await (const event of events) {
        if (event.type === "end") await out.write(toJson(event.report));
      }
    },
  };
}
