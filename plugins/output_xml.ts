/**
 * `-oX`: nmap's XML format, valid against nmap.dtd, so ndiff, nmap.xsl and the
 * tools that import nmap XML read it.
 *
 * The DTD allows only `scanner="nmap"`; the document says it is portolan's
 * in its leading comment and in `args`, and `version` is portolan's version.
 *
 * @module
 */

import {
  addressType,
  commandArgs,
  escapeXml,
  groupPorts,
  hostLatency,
  type HostReport,
  macVendor,
  type MacVendors,
  nmapPortLayout,
  nmapView,
  type OutputPlugin,
  type PortResult,
  readMacVendors,
  readServiceNames,
  reportFlags,
  type ScanReport,
  type ServiceNames,
  serviceText,
} from "../src/plugin/mod.ts";
import { formatDate } from "./output_normal.ts";

/** Scan types nmap.dtd knows. */
const SCAN_TYPES = new Set([
  "syn",
  "ack",
  "bounce",
  "connect",
  "null",
  "xmas",
  "window",
  "maimon",
  "fin",
  "udp",
  "sctpinit",
  "sctpcookieecho",
  "ipproto",
]);

function epoch(iso: string): number {
  const ms = new Date(iso).getTime();
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

function commandLine(report: ScanReport): string {
  return commandArgs(report.args)
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`))
    .join(" ");
}

function attrs(pairs: Record<string, string | number | undefined>): string {
  let text = "";
  for (const [key, value] of Object.entries(pairs)) {
    if (value !== undefined) text += ` ${key}="${escapeXml(String(value))}"`;
  }
  return text;
}

/** The prologue and the opening `<nmaprun>` with scaninfo: what nmap writes first. */
export function xmlHeader(report: ScanReport): string {
  const command = commandLine(report);
  // Markup is escaped even here, and "--" may not appear inside an XML comment.
  const comment = escapeXml(
    `portolan ${report.version} scan initiated ${formatDate(report.start)} as: ${command}`,
  ).replaceAll("--", "-&#45;");
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<!DOCTYPE nmaprun>`,
    `<?xml-stylesheet href="file:///usr/share/nmap/nmap.xsl" type="text/xsl"?>`,
    `<!-- ${comment} -->`,
    `<nmaprun${
      attrs({
        scanner: "nmap",
        args: command,
        start: epoch(report.start),
        startstr: formatDate(report.start),
        version: report.version,
        xmloutputversion: "1.05",
      })
    }>`,
  ];
  for (const info of report.scaninfo) {
    if (!SCAN_TYPES.has(info.type)) continue;
    lines.push(
      `<scaninfo${
        attrs({
          type: info.type,
          protocol: info.protocol,
          numservices: info.numServices,
          services: info.services,
        })
      }/>`,
    );
  }
  lines.push(`<verbose level="0"/>`, `<debugging level="0"/>`);
  return lines.join("\n") + "\n";
}

/** Options of {@link xmlOutput} and {@link toXml}. */
export interface XmlOptions {
  /**
   * Names of services that were not probed, by "port/protocol", as nmap
   * takes them from its nmap-services table. {@link xmlOutput} reads
   * /usr/share/nmap/nmap-services when this is absent.
   */
  serviceNames?: ServiceNames;
  /** Vendors by MAC prefix; {@link xmlOutput} reads nmap-mac-prefixes when absent. */
  macVendors?: MacVendors;
}

function xmlService(port: PortResult, names: ServiceNames | undefined): string {
  const service = port.service;
  const name = serviceText(service, "name") ?? names?.get(`${port.port}/${port.protocol}`);
  if (name === undefined) return "";
  const product = serviceText(service, "product");
  const version = serviceText(service, "version");
  const probed = serviceText(service, "name") !== undefined &&
    (product !== undefined || version !== undefined || service?.method === "probed");
  // nmap is less sure of a service that closed the connection at once.
  const conf = probed ? (name === "tcpwrapped" ? 8 : 10) : 3;
  const tunnel = service?.tunnel === "ssl" || (typeof service?.tls === "object" && service.tls);
  const cpes = Array.isArray(service?.cpe)
    ? service.cpe.filter((cpe): cpe is string => typeof cpe === "string")
    : [];
  const open = `<service${
    attrs({
      name,
      product,
      version,
      extrainfo: serviceText(service, "extraInfo"),
      hostname: serviceText(service, "hostname"),
      ostype: serviceText(service, "ostype"),
      devicetype: serviceText(service, "devicetype"),
      tunnel: tunnel ? "ssl" : undefined,
      method: probed ? "probed" : "table",
      conf,
    })
  }`;
  if (cpes.length === 0) return `${open}/>`;
  return `${open}>${cpes.map((cpe) => `<cpe>${escapeXml(cpe)}</cpe>`).join("")}</service>`;
}

