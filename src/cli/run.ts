/**
 * The command: parse, validate everything that can be validated before a
 * packet leaves, then discover hosts, scan, and report.
 *
 * @module
 */

import { createConnectEngine } from "../engine/connect_engine.ts";
import { randomSeed } from "../engine/permutation.ts";
import { createRawEngine, discoverHosts, rawAvailable } from "../engine/raw_engine.ts";
import type { RawEngineStats } from "../engine/raw_types.ts";
import { timingTemplate } from "../engine/timing.ts";
import type {
  EngineSink,
  EngineStats,
  HostResult,
  PortResult,
  ScanEngine,
  ScanPlan,
  Shard,
  Timing,
} from "../engine/types.ts";
import { createEventBus, type EventBus, runOutputs } from "../output/bus.ts";
import { createProgress } from "../output/progress.ts";
import { createReportBuilder, hostSortKey, type ReportBuilder } from "../output/report_builder.ts";
import { createServiceDetector, DEFAULT_INTENSITY, intensityTimings } from "../service/detect.ts";
import { renderTable } from "../output/table.ts";
import { checkWritable, type FileWriter, openFileWriter } from "../output/writer.ts";
import { excludePorts, formatPortRanges, parsePorts, topPorts } from "../ports/mod.ts";
import { buildTargetSet, listTargets, readTargetFile, splitExcludeList } from "../targets/mod.ts";
import type { Host, TargetSet } from "../targets/types.ts";
import { outputPlugins, probePlugins } from "../../plugins/mod.ts";
import { escapeControls } from "../plugins/format.ts";
import { readServiceNames } from "../plugins/service_names.ts";
import { type LoadedOutputPlugin, mergeOutputPlugins } from "../plugins/loader.ts";
import { loadSandboxedPlugins, type Sandbox } from "../plugins/sandbox.ts";
import type { ProbePlugin } from "../plugins/probe_types.ts";
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

/** The ports of each protocol to scan, from -p / --top-ports / -F and the scan types. */
function selectPorts(
  options: CliOptions,
  modes: Modes,
  io: CliIo,
): { tcp: number[]; udp: number[] } {
  const protocols: ("tcp" | "udp")[] = [];
  if (modes.tcp !== undefined) protocols.push("tcp");
  if (modes.udp) protocols.push("udp");
  if (protocols.length === 0) return { tcp: [], udp: [] };
  // Ports without a T:/U: prefix belong to every scan type asked for.
  const only = { protocols };
  const top = (count: number): { tcp: number[]; udp: number[] } => ({
    tcp: modes.tcp !== undefined ? topPorts(count, "tcp") : [],
    udp: modes.udp ? topPorts(count, "udp") : [],
  });
  let spec: { tcp: number[]; udp: number[] };
  if (options.ports !== undefined) spec = parsePorts(options.ports, only);
  else if (options.topPorts !== undefined) spec = top(options.topPorts);
  else if (options.fast) spec = top(100);
  else spec = top(1000);
  if (options.excludePorts !== undefined) {
    spec = excludePorts(spec, parsePorts(options.excludePorts, only));
  }
  if (modes.tcp !== undefined && spec.tcp.length === 0) {
    throw new UsageError("No TCP ports left to scan: give some (-p T:…) or drop the TCP scan type");
  }
  if (modes.udp && spec.udp.length === 0) {
    throw new UsageError("No UDP ports left to scan: give some (-p U:…) or drop -sU");
  }
  if (modes.tcp === undefined && spec.tcp.length > 0) {
    io.stderr(
      "portolan: warning: TCP ports given without a TCP scan type (-sS, -sT); skipping them\n",
    );
    spec.tcp = [];
  }
  if (!modes.udp && spec.udp.length > 0) {
    io.stderr("portolan: warning: UDP ports given without -sU; skipping them\n");
    spec.udp = [];
  }
  return spec;
}

/** Which engines the scan runs, once privileges are known. */
interface Modes {
  /** TCP scan, if any. */
  tcp?: "connect" | "syn";
  udp: boolean;
  /** How hosts are found up: not at all (-Pn), by connect(), or by raw probes. */
  discovery: "none" | "connect" | "raw";
}

