/**
 * The command: parse, validate everything that can be validated before a
 * packet leaves, then discover hosts, scan, and report.
 *
 * @module
 */

import { createConnectEngine } from "../engine/connect_engine.ts";
import { randomSeed } from "../engine/permutation.ts";
import { timingTemplate } from "../engine/timing.ts";
import type { PortResult, ScanPlan, Timing } from "../engine/types.ts";
import { createEventBus, runOutputs } from "../output/bus.ts";
import { createProgress } from "../output/progress.ts";
import { createReportBuilder, hostSortKey } from "../output/report_builder.ts";
import { renderTable } from "../output/table.ts";
import { checkWritable, type FileWriter, openFileWriter } from "../output/writer.ts";
import { excludePorts, formatPortRanges, parsePorts, topPorts } from "../ports/mod.ts";
import { buildTargetSet, listTargets, readTargetFile, splitExcludeList } from "../targets/mod.ts";
import type { Host, TargetSet } from "../targets/types.ts";
import { outputPlugins } from "../../plugins/mod.ts";
import { escapeControls } from "../plugins/format.ts";
import { type LoadedOutputPlugin, mergeOutputPlugins } from "../plugins/loader.ts";
import { loadSandboxedOutputPlugins, type Sandbox } from "../plugins/sandbox.ts";
import type { OutputPlugin } from "../plugins/types.ts";
import {
  defaultDbPath,
  type HistoryDb,
  historyOutput,
  normalizeTargetSpec,
  openHistory,
} from "../store/mod.ts";
import type { ResumePoint } from "../engine/types.ts";
import { VERSION } from "../version.ts";
import { type CliOptions, parseArgs } from "./args.ts";
import { HELP } from "./help.ts";
import { runDiff, runHistory } from "./history.ts";
import {
  defaultResumePath,
  readResumeState,
  type ResumeState,
  writeResumeState,
} from "./resume.ts";
import { UsageError } from "./usage_error.ts";

/** What the command talks to; main.ts passes the process's own. */
export interface CliIo {
  /** Write bytes to stdout (all of them). */
  stdout(bytes: Uint8Array): Promise<void>;
  /** Write text to stderr. */
  stderr(text: string): void;
  stdoutIsTerminal: boolean;
  stderrIsTerminal: boolean;
  /** An environment variable, undefined when unset or not permitted. */
  env(name: string): string | undefined;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Ask a yes/no question on the terminal; absent when there is no terminal to ask on. */
  confirm?(question: string): Promise<boolean>;
}

const encoder = new TextEncoder();

/** Ranges that never hold a host to scan; `--no-default-exclude` lifts them. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  "0.0.0.0/8",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "255.255.255.255",
  "ff00::/8",
];

/** Scans at least this big ask first (or need --yes without a terminal). */
const LARGE_HOSTS = 1n << 20n;
const LARGE_PROBES = 1n << 30n;

async function readLine(): Promise<string> {
  const buffer = new Uint8Array(256);
  const n = await Deno.stdin.read(buffer);
  return n === null ? "" : new TextDecoder().decode(buffer.subarray(0, n));
}

/** The process's own stdio. */
export function processIo(signal?: AbortSignal): CliIo {
  return {
    async stdout(bytes: Uint8Array): Promise<void> {
      let offset = 0;
      while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
    },
    stderr(text: string): void {
      const bytes = encoder.encode(text);
      let offset = 0;
      while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
    },
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    ...(Deno.stdin.isTerminal()
      ? {
        async confirm(question: string): Promise<boolean> {
          Deno.stderr.writeSync(encoder.encode(`${question} [y/N] `));
          return /^\s*y(es)?\s*$/i.test(await readLine());
        },
      }
      : {}),
    env(name: string): string | undefined {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined;
      }
    },
    ...(signal ? { signal } : {}),
  };
}

/** Run the command with `args`; resolves to the exit code. Never throws. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(args, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`portolan: ${message}\n`);
    if (error instanceof UsageError) {
      io.stderr("Try 'portolan --help' for usage.\n");
      return error.exitCode;
    }
    return 1;
  }
}

/** Turn a parser's RangeError/SyntaxError into a usage error; pass others through. */
function asUsage(error: unknown): unknown {
  if (error instanceof RangeError || error instanceof SyntaxError) {
    return new UsageError(error.message, { cause: error });
  }
  return error;
}

async function usageStep<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw asUsage(error);
  }
}