/** nmap's `<script id= output=>` of each script that ran on the port; line breaks as `&#xa;`. */
function xmlScripts(port: PortResult): string {
  return (port.scripts ?? []).map((script) =>
    `<script id="${escapeXml(script.id)}" output="${
      script.output.split("\n").map(escapeXml).join("&#xa;")
    }"/>`
  ).join("");
}

function xmlPort(port: PortResult, names: ServiceNames | undefined): string {
  const state = `<state${
    attrs({ state: port.state, reason: port.reason, reason_ttl: port.reasonTtl ?? 0 })
  }/>`;
  // Banners stay in JSON: nmap writes <script id="banner"> only when that script was asked for.
  return `<port${attrs({ protocol: port.protocol, portid: port.port })}>${state}${
    xmlService(port, names)
  }${xmlScripts(port)}</port>`;
}

function addressLines(host: HostReport, vendors: MacVendors | undefined): string[] {
  const lines = [`<address${attrs({ addr: host.address, addrtype: addressType(host.address) })}/>`];
  if (host.mac !== undefined) {
    lines.push(
      `<address${
        attrs({
          addr: host.mac.toUpperCase(),
          addrtype: "mac",
          vendor: macVendor(host.mac, vendors),
        })
      }/>`,
    );
  }
  return lines;
}

function statusLine(host: HostReport): string {
  return `<status${
    attrs({ state: host.state, reason: host.reason, reason_ttl: host.reasonTtl ?? 0 })
  }/>`;
}

/**
 * nmap's `<times>`, µs: the smoothed round-trip time, its variation and the
 * timeout they give (at least nmap's 100 ms floor).
 */
function timesLine(host: HostReport): string | undefined {
  const rtt = hostLatency(host);
  if (rtt === undefined) return undefined;
  const samples = host.ports.flatMap((port) => port.rtt === undefined ? [] : [port.rtt]);
  const mean = samples.length > 0 ? samples.reduce((a, b) => a + b, 0) / samples.length : rtt;
  const variation = samples.length > 0
    ? samples.reduce((sum, sample) => sum + Math.abs(sample - mean), 0) / samples.length
    : rtt / 2;
  const srtt = Math.round(rtt * 1000);
  const rttvar = Math.round(variation * 1000);
  return `<times${attrs({ srtt, rttvar, to: Math.max(100_000, srtt + 4 * rttvar) })}/>`;
}

/**
 * A `<hosthint>` per host found up by discovery before a port scan, as nmap
 * writes them while it scans.
 */
export function xmlHostHints(report: ScanReport, options: XmlOptions = {}): string {
  if (report.scaninfo.length === 0 || reportFlags(report.args).pingOnly) return "";
  return report.hosts
    .filter((host) => host.state === "up" && host.reason !== "user-set" && host.rtt !== undefined)
    .map((host) =>
      [
        `<hosthint>${statusLine(host)}`,
        ...addressLines(host, options.macVendors),
        `<hostnames>`,
        ...host.hostnames.map((name) => `<hostname${attrs({ name, type: "user" })}/>`),
        `</hostnames>`,
        `</hosthint>`,
      ].join("\n") + "\n"
    ).join("");
}

