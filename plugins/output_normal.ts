/**
 * `-oN`: nmap's normal output, line for line as nmap writes it, so that tools
 * written for nmap's files (`awk '/Nmap scan report for/'`, -oN to CSV
 * converters) read portolan's. Only the leading comment says portolan and its
 * version; the terminal keeps portolan's own voice (src/output/table.ts).
 *
 * @module
 */

import {
  commandArgs,
  escapeTerminal,
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
  type ReportFlags,
  reportFlags,
  type ScanReport,
  scriptTextLines,
  type ServiceNames,
  serviceText,
  significantSeconds,
  versionLine,
} from "../src/plugin/mod.ts";

/** Options of {@link normalOutput} and {@link normalReport}. */
export interface NormalOutputOptions {
  /**
   * Show the REASON column and "received …". Default: as the scan's command
   * line says (`--reason`), as nmap does.
   */
  reason?: boolean;
  /** Also list hosts that are down. Default: with `-v`, as nmap does. */
  verbose?: boolean;
  /**
   * Names of the ports, by "port/protocol", from nmap's nmap-services table.
   * {@link normalOutput} reads /usr/share/nmap/nmap-services when absent.
   */
  serviceNames?: ServiceNames;
  /** Vendors by MAC prefix; {@link normalOutput} reads nmap-mac-prefixes when absent. */
  macVendors?: MacVendors;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** nmap's date form (C's `%a %b %e %T %Y`), local time: "Thu Dec  3 08:10:32 2026". */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeTerminal(iso);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${
    String(date.getDate()).padStart(2, " ")
  } ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ` +
    `${date.getFullYear()}`;
}

function quoteArg(arg: string): string {
  const safe = escapeTerminal(arg);
  return /^[\w@%+=:,./-]+$/.test(safe) ? safe : `'${safe.replaceAll("'", "'\\''")}'`;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The first line of the file: the one line that names portolan and its version. */
export function normalHeader(report: ScanReport): string {
  const command = commandArgs(report.args).map(quoteArg).join(" ");
  return `# portolan ${escapeTerminal(report.version)} scan initiated ` +
    `${formatDate(report.start)} as: ${command}\n`;
}

/** The last line(s) of the file, as nmap's "# Nmap done at …". */
export function normalFooter(report: ScanReport, interrupted: boolean): string {
  const stats = report.stats;
  const note = interrupted ? "# Scan interrupted: results are partial.\n" : "";
  return `${note}# Nmap done at ${formatDate(report.end)} -- ` +
    `${plural(stats.hostsTotal, "IP address", "IP addresses")} ` +
    `(${plural(stats.hostsUp, "host up", "hosts up")}) ` +
    `scanned in ${stats.seconds.toFixed(2)} seconds\n`;
}

function tunnelled(port: PortResult): boolean {
  const service = port.service;
  return service?.tunnel === "ssl" || (typeof service?.tls === "object" && service.tls !== null);
}

/**
 * The SERVICE column: the probed name (`ssl/` inside TLS); else the table's
 * name, "unknown" when the table has none, and with `?` on an open port that
 * -sV probed without a match, as nmap marks its guess.
 */
export function serviceColumn(
  port: PortResult,
  flags: Pick<ReportFlags, "serviceDetection">,
  names: ServiceNames | undefined,
): string {
  const probed = serviceText(port.service, "name");
  if (probed !== undefined) return (tunnelled(port) ? "ssl/" : "") + probed;
  const table = names?.get(`${port.port}/${port.protocol}`) ?? "unknown";
  const guessed = flags.serviceDetection &&
    (port.state === "open" || port.state === "open|filtered");
  return (tunnelled(port) ? "ssl/" : "") + table + (guessed ? "?" : "");
}

function reasonText(port: PortResult): string {
  const reason = escapeTerminal(port.reason);
  return port.reasonTtl === undefined || port.reasonTtl === 0
    ? reason
    : `${reason} ttl ${port.reasonTtl}`;
}

