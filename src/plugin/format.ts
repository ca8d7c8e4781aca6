/**
 * Helpers for output plugins: safe text for every format (network text is
 * hostile until proven otherwise) and nmap's way of grouping a host's ports.
 *
 * @module
 */

import type {
  ExtraPorts,
  HostReport,
  PortResult,
  PortState,
  Protocol,
  ScanReport,
  ServiceMatch,
  ServiceTextField,
} from "../model/mod.ts";
import { comparePorts } from "../model/mod.ts";
import { formatPortRanges } from "../ports/parse.ts";

// C0 (tab, LF and CR included), DEL, C1, lone surrogates, the two noncharacters
// XML forbids, and the invisible characters that reorder or break lines.
const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]/gu;

/**
 * Replace every control or otherwise unsafe character with a visible escape
 * (`\x1b`, `\u{202e}`), so the result holds no raw control byte, is legal in
 * XML 1.0, and cannot move a terminal's cursor or reorder text.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./format.ts";
 * escapeControls("SSH\x1b[31m\0\r\n"); // "SSH\\x1b[31m\\x00\\x0d\\x0a"
 * ```
 */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

// C0, DEL, C1, plus the invisible characters that reorder or break lines.
// deno-lint-ignore no-control-regex
const TERMINAL_UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same set, not global: `test` keeps no lastIndex between calls.
const TERMINAL_UNSAFE_ANY = new RegExp(TERMINAL_UNSAFE.source);

/**
 * Make network text safe to print: every control character becomes a
 * visible escape (`\x1b` → `\\x1b`), so nothing a remote host sends can move
 * the cursor, change colours or retitle the terminal.
 *
 * @example
 * ```ts
 * import { escapeTerminal } from "./format.ts";
 * escapeTerminal("SSH\x1b[31m\r\n"); // "SSH\\x1b[31m\\x0d\\x0a"
 * ```
 */
export function escapeTerminal(text: string): string {
  // Almost all text is clean: a test does not build a new string.
  if (!TERMINAL_UNSAFE_ANY.test(text)) return text;
  return text.replace(TERMINAL_UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

// What JSON.stringify leaves raw but no output may hold: DEL, C1, line and
// paragraph separators, bidi controls, noncharacters.
const JSON_UNSAFE = /[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffe\uffff]/g;

/**
 * `JSON.stringify` whose text holds no raw control byte: what it leaves raw
 * (DEL, C1, U+2028/2029, bidi controls) becomes a `\uXXXX` escape, so the
 * value parses back unchanged and no terminal or log reader acts on it. The
 * one JSON writer of the JSON and JSON Lines outputs.
 *
 * @example
 * ```ts
 * import { jsonText } from "./format.ts";
 * jsonText({ banner: "x\u009b2J\u202e" }); // '{"banner":"x\\u009b2J\\u202e"}'
 * ```
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    JSON_UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The unsafe characters (as {@link escapeControls} sees them) that `text`
 * holds raw, besides those in `allowed`: what a test of an output asserts
 * is empty.
 *
 * @example
 * ```ts
 * import { rawUnsafe } from "./format.ts";
 * rawUnsafe("ok\n"); // []
 * rawUnsafe("a\u009bb\u202e"); // ["\\x9b", "\\u{202e}"]
 * ```
 */
export function rawUnsafe(text: string, allowed = "\n"): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(UNSAFE)) {
    if (!allowed.includes(match[0])) found.add(escapeControls(match[0]));
  }
  return [...found];
}

const MARKUP: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Text for an XML attribute value or element: controls made visible, markup
 * characters as entities. Safe in either quote style.
 *
 * @example
 * ```ts
 * import { escapeXml } from "./format.ts";
 * escapeXml(`a<b & "c"\0`); // "a&lt;b &amp; &quot;c&quot;\\x00"
 * ```
 */
