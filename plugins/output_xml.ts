/**
 * `-oX`: nmap's XML format, valid against nmap.dtd, so ndiff, nmap.xsl and the
 * tools that import nmap XML read it.
 *
 * The DTD allows only `scanner="nmap"`; the document says it is portolan's
 * in its leading comment and in `args`, and `version` is portolan's version.
 *
 * @module
 */

import type { PortResult } from "../src/engine/types.ts";
import type { HostReport, ScanReport } from "../src/output/report.ts";
import {
  addressType,
  commandArgs,
  escapeXml,
  groupPorts,
  nmapPortLayout,
  serviceText,
} from "../src/plugins/format.ts";
import { readServiceNames, type ServiceNames } from "../src/plugins/service_names.ts";
import type { OutputPlugin } from "../src/plugins/types.ts";
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
}

function xmlService(port: PortResult, names: ServiceNames | undefined): string {
  const service = port.service;
  const name = serviceText(service, "name") ?? names?.get(`${port.port}/${port.protocol}`);
  if (name === undefined) return "";
  const product = serviceText(service, "product");
  const version = serviceText(service, "version");
  const probed = product !== undefined || version !== undefined || service?.method === "probed";
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
      conf: probed ? 10 : 3,
    })
  }`;
  if (cpes.length === 0) return `${open}/>`;
  return `${open}>${cpes.map((cpe) => `<cpe>${escapeXml(cpe)}</cpe>`).join("")}</service>`;
}

function xmlPort(port: PortResult, names: ServiceNames | undefined): string {
  const state = `<state${
    attrs({ state: port.state, reason: port.reason, reason_ttl: port.reasonTtl ?? 0 })
  }/>`;
  const banner = serviceText(port.service, "banner");
  // nmap's banner script carries a banner the same way.
  const script = banner === undefined ? "" : `<script${attrs({ id: "banner", output: banner })}/>`;
  return `<port${attrs({ protocol: port.protocol, portid: port.port })}>${state}${
    xmlService(port, names)
  }${script}</port>`;
}

/** One `<host>` element. */
export function xmlHost(host: HostReport, report: ScanReport, options: XmlOptions = {}): string {
  const lines = [
    `<host${attrs({ starttime: epoch(report.start), endtime: epoch(report.end) || undefined })}>` +
    `<status${attrs({ state: host.state, reason: host.reason, reason_ttl: 0 })}/>`,
    `<address${attrs({ addr: host.address, addrtype: addressType(host.address) })}/>`,
    `<hostnames>`,
    ...host.hostnames.map((name) => `<hostname${attrs({ name, type: "user" })}/>`),
    `</hostnames>`,
  ];
  if (host.state !== "down") {
    const layout = nmapPortLayout(host);
    lines.push("<ports>");
    for (const group of layout.extraports) {
      const protocol = report.scaninfo[0]?.protocol ?? "tcp";
      lines.push(`<extraports${attrs({ state: group.state, count: group.count })}>`);
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
    for (const port of layout.ports) lines.push(xmlPort(port, options.serviceNames));
    lines.push("</ports>");
  }
  lines.push("</host>");
  return lines.join("\n") + "\n";
}

/** `<runstats>` and the closing tag. */
export function xmlFooter(report: ScanReport, interrupted: boolean): string {
  const stats = report.stats;
  const hosts = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const summary = `portolan done at ${formatDate(report.end)}; ` +
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
  return xmlHeader(report) + report.hosts.map((host) => xmlHost(host, report, options)).join("") +
    xmlFooter(report, options.interrupted ?? false);
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
          const report = event.report;
          const serviceNames = options.serviceNames ?? await readServiceNames();
          if (!headerWritten) await out.write(xmlHeader(report));
          // Host by host: a large report is never one string.
          for (const host of report.hosts) await out.write(xmlHost(host, report, { serviceNames }));
          await out.write(xmlFooter(report, event.interrupted));
        }
      }
    },
  };
}