function selectTcpPorts(options: CliOptions, io: CliIo): number[] {
  let spec: { tcp: number[]; udp: number[] };
  // Ports without a T:/U: prefix belong to the scan types asked for: TCP only here.
  const tcpOnly = { protocols: ["tcp"] as const };
  if (options.ports !== undefined) spec = parsePorts(options.ports, tcpOnly);
  else if (options.topPorts !== undefined) {
    spec = { tcp: topPorts(options.topPorts, "tcp"), udp: [] };
  } else if (options.fast) spec = { tcp: topPorts(100, "tcp"), udp: [] };
  else spec = { tcp: topPorts(1000, "tcp"), udp: [] };
  if (options.excludePorts !== undefined) {
    spec = excludePorts(spec, parsePorts(options.excludePorts, tcpOnly));
  }
  if (spec.udp.length > 0) {
    io.stderr(
      "portolan: warning: UDP ports given, but UDP scanning (-sU) is not in this build; skipping them\n",
    );
  }
  if (spec.tcp.length === 0) throw new UsageError("No TCP ports left to scan");
  return spec.tcp;
}

function buildTiming(options: CliOptions): Timing {
  const timing = timingTemplate(options.timingLevel);
  if (options.minRttTimeout !== undefined) timing.minRttTimeout = options.minRttTimeout;
  if (options.maxRttTimeout !== undefined) timing.maxRttTimeout = options.maxRttTimeout;
  if (options.initialRttTimeout !== undefined) timing.initialRttTimeout = options.initialRttTimeout;
  if (options.maxRetries !== undefined) timing.maxRetries = options.maxRetries;
  if (options.hostTimeout !== undefined) timing.hostTimeout = options.hostTimeout;
  if (options.scanDelay !== undefined) timing.scanDelay = options.scanDelay;
  if (options.maxParallelism !== undefined) timing.maxParallelism = options.maxParallelism;
  if (options.minRate !== undefined) timing.minRate = options.minRate;
  if (options.maxRate !== undefined) timing.maxRate = options.maxRate;
  if (timing.minRttTimeout > timing.maxRttTimeout) {
    throw new UsageError(
      `Cannot use --min-rtt-timeout ${timing.minRttTimeout}ms: it is above --max-rtt-timeout ${timing.maxRttTimeout}ms`,
    );
  }
  if (timing.minRate > 0 && timing.maxRate > 0 && timing.minRate > timing.maxRate) {
    throw new UsageError(
      `Cannot use --min-rate ${timing.minRate}: it is above --max-rate ${timing.maxRate}`,
    );
  }
  // A rate floor is a promise to send that fast: do not let the window hold it back.
  if (timing.minRate > 0 && options.maxParallelism === undefined) {
    timing.maxParallelism = Math.max(timing.maxParallelism, 1024);
  }
  return timing;
}

/** A target set over an explicit list of hosts (the ones found up). */
function hostList(hosts: readonly Host[]): TargetSet {
  return {
    size: BigInt(hosts.length),
    at(index: bigint): Host {
      const host = hosts[Number(index)];
      if (host === undefined) throw new RangeError(`Host index ${index} is out of range`);
      return host;
    },
    hosts(): Iterable<Host> {
      return hosts;
    },
  };
}

/** An output asked for on the command line, its plugin already made. */
interface PlannedOutput {
  plugin: OutputPlugin;
  path: string;
}

/**
 * Load --plugin modules (each in its own sandbox) and make every output's
 * plugin; any failure is a usage error. `sandboxes` are closed by the caller
 * once the outputs are done.
 */
async function planOutputs(
  options: CliOptions,
  sandboxes: Sandbox[],
): Promise<PlannedOutput[]> {
  const loaded: LoadedOutputPlugin[] = [];
  for (const path of options.plugins) {
    try {
      const sandbox = await loadSandboxedOutputPlugins(path);
      sandboxes.push(sandbox);
      loaded.push(...sandbox.plugins);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
  let registry: Map<string, () => OutputPlugin>;
  try {
    registry = mergeOutputPlugins(outputPlugins, loaded);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  return options.outputs.map(({ format, path }) => {
    const factory = registry.get(format);
    if (factory === undefined) {
      const names = [...registry.keys()].sort().join(", ");
      throw new UsageError(
        `Cannot use --output "${format}:${path}": no output plugin named "${format}" (available: ${names})`,
      );
    }
    try {
      return { plugin: factory(), path };
    } catch (error) {
      throw new UsageError(`Cannot start output "${format}": ${oneLine(error)}`);
    }
  });
}

/** An error as one printable line. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return escapeControls(text.trim().replace(/\s*\n\s*/g, " "));
}

