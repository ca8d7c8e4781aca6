/**
 * The command line, parsed the way nmap users expect: `-sT`, `-Pn`, `-p-`,
 * `-p22`, `-T4`, `-iL FILE`, `-oJ FILE`, long options with one or two dashes,
 * `--opt=value` or `--opt value`.
 *
 * @module
 */

import type { TimingLevel } from "../engine/types.ts";
import { parseShard } from "../engine/order.ts";
import type { DiscoveryProbe } from "../engine/raw/types.ts";
import type { Shard } from "../engine/types.ts";
import { parsePorts } from "../ports/mod.ts";
import { parseVersionIntensity } from "../service/detect.ts";
import { parseScriptNames } from "../script/select.ts";
import { debugLevel, dnsServerList, scanLetters } from "./nmap_flags.ts";
import { UsageError } from "./usage_error.ts";
import type { ScanOptions } from "../scan/options.ts";

/** Name of an output plugin: a built-in ("normal", "json", "xml", …) or a loaded one. */
export type OutputFormat = string;

/** Everything the command line asked for. */
/** The command line, parsed: what a scan reads ({@link ScanOptions}) and what the command does around it. */
export interface CliOptions extends ScanOptions {
  help: boolean;
  version: boolean;
  targets: string[];
  inputList?: string;
  exclude: string[];
  excludeFile?: string;
  /** -sL: list the targets and exit. */
  listOnly: boolean;
  /** -sC (or -A): the default scripts. */
  scriptDefaults: boolean;
  /** --script NAMES: scripts or categories, checked once plugins are loaded. */
  scripts: string[];
  /** -A: -sV and -sC, and a word on what it leaves out. */
  aggressive: boolean;
  reason: boolean;
  family?: 4 | 6;
  /** `options`: `--output NAME:FILE?key=value&…` as given (typed once the plugin is loaded). */
  outputs: { format: OutputFormat; path: string; options?: Record<string, string> }[];
  /** Plugin modules to load (`--plugin PATH`), in order. */
  plugins: string[];
  /** History database (`--db FILE`); undefined means the default path. */
  db?: string;
  /** `--no-db`: record nothing. */
  noDb: boolean;
  /** `--resume FILE`: continue an interrupted scan. */
  resume?: string;
  /** `--resume-file FILE`: where an interrupted scan leaves its state. */
  resumeFile?: string;
  /** `--yes`: scan a very large range without asking. */
  yes: boolean;
  /** `--no-default-exclude`: scan reserved ranges too (0/8, multicast, 240/4, broadcast). */
  noDefaultExclude: boolean;
  /** -O: asked for; not available, said once and the scan goes on. */
  osDetection: boolean;
  /** -d, -dd, -d3: nmap's debugging level (each level also adds one of verbosity). */
  debug: number;
  /** --packet-trace: a line per probe sent and per answer received, to stderr. */
  packetTrace: boolean;
  /** --stats-every TIME, ms. */
  statsEvery?: number;
}

/** Names of -T levels, as nmap accepts them. */
const TIMING_NAMES = ["paranoid", "sneaky", "polite", "normal", "aggressive", "insane"];

/** Parse a decimal integer in [min, max] or throw a UsageError naming the flag. */
function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(text.trim())) {
    throw new UsageError(`Cannot use ${flag} "${text}": not a whole number`);
  }
  const value = Number(text);
  if (value < min) {
    throw new UsageError(
      min === 1
        ? `Cannot use ${flag} ${text}: value must be a positive integer`
        : `Cannot use ${flag} ${text}: value must be >= ${min}`,
    );
  }
  if (value > max) throw new UsageError(`Cannot use ${flag} ${text}: value must be <= ${max}`);
  return value;
}

/** A positive rate (probes per second), fractions allowed. */
function rate(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) {
    throw new UsageError(`Cannot use ${flag} "${text}": not a number`);
  }
  if (value <= 0) throw new UsageError(`Cannot use ${flag} ${text}: value must be > 0`);
  return value;
}

