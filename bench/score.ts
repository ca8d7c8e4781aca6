/**
 * Reading scanners' outputs (nmap XML, portolan JSON) into per-port states
 * and scoring them against the lab's ground truth.
 *
 * @module
 */

/** Ports counted rather than listed by a scanner. */
export interface ExtraPortsEntry {
  state: string;
  count: number;
  /** The ports, when the output names them (nmap ≥ 7.90 XML does). */
  ports?: number[];
}

/** What a scanner reported for one host. */
export interface ScanOutcome {
  /** Ports listed one by one, with their state. */
  ports: Map<number, string>;
  extraports: ExtraPortsEntry[];
}

/** How a scan compares with the ground truth. */
export interface Score {
  /** Expected open ports reported open. */
  openFound: number;
  openExpected: number;
  /** Dropped ports reported filtered. */
  droppedFiltered: number;
  droppedExpected: number;
  /** Admin-prohibited ports reported filtered. */
  prohibitedFiltered: number;
  prohibitedExpected: number;
  /** Other ports reported closed. */
  closedOk: number;
  closedExpected: number;
  /** Ports whose reported state differs from the expected one (or is unknown). */
  wrong: number;
  /** Up to 10 wrong ports as "port:expected→reported". */
  wrongSample: string[];
}

/**
 * Expands nmap's compact port list ("1-20,24,26-79").
 *
 * @param text The list.
 * @returns The ports, in the order given.
 */
export function expandPortList(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(",")) {
    if (part === "") continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new SyntaxError(`Cannot parse port list item "${part}": not N or N-M`);
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (high < low || high > 65535) {
      throw new RangeError(
        `Cannot parse port list item "${part}": range must ascend within 0-65535`,
      );
    }
    for (let port = low; port <= high; port++) ports.push(port);
  }
  return ports;
}

function attribute(tag: string, name: string): string | undefined {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
}

/**
 * Reads the TCP ports of one host from nmap's XML output (`-oX`).
 *
 * @param xml The XML document.
 * @param address The host's address; default the first host.
 * @returns Listed ports and extraports, or null when the host is absent.
 */
export function parseNmapXml(xml: string, address?: string): ScanOutcome | null {
  const hosts = [...xml.matchAll(/<host\b[\s\S]*?<\/host>/g)].map((m) => m[0]);
  const host = hosts.find((block) =>
    address === undefined ||
    [...block.matchAll(/<address\b[^>]*>/g)].some((m) => attribute(m[0], "addr") === address)
  );
  if (host === undefined) return null;
  const ports = new Map<number, string>();
  for (const match of host.matchAll(/<port\b([^>]*)>\s*<state\b([^>]*)>/g)) {
    if (attribute(match[1] ?? "", "protocol") !== "tcp") continue;
    const port = Number(attribute(match[1] ?? "", "portid"));
    const state = attribute(match[2] ?? "", "state");
    if (Number.isInteger(port) && state !== undefined) ports.set(port, state);
  }
  const extraports: ExtraPortsEntry[] = [];
  const extraPattern = /<extraports\b([^>]*?)(?:\/>|>([\s\S]*?)<\/extraports>)/g;
  for (const match of host.matchAll(extraPattern)) {
    const state = attribute(match[1] ?? "", "state") ?? "unknown";
    const count = Number(attribute(match[1] ?? "", "count") ?? "0");
    const entry: ExtraPortsEntry = { state, count };
    const lists = [...(match[2] ?? "").matchAll(/<extrareasons\b[^>]*>/g)]
      .map((m) => attribute(m[0], "ports"));
    if (lists.length > 0 && lists.every((list) => list !== undefined)) {
      entry.ports = lists.flatMap((list) => expandPortList(list ?? ""));
    }
    extraports.push(entry);
  }
  return { ports, extraports };
}

/**
 * Reads the TCP ports of one host from portolan's JSON report (`-oJ`, see
 * src/model/report.ts).
 *
 * @param text The JSON document.
 * @param address The host's address; default the first host.
 * @returns Listed ports and extraports, or null when the host is absent.
 */