const RAW_NAMES: Record<string, string> = {
  syn: "a SYN scan (-sS)",
  udp: "a UDP scan (-sU)",
  echo: "ICMP echo discovery (-PE)",
  arp: "ARP discovery (-PR)",
};

/**
 * Settle the scan types: SYN when raw sockets open and no TCP type was
 * asked for, as nmap does for root; a raw mode asked for by name and not
 * available is an error of one line.
 */
function resolveModes(options: CliOptions): Modes {
  const asked = [
    ...(options.tcpScan === "syn" ? ["syn"] : []),
    ...(options.udpScan ? ["udp"] : []),
    ...options.discoveryProbes.flatMap((probe) =>
      probe.kind === "echo" || probe.kind === "arp" ? [probe.kind] : []
    ),
  ];
  const mayUseRaw = asked.length > 0 || options.tcpScan === undefined || !options.skipDiscovery;
  const raw = mayUseRaw ? rawAvailable() : { ok: false as const, why: "" };
  if (!raw.ok && asked.length > 0) {
    throw new Error(
      `Cannot run ${RAW_NAMES[asked[0]!]}: ${raw.why}. A connect scan (-sT) needs no privileges`,
    );
  }
  const tcp = options.tcpScan ??
    (options.udpScan || options.pingOnly ? undefined : raw.ok ? "syn" : "connect");
  return {
    ...(tcp !== undefined ? { tcp } : {}),
    udp: options.udpScan,
    discovery: options.skipDiscovery ? "none" : raw.ok ? "raw" : "connect",
  };
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
  io: CliIo,
): Promise<PlannedOutput[]> {
  const loaded: LoadedOutputPlugin[] = [];
  const intensity = options.versionIntensity ?? DEFAULT_INTENSITY;
  for (const path of options.plugins) {
    try {
      const sandbox = await loadSandboxedPlugins(path, {
        readTimeoutMs: intensityTimings(intensity).probeWaitMs,
        onError: (message) => io.stderr(`portolan: ${oneLine(message)}\n`),
      });
      sandboxes.push(sandbox);
      loaded.push(...sandbox.outputs);
      if (sandbox.probes.length > 0 && !options.serviceDetection) {
        io.stderr(
          `portolan: warning: "${path}" holds probe plugins; they run only with -sV\n`,
        );
      }
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
  const modes = options.listOnly
    ? { udp: false, discovery: "none" as const }
    : resolveModes(options);
  const ports = options.listOnly || options.pingOnly
    ? { tcp: [], udp: [] }
    : await usageStep(() => selectPorts(options, modes, io));
  const timing = await usageStep(() => buildTiming(options));
  const outputs = await planOutputs(options, context.sandboxes, io);
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

  if (options.listOnly) {
    await listTargets(targets, (chunk) => io.stdout(chunk), {
      ...(io.signal ? { signal: io.signal } : {}),
    });
    return io.signal?.aborted ? 130 : 0;
  }
  if (targets.size === 0n) {
    io.stderr("portolan: warning: no targets left to scan after exclusions and resolution\n");
  }
  await confirmLarge(options, io, targets.size, Math.max(1, ports.tcp.length + ports.udp.length));

  return await scan(options, io, {
    targets,
    modes,
    ports,
    userProbes: context.sandboxes.flatMap((sandbox) => sandbox.probes),
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

/** One engine run over the hosts found up: a TCP or a UDP port scan. */
interface Phase {
  type: "connect" | "syn" | "udp";
  protocol: "tcp" | "udp";
  ports: number[];
  engine: ScanEngine;
}

function phasesOf(options: CliOptions, modes: Modes, ports: PortLists): Phase[] {
  const phases: Phase[] = [];
  if (modes.tcp === "syn") {
    phases.push({
      type: "syn",
      protocol: "tcp",
      ports: ports.tcp,
      engine: createRawEngine({ scan: "syn" }),
    });
  } else if (modes.tcp === "connect") {
    phases.push({
      type: "connect",
      protocol: "tcp",
      ports: ports.tcp,
      engine: createConnectEngine({ transport: options.connectEngine }),
    });
  }
  if (modes.udp) {
    phases.push({
      type: "udp",
      protocol: "udp",
      ports: ports.udp,
      engine: createRawEngine({ scan: "udp" }),
    });
  }
  return phases;
}

interface PortLists {
  tcp: number[];
  udp: number[];
}

/** A host found up, with its index in the target set. */
interface UpHost {
  index: bigint;
  host: Host;
  reason: string;
  /** The answer's TTL, time and MAC, where raw discovery saw them. */
  found?: Pick<HostResult, "reasonTtl" | "rtt" | "mac">;
}

/**
 * Find the hosts that are up: raw probes (ICMP echo, SYN 443, ACK 80, or
 * ARP / neighbour discovery on a local link) where raw sockets open, else
 * connect() to 80 and 443 (or the -PS/-PA ports) as nmap does unprivileged.
 */
async function discover(
  options: CliOptions,
  modes: Modes,
  context: {
    targets: TargetSet;
    timing: Timing;
    seed: bigint;
    progress: (done: number, total: number) => void;
    signal?: AbortSignal;
  },
): Promise<{ up: UpHost[]; stats: EngineStats }> {
  const { targets, timing, seed } = context;
  const up = new Map<bigint, UpHost>();
  // Only -sn shards hosts; a port scan's shards each need every host's verdict.
  const shard = options.pingOnly ? options.shard : undefined;
  const signalOption = context.signal ? { signal: context.signal } : {};
  let stats: EngineStats;
  if (modes.discovery === "raw") {
    const plan: ScanPlan = {
      targets,
      protocol: "tcp",
      ports: [0],
      timing,
      seed,
      sequential: options.sequential,
      ...(shard ? { shard } : {}),
    };
    stats = await discoverHosts(plan, {
      host(index: bigint, host: Host, result: HostResult): void {
        if (result.state === "up") {
          up.set(index, { index, host, reason: result.reason, found: result });
        }
      },
      progress: context.progress,
    }, {
      ...signalOption,
      ...(options.discoveryProbes.length > 0 ? { probes: options.discoveryProbes } : {}),
    });
  } else {
    const asked = options.discoveryProbes.flatMap((probe) =>
      probe.kind === "syn" || probe.kind === "ack" ? [probe.port] : []
    );
    const ports = asked.length > 0 ? [...new Set(asked)].sort((a, b) => a - b) : [80, 443];
    const plan: ScanPlan = {
      targets,
      protocol: "tcp",
      ports,
      timing,
      seed,
      sequential: options.sequential,
      ...(shard
        ? { hostFilter: (index: bigint) => index % BigInt(shard.count) === BigInt(shard.index) }
        : {}),
    };
    const engine = createConnectEngine({ transport: options.connectEngine });
    stats = await engine.run(plan, {
      result(index: bigint, host: Host, result: PortResult): void {
        if (up.has(index)) return;
        if (result.state === "open" || result.state === "closed") {
          up.set(index, { index, host, reason: result.reason });
        }
      },
      progress: context.progress,
    }, signalOption);
  }
  const found = [...up.values()].sort((
    a,
    b,
  ) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
  return { up: found, stats };
}

async function scan(
  options: CliOptions,
  io: CliIo,
  setup: {
    targets: TargetSet;
    modes: Modes;
    ports: PortLists;
    /** Probe plugins loaded with --plugin, tried after the built-ins. */
    userProbes: readonly ProbePlugin[];
    timing: Timing;
    args: readonly string[];
    outputs: readonly PlannedOutput[];
    specs: readonly string[];
    resumed?: { state: ResumeState; path: string };
  },
): Promise<number> {
  const { targets, modes, timing, resumed } = setup;
  const previous = resumed?.state;
  const color = io.stdoutIsTerminal && io.env("NO_COLOR") === undefined;
  const start = previous ? new Date(previous.report.start) : new Date();
  const seed = previous ? BigInt(previous.seed) : options.seed ?? randomSeed();
  const phases = options.pingOnly ? [] : phasesOf(options, modes, setup.ports);
  const builder = createReportBuilder(
    {
      version: VERSION,
      args: ["portolan", ...setup.args],
      scaninfo: phases.map((phase) => ({
        type: phase.type,
        protocol: phase.protocol,
        numServices: phase.ports.length,
        services: formatPortRanges(phase.ports),
      })),
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
  if (previous !== undefined) replayPrevious(previous, builder, bus);

  const progress = createProgress({ write: io.stderr, isTerminal: io.stderrIsTerminal });
  const update = (done: number, total: number): void => progress.update(done, total);
  if (options.verbose > 0) {
    const engines = phases.map((phase) => `${phase.engine.name} (${phase.ports.length} ports)`);
    io.stderr(
      `portolan: seed ${seed}, discovery ${modes.discovery}, ${
        engines.join(", ") || "no port scan"
      }\n`,
    );
  }
  const signalOption = io.signal ? { signal: io.signal } : {};
  let probes = previous?.report.stats.probes ?? 0;
  let retries = previous?.report.stats.retries ?? 0;
  let hostsDown = previous?.report.stats.hostsDown ?? 0;
  let receiverDrops = previous?.report.stats.receiverDrops;
  const count = (stats: EngineStats): void => {
    probes += stats.probes;
    retries += stats.retries;
    const drops = (stats as Partial<RawEngineStats>).receiverDrops;
    if (drops !== undefined) receiverDrops = (receiverDrops ?? 0) + drops;
  };
  let point: ResumePoint = { next: 0, done: [] };
  let phaseIndex = previous?.phase ?? 0;
  let upHosts: string[] | undefined;

  // The hosts to port-scan: a list of the ones found up, or (sharded, so
  // that every shard walks the same space) all targets behind a filter.
  let scanTargets = targets;
  let scanHosts = targets.size;
  let hostFilter: ((index: bigint) => boolean) | undefined;
  const restrictTo = (hosts: readonly Host[]): void => {
    scanHosts = BigInt(hosts.length);
    if (options.shard === undefined) {
      scanTargets = hostList(hosts);
      return;
    }
    const addresses = new Set(hosts.map((host) => host.address));
    hostFilter = (index) => addresses.has(targets.at(index).address);
  };
  if (previous?.upHosts !== undefined) {
    // Discovery finished before the interruption: the same hosts, in the same order.
    upHosts = previous.upHosts;
    const byAddress = new Map([...targets.hosts()].map((host) => [host.address, host]));
    restrictTo(upHosts.flatMap((address) => byAddress.get(address) ?? []));
  } else if (modes.discovery !== "none" && targets.size > 0n) {
    const { up, stats } = await discover(options, modes, {
      targets,
      timing,
      seed,
      progress: update,
      ...signalOption,
    });
    count(stats);
    for (const { host, reason, found } of up) {
      const verdict: HostResult = {
        address: host.address,
        hostnames: namesOf(host),
        state: "up" as const,
        reason,
        ...(found?.reasonTtl !== undefined ? { reasonTtl: found.reasonTtl } : {}),
        ...(found?.rtt !== undefined ? { rtt: found.rtt } : {}),
        ...(found?.mac !== undefined ? { mac: found.mac } : {}),
      };
      builder.addHost(verdict, { sortKey: hostSortKey(host), hostnames: namesOf(host) });
      bus.emit({ type: "host", host: verdict });
    }
    const probed = options.pingOnly && options.shard
      ? Number(shardHosts(targets.size, options.shard))
      : Number(targets.size);
    hostsDown = probed - up.length;
    if (options.verbose > 0 && hostsDown > 0 && hostsDown <= 65_536) {
      const upAddresses = new Set(up.map((entry) => entry.host.address));
      let index = 0n;
      for (const host of targets.hosts()) {
        const mine = !(options.pingOnly && options.shard) ||
          index % BigInt(options.shard.count) === BigInt(options.shard.index);
        index++;
        if (!mine || upAddresses.has(host.address)) continue;
        builder.addHost(
          { address: host.address, hostnames: namesOf(host), state: "down", reason: "no-response" },
          { sortKey: hostSortKey(host) },
        );
      }
    }
    restrictTo(up.map((entry) => entry.host));
    // Only a finished discovery can be trusted to resume from.
    if (!io.signal?.aborted) upHosts = up.map((entry) => entry.host.address);
  } else if (options.pingOnly) {
    // -sn -Pn: every host is taken as up, as nmap reports it.
    for (const host of targets.hosts()) {
      const verdict = {
        address: host.address,
        hostnames: namesOf(host),
        state: "up" as const,
        reason: "user-set",
      };
      builder.addHost(verdict, { sortKey: hostSortKey(host), hostnames: namesOf(host) });
      bus.emit({ type: "host", host: verdict });
    }
  }

  const detector = options.serviceDetection
    ? createServiceDetector([...probePlugins.map((make) => make()), ...setup.userProbes], {
      intensity: options.versionIntensity ?? DEFAULT_INTENSITY,
      ...signalOption,
    })
    : undefined;
  const detecting = new Set<Promise<void>>();
  const record = (host: Host, result: PortResult): void => {
    builder.addPort(result, { sortKey: hostSortKey(host), hostnames: namesOf(host) });
    bus.emit({ type: "port", result });
  };
  const sink: EngineSink = {
    result(_hostIndex: bigint, host: Host, result: PortResult): void {
      const wanted = result.state === "open" ||
        (result.protocol === "udp" && result.state === "open|filtered");
      if (detector === undefined || !wanted) return record(host, result);
      // The port is reported once, with its service, when detection ends.
      const task = detector.detect(result).then((found) => record(host, found));
      detecting.add(task);
      task.finally(() => detecting.delete(task));
    },
    progress: update,
    checkpoint(at: ResumePoint): void {
      point = at;
    },
  };

  let interrupted = io.signal?.aborted ?? false;
  const empty = scanHosts === 0n;
  for (let index = phaseIndex; index < phases.length && !interrupted && !empty; index++) {
    const phase = phases[index]!;
    phaseIndex = index;
    point = { next: 0, done: [] };
    const plan: ScanPlan = {
      targets: scanTargets,
      protocol: phase.protocol,
      ports: phase.ports,
      timing,
      seed,
      sequential: options.sequential,
      ...(hostFilter ? { hostFilter } : {}),
      ...(options.shard ? { shard: options.shard } : {}),
      ...(previous !== undefined && index === (previous.phase ?? 0)
        ? { resume: previous.point }
        : {}),
    };
    const stats = await phase.engine.run(plan, sink, signalOption);
    count(stats);
    if (options.verbose > 0) {
      const drops = (stats as Partial<RawEngineStats>).receiverDrops;
      io.stderr(
        `portolan: ${phase.engine.name}: ${stats.probes} probes, ${stats.retries} retries, ${stats.backoffs} backoffs, peak ${stats.peakInFlight} in flight${
          drops !== undefined ? `, receiver drops ${drops}` : ""
        }\n`,
      );
    }
    interrupted = io.signal?.aborted ?? false;
  }
  await Promise.all(detecting);
  progress.stop();
  interrupted = io.signal?.aborted ?? false;

  const report = builder.finish(
    {
      probes,
      retries,
      hostsTotal: Number(targets.size),
      hostsDown,
      ...(receiverDrops !== undefined ? { receiverDrops } : {}),
    },
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
      serviceNames: await readServiceNames(),
      serviceDetection: options.serviceDetection,
    });
    await io.stdout(encoder.encode(table));
  }
  if (interrupted) {
    const path = options.resumeFile ?? defaultResumePath((name) => io.env(name));
    const resumable = upHosts !== undefined || options.skipDiscovery;
    const state: ResumeState = {
      format: "portolan-resume",
      version: 1,
      written: new Date().toISOString(),
      args: setup.args.filter((arg, i, all) => arg !== "--resume" && all[i - 1] !== "--resume"),
      seed: String(seed),
      ...(upHosts !== undefined ? { upHosts } : {}),
      ...(resumable && phaseIndex > 0 ? { phase: phaseIndex } : {}),
      point: resumable ? point : { next: 0, done: [] },
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

/** How many of `total` hosts shard `shard` holds. */
function shardHosts(total: bigint, shard: Shard): bigint {
  const index = BigInt(shard.index);
  return total <= index ? 0n : (total - index - 1n) / BigInt(shard.count) + 1n;
}

/** What an interrupted run found: into the report, and to every output again. */
function replayPrevious(
  previous: ResumeState,
  builder: ReportBuilder,
  bus: EventBus,
): void {
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