/** nmap's table: every column one space wider than its widest cell, the last not padded. */
function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row.map((cell, column) =>
      column === row.length - 1 ? cell : cell.padEnd((widths[column] ?? 0) + 1)
    ).join("").trimEnd()
  );
}

function portRows(
  ports: readonly PortResult[],
  flags: ReportFlags,
  names: ServiceNames | undefined,
): string[] {
  const header = ["PORT", "STATE", "SERVICE"];
  if (flags.reason) header.push("REASON");
  if (flags.serviceDetection) header.push("VERSION");
  const rows = [header];
  for (const port of ports) {
    const row = [
      `${port.port}/${port.protocol}`,
      port.state,
      escapeTerminal(serviceColumn(port, flags, names)),
    ];
    if (flags.reason) row.push(reasonText(port));
    if (flags.serviceDetection) row.push(escapeTerminal(versionLine(port.service)));
    rows.push(row);
  }
  const [head = "", ...lines] = table(rows);
  // Script output under its port, as nmap prints it.
  return [
    head,
    ...lines.flatMap((line, index) => [
      line,
      ...scriptTextLines(ports[index]?.scripts).map(escapeTerminal),
    ]),
  ];
}

function distinct(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((value): value is string => value !== undefined))];
}

/**
 * nmap's "Service Info:" line from what the services said of their host:
 * `Service Info: Host: mail.example; OS: Linux; CPE: cpe:/o:linux:linux_kernel`.
 */
export function serviceInfoLine(ports: readonly PortResult[]): string | undefined {
  const services = ports.flatMap((port) => port.service === undefined ? [] : [port.service]);
  const fields: string[] = [];
  const add = (one: string, many: string, values: string[]): void => {
    if (values.length > 0) fields.push(`${values.length === 1 ? one : many}: ${values.join(", ")}`);
  };
  add("Host", "Hosts", distinct(services.map((service) => serviceText(service, "hostname"))));
  add("OS", "OSs", distinct(services.map((service) => serviceText(service, "ostype"))));
  add("Device", "Devices", distinct(services.map((service) => serviceText(service, "devicetype"))));
  // Only the operating system and hardware CPEs, as nmap.
  const cpes = distinct(
    services.flatMap((service) =>
      Array.isArray(service.cpe)
        ? service.cpe.filter((cpe): cpe is string =>
          typeof cpe === "string" && /^cpe:\/[oh]:/.test(cpe)
        )
        : []
    ),
  );
  if (cpes.length > 0) fields.push(`CPE: ${cpes.join(", ")}`);
  return fields.length === 0 ? undefined : `Service Info: ${escapeTerminal(fields.join("; "))}`;
}

function hostTitle(host: HostReport): string {
  const address = escapeTerminal(host.address);
  const name = host.hostnames[0];
  return name === undefined ? address : `${escapeTerminal(name)} (${address})`;
}

function macLine(host: HostReport, vendors: MacVendors | undefined): string | undefined {
  if (host.mac === undefined) return undefined;
  const mac = escapeTerminal(host.mac.toUpperCase());
  return `MAC Address: ${mac} (${escapeTerminal(macVendor(host.mac, vendors) ?? "Unknown")})`;
}

