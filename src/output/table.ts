/**
 * The terminal view of a report, laid out as nmap's normal output.
 *
 * @module
 */

import type { ExtraPorts, HostReport, PortResult, PortState, ScanReport } from "../model/mod.ts";
import { escapeTerminal } from "../plugin/format.ts";
import { scriptTextLines } from "../plugin/script_format.ts";

/** Options of {@link renderTable}. */
export interface TableOptions {
  /** Use ANSI colours. */
  color: boolean;
  /** Show the REASON column (`--reason`). */
  reason: boolean;
  /** Also show hosts that are down or whose state is unknown. */
  verbose?: boolean;
  /** End with the "portolan done: …" line. Default true. */
  summary?: boolean;
  /**
   * Names by "port/protocol" (nmap's nmap-services table) for ports no probe
   * named, as nmap shows them; with `serviceDetection`, an open port's name
   * from the table ends in "?" (a guess, as nmap marks it).
   */
  serviceNames?: { get(key: string): string | undefined };
  /** -sV ran. */
  serviceDetection?: boolean;
}

const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
const STATE_COLORS: Record<PortState, string> = {
  "open": "\x1b[32m",
  "closed": "\x1b[31m",
  "filtered": "\x1b[33m",
  "unfiltered": "\x1b[33m",
  "open|filtered": "\x1b[33m",
  "closed|filtered": "\x1b[33m",
};

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** nmap's "%.2g" seconds, without the exponent notation. */
function formatLatency(ms: number): string {
  return `${Number((ms / 1000).toPrecision(2))}s`;
}

function hostTitle(host: HostReport): string {
  const address = escapeTerminal(host.address);
  const name = host.hostnames[0];
  return name === undefined ? address : `${escapeTerminal(name)} (${address})`;
}

function latency(host: HostReport): number | undefined {
  let best: number | undefined;
  for (const port of host.ports) {
    if (port.rtt !== undefined && (best === undefined || port.rtt < best)) best = port.rtt;
  }
  return best;
}

function describeExtra(extra: ExtraPorts, protocol: string): string {
  const noun = plural(
    extra.count,
    `${extra.state}${protocol} port`,
    `${extra.state}${protocol} ports`,
  );
  const only = extra.reasons.length === 1 ? extra.reasons[0] : undefined;
  const why = only !== undefined
    ? escapeTerminal(only.reason)
    : extra.reasons.map((r) => `${r.count} ${escapeTerminal(r.reason)}`).join(", ");
  return why === "" ? noun : `${noun} (${why})`;
}

function versionText(port: PortResult): string {
  const service = port.service;
  if (service === undefined) return "";
  const parts = [service.product, service.version]
    .filter((part): part is string => typeof part === "string" && part !== "");
  if (typeof service.extraInfo === "string" && service.extraInfo !== "") {
    parts.push(`(${service.extraInfo})`);
  }
  return escapeTerminal(parts.join(" "));
}

/** A port's name from the table, "?" after it where -sV probed the port and found nothing. */
function tableName(port: PortResult, options: TableOptions): string {
  const name = options.serviceNames?.get(`${port.port}/${port.protocol}`);
  if (name === undefined) return "";
  const probed = options.serviceDetection === true &&
    (port.state === "open" || port.state === "open|filtered");
  return probed ? `${name}?` : name;
}

function reasonText(port: PortResult): string {
  const reason = escapeTerminal(port.reason);
  return port.reasonTtl === undefined ? reason : `${reason} ttl ${port.reasonTtl}`;
}

/**
 * The ports table: a column per field, each as wide as its widest cell plus
 * one space, the last column unpadded. Built column-wise in plain strings: a
 * sweep's terminal view is a table per host.
 */
function portTable(ports: readonly PortResult[], options: TableOptions): string[] {
  const count = ports.length;
  const versions: string[] = new Array(count);
  let withVersion = false;
  for (let i = 0; i < count; i++) {
    const text = versionText(ports[i]!);
    versions[i] = text;
    if (text !== "") withVersion = true;
  }
  // Columns, each with its header first; the colour of a row's cell where it has one.
  const columns: string[][] = [["PORT"], ["STATE"], ["SERVICE"]];
  if (options.reason) columns.push(["REASON"]);
  if (withVersion) columns.push(["VERSION"]);
  const [place, states, names] = columns as [string[], string[], string[]];
  const reasons = options.reason ? columns[3]! : undefined;
  for (let i = 0; i < count; i++) {
    const port = ports[i]!;
    const name = port.service?.name;
    // nmap's "ssl/http": the service was found inside TLS.
    const tunnel = port.service?.tunnel === "ssl" ? "ssl/" : "";
    place.push(`${port.port}/${port.protocol}`);
    states.push(port.state);
    names.push(escapeTerminal(typeof name === "string" ? tunnel + name : tableName(port, options)));
    reasons?.push(reasonText(port));
  }
  if (withVersion) columns[columns.length - 1]!.push(...versions);
  const widths = columns.map((column) => {
    let widest = 0;
    for (const text of column) if (text.length > widest) widest = text.length;
    return widest;
  });
  const last = columns.length - 1;
  const lines: string[] = [];
  for (let row = 0; row <= count; row++) {
    const port = row === 0 ? undefined : ports[row - 1]!;
    let line = "";
    for (let column = 0; column <= last; column++) {
      const text = columns[column]![row]!;
      const color = port === undefined || !options.color || text === ""
        ? undefined
        : column === 1
        ? STATE_COLORS[port.state]
        : column === 3 && reasons !== undefined
        ? DIM
        : undefined;
      line += color === undefined ? text : `${color}${text}${RESET}`;
      if (column < last) line += " ".repeat(widths[column]! - text.length + 1);
    }
    lines.push(line.trimEnd());
    // Script output under its port, as nmap prints it.
    if (port?.scripts !== undefined) {
      for (const text of scriptTextLines(port.scripts)) lines.push(escapeTerminal(text));
    }
  }
  return lines;
}

