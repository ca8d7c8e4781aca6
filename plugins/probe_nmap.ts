/**
 * Optional probes from nmap's own database, read at run time from
 * `/usr/share/nmap/nmap-service-probes` where nmap is installed (nothing of
 * it ships here). Each nmap `Probe` becomes one probe plugin named
 * `nmap:<probe>`; the NULL probe's matches become a passive plugin that
 * tries every greeting the built-ins did not recognise.
 *
 * Patterns are PCRE; those JavaScript cannot compile, or could not match
 * without exponential backtracking, are skipped.
 *
 * @module
 */

import { latin1, latin1Bytes, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/** Where Debian's nmap-common puts the database. */
export const NMAP_SERVICE_PROBES_PATH = "/usr/share/nmap/nmap-service-probes";

/** One `match` or `softmatch` line. */
export interface NmapMatch {
  service: string;
  pattern: RegExp;
  soft: boolean;
  /** Version fields by letter (p, v, i, h, o, d) with `$1`-style templates. */
  fields: Partial<Record<"p" | "v" | "i" | "h" | "o" | "d", string>>;
  cpe: string[];
}

/** One `Probe` section. */
export interface NmapProbe {
  name: string;
  protocol: "tcp" | "udp";
  payload: Uint8Array;
  rarity: number;
  ports: number[];
  sslPorts: number[];
  totalWaitMs: number | undefined;
  fallback: string[];
  matches: NmapMatch[];
}

/** What {@link parseNmapServiceProbes} read. */
export interface NmapDatabase {
  probes: NmapProbe[];
  /** Lines whose pattern JavaScript cannot compile. */
  skipped: number;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "0": "\0", a: "\x07" };

/** nmap's probe string escapes (`\r`, `\n`, `\0`, `\xNN`, `\\`) as Latin-1 text. */
export function unescapeProbe(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, code: string) => {
    if (code.length === 3) return String.fromCharCode(parseInt(code.slice(1), 16));
    return ESCAPES[code] ?? code;
  });
}

function parsePorts(text: string): number[] {
  const ports: number[] = [];
  for (const part of text.split(",")) {
    const [low, high] = part.trim().replace(/^[TU]:/, "").split("-").map(Number);
    if (low === undefined || !Number.isInteger(low)) continue;
    const end = high !== undefined && Number.isInteger(high) ? Math.min(high, low + 4096) : low;
    for (let port = low; port <= end && port <= 65535; port++) ports.push(port);
  }
  return ports;
}

const POSIX: Record<string, string> = {
  alnum: "a-zA-Z0-9",
  alpha: "a-zA-Z",
  digit: "0-9",
  xdigit: "0-9a-fA-F",
  upper: "A-Z",
  lower: "a-z",
  space: " \\t\\r\\n\\v\\f",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  print: " -~",
  graph: "!-~",
  cntrl: "\\x00-\\x1f\\x7f",
  word: "\\w",
};

/**
 * True when a repeated group can end in a repeated atom: `(\w+)+`,
 * `(?:[^<]+|<(?!x))*`, `(?:\w+ ?)+`. A run of such characters can then be
 * split between the two repeats in exponentially many ways, and JavaScript
 * tries them all on an answer that almost matches: one greeting would hang
 * the scan. nmap's PCRE stops at a match limit; JavaScript has none. (A few
 * safe patterns, whose repeat starts with a character the inner one cannot
 * take, are caught too.)
 */