function namesOf(host: Host): string[] {
  return host.hostname === undefined ? [] : [host.hostname];
}

async function run(commandArgs: readonly string[], io: CliIo): Promise<number> {
  if (commandArgs[0] === "history") return await runHistory(commandArgs.slice(1), io);
  if (commandArgs[0] === "diff") return await runDiff(commandArgs.slice(1), io);
  let args = commandArgs;
  let options = parseArgs(args);
  let resumed: { state: ResumeState; path: string } | undefined;
  if (options.resume !== undefined) {
    const path = options.resume;
    const others = args.filter((arg) =>
      arg !== "--resume" && arg !== path && arg !== `--resume=${path}`
    );
    if (others.length > 0) {
      throw new UsageError(
        `Cannot use ${others[0]} with --resume: a resumed scan goes on with its own options`,
      );
    }
    const state = await usageStep(() => readResumeState(path));
    args = state.args;
    options = await usageStep(() => parseArgs(state.args));
    // Interrupted again, it leaves its state where it found it.
    options.resumeFile ??= path;
    resumed = { state, path };
  }
  if (options.help) {
    await io.stdout(encoder.encode(HELP));
    return 0;
  }
  if (options.version) {
    await io.stdout(encoder.encode(`portolan ${VERSION}\n`));
    return 0;
  }

  // Everything a user can get wrong is checked before any name is resolved or packet sent.
  const sandboxes: Sandbox[] = [];
  try {
    return await runPlanned(options, io, { args, resumed, sandboxes });
  } finally {
    for (const sandbox of sandboxes) sandbox.close();
  }
}