/** States with more listed ports than this are summarised on screen, as nmap does. */
const SCREEN_LIST_LIMIT = 25;

/**
 * The terminal's view of a host: every state but "open" that has more than
 * {@link SCREEN_LIST_LIMIT} ports is folded into the "Not shown" line. The
 * report itself (JSON, XML) still lists them.
 */
function screenView(
  host: HostReport,
): { ports: readonly PortResult[]; extraports: readonly ExtraPorts[] } {
  // No state can have more than the limit: the host as it is.
  if (host.ports.length <= SCREEN_LIST_LIMIT) return host;
  const byState = new Map<string, PortResult[]>();
  for (const port of host.ports) {
    const list = byState.get(port.state) ?? [];
    list.push(port);
    byState.set(port.state, list);
  }
  const folded = new Set<string>();
  const extraports = host.extraports.map((extra) => ({ ...extra, reasons: [...extra.reasons] }));
  for (const [state, ports] of byState) {
    if (state === "open" || ports.length <= SCREEN_LIST_LIMIT) continue;
    folded.add(state);
    const reasons = new Map<string, number>();
    for (const port of ports) reasons.set(port.reason, (reasons.get(port.reason) ?? 0) + 1);
    extraports.push({
      state: state as PortResult["state"],
      count: ports.length,
      reasons: [...reasons].map(([reason, count]) => ({ reason, count })),
    });
  }
  return { ports: host.ports.filter((port) => !folded.has(port.state)), extraports };
}

function renderHost(host: HostReport, protocol: string, options: TableOptions): string[] {
  const title = hostTitle(host);
  const view = screenView(host);
  if (host.state === "down") {
    return [`portolan scan report for ${title} [host down, ${escapeTerminal(host.reason)}]`];
  }
  const lines = [`portolan scan report for ${title}`];
  if (host.state === "up") {
    const rtt = latency(host);
    const why = options.reason && host.reason !== ""
      ? `, received ${escapeTerminal(host.reason)}`
      : "";
    lines.push(
      rtt === undefined ? `Host is up${why}.` : `Host is up${why} (${formatLatency(rtt)} latency).`,
    );
  } else {
    lines.push("Host state is unknown: no port answered.");
  }
  if (view.extraports.length > 0) {
    if (view.ports.length === 0) {
      const total = view.extraports.reduce((sum, extra) => sum + extra.count, 0);
      lines.push(`All ${total} scanned ports on ${title} are in ignored states.`);
    }
    const shown = view.extraports.map((extra) => describeExtra(extra, protocol));
    lines.push(`Not shown: ${shown.join(", ")}`);
  }
  if (view.ports.length > 0) lines.push(...portTable(view.ports, options));
  return lines;
}

/**
 * Render a report as text for a terminal (or, without colour, for `-oN`).
 *
 * @example
 * ```ts ignore
 * import { renderTable } from "./table.ts";
 * console.log(renderTable(report, { color: false, reason: true }));
 * ```
 */
export function renderTable(report: ScanReport, options: TableOptions): string {
  return [...tableChunks(report, options)].join("");
}

/**
 * {@link renderTable} in pieces, one host at a time, so a large report is
 * written without ever being one string.
 */
export function* tableChunks(report: ScanReport, options: TableOptions): Generator<string> {
  const protocols = new Set(report.scaninfo.map((info) => info.protocol));
  const protocol = protocols.size === 1 ? ` ${[...protocols][0]}` : "";
  let first = true;
  for (const host of report.hosts) {
    const shown = host.state === "up" || options.verbose === true ||
      (host.state === "unknown" && host.ports.length > 0);
    if (!shown) continue;
    yield `${first ? "" : "\n"}${renderHost(host, protocol, options).join("\n")}\n`;
    first = false;
  }
  if (options.summary ?? true) {
    const stats = report.stats;
    yield `${first ? "" : "\n"}portolan done: ${
      plural(stats.hostsTotal, "IP address", "IP addresses")
    } (${plural(stats.hostsUp, "host up", "hosts up")}) scanned in ${
      stats.seconds.toFixed(2)
    } seconds\n`;
  }
}
