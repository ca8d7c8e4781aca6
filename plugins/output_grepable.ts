/**
 * `-oG`: nmap's grepable format, one line per host:
 * `Host: 198.51.100.2 ()\tPorts: 22/open/tcp//ssh///\tIgnored State: closed (997)`.
 *
 * @module
 */

import {
  commandArgs,
  escapeControls,
  type HostReport,
  nmapPortLayout,
  nmapView,
  type OutputPlugin,
  type PortResult,
  readServiceNames,
  reportFlags,
  type ScanReport,
  type ServiceNames,
  serviceText,
  versionLine,
} from "../src/plugin/mod.ts";
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
  /** `-sV` was run: an open port's name guessed from the table ends in `?`, as nmap's. */
  serviceDetection?: boolean;
  /** `-sn`: the status line only. */
  pingOnly?: boolean;
}

function portEntry(port: PortResult, options: GrepableOptions): string {
  const service = port.service;
  const tunnel = service?.tunnel === "ssl" || (typeof service?.tls === "object" && service.tls);
  const probed = serviceText(service, "name");
  const name = probed ?? options.serviceNames?.get(`${port.port}/${port.protocol}`);
  const guessed = probed === undefined && options.serviceDetection === true &&
    (port.state === "open" || port.state === "open|filtered");
  const shown = name === undefined
    ? ""
    : `${tunnel ? "ssl|" : ""}${field(name)}${guessed ? "?" : ""}`;
  // port/state/protocol/owner/service/rpc info/version/
  return `${port.port}/${port.state}/${port.protocol}//${shown}//${field(versionLine(service))}/`;
}

/** The lines of one host: its status, then its ports. */
export function grepableHost(host: HostReport, options: GrepableOptions = {}): string {
  const status = host.state === "up" ? "Up" : host.state === "down" ? "Down" : "Unknown";
  const prefix = hostPrefix(host);
  let text = `${prefix}\tStatus: ${status}\n`;
  if (host.state === "down" || options.pingOnly === true) return text;
  const layout = nmapPortLayout(host);
  const ports = layout.ports.map((port) => portEntry(port, options)).join(", ");
  let line = `${prefix}\tPorts: ${ports}`;
  // nmap names the ignored state only when there is one.
  const [only, ...others] = layout.extraports;
  if (only !== undefined && others.length === 0) {
    line += `\tIgnored State: ${only.state} (${only.count})`;
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
    `# Nmap done at ${formatDate(report.end)} -- ` +
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
          const report = nmapView(event.report);
          const flags = reportFlags(report.args);
          const resolved: GrepableOptions = {
            serviceNames: options.serviceNames ?? await readServiceNames(),
            serviceDetection: options.serviceDetection ?? flags.serviceDetection,
            pingOnly: options.pingOnly ?? (flags.pingOnly || report.scaninfo.length === 0),
          };
          if (!headerWritten) await out.write(grepableHeader(report));
          // Host by host: a large report is never one string.
          for (const host of report.hosts) await out.write(grepableHost(host, resolved));
          await out.write(grepableFooter(report, event.interrupted));
        }
      }
    },
  };
}