/**
 * nmap's time specification: a number with an optional unit (ms, s, m, h);
 * a bare number is seconds. Returns milliseconds.
 */
export function parseTimeSpec(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`Cannot use ${flag} "${text}": expected a time like 500ms, 30s, 5m or 1h`);
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1000;
  return Number(match[1]) * unit;
}

function timingLevel(text: string): TimingLevel {
  const lower = text.toLowerCase();
  const named = TIMING_NAMES.indexOf(lower);
  if (named >= 0) return named as TimingLevel;
  if (/^[0-5]$/.test(text)) return Number(text) as TimingLevel;
  throw new UsageError(
    `Cannot parse timing template "${text}": expected 0-5 or ${TIMING_NAMES.join(", ")}`,
  );
}

type Handler = (options: CliOptions, value: string) => void;

interface Spec {
  /** Takes a value. */
  value: boolean;
  handle: Handler;
}

function flag(handle: (options: CliOptions) => void): Spec {
  return { value: false, handle: (options) => handle(options) };
}

function valued(handle: Handler): Spec {
  return { value: true, handle };
}

function output(format: OutputFormat): Spec {
  return valued((options, path) => {
    if (path === "") throw new UsageError(`Cannot write ${format} output: the file name is empty`);
    options.outputs.push({ format, path });
  });
}

/** -oA BASE: the formats nmap writes, plus JSON, each with its usual extension. */
const ALL_FORMATS: readonly [OutputFormat, string][] = [
  ["normal", "nmap"],
  ["xml", "xml"],
  ["grepable", "gnmap"],
  ["json", "json"],
];

/** -4 or -6, refusing the other one. */
function oneFamily(options: CliOptions, family: 4 | 6): 4 | 6 {
  if (options.family !== undefined && options.family !== family) {
    throw new UsageError("Cannot use -4 and -6 together");
  }
  return family;
}

function outputAll(options: CliOptions, base: string): void {
  if (base === "") throw new UsageError("Cannot use -oA: the file name base is empty");
  if (base.endsWith("/")) {
    // "dir/" would make hidden "dir/.xml" files.
    throw new UsageError(`Cannot use -oA "${base}": it needs a file name base, not a directory`);
  }
  if (base === "-") {
    throw new UsageError(`Cannot use -oA "-": it needs a file name base, not stdout`);
  }
  for (const [format, extension] of ALL_FORMATS) {
    options.outputs.push({ format, path: `${base}.${extension}` });
  }
}

/**
 * --output NAME:FILE[?key=value&…]; whether NAME exists, and takes those
 * options, is checked once plugins are loaded.
 */
function outputNamed(options: CliOptions, value: string): void {
  const colon = value.indexOf(":");
  if (colon <= 0) {
    throw new UsageError(`Cannot use --output "${value}": expected NAME:FILE, e.g. csv:scan.csv`);
  }
  const format = value.slice(0, colon);
  const rest = value.slice(colon + 1);
  const query = rest.indexOf("?");
  const path = query < 0 ? rest : rest.slice(0, query);
  if (path === "") throw new UsageError(`Cannot use --output "${value}": the file name is empty`);
  if (query < 0) {
    options.outputs.push({ format, path });
    return;
  }
  options.outputs.push({ format, path, options: outputQuery(value, rest.slice(query + 1)) });
}

/** The options after `?` in --output: `key=value` pairs joined by `&`, URL-encoded as in a query. */
function outputQuery(value: string, query: string): Record<string, string> {
  const given: Record<string, string> = {};
  for (const [key, text] of new URLSearchParams(query)) {
    if (key === "") {
      throw new UsageError(`Cannot use --output "${value}": an option has no name (key=value)`);
    }
    if (Object.hasOwn(given, key)) {
      throw new UsageError(`Cannot use --output "${value}": option "${key}" is given twice`);
    }
    given[key] = text;
  }
  return given;
}

