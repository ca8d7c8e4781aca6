/**
 * What changed between two scans: hosts and ports that appeared or vanished,
 * port state changes, and service, version and certificate changes.
 *
 * A port that is not listed counts as what the host's `extraports` say when
 * they name a single state (typically "closed"), as "not scanned" when the
 * scan's port list does not hold it or the scan did not finish (an
 * interrupted scan never reached most of its ports), and otherwise as not
 * listed. Only non-closed ports are reported as new or gone; a port open on
 * one side and outside what the other side scanned is "unscanned" (shown,
 * but not a change: nothing is known of it on that side). Text from
 * reports (banners, hostnames, args) is printed with every control made
 * visible.
 *
 * @module
 */

import {
  comparePorts,
  type HostReport,
  type HostState,
  type PortResult,
  type PortState,
  type Protocol,
  type ScanReport,
} from "../model/mod.ts";
import { compareHosts } from "./history.ts";
import { type ServiceColumns, serviceColumns } from "./service_fields.ts";
import { escapeControls, jsonText } from "../plugin/format.ts";

/** A port's state as a diff sees it: a real state, or why none is known. */
export type DiffPortState =
  | PortState
  /** Not listed, and the host's extraports do not tell. */
  | "unlisted"
  /** Outside the ports the scan probed. */
  | "unscanned"
  /** The host was found down. */
  | "host-down"
  /** The host is not in the report. */
  | "no-host";

/** The compared fields of a port on one side. */
export interface PortSide {
  state: DiffPortState;
  reason: string;
  service: ServiceColumns;
}

/** A field that differs between the two scans. */
export interface FieldChange {
  field:
    | "state"
    | "service"
    | "product"
    | "version"
    | "extraInfo"
    | "cpe"
    | "certFingerprint"
    | "certSubject"
    | "certNotAfter";
  before: string | null;
  after: string | null;
}

/** One port that differs. */
export interface PortDiff {
  protocol: Protocol;
  port: number;
  /**
   * new: not open or filtered before, is now; gone: the reverse; changed:
   * state or service; unscanned: open or filtered on one side, not scanned
   * on the other (no change known).
   */
  change: "new" | "gone" | "changed" | "unscanned";
  before: PortSide;
  after: PortSide;
  /** Only for "changed": what differs. */
  changes: FieldChange[];
}

/** One host that differs. */
export interface HostDiff {
  address: string;
  hostnames: string[];
  /** new: not up before; gone: not up now; changed: up in both, ports differ. */
  change: "new" | "gone" | "changed";
  /** Host state in each scan; null when the host is not in that report. */
  before: HostState | null;
  after: HostState | null;
  ports: PortDiff[];
}

/** Where a side of the diff came from. */
export interface DiffSource {
  /** "scan 12", a file name, …; empty when not given. */
  label: string;
  start: string;
  end: string;
  args: string[];
}

/** Counts of a diff. */
export interface DiffSummary {
  newHosts: number;
  goneHosts: number;
  newPorts: number;
  gonePorts: number;
  changedPorts: number;
  /** Ports seen on one side only because the other did not scan them. */
  unscannedPorts: number;
}

/** Everything that changed from scan `from` to scan `to`. */
export interface ScanDiff {
  from: DiffSource;
  to: DiffSource;
  hosts: HostDiff[];
  summary: DiffSummary;
}

/** Options of {@link diffReports}. */
export interface DiffOptions {
  /** Labels of the two sides, e.g. "scan 12" or a file name. */
  labels?: [string, string];
}

const NOT_OPEN: ReadonlySet<DiffPortState> = new Set([
  "closed",
  "unlisted",
  "unscanned",
  "host-down",
  "no-host",
]);

/** Whether a port in this state is worth listing (anything but closed or unknown). */
function interesting(state: DiffPortState): boolean {
  return !NOT_OPEN.has(state);
}

type Ranges = Map<Protocol, [number, number][]>;