function backtracksExponentially(source: string): boolean {
  // Per open group: whether the current alternative, and any earlier one, ends in a repeat.
  const frames: { tail: boolean; anyTail: boolean; look: boolean }[] = [
    { tail: false, anyTail: false, look: false },
  ];
  for (let at = 0; at < source.length; at++) {
    const frame = frames[frames.length - 1] as (typeof frames)[number];
    const char = source[at];
    let endsInRepeat = false;
    if (char === "(") {
      const look = /^\(\?<?[=!]/.test(source.slice(at, at + 4));
      frames.push({ tail: false, anyTail: false, look });
      if (source[at + 1] === "?") at += look && source[at + 2] === "<" ? 3 : 2;
      continue;
    }
    if (char === "|") {
      frame.anyTail ||= frame.tail;
      frame.tail = false;
      continue;
    }
    if (char === "^" || char === "$") continue;
    if (char === ")") {
      const closed = frames.pop() as (typeof frames)[number];
      if (frames.length === 0) return false;
      // A lookaround consumes nothing.
      if (closed.look) continue;
      endsInRepeat = closed.anyTail || closed.tail;
    } else if (char === "\\") {
      at++;
      if (source[at] === "x") at += 2;
      if (source[at] === "b" || source[at] === "B") continue;
    } else if (char === "[") {
      at++;
      if (source[at] === "^") at++;
      if (source[at] === "]") at++;
      for (; at < source.length && source[at] !== "]"; at++) if (source[at] === "\\") at++;
    }
    const parent = frames[frames.length - 1] as (typeof frames)[number];
    const quantifier = /^(?:[*+?]|\{(\d+)(,(\d*))?\})[?+]?/.exec(source.slice(at + 1, at + 16));
    if (quantifier === null) {
      parent.tail = endsInRepeat;
      continue;
    }
    at += quantifier[0].length;
    const head = quantifier[0][0];
    const unbounded = head === "*" || head === "+" || quantifier[3] === "";
    if (unbounded && endsInRepeat) return true;
    if (unbounded) parent.tail = true;
    // An optional atom ("x?", "(, )?") leaves the alternative ending as it did.
    else if (head !== "?" && quantifier[1] !== "0") parent.tail = endsInRepeat;
  }
  return false;
}

/**
 * A PCRE pattern as a JavaScript one, or undefined when it uses what
 * JavaScript lacks or could backtrack exponentially (see
 * {@link backtracksExponentially}).
 */
export function pcreToRegExp(source: string, flags: string): RegExp | undefined {
  const translated = source
    .replace(/\[:(\w+):\]/g, (whole, name: string) => POSIX[name] ?? whole)
    .replace(/\\Z/g, "(?=\\n?$)")
    .replace(/\\z/g, "$")
    .replace(/\\A/g, "^")
    .replace(/\\h/g, "[ \\t]");
  if (backtracksExponentially(translated)) return undefined;
  const jsFlags = [...new Set(flags.replace(/[^is]/g, ""))].join("");
  try {
    return new RegExp(translated, jsFlags);
  } catch (error) {
    // A pattern JavaScript cannot express: that match line is skipped.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Reads one delimited field `X<d>...<d>` at `at`; returns its text and the offset after it. */
function delimited(line: string, at: number): { text: string; end: number } | undefined {
  const delimiter = line[at];
  if (delimiter === undefined) return undefined;
  const close = line.indexOf(delimiter, at + 1);
  if (close < 0) return undefined;
  return { text: line.slice(at + 1, close), end: close + 1 };
}

function parseMatch(line: string, soft: boolean): NmapMatch | undefined | null {
  const head = /^(?:soft)?match (\S+) m/.exec(line);
  if (head === null) return null;
  const regex = delimited(line, head[0].length);
  if (regex === undefined) return null;
  let at = regex.end;
  const flags = /^[is]*/.exec(line.slice(at))?.[0] ?? "";
  at += flags.length;
  const pattern = pcreToRegExp(regex.text, flags);
  if (pattern === undefined) return undefined;
  const fields: NmapMatch["fields"] = {};
  const cpe: string[] = [];
  while (at < line.length) {
    while (line[at] === " ") at++;
    if (line.startsWith("cpe:", at)) {
      const field = delimited(line, at + 4);
      if (field === undefined) break;
      cpe.push(`cpe:/${field.text}`);
      at = field.end;
      if (line[at] === "a") at++;
      continue;
    }
    const letter = line[at];
    if (letter === undefined) break;
    const field = delimited(line, at + 1);
    if (field === undefined) break;
    if ("pvihod".includes(letter)) fields[letter as keyof NmapMatch["fields"]] = field.text;
    at = field.end;
  }
  return { service: head[1] as string, pattern, soft, fields, cpe };
}

/**
 * Parse nmap-service-probes text.
 *
 * @example
 * ```ts
 * import { parseNmapServiceProbes } from "./probe_nmap.ts";
 * const db = parseNmapServiceProbes(
 *   "Probe TCP NULL q||\nmatch ftp m|^220 Hello (\\d+)\\r\\n| p/Hello ftpd/ v/$1/\n",
 * );
 * db.probes[0]?.matches[0]?.fields.p; // "Hello ftpd"
 * ```
 */
export function parseNmapServiceProbes(text: string): NmapDatabase {
  const probes: NmapProbe[] = [];
  let skipped = 0;
  let probe: NmapProbe | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || line.startsWith("#")) continue;
    const probeLine = /^Probe (TCP|UDP) (\S+) q/.exec(line);
    if (probeLine !== null) {
      const payload = delimited(line, probeLine[0].length);
      probe = {
        name: probeLine[2] as string,
        protocol: probeLine[1] === "TCP" ? "tcp" : "udp",
        payload: latin1Bytes(unescapeProbe(payload?.text ?? "")),
        rarity: 1,
        ports: [],
        sslPorts: [],
        totalWaitMs: undefined,
        fallback: [],
        matches: [],
      };
      probes.push(probe);
      continue;
    }
    if (probe === undefined) continue;
    if (line.startsWith("match ") || line.startsWith("softmatch ")) {
      const match = parseMatch(line, line.startsWith("soft"));
      if (match === undefined) skipped++;
      else if (match !== null) probe.matches.push(match);
    } else if (line.startsWith("rarity ")) {
      probe.rarity = Math.max(1, Math.min(9, Number(line.slice(7)) || 1));
    } else if (line.startsWith("ports ")) {
      probe.ports = parsePorts(line.slice(6));
    } else if (line.startsWith("sslports ")) {
      probe.sslPorts = parsePorts(line.slice(9));
    } else if (line.startsWith("totalwaitms ")) {
      probe.totalWaitMs = Number(line.slice(12)) || undefined;
    } else if (line.startsWith("fallback ")) {
      probe.fallback = line.slice(9).split(",").map((name) => name.trim());
    }
  }
  return { probes, skipped };
}

/** `$1`, `$P(1)`, `$SUBST(1,"a","b")` and `$I(1,">")` of a version template. */
export function substitute(template: string, groups: readonly (string | undefined)[]): string {
  return template
    .replace(
      /\$P\((\d)\)/g,
      (_, n: string) => (groups[Number(n)] ?? "").replace(/[^\x20-\x7e]/g, ""),
    )
    .replace(
      /\$SUBST\((\d),"([^"]*)","([^"]*)"\)/g,
      (_, n: string, from: string, to: string) => (groups[Number(n)] ?? "").split(from).join(to),
    )
    .replace(/\$I\((\d),"([<>])"\)/g, (_, n: string, order: string) => {
      const bytes = [...(groups[Number(n)] ?? "")].map((char) => char.charCodeAt(0));
      if (order === "<") bytes.reverse();
      return String(bytes.reduce((value, byte) => value * 256 + byte, 0));
    })
    .replace(/\$(\d)/g, (_, n: string) => groups[Number(n)] ?? "");
}

/** The first match of `matches` on `text`; a soft match only when no hard one does. */
export function matchResponse(
  matches: readonly NmapMatch[],
  text: string,
): ServiceMatch | undefined {
  let soft: ServiceMatch | undefined;
  for (const match of matches) {
    const found = match.pattern.exec(text);
    if (found === null) continue;
    // TLS is the TLS plugin's: it unwraps it and looks inside.
    if (match.service === "ssl") continue;
    if (match.soft) {
      soft ??= { name: match.service };
      continue;
    }
    const groups = [...found];
    const result: ServiceMatch = { name: match.service };
    const keys = {
      p: "product",
      v: "version",
      i: "extraInfo",
      h: "hostname",
      o: "ostype",
      d: "devicetype",
    } as const;
    for (
      const [letter, key] of Object.entries(keys) as [
        keyof typeof keys,
        (typeof keys)[keyof typeof keys],
      ][]
    ) {
      const template = match.fields[letter];
      if (template === undefined) continue;
      const value = substitute(template, groups).trim();
      if (value !== "") result[key] = value;
    }
    if (match.cpe.length > 0) result.cpe = match.cpe.map((cpe) => substitute(cpe, groups));
    return result;
  }
  return soft;
}

/** Options of {@link nmapProbePlugins}. */
export interface NmapProbeOptions {
  /** The database text; read from {@link NMAP_SERVICE_PROBES_PATH} when absent. */
  text?: string;
  /** Also make the active probes, not only the NULL probe's greeting matcher. Default false. */
  active?: boolean;
}

/**
 * Probe plugins from nmap's database; an empty list when it is not
 * installed or not readable.
 *
 * @example
 * ```ts ignore
 * import { nmapProbePlugins } from "./probe_nmap.ts";
 * const extra = await nmapProbePlugins({ active: true });
 * ```
 */
export async function nmapProbePlugins(options: NmapProbeOptions = {}): Promise<ProbePlugin[]> {
  let text = options.text;
  if (text === undefined) {
    try {
      text = await Deno.readTextFile(NMAP_SERVICE_PROBES_PATH);
    } catch (error) {
      // No nmap here (or no right to read its files): no probes from it.
      if (
        error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied ||
        error instanceof Deno.errors.NotCapable
      ) return [];
      throw error;
    }
  }
  const { probes } = parseNmapServiceProbes(text);
  const byName = new Map(probes.map((probe) => [probe.name, probe]));
  const nullMatches = byName.get("NULL")?.matches ?? [];
  const plugins: ProbePlugin[] = [];
  for (const probe of probes) {
    if (probe.protocol !== "tcp") continue;
    if (probe.name === "NULL") {
      plugins.push({
        name: "nmap-NULL",
        description: "nmap-service-probes: greetings",
        protocols: ["tcp"],
        ports: [],
        // After every built-in: they know their services better.
        rarity: 9,
        passive: true,
        probe: (conn): Promise<ServiceMatch | undefined> =>
          Promise.resolve(matchResponse(nullMatches, latin1(conn.greeting))),
      });
      continue;
    }
    if (options.active !== true) continue;
    const matches = [
      ...probe.matches,
      ...probe.fallback.flatMap((name) => byName.get(name)?.matches ?? []),
      ...nullMatches,
    ];
    const payload = probe.payload;
    const waitMs = probe.totalWaitMs;
    plugins.push({
      name: `nmap-${probe.name}`,
      description: `nmap-service-probes: probe ${probe.name}`,
      protocols: ["tcp"],
      ports: probe.ports,
      tlsPorts: probe.sslPorts,
      rarity: probe.rarity,
      passive: false,
      async probe(conn): Promise<ServiceMatch | undefined> {
        if (payload.length > 0) await conn.write(payload);
        const answer = await conn.read({
          maxBytes: 16_384,
          idleMs: 500,
          ...(waitMs === undefined ? {} : { timeoutMs: waitMs }),
        });
        if (answer.length === 0) return undefined;
        return matchResponse(matches, latin1(answer));
      },
    });
  }
  return plugins;
}