async function runPlanned(
  options: CliOptions,
  io: CliIo,
  context: {
    args: readonly string[];
    resumed: { state: ResumeState; path: string } | undefined;
    sandboxes: Sandbox[];
  },
): Promise<number> {
  const { args, resumed } = context;
  const tcpPorts = options.scanType === "list"
    ? []
    : await usageStep(() => selectTcpPorts(options, io));
  const timing = await usageStep(() => buildTiming(options));
  const outputs = await planOutputs(options, context.sandboxes);
  for (const { path } of options.outputs) {
    if (path === "-") continue;
    await usageStep(async () => {
      try {
        await checkWritable(path);
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
    });
  }
  const specs = [...options.targets];
  if (options.inputList !== undefined) {
    const file = options.inputList;
    specs.push(
      ...await usageStep(async () => {
        try {
          return await readTargetFile(file);
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
      }),
    );
  }
  const exclude = options.exclude.flatMap(splitExcludeList);
  if (!options.noDefaultExclude) exclude.push(...DEFAULT_EXCLUDES);
  if (options.excludeFile !== undefined) {
    const file = options.excludeFile;
    exclude.push(
      ...await usageStep(async () => {
        try {
          return await readTargetFile(file);
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
      }),
    );
  }
  if (specs.length === 0) {
    throw new UsageError(
      options.inputList === undefined
        ? "No targets given (see --help)"
        : `No targets in "${options.inputList}"`,
    );
  }
  const targets = await usageStep(() =>
    buildTargetSet(specs, {
      exclude,
      family: options.family ?? "any",
      onUnresolved: (name) => io.stderr(`portolan: warning: Failed to resolve "${name}"\n`),
    })
  );

  if (options.scanType === "list") {
    await listTargets(targets, (chunk) => io.stdout(chunk), {
      ...(io.signal ? { signal: io.signal } : {}),
    });
    return io.signal?.aborted ? 130 : 0;
  }
  if (targets.size === 0n) {
    io.stderr("portolan: warning: no targets left to scan after exclusions and resolution\n");
  }
  await confirmLarge(options, io, targets.size, tcpPorts.length);

  return await scan(options, io, {
    targets,
    tcpPorts,
    timing,
    args,
    outputs,
    specs,
    ...(resumed ? { resumed } : {}),
  });
}

/** Ask before a very large scan; refuse without a terminal unless --yes. */
async function confirmLarge(
  options: CliOptions,
  io: CliIo,
  hosts: bigint,
  ports: number,
): Promise<void> {
  const probes = hosts * BigInt(ports);
  if (options.yes || (hosts < LARGE_HOSTS && probes < LARGE_PROBES)) return;
  const what = `${hosts} hosts × ${ports} ports (${probes} probes)`;
  if (io.confirm === undefined) {
    throw new UsageError(`Refusing to scan ${what} without confirmation: add --yes`);
  }
  if (!await io.confirm(`portolan: scan ${what}?`)) {
    throw new UsageError(`Not scanning ${what}: not confirmed`);
  }
}

/** Open the history database, or say why the scan goes unrecorded. */
function openDb(options: CliOptions, io: CliIo): HistoryDb | undefined {
  if (options.noDb) return undefined;
  const path = options.db ?? defaultDbPath((name) => io.env(name));
  try {
    return openHistory(path);
  } catch (error) {
    if (options.db !== undefined) throw error;
    io.stderr(`portolan: warning: this scan is not recorded in the history: ${oneLine(error)}\n`);
    return undefined;
  }
}

/** An output writer that discards: the history plugin writes to its database. */
const NO_WRITER: FileWriter = {
  color: false,
  write: (): Promise<void> => Promise.resolve(),
  close: (): Promise<void> => Promise.resolve(),
};

async function scan(
  options: CliOptions,
  io: CliIo,
  setup: {
    targets: TargetSet;
    tcpPorts: number[];
    timing: Timing;
    args: readonly string[];
    outputs: readonly PlannedOutput[];
    specs: readonly string[];
    resumed?: { state: ResumeState; path: string };
  },
): Promise<number> {
  const { targets, tcpPorts, timing, resumed } = setup;
  const previous = resumed?.state;
  const color = io.stdoutIsTerminal && io.env("NO_COLOR") === undefined;
  const start = previous ? new Date(previous.report.start) : new Date();
  const seed = previous ? BigInt(previous.seed) : options.seed ?? randomSeed();
  const builder = createReportBuilder(
    {
      version: VERSION,
      args: ["portolan", ...setup.args],
      scaninfo: [{
        type: "connect",
        protocol: "tcp",
        numServices: tcpPorts.length,
        services: formatPortRanges(tcpPorts),
      }],
      start,
    },
    { openOnly: options.open, includeDown: options.verbose > 0 },
  );

  const writers: FileWriter[] = [];
  const bus = createEventBus();
  const outputTargets = [];
  for (const { plugin, path } of setup.outputs) {
    const writer = await openFileWriter(path);
    writers.push(writer);
    outputTargets.push({ plugin, writer });
  }
  const db = openDb(options, io);
  if (db !== undefined) {
    outputTargets.push({
      plugin: historyOutput(db, { targets: normalizeTargetSpec(setup.specs) }),
      writer: NO_WRITER,
    });
  }
  const outputsDone = runOutputs(outputTargets, bus);
  bus.emit({ type: "start", report: builder.snapshot() });
  if (previous !== undefined) {
    // What the interrupted run found: into the report, and to every output again.
    for (const host of previous.report.hosts) {
      const add = { hostnames: host.hostnames };
      if (host.state !== "unknown") {
        const verdict = {
          address: host.address,
          hostnames: host.hostnames,
          state: host.state,
          reason: host.reason,
        };
        builder.addHost(verdict, add);
        bus.emit({ type: "host", host: verdict });
      }
      for (const port of host.ports) {
        builder.addPort(port, add);
        bus.emit({ type: "port", result: port });
      }
      for (const extra of host.extraports) builder.addExtra(host.address, extra, add);
    }
  }

  const progress = createProgress({ write: io.stderr, isTerminal: io.stderrIsTerminal });
  const engine = createConnectEngine({ transport: options.connectEngine });
  if (options.verbose > 0) {
    io.stderr(`portolan: ${engine.name} engine, seed ${seed}, ${tcpPorts.length} ports\n`);
  }
  const signalOption = io.signal ? { signal: io.signal } : {};
  let probes = previous?.report.stats.probes ?? 0;
  let retries = previous?.report.stats.retries ?? 0;
  let hostsDown = previous?.report.stats.hostsDown ?? 0;
  let point: ResumePoint = { next: 0, done: [] };
  let upHosts: string[] | undefined;

  // Host discovery: unprivileged, as nmap does it, a connect to 443 and 80.
  let scanTargets = targets;
  if (previous?.upHosts !== undefined) {
    // Discovery finished before the interruption: the same hosts, in the same order.
    upHosts = previous.upHosts;
    const byAddress = new Map([...targets.hosts()].map((host) => [host.address, host]));
    scanTargets = hostList(upHosts.flatMap((address) => byAddress.get(address) ?? []));
  } else if (!options.skipDiscovery && targets.size > 0n) {
    const up = new Map<bigint, { host: Host; reason: string }>();
    const plan: ScanPlan = {
      targets,
      protocol: "tcp",
      ports: [80, 443],
      timing,
      seed,
      sequential: options.sequential,
    };
    const stats = await engine.run(plan, {
      result(hostIndex: bigint, host: Host, result: PortResult): void {
        if (up.has(hostIndex)) return;
        if (result.state === "open" || result.state === "closed") {
          up.set(hostIndex, { host, reason: result.reason });
        }
      },
      progress: (done, total) => progress.update(done, total),
    }, signalOption);
    probes += stats.probes;
    retries += stats.retries;
    const found = [...up.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [, { host, reason }] of found) {
      const verdict = {
        address: host.address,
        hostnames: namesOf(host),
        state: "up" as const,
        reason,
      };
      builder.addHost(verdict, { sortKey: hostSortKey(host), hostnames: namesOf(host) });
      bus.emit({ type: "host", host: verdict });
    }
    hostsDown = Number(targets.size) - found.length;
    if (options.verbose > 0 && hostsDown > 0 && hostsDown <= 65_536) {
      const upAddresses = new Set([...up.values()].map((entry) => entry.host.address));
      for (const host of targets.hosts()) {
        if (upAddresses.has(host.address)) continue;
        builder.addHost(
          { address: host.address, hostnames: namesOf(host), state: "down", reason: "no-response" },
          { sortKey: hostSortKey(host) },
        );
      }
    }
    scanTargets = hostList(found.map(([, entry]) => entry.host));
    // Only a finished discovery can be trusted to resume from.
    if (!io.signal?.aborted) upHosts = found.map(([, entry]) => entry.host.address);
  }

  let interrupted = io.signal?.aborted ?? false;
  if (!interrupted && scanTargets.size > 0n) {
    const plan: ScanPlan = {
      targets: scanTargets,
      protocol: "tcp",
      ports: tcpPorts,
      timing,
      seed,
      sequential: options.sequential,
      ...(previous ? { resume: previous.point } : {}),
    };
    const stats = await engine.run(plan, {
      result(_hostIndex: bigint, host: Host, result: PortResult): void {
        builder.addPort(result, { sortKey: hostSortKey(host), hostnames: namesOf(host) });
        bus.emit({ type: "port", result });
      },
      progress: (done, total) => progress.update(done, total),
      checkpoint(at: ResumePoint): void {
        point = at;
      },
    }, signalOption);
    probes += stats.probes;
    retries += stats.retries;
    if (options.verbose > 0) {
      io.stderr(
        `portolan: ${stats.probes} probes, ${stats.retries} retries, ${stats.backoffs} backoffs, peak ${stats.peakInFlight} in flight\n`,
      );
    }
  }
  progress.stop();
  interrupted = io.signal?.aborted ?? false;

  const report = builder.finish(
    { probes, retries, hostsTotal: Number(targets.size), hostsDown },
    new Date(),
  );
  bus.emit({ type: "end", report, interrupted });
  bus.close();
  const errors = await outputsDone;
  for (const writer of writers) await writer.close();
  db?.close();
  // A failed output (a user plugin that threw, say) costs only its own file.
  for (const error of errors) io.stderr(`portolan: ${oneLine(error)}\n`);

  if (!options.outputs.some((output) => output.path === "-")) {
    const table = renderTable(report, {
      color,
      reason: options.reason,
      verbose: options.verbose > 0,
    });
    await io.stdout(encoder.encode(table));
  }
  if (interrupted) {
    const path = options.resumeFile ?? defaultResumePath((name) => io.env(name));
    const state: ResumeState = {
      format: "portolan-resume",
      version: 1,
      written: new Date().toISOString(),
      args: setup.args.filter((arg, i, all) => arg !== "--resume" && all[i - 1] !== "--resume"),
      seed: String(seed),
      ...(upHosts !== undefined ? { upHosts } : {}),
      point: upHosts !== undefined || options.skipDiscovery ? point : { next: 0, done: [] },
      report,
    };
    try {
      await writeResumeState(path, state);
      io.stderr(
        `portolan: interrupted; the results are partial. Resume with: portolan --resume ${path}\n`,
      );
    } catch (error) {
      io.stderr(
        `portolan: interrupted, and the resume state could not be saved: ${oneLine(error)}\n`,
      );
    }
    return 130;
  }
  if (resumed !== undefined) {
    // Finished: the state has served.
    await Deno.remove(resumed.path).catch(() => {});
  }
  return errors.length > 0 ? 1 : 0;
}