/** The ports each protocol probed, from the scaninfo's compact form; undefined when unknown. */
function scannedRanges(report: ScanReport): Ranges | undefined {
  if (report.scaninfo.length === 0) return undefined;
  const out: Ranges = new Map();
  for (const info of report.scaninfo) {
    const list = out.get(info.protocol) ?? [];
    for (const item of info.services.split(",")) {
      const match = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(item);
      if (match === null) continue;
      const low = Number(match[1]);
      list.push([low, match[2] === undefined ? low : Number(match[2])]);
    }
    out.set(info.protocol, list);
  }
  return out;
}

function inRanges(ranges: Ranges | undefined, protocol: Protocol, port: number): boolean {
  if (ranges === undefined) return true;
  return (ranges.get(protocol) ?? []).some(([low, high]) => port >= low && port <= high);
}

const NO_SERVICE: ServiceColumns = serviceColumns(undefined);

interface Side {
  report: ScanReport;
  ranges: Ranges | undefined;
  hosts: Map<string, HostReport>;
  /** Not finished (no end): an unlisted port may never have been probed. */
  partial: boolean;
}

function side(report: ScanReport): Side {
  const hosts = new Map<string, HostReport>();
  for (const host of report.hosts) {
    const known = hosts.get(host.address);
    // A report may name a host twice (nmap with overlapping targets); merge the ports.
    if (known === undefined) hosts.set(host.address, host);
    else hosts.set(host.address, { ...known, ports: [...known.ports, ...host.ports] });
  }
  return { report, ranges: scannedRanges(report), hosts, partial: report.end === "" };
}

function portKey(protocol: Protocol, port: number): string {
  return `${protocol}/${port}`;
}

function resolve(
  s: Side,
  host: HostReport | undefined,
  listed: PortResult | undefined,
  protocol: Protocol,
  port: number,
): PortSide {
  if (listed !== undefined) {
    return { state: listed.state, reason: listed.reason, service: serviceColumns(listed.service) };
  }
  const unknown = (state: DiffPortState): PortSide => ({ state, reason: "", service: NO_SERVICE });
  if (host === undefined) return unknown("no-host");
  if (host.state === "down") return unknown("host-down");
  if (s.partial || !inRanges(s.ranges, protocol, port)) return unknown("unscanned");
  const states = new Set(host.extraports.filter((e) => e.count > 0).map((e) => e.state));
  if (states.size === 1) return unknown([...states][0] as PortState);
  return unknown("unlisted");
}

function hasDetail(c: ServiceColumns): boolean {
  return c.product !== null || c.version !== null || c.extraInfo !== null || c.cpe !== null;
}

function hasCert(c: ServiceColumns): boolean {
  return c.certFingerprint !== null || c.certSubject !== null || c.certNotAfter !== null;
}

/** Service fields compared only where both scans looked: no "-sV" on one side is no change. */
function serviceChanges(a: ServiceColumns, b: ServiceColumns): FieldChange[] {
  const out: FieldChange[] = [];
  const compare = (field: FieldChange["field"], x: string | null, y: string | null): void => {
    if (x !== y) out.push({ field, before: x, after: y });
  };
  if (a.name !== null && b.name !== null) compare("service", a.name, b.name);
  if (hasDetail(a) && hasDetail(b)) {
    compare("product", a.product, b.product);
    compare("version", a.version, b.version);
    compare("extraInfo", a.extraInfo, b.extraInfo);
    compare("cpe", a.cpe, b.cpe);
  }
  if (hasCert(a) && hasCert(b)) {
    compare("certFingerprint", a.certFingerprint, b.certFingerprint);
    compare("certSubject", a.certSubject, b.certSubject);
    compare("certNotAfter", a.certNotAfter, b.certNotAfter);
  }
  return out;
}

function portDiff(
  protocol: Protocol,
  port: number,
  before: PortSide,
  after: PortSide,
): PortDiff | undefined {
  const was = interesting(before.state);
  const is = interesting(after.state);
  if (!was && !is) return undefined;
  if (!was && before.state === "unscanned" || !is && after.state === "unscanned") {
    return { protocol, port, change: "unscanned", before, after, changes: [] };
  }
  if (!was) return { protocol, port, change: "new", before, after, changes: [] };
  if (!is) return { protocol, port, change: "gone", before, after, changes: [] };
  const changes: FieldChange[] = [];
  if (before.state !== after.state) {
    changes.push({ field: "state", before: before.state, after: after.state });
  }
  changes.push(...serviceChanges(before.service, after.service));
  return changes.length === 0
    ? undefined
    : { protocol, port, change: "changed", before, after, changes };
}