/** The lines of one host, as nmap writes them. */
export function normalHost(
  host: HostReport,
  report: ScanReport,
  options: NormalOutputOptions = {},
): string[] {
  const base = reportFlags(report.args);
  const flags = { ...base, reason: options.reason ?? base.reason };
  const pingOnly = flags.pingOnly || report.scaninfo.length === 0;
  const title = hostTitle(host);
  const why = flags.reason && host.reason !== "" ? `, received ${escapeTerminal(host.reason)}` : "";
  if (host.state === "down") return [`Nmap scan report for ${title} [host down${why}]`];
  const lines = [`Nmap scan report for ${title}`];
  const rtt = hostLatency(host);
  lines.push(
    rtt === undefined
      ? `Host is up${why}.`
      : `Host is up${why} (${significantSeconds(rtt)}s latency).`,
  );
  const mac = macLine(host, options.macVendors);
  if (pingOnly) return mac === undefined ? lines : [...lines, mac];

  const layout = nmapPortLayout(host);
  const protocols = new Set(report.scaninfo.map((info) => info.protocol));
  const protocol = protocols.size === 1 ? ` ${[...protocols][0]}` : "";
  if (layout.extraports.length > 0) {
    if (layout.ports.length === 0) {
      const total = layout.extraports.reduce((sum, extra) => sum + extra.count, 0);
      lines.push(`All ${total} scanned ports on ${title} are in ignored states.`);
    }
    // One entry per state and reason: "985 closed tcp ports (reset), 1 filtered tcp ports (…)".
    const shown = layout.extraports.flatMap((extra) =>
      extra.reasons.map((reason) => {
        // A scan of TCP and UDP: the protocol of the reason's ports, where known.
        const own = extra.reasonPorts.get(reason.reason)?.protocol;
        const proto = own === undefined ? protocol : ` ${own}`;
        return `${reason.count} ${extra.state}${proto} ports (${escapeTerminal(reason.reason)})`;
      })
    );
    lines.push(`Not shown: ${shown.join(", ")}`);
  } else {
    lines.push("");
  }
  if (layout.ports.length > 0) lines.push(...portRows(layout.ports, flags, options.serviceNames));
  if (mac !== undefined) lines.push(mac);
  if (flags.serviceDetection) {
    const info = serviceInfoLine(layout.ports);
    if (info !== undefined) lines.push(info);
  }
  lines.push("");
  return lines;
}

/** The whole file. */
export function normalReport(
  report: ScanReport,
  options: NormalOutputOptions & { interrupted?: boolean } = {},
): string {
  const view = nmapView(report);
  return normalHeader(view) + normalBody(view, options) +
    normalFooter(view, options.interrupted ?? false);
}

function normalBody(report: ScanReport, options: NormalOutputOptions): string {
  return [...normalBodyChunks(report, options)].join("");
}

/** {@link normalBody} host by host: a large report is never one string. */
function* normalBodyChunks(report: ScanReport, options: NormalOutputOptions): Generator<string> {
  const flags = reportFlags(report.args);
  const verbose = options.verbose ?? flags.verbose > 0;
  for (const host of report.hosts) {
    const shown = host.state === "up" || verbose ||
      (host.state === "unknown" && host.ports.length > 0);
    if (shown) yield normalHost(host, report, options).map((line) => `${line}\n`).join("");
  }
  if (flags.serviceDetection && report.hosts.some((host) => host.state === "up")) {
    yield "Service detection performed. Please report any incorrect results to portolan's maintainers.\n";
  }
}

/**
 * The normal output: the header when the scan starts, the hosts and the
 * footer when it ends.
 *
 * @example
 * ```ts
 * import { normalOutput } from "./output_normal.ts";
 * const plugin = normalOutput();
 * console.log(plugin.name); // "normal"
 * ```
 */
export function normalOutput(options: NormalOutputOptions = {}): OutputPlugin {
  return {
    name: "normal",
    description: "nmap's normal text format (-oN)",
    events: ["start", "end"],
    async write(events, out): Promise<void> {
      let headerWritten = false;
      for await (const event of events) {
        if (event.type === "start") {
          await out.write(normalHeader(event.report));
          headerWritten = true;
        } else if (event.type === "end") {
          const report = nmapView(event.report);
          const resolved = {
            ...options,
            serviceNames: options.serviceNames ?? await readServiceNames(),
            macVendors: options.macVendors ?? await readMacVendors(),
          };
          if (!headerWritten) await out.write(normalHeader(report));
          for (const chunk of normalBodyChunks(report, resolved)) await out.write(chunk);
          await out.write(normalFooter(report, event.interrupted));
        }
      }
    },
  };
}