export function parsePortolanJson(text: string, address?: string): ScanOutcome | null {
  const report = JSON.parse(text) as {
    hosts?: {
      address?: string;
      ports?: { port?: number; protocol?: string; state?: string }[];
      extraports?: { state?: string; count?: number }[];
    }[];
  };
  const host = (report.hosts ?? []).find((h) => address === undefined || h.address === address);
  if (host === undefined) return null;
  const ports = new Map<number, string>();
  for (const entry of host.ports ?? []) {
    if ((entry.protocol ?? "tcp") !== "tcp") continue;
    if (typeof entry.port === "number" && typeof entry.state === "string") {
      ports.set(entry.port, entry.state);
    }
  }
  const extraports = (host.extraports ?? []).map((entry) => ({
    state: entry.state ?? "unknown",
    count: entry.count ?? 0,
  }));
  return { ports, extraports };
}

/**
 * Every scanned port's reported state: listed ports first, then ports that
 * extraports name, then, when exactly one extraports entry names none, that
 * entry's state for every remaining port. A port that cannot be attributed
 * gets "unknown".
 *
 * @param outcome What the scanner reported.
 * @param scanned The ports that were scanned.
 * @returns Port to reported state, in the order of `scanned`.
 */
export function resolveStates(outcome: ScanOutcome, scanned: number[]): Map<number, string> {
  const states = new Map<number, string>();
  const wanted = new Set(scanned);
  for (const [port, state] of outcome.ports) if (wanted.has(port)) states.set(port, state);
  const unnamed = outcome.extraports.filter((entry) => entry.ports === undefined);
  for (const entry of outcome.extraports) {
    for (const port of entry.ports ?? []) {
      if (wanted.has(port) && !states.has(port)) states.set(port, entry.state);
    }
  }
  const fallback = unnamed.length === 1 ? unnamed[0]?.state : undefined;
  // In the order scanned.
  return new Map(scanned.map((port) => [port, states.get(port) ?? fallback ?? "unknown"]));
}

/**
 * Compares reported states with the expected ones.
 *
 * @param expected Port to expected state (from `expectedStates`).
 * @param reported Port to reported state (from {@link resolveStates}).
 * @param dropped The dropped ports, to tell them from the prohibited ones.
 * @returns The score.
 */
export function scoreStates(
  expected: Map<number, string>,
  reported: Map<number, string>,
  dropped: number[],
): Score {
  const droppedSet = new Set(dropped);
  const score: Score = {
    openFound: 0,
    openExpected: 0,
    droppedFiltered: 0,
    droppedExpected: 0,
    prohibitedFiltered: 0,
    prohibitedExpected: 0,
    closedOk: 0,
    closedExpected: 0,
    wrong: 0,
    wrongSample: [],
  };
  for (const [port, want] of expected) {
    const got = reported.get(port) ?? "unknown";
    const ok = got === want;
    if (want === "open") {
      score.openExpected++;
      if (ok) score.openFound++;
    } else if (want === "closed") {
      score.closedExpected++;
      if (ok) score.closedOk++;
    } else if (droppedSet.has(port)) {
      score.droppedExpected++;
      if (ok) score.droppedFiltered++;
    } else {
      score.prohibitedExpected++;
      if (ok) score.prohibitedFiltered++;
    }
    if (!ok) {
      score.wrong++;
      if (score.wrongSample.length < 10) score.wrongSample.push(`${port}:${want}→${got}`);
    }
  }
  return score;
}

/**
 * The median; the mean of the middle two for an even count.
 *
 * @param values Numbers, at least one.
 * @returns The median.
 */
export function median(values: number[]): number {
  if (values.length === 0) throw new RangeError("Cannot take the median of []: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle] as number
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Replaces the text between `<!-- bench:NAME:start -->` and
 * `<!-- bench:NAME:end -->`, or appends the marked section when absent.
 *
 * @param document The markdown document.
 * @param name The section name, e.g. "connect".
 * @param body The new content, without markers.
 * @returns The new document.
 */
export function replaceSection(document: string, name: string, body: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${body.trim()}\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from === -1 || to === -1 || to < from) {
    return `${document.trimEnd()}\n\n${block}\n`;
  }
  return document.slice(0, from) + block + document.slice(to + end.length);
}

/** Write `text` to the Markdown file `path` and run `deno fmt` on it, as the repository's check expects. */
export async function writeMarkdown(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  const formatted = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", path],
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!formatted.success) throw new Error(`deno fmt ${path} failed`);
}