/** --shard I/N: shard I (1…N) of N. */
function shardOption(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) {
    throw new UsageError(`Cannot use --shard "${text}": expected I/N, e.g. 1/4`);
  }
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (index < 1 || index > count) {
    throw new UsageError(`Cannot use --shard "${text}": I must be in 1..N`);
  }
  try {
    return parseShard(`${index - 1}/${count}`);
  } catch (error) {
    throw new UsageError(
      `Cannot use --shard "${text}": ${(error as Error).message.replace(/^.*: /, "")}`,
    );
  }
}

/** -PS / -PA with an optional port list glued on (-PS22,443); nmap's default is port 80. */
function tcpDiscovery(kind: "syn" | "ack", flag: string, list: string): DiscoveryProbe[] {
  if (list === "") return [{ kind, port: 80 }];
  let ports: number[];
  try {
    ports = parsePorts(list, { protocols: ["tcp"] }).tcp;
  } catch (error) {
    throw new UsageError(`Cannot use ${flag}${list}: ${(error as Error).message}`);
  }
  if (ports.length === 0 || ports.length > 100) {
    throw new UsageError(`Cannot use ${flag}${list}: give 1 to 100 ports`);
  }
  return ports.map((port) => ({ kind, port }));
}

/** --script a,b: names or categories, none empty. */
function scriptNames(text: string): string[] {
  try {
    return parseScriptNames(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Every option; keys are spelled without leading dashes. */
const SPECS: Record<string, Spec> = {
  "h": flag((o) => (o.help = true)),
  "help": flag((o) => (o.help = true)),
  "V": flag((o) => (o.version = true)),
  "version": flag((o) => (o.version = true)),
  "iL": valued((o, v) => (o.inputList = v)),
  "exclude": valued((o, v) => o.exclude.push(v)),
  "excludefile": valued((o, v) => (o.excludeFile = v)),
  "p": valued((o, v) => (o.ports = v)),
  "top-ports": valued((o, v) => (o.topPorts = integer("--top-ports", v, 1, 65_536))),
  "F": flag((o) => (o.fast = true)),
  "exclude-ports": valued((o, v) => (o.excludePorts = v)),
  "sT": flag((o) => setTcpScan(o, "connect")),
  "sS": flag((o) => setTcpScan(o, "syn")),
  "sU": flag((o) => (o.udpScan = true)),
  "sL": flag((o) => (o.listOnly = true)),
  "sn": flag((o) => (o.pingOnly = true)),
  "sV": flag((o) => (o.serviceDetection = true)),
  "sC": flag((o) => (o.scriptDefaults = true)),
  "script": valued((o, v) => o.scripts.push(...scriptNames(v))),
  "script-timeout": valued((o, v) => (o.scriptTimeout = parseTimeSpec("--script-timeout", v))),
  "A": flag((o) => {
    o.aggressive = true;
    o.serviceDetection = true;
    o.scriptDefaults = true;
  }),
  "version-intensity": valued((o, v) => {
    try {
      o.versionIntensity = parseVersionIntensity(v);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }),
  "version-light": flag((o) => (o.versionIntensity = 2)),
  "version-all": flag((o) => (o.versionIntensity = 9)),
  "Pn": flag((o) => (o.skipDiscovery = true)),
  "PE": flag((o) => o.discoveryProbes.push({ kind: "echo" })),
  "PR": flag((o) => o.discoveryProbes.push({ kind: "arp" })),
  "PS": valued((o, v) => o.discoveryProbes.push(...tcpDiscovery("syn", "-PS", v))),
  "PA": valued((o, v) => o.discoveryProbes.push(...tcpDiscovery("ack", "-PA", v))),
  "shard": valued((o, v) => (o.shard = shardOption(v))),
  "n": flag((o) => (o.noResolve = true)),
  "r": flag((o) => (o.sequential = true)),
  "T": valued((o, v) => (o.timingLevel = timingLevel(v))),
  "min-rate": valued((o, v) => (o.minRate = rate("--min-rate", v))),
  "max-rate": valued((o, v) => (o.maxRate = rate("--max-rate", v))),
  "max-retries": valued((o, v) => (o.maxRetries = integer("--max-retries", v, 0, 100))),
  "host-timeout": valued((o, v) => (o.hostTimeout = parseTimeSpec("--host-timeout", v))),
  "min-rtt-timeout": valued((o, v) => (o.minRttTimeout = parseTimeSpec("--min-rtt-timeout", v))),
  "max-rtt-timeout": valued((o, v) => (o.maxRttTimeout = parseTimeSpec("--max-rtt-timeout", v))),
  "initial-rtt-timeout": valued((o, v) =>
    o.initialRttTimeout = parseTimeSpec("--initial-rtt-timeout", v)
  ),
  "scan-delay": valued((o, v) => (o.scanDelay = parseTimeSpec("--scan-delay", v))),
  "max-parallelism": valued((o, v) =>
    o.maxParallelism = integer("--max-parallelism", v, 1, 65_536)
  ),
  "open": flag((o) => (o.open = true)),
  "reason": flag((o) => (o.reason = true)),
  "v": flag((o) => o.verbose++),
  "vv": flag((o) => (o.verbose += 2)),
  "seed": valued((o, v) => {
    if (!/^\d+$/.test(v) || BigInt(v) >= 1n << 64n) {
      throw new UsageError(`Cannot use --seed "${v}": expected a whole number below 2^64`);
    }
    o.seed = BigInt(v);
  }),
  "4": flag((o) => (o.family = oneFamily(o, 4))),
  "6": flag((o) => (o.family = oneFamily(o, 6))),
  "oN": output("normal"),
  "oJ": output("json"),
  "oX": output("xml"),
  "oG": output("grepable"),
  "oH": output("html"),
  "oA": valued(outputAll),
  "output": valued(outputNamed),
  "db": valued((o, v) => {
    if (v === "") throw new UsageError("Cannot use --db: the file name is empty");
    o.db = v;
  }),
  "no-db": flag((o) => (o.noDb = true)),
  "resume": valued((o, v) => (o.resume = v)),
  "resume-file": valued((o, v) => {
    if (v === "") throw new UsageError("Cannot use --resume-file: the file name is empty");
    o.resumeFile = v;
  }),
  "yes": flag((o) => (o.yes = true)),
  "no-default-exclude": flag((o) => (o.noDefaultExclude = true)),
  "plugin": valued((o, v) => {
    if (v === "") throw new UsageError("Cannot use --plugin: the file name is empty");
    o.plugins.push(v);
  }),
  "O": flag((o) => (o.osDetection = true)),
  "d": valued((o, v) => {
    const level = debugLevel(v);
    o.debug += level;
    o.verbose += level;
  }),
  "packet-trace": flag((o) => (o.packetTrace = true)),
  "stats-every": valued((o, v) => (o.statsEvery = parseTimeSpec("--stats-every", v))),
  "R": flag((o) => (o.resolveAll = true)),
  "dns-servers": valued((o, v) => o.dnsServers.push(...dnsServerList(v))),
  "connect-engine": valued((o, v) => {
    if (v !== "auto" && v !== "epoll" && v !== "deno") {
      throw new UsageError(`Cannot use --connect-engine "${v}": expected auto, epoll or deno`);
    }
    o.connectEngine = v;
  }),
};

/** Short options that take their value glued on: -p22, -T4, -oJfile. */
const GLUED = ["iL", "oN", "oJ", "oX", "oG", "oH", "oA", "PS", "PA", "p", "T", "d"];

/** Short options whose glued value is optional: -PS alone means -PS80. */
const OPTIONAL_VALUE = new Set(["PS", "PA", "d"]);

/** Scan types nmap has that this build does not (yet). */
const UNSUPPORTED = new Set(["sA", "sW", "sM", "sN", "sF", "sX", "sY", "sZ", "sO"]);

function setTcpScan(options: CliOptions, scan: "connect" | "syn"): void {
  if (options.tcpScan !== undefined && options.tcpScan !== scan) {
    throw new UsageError("Cannot use -sT and -sS together: choose one TCP scan type");
  }
  options.tcpScan = scan;
}

function defaults(): CliOptions {
  return {
    help: false,
    version: false,
    targets: [],
    exclude: [],
    fast: false,
    udpScan: false,
    listOnly: false,
    pingOnly: false,
    serviceDetection: false,
    scriptDefaults: false,
    scripts: [],
    aggressive: false,
    discoveryProbes: [],
    skipDiscovery: false,
    noResolve: false,
    sequential: false,
    timingLevel: 3,
    open: false,
    reason: false,
    verbose: 0,
    outputs: [],
    plugins: [],
    connectEngine: "auto",
    noDb: false,
    yes: false,
    noDefaultExclude: false,
    osDetection: false,
    debug: 0,
    packetTrace: false,
    resolveAll: false,
    dnsServers: [],
  };
}

/** Parse `args` (without the program name). Throws {@link UsageError}. */
export function parseArgs(args: readonly string[]): CliOptions {
  const options = defaults();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      options.targets.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      options.targets.push(arg);
      continue;
    }
    // -p- is "all ports", not an option named "p-".
    if (arg === "-p-") {
      options.ports = "-";
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const equals = body.indexOf("=");
    const name = equals >= 0 && arg.startsWith("--") ? body.slice(0, equals) : body;
    let inline: string | undefined = equals >= 0 && arg.startsWith("--")
      ? body.slice(equals + 1)
      : undefined;
    let spec = SPECS[name];
    if (spec === undefined && !arg.startsWith("--")) {
      if (UNSUPPORTED.has(name)) {
        throw new UsageError(
          `Scan type ${arg} is not available in this build; use -sS, -sT, -sU, -sn or -sL`,
        );
      }
      // nmap reads every letter after -s as a scan type: -sSV is -sS -sV.
      const letters = scanLetters(body, (short) => SPECS[short] !== undefined);
      if (letters !== undefined) {
        for (const short of letters) SPECS[short]!.handle(options, "");
        continue;
      }
      const glued = GLUED.find((short) => body.startsWith(short) && body.length > short.length);
      if (glued !== undefined) {
        spec = SPECS[glued];
        inline = body.slice(glued.length);
      } else if (/^v+$/.test(body)) {
        options.verbose += body.length;
        continue;
      }
    }
    if (spec === undefined) throw new UsageError(`Unknown option "${arg}" (see --help)`);
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`Option ${arg} takes no value`);
      spec.handle(options, "");
      continue;
    }
    let value = inline;
    if (value === undefined && OPTIONAL_VALUE.has(name) && !arg.startsWith("--")) value = "";
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`Option ${arg} needs a value`);
      value = next;
      i++;
    }
    spec.handle(options, value);
  }
  checkCombinations(options);
  return options;
}

