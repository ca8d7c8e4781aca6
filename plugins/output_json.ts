/**
 * `-oJ`: the final report as JSON.
 *
 * @module
 */

import {
  type HostReport,
  jsonText,
  type OutputPlugin,
  type PortResult,
  type ScanReport,
  type ServiceMatch,
} from "../src/plugin/mod.ts";

/** A port as the JSON report shows it: without the host address, always with `service`. */
export interface JsonPort {
  protocol: PortResult["protocol"];
  port: number;
  state: PortResult["state"];
  reason: string;
  rtt?: number;
  reasonTtl?: number;
  /** The port's service, `{}` when none was found. */
  service: ServiceMatch;
  /** Output of the scripts that ran on the port (-sC, --script), in nmap's form. */
  scripts?: { id: string; output: string }[];
}

// Built field by field, not by spreading: a sweep's report has a port or more per host.
function jsonPort(port: PortResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    protocol: port.protocol,
    port: port.port,
    state: port.state,
    reason: port.reason,
  };
  if (port.rtt !== undefined) out.rtt = port.rtt;
  if (port.reasonTtl !== undefined) out.reasonTtl = port.reasonTtl;
  out.service = { ...port.service };
  if (port.scripts !== undefined) out.scripts = port.scripts.map((s) => ({ ...s }));
  return out;
}

function jsonHost(host: HostReport): Record<string, unknown> {
  const out: Record<string, unknown> = {
    address: host.address,
    hostnames: host.hostnames,
    state: host.state,
    reason: host.reason,
  };
  if (host.mac !== undefined) out.mac = host.mac;
  out.ports = host.ports.map(jsonPort);
  out.extraports = host.extraports.map((extra) => ({
    state: extra.state,
    count: extra.count,
    reasons: extra.reasons.map((r) => ({ reason: r.reason, count: r.count })),
  }));
  return out;
}

/** Hosts serialised in one call: fewer, longer strings to make and scan. */
const HOSTS_PER_CHUNK = 64;

// What JSON.stringify(…, 2) puts around a list of hosts that is the only key.
const LIST_HEAD = '{\n  "hosts": [\n';
const LIST_TAIL = "\n  ]\n}";

/** Options of {@link toJson} and {@link jsonChunks}. */
export interface JsonOptions {
  /** The scan was stopped before its end: its results are partial. */
  interrupted?: boolean;
}

/**
 * The report in the `-oJ` schema, keys in a fixed order; `interrupted` when
 * the scan was stopped before its end (its results are partial), as JSON
 * Lines and XML mark it.
 */
export function toJson(report: ScanReport, options: JsonOptions = {}): string {
  return [...jsonChunks(report, options)].join("");
}

/**
 * {@link toJson} in pieces, one host at a time, so a large report is never
 * held twice (as objects and as one string) while it is written.
 */
export function* jsonChunks(report: ScanReport, options: JsonOptions = {}): Generator<string> {
  const ordered = {
    scanner: report.scanner,
    version: report.version,
    args: report.args,
    start: report.start,
    end: report.end,
    ...(options.interrupted === true ? { interrupted: true } : {}),
    scaninfo: report.scaninfo.map((info) => ({
      type: info.type,
      protocol: info.protocol,
      numServices: info.numServices,
      services: info.services,
    })),
    hosts: [] as unknown[],
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
      ...(report.stats.sendRate !== undefined ? { sendRate: report.stats.sendRate } : {}),
    },
  };
  // The document with an empty host list, split where the hosts go.
  const [head, tail] = jsonText(ordered, 2).split('"hosts": []') as [string, string];
  if (report.hosts.length === 0) {
    yield `${head}"hosts": []${tail}\n`;
    return;
  }
  yield `${head}"hosts": [\n`;
  // A run of hosts as the one key of an object comes out indented as the report's list is.
  const hosts = report.hosts;
  for (let from = 0; from < hosts.length; from += HOSTS_PER_CHUNK) {
    const batch = hosts.slice(from, from + HOSTS_PER_CHUNK).map(jsonHost);
    const text = jsonText({ hosts: batch }, 2);
    yield `${from === 0 ? "" : ",\n"}${text.slice(LIST_HEAD.length, -LIST_TAIL.length)}`;
  }
  yield `\n  ]${tail}\n`;
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
    events: ["start", "end"],
    async write(events, out): Promise<void> {
      for await (const event of events) {
        if (event.type !== "end") continue;
        const chunks = jsonChunks(event.report, { interrupted: event.interrupted });
        for (const chunk of chunks) await out.write(chunk);
      }
    },
  };
}
