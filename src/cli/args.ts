/**
 * The command line, parsed the way nmap users expect: `-sT`, `-Pn`, `-p-`,
 * `-p22`, `-T4`, `-iL FILE`, `-oJ FILE`, long options with one or two dashes,
 * `--opt=value` or `--opt value`.
 *
 * @module
 */

import type { TimingLevel } from "../engine/types.ts";
import { UsageError } from "./usage_error.ts";

/** Name of an output plugin: a built-in ("normal", "json", "xml", …) or a loaded one. */
export type OutputFormat = string;

/** Everything the command line asked for. */
export interface CliOptions {
  help: boolean;
  version: boolean;
  targets: string[];
  inputList?: string;
  exclude: string[];
  excludeFile?: string;
  ports?: string;
  topPorts?: number;
  fast: boolean;
  excludePorts?: string;
  scanType: "connect" | "list";
  skipDiscovery: boolean;
  noResolve: boolean;
  sequential: boolean;
  timingLevel: TimingLevel;
  minRate?: number;
  maxRate?: number;
  maxRetries?: number;
  hostTimeout?: number;
  minRttTimeout?: number;
  maxRttTimeout?: number;
  initialRttTimeout?: number;
  scanDelay?: number;
  maxParallelism?: number;
  open: boolean;
  reason: boolean;
  verbose: number;
  seed?: bigint;
  family?: 4 | 6;
  outputs: { format: OutputFormat; path: string }[];
  /** Plugin modules to load (`--plugin PATH`), in order. */
  plugins: string[];
  connectEngine: "auto" | "epoll" | "deno";
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

function outputAll(options: CliOptions, base: string): void {
  if (base === "") throw new UsageError("Cannot use -oA: the file name base is empty");
  if (base === "-") {
    throw new UsageError(`Cannot use -oA "-": it needs a file name base, not stdout`);
  }
  for (const [format, extension] of ALL_FORMATS) {
    options.outputs.push({ format, path: `${base}.${extension}` });
  }
}

/** --output NAME:FILE; whether NAME exists is checked once plugins are loaded. */
function outputNamed(options: CliOptions, value: string): void {
  const colon = value.indexOf(":");
  if (colon <= 0) {
    throw new UsageError(`Cannot use --output "${value}": expected NAME:FILE, e.g. csv:scan.csv`);
  }
  const format = value.slice(0, colon);
  const path = value.slice(colon + 1);
  if (path === "") throw new UsageError(`Cannot use --output "${value}": the file name is empty`);
  options.outputs.push({ format, path });
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
  "sT": flag((o) => (o.scanType = "connect")),
  "sL": flag((o) => (o.scanType = "list")),
  "Pn": flag((o) => (o.skipDiscovery = true)),
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
  "4": flag((o) => (o.family = 4)),
  "6": flag((o) => (o.family = 6)),
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
  "connect-engine": valued((o, v) => {
    if (v !== "auto" && v !== "epoll" && v !== "deno") {
      throw new UsageError(`Cannot use --connect-engine "${v}": expected auto, epoll or deno`);
    }
    o.connectEngine = v;
  }),
};

/** Short options that take their value glued on: -p22, -T4, -oJfile. */
const GLUED = ["iL", "oN", "oJ", "oX", "oG", "oH", "oA", "p", "T"];

/** Scan types nmap has that this build does not (yet). */
const UNSUPPORTED = new Set(["sS", "sU", "sA", "sW", "sM", "sN", "sF", "sX", "sY", "sZ", "sO"]);

function defaults(): CliOptions {
  return {
    help: false,
    version: false,
    targets: [],
    exclude: [],
    fast: false,
    scanType: "connect",
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
        throw new UsageError(`Scan type ${arg} is not available in this build; use -sT or -sL`);
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
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`Option ${arg} needs a value`);
      value = next;
      i++;
    }
    spec.handle(options, value);
  }
  return options;
}