/** Options that cannot go together, as nmap refuses them. */
function checkCombinations(options: CliOptions): void {
  const scanning = options.tcpScan !== undefined || options.udpScan;
  if (options.listOnly && (scanning || options.pingOnly || options.serviceDetection)) {
    throw new UsageError("Cannot use -sL with other scan types: it only lists the targets");
  }
  if (options.pingOnly && (scanning || options.serviceDetection)) {
    throw new UsageError("Cannot use -sn with a port scan (-sS, -sT, -sU, -sV)");
  }
  if (options.pingOnly && (options.ports !== undefined || options.topPorts !== undefined)) {
    throw new UsageError("Cannot use -sn with -p or --top-ports: -sn scans no ports");
  }
  if (options.skipDiscovery && options.discoveryProbes.length > 0) {
    throw new UsageError("Cannot use -Pn with -PE, -PS, -PA or -PR: -Pn skips host discovery");
  }
  if (options.versionIntensity !== undefined && !options.serviceDetection) {
    throw new UsageError(
      "Cannot use --version-intensity, --version-light or --version-all without -sV",
    );
  }
  if (options.shard !== undefined && options.seed === undefined && options.resume === undefined) {
    throw new UsageError(
      "Cannot use --shard without --seed: every shard must walk the same order (give all of them one --seed)",
    );
  }
}