function present(host: HostReport | undefined): boolean {
  return host !== undefined && host.state !== "down";
}

function sourceOf(report: ScanReport, label: string): DiffSource {
  return { label, start: report.start, end: report.end, args: [...report.args] };
}

/**
 * Compare two reports, `a` the older.
 *
 * @example
 * ```ts
 * import { diffReports } from "./diff.ts";
 * import type { ScanReport } from "../model/mod.ts";
 * const empty: ScanReport = {
 *   scanner: "portolan", version: "0", args: [], start: "", end: "", scaninfo: [], hosts: [],
 *   stats: { probes: 0, retries: 0, seconds: 0, hostsUp: 0, hostsDown: 0, hostsTotal: 0 },
 * };
 * diffReports(empty, empty).hosts.length; // 0
 * ```
 */
export function diffReports(a: ScanReport, b: ScanReport, options: DiffOptions = {}): ScanDiff {
  const sa = side(a);
  const sb = side(b);
  const addresses = [...new Set([...sa.hosts.keys(), ...sb.hosts.keys()])]
    .map((address) => ({ address }))
    .sort(compareHosts)
    .map((item) => item.address);

  const hosts: HostDiff[] = [];
  const summary: DiffSummary = {
    newHosts: 0,
    goneHosts: 0,
    newPorts: 0,
    gonePorts: 0,
    changedPorts: 0,
    unscannedPorts: 0,
  };
  for (const address of addresses) {
    const ha = sa.hosts.get(address);
    const hb = sb.hosts.get(address);
    if (!present(ha) && !present(hb)) continue;
    const listedA = new Map((ha?.ports ?? []).map((p) => [portKey(p.protocol, p.port), p]));
    const listedB = new Map((hb?.ports ?? []).map((p) => [portKey(p.protocol, p.port), p]));
    const keys = new Map<string, { protocol: Protocol; port: number }>();
    for (const p of [...(ha?.ports ?? []), ...(hb?.ports ?? [])]) {
      keys.set(portKey(p.protocol, p.port), { protocol: p.protocol, port: p.port });
    }
    const ports: PortDiff[] = [];
    for (const [key, { protocol, port }] of keys) {
      const before = resolve(sa, ha, listedA.get(key), protocol, port);
      const after = resolve(sb, hb, listedB.get(key), protocol, port);
      const diff = portDiff(protocol, port, before, after);
      if (diff !== undefined) ports.push(diff);
    }
    ports.sort(comparePorts);

    const change = !present(ha) ? "new" : !present(hb) ? "gone" : "changed";
    if (change === "changed" && ports.length === 0) continue;
    if (change === "new") summary.newHosts++;
    if (change === "gone") summary.goneHosts++;
    for (const p of ports) {
      if (p.change === "new") summary.newPorts++;
      else if (p.change === "gone") summary.gonePorts++;
      else if (p.change === "unscanned") summary.unscannedPorts++;
      else summary.changedPorts++;
    }
    hosts.push({
      address,
      hostnames: [...new Set([...(hb?.hostnames ?? []), ...(ha?.hostnames ?? [])])],
      change,
      before: ha?.state ?? null,
      after: hb?.state ?? null,
      ports,
    });
  }
  return {
    from: sourceOf(a, options.labels?.[0] ?? ""),
    to: sourceOf(b, options.labels?.[1] ?? ""),
    hosts,
    summary,
  };
}

/** Options of {@link formatDiff}. */
export interface FormatDiffOptions {
  /** ANSI colours: green for new, red for gone, yellow for changed. Default false. */
  color?: boolean;
  /** Start with `--- ` and `+++ ` lines naming the two scans. Default true. */
  header?: boolean;
}

const GONE_WHY: Record<string, string> = {
  closed: "now closed",
  unlisted: "not listed",
  unscanned: "not scanned",
  "host-down": "host down",
  "no-host": "host gone",
};

