/**
 * `-oH FILE`: a self-contained HTML report. One file, no external resource:
 * a hosts × ports picture, state and service charts (inline SVG), a sortable
 * port table (a few lines of inline script), and certificate expiry where
 * service detection found certificates.
 *
 * Everything that came from the network is escaped, and a strict Content
 * Security Policy allows only this file's own style and script (by hash), so
 * even a markup-shaped banner stays text.
 *
 * @module
 */

import {
  addressSortKey,
  commandArgs,
  escapeHtml,
  type HostReport,
  type NmapPortLayout,
  nmapPortLayout,
  type OutputPlugin,
  type PortResult,
  type PortState,
  type ScanReport,
  serviceLabel,
  serviceText,
  versionLine,
} from "../src/plugin/mod.ts";
import { formatDate } from "./output_normal.ts";

/** Limits that keep the report readable and its size bounded. */
export interface HtmlLimits {
  /** Hosts drawn in the overview picture. Default 200. */
  mapHosts?: number;
  /** Ports (columns) drawn in the overview picture. Default 200. */
  mapPorts?: number;
  /** Rows of the port table. Default 5000. */
  tableRows?: number;
  /** Characters of one text cell (banners can be long). Default 2048. */
  cellChars?: number;
}

const STATE_COLORS: Record<PortState | "not shown", string> = {
  "open": "#2e7d32",
  "closed": "#c62828",
  "filtered": "#f9a825",
  "unfiltered": "#6d4c41",
  "open|filtered": "#9ccc65",
  "closed|filtered": "#ef6c00",
  "not shown": "#e0e0e0",
};