export function escapeXml(text: string): string {
  return escapeControls(text).replace(/[&<>"']/g, (char) => MARKUP[char] ?? char);
}

/**
 * Text for HTML content or a quoted attribute value: the same escaping as
 * {@link escapeXml}, so no character can open a tag, end an attribute or
 * start an entity.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./format.ts";
 * escapeHtml("</title><script>"); // "&lt;/title&gt;&lt;script&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return escapeXml(text);
}

/**
 * One RFC 4180 CSV field: controls made visible, quoted when it holds a
 * comma, quote or space at an end, and prefixed with `'` when it begins with
 * `=`, `+`, `-` or `@`, so a spreadsheet never evaluates it as a formula.
 *
 * @example
 * ```ts
 * import { csvCell } from "./format.ts";
 * csvCell('=HYPERLINK("x")'); // "\"'=HYPERLINK(\"\"x\"\")\""
 * csvCell("ssh"); // "ssh"
 * ```
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return "";
  let text = escapeControls(String(value));
  if (typeof value === "string" && /^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A text field of a service, or undefined when absent or empty. */
export function serviceText(
  service: ServiceMatch | undefined,
  key: ServiceTextField,
): string | undefined {
  const value = service?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * nmap's one-line version: product, version and `(extra info)`.
 *
 * @example
 * ```ts
 * import { versionLine } from "./format.ts";
 * versionLine({ product: "OpenSSH", version: "9.2p1", extraInfo: "protocol 2.0" });
 * // "OpenSSH 9.2p1 (protocol 2.0)"
 * ```
 */
export function versionLine(service: ServiceMatch | undefined): string {
  const parts: string[] = [];
  const product = serviceText(service, "product");
  const version = serviceText(service, "version");
  const extra = serviceText(service, "extraInfo");
  if (product !== undefined) parts.push(product);
  if (version !== undefined) parts.push(version);
  if (extra !== undefined) parts.push(`(${extra})`);
  return parts.join(" ");
}

/** Ports of one state that are counted, not listed, with the ports when known. */
export interface GroupedPorts extends ExtraPorts {
  /** Per reason, the ports that had it, when the report listed them. */
  reasonPorts: Map<string, { protocol: Protocol; ports: number[] }>;
}

/** A host's ports laid out as nmap lays them out. */
export interface NmapPortLayout {
  /** Ports shown one by one, ascending. */
  ports: PortResult[];
  /** States that are only counted ("Not shown: 995 closed tcp ports"), most first. */
  extraports: GroupedPorts[];
}

/**
 * Lay a host's ports out the way nmap does: a state other than `open` with
 * more than `listLimit` ports is counted ("Not shown") instead of listed. The
 * report lists every filtered port; nmap-compatible formats fold them here.
 *
 * @example
 * ```ts ignore
 * import { nmapPortLayout } from "./format.ts";
 * const { ports, extraports } = nmapPortLayout(report.hosts[0]);
 * ```
 */
export function nmapPortLayout(
  host: HostReport,
  options: { listLimit?: number } = {},
): NmapPortLayout {
  const limit = options.listLimit ?? 25;
  const byState = new Map<PortState, PortResult[]>();
  for (const port of host.ports) {
    const list = byState.get(port.state);
    if (list === undefined) byState.set(port.state, [port]);
    else list.push(port);
  }
  const ports: PortResult[] = [];
  const groups = new Map<PortState, GroupedPorts>();
  /** Counted states whose ports are known for every reason. */
  const known = new Set<PortState>();
  for (const extra of host.extraports) {
    const reasonPorts: GroupedPorts["reasonPorts"] = new Map();
    for (const reason of extra.reasons) {
      if (reason.ports !== undefined && reason.protocol !== undefined) {
        reasonPorts.set(reason.reason, {
          protocol: reason.protocol,
          ports: expandPortRanges(reason.ports),
        });
      }
    }
    if (reasonPorts.size === extra.reasons.length) known.add(extra.state);
    groups.set(extra.state, {
      state: extra.state,
      count: extra.count,
      reasons: extra.reasons.map((r) => ({ reason: r.reason, count: r.count })),
      reasonPorts,
    });
  }
  for (const [state, list] of byState) {
    const counted = groups.get(state);
    if (state === "open" || (counted === undefined && list.length <= limit)) {
      ports.push(...list);
      continue;
    }
    const group: GroupedPorts = counted ?? {
      state,
      count: 0,
      reasons: [],
      reasonPorts: new Map(),
    };
    groups.set(state, group);
    // Port lists are only exact when every port of the state is known.
    const exact = counted === undefined || known.has(state);
    for (const port of list) {
      group.count++;
      const reason = group.reasons.find((r) => r.reason === port.reason);
      if (reason === undefined) group.reasons.push({ reason: port.reason, count: 1 });
      else reason.count++;
      if (!exact) continue;
      const known = group.reasonPorts.get(port.reason);
      if (known === undefined) {
        group.reasonPorts.set(port.reason, { protocol: port.protocol, ports: [port.port] });
      } else known.ports.push(port.port);
    }
    if (!exact) group.reasonPorts.clear();
  }
  ports.sort(comparePorts);
  const extraports = [...groups.values()];
  for (const group of extraports) {
    group.reasons.sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
  }
  extraports.sort((a, b) => b.count - a.count || (a.state < b.state ? -1 : 1));
  return { ports, extraports };
}

/** "2-4,7" → [2, 3, 4, 7]. */
function expandPortRanges(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(",")) {
    const [first, last] = part.split("-").map(Number);
    if (first === undefined || !Number.isInteger(first)) continue;
    const end = last !== undefined && Number.isInteger(last) ? last : first;
    for (let port = first; port <= end; port++) ports.push(port);
  }
  return ports;
}

/** The compact port list of a reason in a group ("1-21,23-79"), when known. */
export function groupPorts(group: GroupedPorts, reason: string): string | undefined {
  const known = group.reasonPorts.get(reason);
  return known === undefined ? undefined : formatPortRanges(known.ports);
}

/** `ipv6` when the address holds a colon, else `ipv4`. */
export function addressType(address: string): "ipv4" | "ipv6" {
  return address.includes(":") ? "ipv6" : "ipv4";
}

/**
 * The command line of a scan, starting with "portolan" exactly once
 * (whether or not the report's `args` already begin with it).
 */
export function commandArgs(args: readonly string[]): string[] {
  return ["portolan", ...(args[0] === "portolan" ? args.slice(1) : args)];
}

/** What the command line asked of the outputs: nmap writes some things only when asked. */
export interface ReportFlags {
  /** `--reason`: the REASON column and "received …". */
  reason: boolean;
  /** `-sV`: the VERSION column, "Service Info" and `?` after names guessed from the table. */
  serviceDetection: boolean;
  /** `-sn`: no port scan. */
  pingOnly: boolean;
  /** Count of `-v` (`-vv` counts two). */
  verbose: number;
}

/**
 * The flags of {@link ReportFlags}, read from a report's command line (the
 * report carries its arguments, so a resumed scan's outputs read the same).
 *
 * @example
 * ```ts
 * import { reportFlags } from "./format.ts";
 * reportFlags(["portolan", "-sV", "--reason", "-vv", "198.51.100.2"]).verbose; // 2
 * ```
 */
export function reportFlags(args: readonly string[]): ReportFlags {
  const flags: ReportFlags = {
    reason: false,
    serviceDetection: false,
    pingOnly: false,
    verbose: 0,
  };
  for (const arg of args) {
    if (arg === "--reason") flags.reason = true;
    else if (arg === "-sV") flags.serviceDetection = true;
    else if (arg === "-sn") flags.pingOnly = true;
    else if (arg === "-v") flags.verbose++;
    else if (arg === "-vv") flags.verbose += 2;
  }
  return flags;
}

/**
 * Seconds with two significant digits in plain notation, as nmap writes a
 * latency: 0.000008 → "0.0000080", 0.00055 → "0.00055", 1.3 → "1.3".
 *
 * @example
 * ```ts
 * import { significantSeconds } from "./format.ts";
 * significantSeconds(0.0080); // "0.0000080"
 * ```
 */
export function significantSeconds(ms: number): string {
  const seconds = ms / 1000;
  if (!(seconds > 0) || !Number.isFinite(seconds)) return "0.00";
  const rounded = Number(seconds.toPrecision(2));
  const decimals = Math.max(0, 1 - Math.floor(Math.log10(rounded)));
  return rounded.toFixed(decimals);
}

/** A host's latency in ms: its discovery answer's, else its fastest port answer's. */
export function hostLatency(host: HostReport): number | undefined {
  if (host.rtt !== undefined) return host.rtt;
  let best: number | undefined;
  for (const port of host.ports) {
    if (port.rtt !== undefined && (best === undefined || port.rtt < best)) best = port.rtt;
  }
  return best;
}

/**
 * A service's name as the terminal shows it: "ssl/http" when it was found
 * inside TLS, as nmap writes it.
 *
 * @example
 * ```ts
 * import { serviceLabel } from "./format.ts";
 * serviceLabel({ name: "http", tunnel: "ssl" }); // "ssl/http"
 * ```
 */
export function serviceLabel(service: ServiceMatch | undefined): string | undefined {
  const name = serviceText(service, "name");
  if (name === undefined) return undefined;
  return service?.tunnel === "ssl" ? `ssl/${name}` : name;
}

/**
 * The report as nmap's formats tell it: a host nothing answered under -Pn
 * (state "unknown" here) is "up", reason "user-set", and counted up, as nmap
 * writes it.
 *
 * @example
 * ```ts ignore
 * import { nmapView } from "./format.ts";
 * nmapView(report).hosts[0]?.state; // "up"
 * ```
 */
export function nmapView(report: ScanReport): ScanReport {
  const unknown = report.hosts.filter((host) => host.state === "unknown").length;
  if (unknown === 0) return report;
  return {
    ...report,
    hosts: report.hosts.map((host) =>
      host.state === "unknown" ? { ...host, state: "up", reason: "user-set" } : host
    ),
    stats: { ...report.stats, hostsUp: report.stats.hostsUp + unknown },
  };
}