const SIGN: Record<PortDiff["change"], string> = {
  new: "+",
  gone: "-",
  changed: "~",
  unscanned: "?",
};

const COLOUR: Record<PortDiff["change"], string> = {
  new: "32",
  gone: "31",
  changed: "33",
  unscanned: "2",
};

/** The note closing a new, gone or unscanned port's line. */
function whyText(p: PortDiff): string {
  if (p.change === "new") return "(new)";
  if (p.change === "unscanned") {
    return p.before.state === "unscanned" ? "(not scanned before)" : "(not scanned now)";
  }
  return `(gone: ${GONE_WHY[p.after.state] ?? `now ${p.after.state}`})`;
}

/**
 * Whether the diff holds a change (what `portolan diff` exits 1 for, as ndiff
 * and diff do): ports scanned on one side only are not one.
 */
export function hasChanges(diff: ScanDiff): boolean {
  const s = diff.summary;
  return s.newHosts + s.goneHosts + s.newPorts + s.gonePorts + s.changedPorts > 0;
}

const FIELD_LABEL: Record<FieldChange["field"], string> = {
  state: "state",
  service: "service",
  product: "product",
  version: "version",
  extraInfo: "extra info",
  cpe: "cpe",
  certFingerprint: "certificate fingerprint",
  certSubject: "certificate subject",
  certNotAfter: "certificate notAfter",
};

function describe(c: ServiceColumns): string {
  const words = [c.product, c.version].filter((w): w is string => w !== null);
  if (c.extraInfo !== null) words.push(`(${c.extraInfo})`);
  return words.join(" ");
}

function orNone(value: string | null): string {
  return value === null || value === "" ? "(none)" : value;
}

/** The lines of one changed port, without sign and columns. */
function changeLines(p: PortDiff): { middle: string; text: string }[] {
  const name = p.after.service.name ?? p.before.service.name ?? "";
  const fields = new Map(p.changes.map((c) => [c.field, c]));
  const lines: { middle: string; text: string }[] = [];
  const state = fields.get("state");
  if (state !== undefined) lines.push({ middle: "", text: `${state.before} -> ${state.after}` });
  const serviceFields = ["service", "product", "version", "extraInfo"] as const;
  if (serviceFields.some((f) => fields.has(f))) {
    const nameChanged = fields.has("service");
    const left = [nameChanged ? p.before.service.name : null, describe(p.before.service)]
      .filter((w) => w !== null && w !== "").join(" ");
    const right = [nameChanged ? p.after.service.name : null, describe(p.after.service)]
      .filter((w) => w !== null && w !== "").join(" ");
    lines.push({ middle: name, text: `${orNone(left)} -> ${orNone(right)}` });
  }
  for (const field of ["cpe", "certFingerprint", "certSubject", "certNotAfter"] as const) {
    const c = fields.get(field);
    if (c === undefined) continue;
    lines.push({
      middle: name,
      text: `${FIELD_LABEL[field]} ${orNone(c.before)} -> ${orNone(c.after)}`,
    });
  }
  return lines;
}

/**
 * The diff as text, one block per host:
 *
 * ```text
 * 198.51.100.2
 *   + 8081/tcp open   (new)
 *   - 22/tcp   open   (gone: now closed)
 *   ~ 443/tcp  https  nginx 1.22 -> nginx 1.24
 * ```
 */
