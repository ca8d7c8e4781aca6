/**
 * Reading a saved report for `portolan diff a.xml b.json`: a portolan `-oJ`
 * file or an nmap/portolan `-oX` file, told apart by their first character.
 *
 * @module
 */

import {
  type ExtraPorts,
  type HostReport,
  isHostState,
  isPortState,
  isProtocol,
  type PortResult,
  type ScanInfo,
  type ScanReport,
  serviceFromJson,
} from "../model/mod.ts";
import { escapeControls } from "../plugin/format.ts";
import { readBoundedText, TextReadError } from "./bounded_read.ts";
import { parseNmapXml } from "./nmap_xml.ts";

type Json = Record<string, unknown>;

function obj(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Json
    : undefined;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown, fallback = ""): string {
  return typeof value === "string" ? value : fallback;
}

function num(value: unknown, fallback = 0): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/**
 * A port of a JSON report (or a JSONL `port` line), checked and narrowed to
 * the model: undefined when its protocol, number or state is wrong; a
 * service field of the wrong type dropped.
 *
 * @example
 * ```ts
 * import { portFromJson } from "./report_file.ts";
 * portFromJson({ port: 22, state: "open", service: { name: "ssh", version: 2 } }, "127.0.0.1");
 * // { address: "127.0.0.1", protocol: "tcp", port: 22, state: "open", reason: "", service: { name: "ssh" } }
 * ```
 */
export function portFromJson(value: unknown, address: string): PortResult | undefined {
  const p = obj(value);
  if (p === undefined) return undefined;
  const protocol = str(p.protocol, "tcp");
  const state = str(p.state);
  const port = num(p.port, -1);
  if (!isProtocol(protocol)) return undefined;
  if (!isPortState(state) || !Number.isInteger(port) || port < 0 || port > 65535) {
    return undefined;
  }
  const result: PortResult = {
    address,
    protocol,
    port,
    state,
    reason: str(p.reason),
  };
  if (typeof p.rtt === "number") result.rtt = p.rtt;
  if (typeof p.reasonTtl === "number") result.reasonTtl = p.reasonTtl;
  // Narrowed to the model's shape: a field of the wrong type is dropped, not passed on.
  const service = serviceFromJson(p.service);
  if (service !== undefined) result.service = service;
  // Script output (-sC, --script) is kept, so a merge of shards keeps it too.
  const scripts = arr(p.scripts).flatMap((item) => {
    const script = obj(item);
    return typeof script?.id === "string" && typeof script.output === "string"
      ? [{ id: script.id, output: script.output }]
      : [];
  });
  if (scripts.length > 0) result.scripts = scripts;
  return result;
}

function hostOf(value: unknown): HostReport | undefined {
  const h = obj(value);
  const address = str(h?.address);
  if (h === undefined || address === "") return undefined;
  const state = str(h.state, "unknown");
  const extraports: ExtraPorts[] = [];
  for (const item of arr(h.extraports)) {
    const e = obj(item);
    const extraState = str(e?.state);
    if (e === undefined || !isPortState(extraState)) continue;
    extraports.push({
      state: extraState,
      count: num(e.count),
      reasons: arr(e.reasons).map(obj).filter((r): r is Json => r !== undefined).map((r) => ({
        reason: str(r.reason),
        count: num(r.count),
      })),
    });
  }
  return {
    address,
    hostnames: arr(h.hostnames).filter((n): n is string => typeof n === "string"),
    state: isHostState(state) ? state : "unknown",
    reason: str(h.reason),
    ports: arr(h.ports).map((p) => portFromJson(p, address)).filter((p): p is PortResult =>
      p !== undefined
    ),
    extraports,
  };
}

/**
 * Read a portolan `-oJ` report. Missing fields get defaults and malformed
 * ports and hosts are skipped; a `hosts` with no host at all refuses the file.
 * An `"interrupted": true` report reads as unfinished (no end).
 */
export function parseJsonReport(text: string, name: string): ScanReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the fault: one line, controls visible, not too long.
    const why = escapeControls(
      (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " "),
    ).slice(0, 200);
    throw new SyntaxError(`Cannot parse report "${name}": invalid JSON (${why})`);
  }
  const r = obj(data);
  if (r === undefined || !Array.isArray(r.hosts)) {
    throw new SyntaxError(
      `Cannot parse report "${name}": not a portolan JSON report (no "hosts" array)`,
    );
  }

  const stats = obj(r.stats) ?? {};
  const hosts = r.hosts.map(hostOf).filter((h): h is HostReport => h !== undefined);
  // Lenient with a stray entry, not with a file whose hosts are none of them hosts.
  if (r.hosts.length > 0 && hosts.length === 0) {
    throw new SyntaxError(
      `Cannot parse report "${name}": not a portolan JSON report (no entry of "hosts" is a host)`,
    );
  }
  return {
    scanner: "portolan",
    version: str(r.version),
    args: arr(r.args).filter((a): a is string => typeof a === "string"),
    start: str(r.start),
    // An interrupted scan's report is partial: read as unfinished, as its XML is.
    end: r.interrupted === true ? "" : str(r.end),
    scaninfo: arr(r.scaninfo).map(obj).flatMap((s): ScanInfo[] =>
      s !== undefined && isProtocol(s.protocol)
        ? [{
          type: str(s.type),
          protocol: s.protocol,
          numServices: num(s.numServices),
          services: str(s.services),
        }]
        : []
    ),
    hosts,
    stats: {
      probes: num(stats.probes),
      retries: num(stats.retries),
      seconds: num(stats.seconds),
      hostsUp: num(stats.hostsUp, hosts.filter((h) => h.state === "up").length),
      hostsDown: num(stats.hostsDown, hosts.filter((h) => h.state === "down").length),
      hostsTotal: num(stats.hostsTotal, hosts.length),
    },
  };
}

/**
 * Read a report from its text: JSON when it starts with `{`, XML when it
 * starts with `<`. `name` is used in error messages.
 */
export function parseReportText(text: string, name: string): ScanReport {
  const body = text.replace(/^\uFEFF/, "").trimStart();
  if (body.startsWith("{")) return parseJsonReport(body, name);
  if (body.startsWith("<")) return parseNmapXml(body, name);
  throw new SyntaxError(`Cannot parse report "${name}": not a portolan JSON or nmap XML file`);
}

/**
 * Read a `-oJ` or `-oX` file.
 *
 * @example
 * ```ts ignore
 * import { readReportFile } from "./report_file.ts";
 * const report = await readReportFile("scan.xml");
 * ```
 */
export async function readReportFile(
  path: string,
  options: { signal?: AbortSignal; maxBytes?: number } = {},
): Promise<ScanReport> {
  let text: string;
  try {
    // Capped, NUL refused: /dev/zero or an endless pipe ends at once, not at memory's end.
    text = await readBoundedText(path, options);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ||
        (error instanceof TextReadError && error.message === "No such file or directory")
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new Error(`Cannot read report "${path}": ${why}`, { cause: error });
  }
  return parseReportText(text, path);
}