/** One `<host>` element. */
export function xmlHost(host: HostReport, report: ScanReport, options: XmlOptions = {}): string {
  const pingOnly = report.scaninfo.length === 0 || reportFlags(report.args).pingOnly;
  const span = pingOnly
    ? {}
    : { starttime: epoch(report.start), endtime: epoch(report.end) || undefined };
  const lines = [
    `<host${attrs(span)}>${statusLine(host)}`,
    ...addressLines(host, options.macVendors),
    `<hostnames>`,
    ...host.hostnames.map((name) => `<hostname${attrs({ name, type: "user" })}/>`),
    `</hostnames>`,
  ];
  if (host.state !== "down" && !pingOnly) {
    const layout = nmapPortLayout(host);
    const protocol = report.scaninfo[0]?.protocol ?? "tcp";
    // nmap writes the first <extraports> on the <ports> line.
    let open = "<ports>";
    for (const group of layout.extraports) {
      lines.push(`${open}<extraports${attrs({ state: group.state, count: group.count })}>`);
      open = "";
      for (const reason of group.reasons) {
        lines.push(
          `<extrareasons${
            attrs({
              reason: reason.reason,
              count: reason.count,
              proto: group.reasonPorts.get(reason.reason)?.protocol ?? protocol,
              ports: groupPorts(group, reason.reason),
            })
          }/>`,
        );
      }
      lines.push("</extraports>");
    }
    const ports = layout.ports.map((port) => xmlPort(port, options.serviceNames));
    if (ports.length > 0) ports[0] = open + ports[0];
    else if (open !== "") ports.push(open);
    lines.push(...ports, "</ports>");
  }
  const times = host.state === "up" ? timesLine(host) : undefined;
  if (times !== undefined) lines.push(times);
  lines.push("</host>");
  return lines.join("\n") + "\n";
}

/** `<runstats>` and the closing tag. */
export function xmlFooter(report: ScanReport, interrupted: boolean): string {
  const stats = report.stats;
  const hosts = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const summary = `Nmap done at ${formatDate(report.end)}; ` +
    `${hosts(stats.hostsTotal, "IP address", "IP addresses")} ` +
    `(${hosts(stats.hostsUp, "host up", "hosts up")}) scanned in ${
      stats.seconds.toFixed(2)
    } seconds`;
  return `<runstats><finished${
    attrs({
      time: epoch(report.end),
      timestr: formatDate(report.end),
      summary,
      elapsed: stats.seconds.toFixed(2),
      exit: interrupted ? "error" : "success",
      errormsg: interrupted ? "Scan interrupted: results are partial" : undefined,
    })
  }/><hosts${attrs({ up: stats.hostsUp, down: stats.hostsDown, total: stats.hostsTotal })}/>
</runstats>
</nmaprun>
`;
}

/** The whole report as one nmap XML document. */
export function toXml(
  report: ScanReport,
  options: XmlOptions & { interrupted?: boolean } = {},
): string {
  const view = nmapView(report);
  return xmlHeader(view) + xmlHostHints(view, options) +
    view.hosts.map((host) => xmlHost(host, view, options)).join("") +
    xmlFooter(view, options.interrupted ?? false);
}

/**
 * The XML output: the header when the scan starts (as nmap does), the hosts
 * and run statistics when it ends.
 *
 * @example
 * ```ts
 * import { xmlOutput } from "./output_xml.ts";
 * console.log(xmlOutput().name); // "xml"
 * ```
 */
export function xmlOutput(options: XmlOptions = {}): OutputPlugin {
  return {
    name: "xml",
    description: "nmap XML, valid against nmap.dtd (-oX)",
    events: ["start", "end"],
    async write(events, out): Promise<void> {
      let headerWritten = false;
      for await (const event of events) {
        if (event.type === "start") {
          await out.write(xmlHeader(event.report));
          headerWritten = true;
        } else if (event.type === "end") {
          const report = nmapView(event.report);
          const resolved = {
            serviceNames: options.serviceNames ?? await readServiceNames(),
            macVendors: options.macVendors ?? await readMacVendors(),
          };
          if (!headerWritten) await out.write(xmlHeader(report));
          await out.write(xmlHostHints(report, resolved));
          // Host by host: a large report is never one string.
          for (const host of report.hosts) await out.write(xmlHost(host, report, resolved));
          await out.write(xmlFooter(report, event.interrupted));
        }
      }
    },
  };
}