export function formatDiff(diff: ScanDiff, options: FormatDiffOptions = {}): string {
  const color = options.color === true;
  // Every line is made visible before colour goes on: reports and the
  // database carry text from the network (banners, hostnames) and args.
  const paint = (code: string, text: string): string =>
    color ? `\x1b[${code}m${escapeControls(text)}\x1b[0m` : escapeControls(text);
  const out: string[] = [];
  if (options.header ?? true) {
    for (const [mark, source] of [["---", diff.from], ["+++", diff.to]] as const) {
      const parts = [source.label, source.start, source.args.join(" ")].filter((p) => p !== "");
      out.push(paint("1", `${mark} ${parts.join("  ")}`));
    }
  }
  if (diff.hosts.length === 0) {
    out.push("No changes.");
    return out.join("\n") + "\n";
  }

  let portWidth = 8;
  let middleWidth = 6;
  for (const host of diff.hosts) {
    for (const p of host.ports) {
      portWidth = Math.max(portWidth, `${p.port}/${p.protocol}`.length);
      const side = p.change === "new" || p.before.state === "unscanned" ? p.after : p.before;
      if (p.change !== "changed") middleWidth = Math.max(middleWidth, side.state.length);
      else {
        for (const line of changeLines(p)) {
          if (line.middle !== "") middleWidth = Math.max(middleWidth, line.middle.length);
        }
      }
    }
  }

  for (const host of diff.hosts) {
    const names = host.hostnames.length > 0 ? ` (${host.hostnames.join(", ")})` : "";
    const note = host.change === "new"
      ? host.before === null ? "  (new host)" : `  (new host: was ${host.before})`
      : host.change === "gone"
      ? host.after === null ? "  (gone)" : `  (gone: now ${host.after})`
      : "";
    out.push(paint("1", `${host.address}${names}`) + escapeControls(note));
    for (const p of host.ports) {
      const label = `${p.port}/${p.protocol}`.padEnd(portWidth);
      if (p.change !== "changed") {
        const later = p.change === "new" || p.before.state === "unscanned";
        const s = later ? p.after : p.before;
        const detail = [s.service.name, describe(s.service)].filter((w) => w !== null && w !== "");
        const line = `${SIGN[p.change]} ${label} ${s.state.padEnd(middleWidth)} ${
          [...detail, whyText(p)].join(" ")
        }`;
        out.push("  " + paint(COLOUR[p.change], line));
        continue;
      }
      for (const line of changeLines(p)) {
        const text = line.middle === ""
          ? `~ ${label} ${line.text}`
          : `~ ${label} ${line.middle.padEnd(middleWidth)} ${line.text}`;
        out.push("  " + paint("33", text));
      }
    }
  }
  const s = diff.summary;
  const unscanned = s.unscannedPorts === 0 ? "" : ` (${s.unscannedPorts} scanned on one side only)`;
  out.push(
    `${s.newPorts} new, ${s.gonePorts} gone, ${s.changedPorts} changed ports${unscanned}; ` +
      `${s.newHosts} new, ${s.goneHosts} gone hosts`,
  );
  return out.join("\n") + "\n";
}

function jsonSide(s: PortSide): Record<string, unknown> {
  return {
    state: s.state,
    reason: s.reason,
    service: {
      name: s.service.name,
      product: s.service.product,
      version: s.service.version,
      extraInfo: s.service.extraInfo,
      cpe: s.service.cpe,
      certificate: {
        fingerprint: s.service.certFingerprint,
        subject: s.service.certSubject,
        notAfter: s.service.certNotAfter,
      },
    },
  };
}

/** The diff as JSON (`portolan diff --json`), keys in a fixed order. */
export function diffToJson(diff: ScanDiff): string {
  const source = (s: DiffSource): Record<string, unknown> => ({
    label: s.label,
    start: s.start,
    end: s.end,
    args: s.args,
  });
  const ordered = {
    from: source(diff.from),
    to: source(diff.to),
    summary: {
      newHosts: diff.summary.newHosts,
      goneHosts: diff.summary.goneHosts,
      newPorts: diff.summary.newPorts,
      gonePorts: diff.summary.gonePorts,
      changedPorts: diff.summary.changedPorts,
      unscannedPorts: diff.summary.unscannedPorts,
    },
    hosts: diff.hosts.map((host) => ({
      address: host.address,
      hostnames: host.hostnames,
      change: host.change,
      before: host.before,
      after: host.after,
      ports: host.ports.map((p) => ({
        protocol: p.protocol,
        port: p.port,
        change: p.change,
        before: jsonSide(p.before),
        after: jsonSide(p.after),
        changes: p.changes.map((c) => ({ field: c.field, before: c.before, after: c.after })),
      })),
    })),
  };
  return jsonText(ordered, 2) + "\n";
}