const STATE_ORDER: (PortState | "not shown")[] = [
  "open",
  "open|filtered",
  "filtered",
  "closed|filtered",
  "unfiltered",
  "closed",
  "not shown",
];

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:1em 2em;color:#222;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd}
.meta{color:#555}.meta code{word-break:break-all}.warn{color:#b71c1c;font-weight:bold}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
td{overflow-wrap:break-word}th{background:#f3f3f3;white-space:nowrap}
#port-table td:nth-child(8){white-space:nowrap}
.banner{white-space:pre-wrap;overflow-wrap:anywhere;max-height:16em;max-width:80ch;overflow:auto;margin:.3em 0;font-size:.9em}
summary{cursor:pointer;overflow-wrap:anywhere}
#port-table td:nth-child(1),#port-table td:nth-child(n+3):nth-child(-n+6),#host-table td:first-child{white-space:nowrap}
#port-table th{cursor:pointer;user-select:none}
#port-table th[aria-sort=ascending]::after{content:" \\25B2"}
#port-table th[aria-sort=descending]::after{content:" \\25BC"}
.state-open{color:#2e7d32;font-weight:bold}.state-closed{color:#c62828}
.expired{background:#ffcdd2}.soon{background:#fff3c4}
.charts{display:flex;flex-wrap:wrap;gap:2em}.charts figure{margin:0}
figcaption{color:#555;font-size:.9em}.scroll{overflow:auto;max-height:80vh}
svg text{font:11px system-ui,sans-serif}
.note{color:#555;font-style:italic}
`;

// Static: it reads no data but the table's own cells, so its hash never changes with the scan.
const SCRIPT = `
(function () {
  var table = document.getElementById("port-table");
  if (!table || !table.tHead || !table.tBodies[0]) return;
  var body = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var numeric = th.getAttribute("data-type") === "num";
      var key = function (row) {
        var cell = row.cells[column];
        var value = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
        return numeric ? Number(value) : value;
      };
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var order = numeric ? x - y : (x < y ? -1 : x > y ? 1 : 0);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
`;

async function cspHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  let binary = "";
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return `'sha256-${btoa(binary)}'`;
}

/** Banners up to this many characters show in the table; longer ones fold. */
const BANNER_INLINE = 60;

function clip(text: string, limit: number): string {
  // Cut on a code point, never inside a surrogate pair.
  if (text.length <= limit) return text;
  const points = Array.from(text.slice(0, limit + 1)).slice(0, -1);
  return `${points.join("")}… [${text.length - points.join("").length} more characters]`;
}

/** A chart or picture label: at most `limit` characters, "…" when cut. */
function label(text: string, limit: number): string {
  const points = Array.from(text);
  return points.length <= limit ? text : `${points.slice(0, limit - 1).join("")}…`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function addressKey(address: string): string {
  const key = addressSortKey(address);
  // Fixed-width hex sorts as text in address order; names sort after addresses.
  return key === undefined ? `~${address}` : key.toString(16).padStart(33, "0");
}

interface HostView {
  host: HostReport;
  layout: NmapPortLayout;
}

/**
 * What the page's head (picture, charts, certificates) and the tables'
 * notes need from every host, gathered in one pass that keeps only the
 * hosts drawn and the certificates: the hosts themselves are laid out
 * again, one at a time, when their rows are written.
 */
interface Overview {
  /** Hosts shown (not down, or down with ports). */
  hosts: number;
  /** The first hosts, as drawn in the picture. */
  drawn: HostView[];
  /** Listed ports per port number, an open one weighing 1000. */
  weight: Map<number, number>;
  totals: Map<PortState, number>;
  /** Open ports per service name. */
  services: Map<string, number>;
  certs: CertView[];
  /** Ports listed in all. */
  ports: number;
}

/** The hosts the page shows, each with nmap's layout of its ports, made as they are read. */
function* hostViews(report: ScanReport): Generator<HostView> {
  for (const host of report.hosts) {
    if (host.state !== "down" || host.ports.length > 0) {
      yield { host, layout: nmapPortLayout(host) };
    }
  }
}

function overview(report: ScanReport, limits: Required<HtmlLimits>): Overview {
  const seen: Overview = {
    hosts: 0,
    drawn: [],
    weight: new Map(),
    totals: new Map(),
    services: new Map(),
    certs: [],
    ports: 0,
  };
  const { weight, totals, services } = seen;
  for (const view of hostViews(report)) {
    seen.hosts++;
    if (seen.drawn.length < limits.mapHosts) seen.drawn.push(view);
    const { host, layout } = view;
    for (const port of layout.ports) {
      seen.ports++;
      totals.set(port.state, (totals.get(port.state) ?? 0) + 1);
      weight.set(port.port, (weight.get(port.port) ?? 0) + (port.state === "open" ? 1000 : 1));
      if (port.state === "open") {
        const name = serviceText(port.service, "name") ?? "unknown";
        services.set(name, (services.get(name) ?? 0) + 1);
      }
      const cert = certOf(host.address, port);
      if (cert !== undefined) seen.certs.push(cert);
    }
    for (const group of layout.extraports) {
      totals.set(group.state, (totals.get(group.state) ?? 0) + group.count);
    }
  }
  return seen;
}

function barChart(
  id: string,
  bars: { label: string; value: number; color: string }[],
  options: { log: boolean },
): string {
  const rowHeight = 22;
  const labelWidth = 130;
  const barWidth = 300;
  const height = bars.length * rowHeight + 6;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const scale = (value: number): number =>
    options.log ? Math.log10(1 + value) / Math.log10(1 + max) : value / max;
  const parts = bars.map((bar, i) => {
    const y = i * rowHeight + 3;
    const width = bar.value === 0 ? 0 : Math.max(2, Math.round(scale(bar.value) * barWidth));
    const name = escapeHtml(label(bar.label, 20));
    return `<g class="bar"><title>${escapeHtml(bar.label)}: ${bar.value}</title>` +
      `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${name}</text>` +
      `<rect x="${labelWidth}" y="${y}" width="${width}" height="${
        rowHeight - 6
      }" fill="${bar.color}"/>` +
      `<text x="${labelWidth + width + 5}" y="${y + 14}">${bar.value}</text></g>`;
  });
  return `<svg id="${id}" class="chart" xmlns="http://www.w3.org/2000/svg" role="img" ` +
    `width="${labelWidth + barWidth + 70}" height="${height}">${parts.join("")}</svg>`;
}

function stateChart(totals: ReadonlyMap<PortState, number>): string {
  const bars = STATE_ORDER.filter((state): state is PortState =>
    state !== "not shown" && totals.has(state)
  )
    .map((state) => ({ label: state, value: totals.get(state) ?? 0, color: STATE_COLORS[state] }));
  return barChart("state-chart", bars, { log: true });
}

function serviceChart(counts: ReadonlyMap<string, number>): string {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = sorted.slice(0, 12);
  const rest = sorted.slice(12).reduce((sum, [, count]) => sum + count, 0);
  if (rest > 0) top.push(["other", rest]);
  const bars = top.map(([label, value]) => ({ label, value, color: "#1565c0" }));
  return barChart("service-chart", bars, { log: false });
}

function heatMap(seen: Overview, limits: Required<HtmlLimits>): string {
  // Columns: the ports listed on any host, most often open first when there are too many.
  const weight = seen.weight;
  const ports = [...weight]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, limits.mapPorts)
    .map(([port]) => port)
    .sort((a, b) => a - b);
  const rows = seen.drawn;
  if (ports.length === 0 || rows.length === 0) {
    return `<p class="note">No port to draw: every scanned port is in an ignored state.</p>`;
  }
  const cell = 14;
  const labelLength = Math.min(40, Math.max(...rows.map((row) => row.host.address.length)));
  const left = labelLength * 7 + 10;
  const top = 44;
  const width = left + ports.length * cell + 10;
  const height = top + rows.length * cell + 10;
  const parts: string[] = [];
  ports.forEach((port, column) => {
    const x = left + column * cell + cell / 2 + 4;
    parts.push(
      `<text x="${x}" y="${top - 4}" transform="rotate(-60 ${x} ${top - 4})">${port}</text>`,
    );
  });
  rows.forEach(({ host, layout }, row) => {
    const y = top + row * cell;
    parts.push(
      `<text x="${left - 6}" y="${y + 11}" text-anchor="end">${
        escapeHtml(label(host.address, 40))
      }</text>`,
    );
    const byPort = new Map<number, PortResult>(layout.ports.map((port) => [port.port, port]));
    const fallback = layout.extraports[0]?.state;
    ports.forEach((portNumber, column) => {
      const port = byPort.get(portNumber);
      const state = port?.state ?? "not shown";
      const name = serviceText(port?.service, "name");
      const tip = `${host.address} ${portNumber}: ${state}` +
        (port === undefined && fallback !== undefined ? ` (most likely ${fallback})` : "") +
        (name === undefined ? "" : ` ${name}`);
      parts.push(
        `<rect class="cell" data-state="${escapeHtml(state)}" x="${
          left + column * cell
        }" y="${y}" ` +
          `width="${cell - 1}" height="${cell - 1}" fill="${STATE_COLORS[state]}">` +
          `<title>${escapeHtml(tip)}</title></rect>`,
      );
    });
  });
  const note = seen.hosts > rows.length || weight.size > ports.length
    ? `<p class="note">Drawn: ${rows.length} of ${seen.hosts} hosts, ${ports.length} of ${weight.size} ports.</p>`
    : "";
  const legend = STATE_ORDER.map((state) =>
    `<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${
      STATE_COLORS[state]
    }"/></svg> ${escapeHtml(state)}`
  ).join(" &nbsp; ");
  return `<div class="scroll"><svg id="host-map" xmlns="http://www.w3.org/2000/svg" role="img" ` +
    `width="${width}" height="${height}">${parts.join("")}</svg></div>` +
    `<p class="legend">${legend}</p>${note}`;
}

const PORT_HEADER =
  `<thead><tr><th data-type="text">Address</th><th data-type="text">Hostname</th>` +
  `<th data-type="num">Port</th><th data-type="text">Protocol</th><th data-type="text">State</th>` +
  `<th data-type="text">Reason</th><th data-type="text">Service</th>` +
  `<th data-type="text">Version</th><th data-type="text">Banner</th></tr></thead>`;

/** The port table, a host's rows at a time; `total`: the ports listed in all. */
function* portTable(
  report: ScanReport,
  total: number,
  limits: Required<HtmlLimits>,
): Generator<string> {
  if (total === 0) {
    yield `<p class="note">No port to list: every scanned port is in an ignored state.</p>`;
    return;
  }
  const shown = Math.min(total, limits.tableRows);
  const note = total > shown
    ? `<p class="note">Listed: the first ${shown} of ${total} ports.</p>`
    : "";
  yield `${note}<table id="port-table">${PORT_HEADER}<tbody>`;
  const text = (value: string | undefined): string =>
    escapeHtml(clip(value ?? "", limits.cellChars));
  // A long banner is folded behind its first words; the JSON output keeps it whole.
  const banner = (value: string | undefined): string => {
    const whole = value ?? "";
    if (Array.from(whole).length <= BANNER_INLINE) return escapeHtml(whole);
    return `<details><summary>${escapeHtml(label(whole, BANNER_INLINE))}</summary>` +
      `<pre class="banner">${escapeHtml(clip(whole, limits.cellChars))}</pre></details>`;
  };
  let rows = 0;
  for (const { host, layout } of hostViews(report)) {
    if (rows >= shown) break;
    const chunk: string[] = [];
    for (const port of layout.ports) {
      if (rows >= shown) break;
      chunk.push(
        `${rows === 0 ? "" : "\n"}<tr><td data-sort="${addressKey(host.address)}">${
          text(host.address)
        }</td>` +
          `<td>${text(host.hostnames.join(" "))}</td>` +
          `<td>${port.port}</td><td>${text(port.protocol)}</td>` +
          `<td class="state-${escapeHtml(port.state.replace("|", "-"))}">${text(port.state)}</td>` +
          `<td>${text(port.reason)}</td><td>${text(serviceLabel(port.service))}</td>` +
          `<td>${text(versionLine(port.service))}</td>` +
          `<td>${banner(serviceText(port.service, "banner"))}</td></tr>`,
      );
      rows++;
    }
    if (chunk.length > 0) yield chunk.join("");
  }
  yield `</tbody></table>`;
}

/** The host table, a row at a time. */
function* hostTable(report: ScanReport, limits: Required<HtmlLimits>): Generator<string> {
  yield `<table id="host-table"><thead><tr><th>Address</th><th>Hostname</th><th>State</th>` +
    `<th>Reason</th><th>Open</th><th>Not shown</th></tr></thead><tbody>`;
  const text = (value: string): string => escapeHtml(clip(value, limits.cellChars));
  let rows = 0;
  for (const { host, layout } of hostViews(report)) {
    if (rows >= limits.tableRows) break;
    const open = layout.ports.filter((port) => port.state === "open").length;
    const hidden = layout.extraports.map((group) => `${group.count} ${group.state}`).join(", ");
    yield `${rows === 0 ? "" : "\n"}<tr><td>${text(host.address)}</td><td>${
      text(host.hostnames.join(" "))
    }</td>` +
      `<td>${text(host.state)}</td><td>${text(host.reason)}</td><td>${open}</td>` +
      `<td>${text(hidden)}</td></tr>`;
    rows++;
  }
  yield `</tbody></table>`;
}

/** What the certificate section shows of a port's certificate. */
interface CertView {
  address: string;
  port: number;
  subject?: string;
  issuer?: string;
  names: string[];
  notAfter?: Date;
}

function certOf(address: string, port: PortResult): CertView | undefined {
  const tls = port.service?.tls;
  if (tls === undefined) return undefined;
  const subject = tls.subject === "" ? undefined : tls.subject;
  const issuer = tls.issuer === "" ? undefined : tls.issuer;
  const date = tls.notAfter === "" ? undefined : new Date(tls.notAfter);
  const notAfter = date === undefined || Number.isNaN(date.getTime()) ? undefined : date;
  if (subject === undefined && notAfter === undefined) return undefined;
  return {
    address,
    port: port.port,
    ...(subject === undefined ? {} : { subject }),
    ...(issuer === undefined ? {} : { issuer }),
    names: [...tls.sans],
    ...(notAfter === undefined ? {} : { notAfter }),
  };
}

function certSection(
  certs: CertView[],
  report: ScanReport,
  limits: Required<HtmlLimits>,
): string {
  if (certs.length === 0) return "";
  // Days left at the time of the scan, so the report reads the same whenever it is opened.
  const at = new Date(report.end === "" ? report.start : report.end).getTime();
  certs.sort((a, b) => (a.notAfter?.getTime() ?? Infinity) - (b.notAfter?.getTime() ?? Infinity));
  const text = (value: string | undefined): string =>
    escapeHtml(clip(value ?? "", limits.cellChars));
  const rows = certs.slice(0, limits.tableRows).map((cert) => {
    const days = cert.notAfter === undefined
      ? undefined
      : Math.floor((cert.notAfter.getTime() - at) / 86_400_000);
    const level = days === undefined ? "" : days < 0 ? "expired" : days < 30 ? "soon" : "";
    const left = days === undefined ? "" : days < 0 ? `expired ${-days} days ago` : `${days} days`;
    return `<tr class="${level}"><td>${text(cert.address)}:${cert.port}</td>` +
      `<td>${text(cert.subject)}</td><td>${text(cert.names.join(", "))}</td>` +
      `<td>${text(cert.issuer)}</td><td>${text(cert.notAfter?.toISOString())}</td>` +
      `<td>${left}</td></tr>`;
  });
  return `<section id="certs"><h2>Certificates</h2><table id="cert-table"><thead><tr>` +
    `<th>Port</th><th>Subject</th><th>Names</th><th>Issuer</th><th>Not after</th>` +
    `<th>Left at scan time</th></tr></thead><tbody>${rows.join("\n")}</tbody></table></section>`;
}

/**
 * The report as one self-contained HTML page.
 *
 * @example
 * ```ts ignore
 * import { toHtml } from "./output_html.ts";
 * await Deno.writeTextFile("scan.html", await toHtml(report, { interrupted: false }));
 * ```
 */
export async function toHtml(
  report: ScanReport,
  options: { interrupted?: boolean; limits?: HtmlLimits } = {},
): Promise<string> {
  const parts: string[] = [];
  for await (const chunk of htmlChunks(report, options)) parts.push(chunk);
  return parts.join("");
}

/**
 * {@link toHtml} in pieces: the head (picture, charts, certificates) from
 * one pass over the hosts, then the tables a host at a time, so the page is
 * never held whole while it is written.
 */
export async function* htmlChunks(
  report: ScanReport,
  options: { interrupted?: boolean; limits?: HtmlLimits } = {},
): AsyncGenerator<string> {
  const limits: Required<HtmlLimits> = {
    mapHosts: 200,
    mapPorts: 200,
    tableRows: 5000,
    cellChars: 2048,
    ...options.limits,
  };
  const seen = overview(report, limits);
  const csp = `default-src 'none'; style-src ${await cspHash(STYLE)}; ` +
    `script-src ${await cspHash(SCRIPT)}; img-src 'none'; base-uri 'none'; form-action 'none'`;
  const stats = report.stats;
  const command = commandArgs(report.args).join(" ");
  const interrupted = options.interrupted === true
    ? `<p class="warn">The scan was interrupted: these results are partial.</p>`
    : "";
  yield `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>portolan scan report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>portolan scan report</h1>
<p class="meta">${escapeHtml(formatDate(report.start))} · portolan ${escapeHtml(report.version)} ·
${plural(stats.hostsTotal, "address", "addresses")} scanned, ${
    plural(stats.hostsUp, "host", "hosts")
  } up · ${stats.seconds.toFixed(2)} s<br><code>${
    escapeHtml(clip(command, limits.cellChars))
  }</code></p>
${interrupted}
</header>
<section id="overview"><h2>Hosts × ports</h2>
${heatMap(seen, limits)}
</section>
<section id="charts"><h2>States and services</h2>
<div class="charts">
<figure>${
    stateChart(seen.totals)
  }<figcaption>Ports by state (bar length on a log scale)</figcaption></figure>
<figure>${serviceChart(seen.services)}<figcaption>Open ports by service</figcaption></figure>
</div>
</section>
${certSection(seen.certs, report, limits)}
<section id="hosts"><h2>Hosts</h2>
`;
  yield* hostTable(report, limits);
  yield `
</section>
<section id="ports"><h2>Ports</h2>
<p class="note">Click a column heading to sort.</p>
`;
  yield* portTable(report, seen.ports, limits);
  yield `
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/**
 * The HTML report output, written when the scan ends, a host at a time.
 *
 * @example
 * ```ts
 * import { htmlOutput } from "./output_html.ts";
 * console.log(htmlOutput().name); // "html"
 * ```
 */
export function htmlOutput(limits: HtmlLimits = {}): OutputPlugin {
  return {
    name: "html",
    description: "a self-contained HTML report with charts and a sortable table (-oH)",
    events: ["start", "end"],
    async write(events, out): Promise<void> {
      for await (const event of events) {
        if (event.type !== "end") continue;
        const chunks = htmlChunks(event.report, { interrupted: event.interrupted, limits });
        for await (const chunk of chunks) await out.write(chunk);
      }
    },
  };
}
