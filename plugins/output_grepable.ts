/**
 * `-oG`: nmap's grepable format, one line per host:
 * `Host: 198.51.100.2 ()\tPorts: 22/open/tcp//ssh///\tIgnored State: closed (997)`.
 *
 * @module
 */

import type { PortResult } from "../src/engine/types.ts";
import type { HostReport, ScanReport } from "../src/output/report.ts";
import {
  commandArgs,
  escapeControls,
  nmapPortLayout,
  serviceText,
  versionLine,
} from "../src/plugins/format.ts";
import { readServiceNames, type ServiceNames } from "../src/plugins/service_names.ts";
import type { OutputPlugin } from "../src/plugins/types.ts";
import { formatDate } from "./output_normal.ts";

/**
 * A field of the line: controls escaped, and the characters that separate
 * fields replaced (`/` by `|` as nmap does, `,` by `;`), so a parser that
 * splits on them stays right whatever a service sends.
 */
function field(text: string): string {
  return escapeControls(text).replaceAll("/", "|").replaceAll(",", ";");
}

function hostPrefix(host: HostReport): string {
  return `Host: ${field(host.address)} (${field(host.hostnames[0] ?? "")})`;
}

/** Options of {@link grepableOutput} and {@link grepableHost}. */
export interface GrepableOptions {
  /**
   * Names of services that were not probed, by "port/protocol", as nmap
   * takes them from its nmap-services table. {@link grepableOutput} reads
   * /usr/share/nmap/nmap-services when this is absent.
   */
  serviceNames?: ServiceNames;
}

function portEntry(port: PortResult, names: ServiceNames | undefined): string {
  const service = port.service;
  const tunnel = service?.tunnel === "ssl" || (typeof service?.tls === "object" && service.tls);
  const name = serviceText(service, "name") ?? names?.get(`${port.port}/${port.protocol}`);
  const shown = name === undefined ? "" : `${tunnel ? "ssl|" : ""}${field(name)}`;
  // port/state/protocol/owner/service/rpc info/version/
  return `${port.port}/${port.state}/${port.protocol}//${shown}//${field(versionLine(service))}/`;
}

/** The lines of one host: its status, then its ports. */
export function grepableHost(host: HostReport, options: GrepableOptions = {}): string {
  const status = host.state === "up" ? "Up" : host.state === "down" ? "Down" : "Unknown";
  const prefix = hostPrefix(host);
  let text = `${prefix}\tStatus: ${status}\n`;
  if (host.state === "down") return text;
  const layout = nmapPortLayout(host);
  const ports = layout.ports.map((port) => portEntry(port, options.serviceNames)).join(", ");
  let line = `${prefix}\tPorts: ${ports}`;
  if (layout.extraports.length > 0) {
    const ignored = layout.extraports.map((group) => `${group.state} (${group.count})`);
    line += `\tIgnored State: ${ignored.join(", ")}`;
  }
  text += line + "\n";
  return text;
}

function commandLine(report: ScanReport): string {
  return escapeControls(commandArgs(report.args).join(" "));
}

/** The first line. */
export function grepableHeader(report: ScanReport): string {
  return `# portolan ${escapeControls(report.version)} scan initiated ${
    formatDate(report.start)
  } as: ${commandLine(report)}\n`;
}

/** The last line(s). */
export function grepableFooter(report: ScanReport, interrupted: boolean): string {
  const stats = report.stats;
  const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  return (interrupted ? "# Scan interrupted: results are partial.\n" : "") +
    `# portolan done at ${formatDate(report.end)} -- ` +
    `${count(stats.hostsTotal, "IP address", "IP addresses")} ` +
    `(${count(stats.hostsUp, "host up", "hosts up")}) scanned in ${
      stats.seconds.toFixed(2)
    } seconds\n`;
}

/**
 * The grepable output.
 *
 * @example
 * ```ts
 * import { grepableOutput } from "./output_grepable.ts";
 * console.log(grepableOutput().name); // "grepable"
 * ```
 */
export function grepableOutput(options: GrepableOptions = {}): OutputPlugin {
  return {
    name: "grepable",
    description: "nmap's grepable format, one line per host (-oG)",
    events: ["start", "end"],
    async write(events, out): Promise<void> {
      let headerWritten = false;
      for await (const event of events) {
        if (event.type === "start") {
          await out.write(grepableHeader(event.report));
          headerWritten = true;
        } else if (event.type === "end") {
          const report = event.report;
          const serviceNames = options.serviceNames ?? await readServiceNames();
          if (!headerWritten) await out.write(grepableHeader(report));
          // Host by host: a large report is never one string.
          for (const host of report.hosts) await out.write(grepableHost(host, { serviceNames }));
          await out.write(grepableFooter(report, event.interrupted));
        }
      }
    },
  };
}
