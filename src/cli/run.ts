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
import {
  type LoadedOutputPlugin,
  loadOutputPlugins,
  mergeOutputPlugins,
} from "../plugins/loader.ts";
import type { OutputPlugin } from "../plugins/types.ts";
import { VERSION } from "../version.ts";
import { type CliOptions, parseArgs } from "./args.ts";
import { HELP } from "./help.ts";
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
}

const encoder = new TextEncoder();

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

/** Load --plugin modules and make every output's plugin; any failure is a usage error. */
async function planOutputs(options: CliOptions): Promise<PlannedOutput[]> {
  const loaded: LoadedOutputPlugin[] = [];
  for (const path of options.plugins) {
    try {
      loaded.push(...await loadOutputPlugins(path));
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

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const options = parseArgs(args);
  if (options.help) {
    await io.stdout(encoder.encode(HELP));
    return 0;
  }
  if (options.version) {
    await io.stdout(encoder.encode(`portolan ${VERSION}\n`));
    return 0;
  }

  // Everything a user can get wrong is checked before any name is resolved or packet sent.
  const tcpPorts = options.scanType === "list"
    ? []
    : await usageStep(() => selectTcpPorts(options, io));
  const timing = await usageStep(() => buildTiming(options));
  const outputs = await planOutputs(options);
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

  return await scan(options, io, { targets, tcpPorts, timing, args, outputs });
}

async function scan(
  options: CliOptions,
  io: CliIo,
  setup: {
    targets: TargetSet;
    tcpPorts: number[];
    timing: Timing;
    args: readonly string[];
    outputs: readonly PlannedOutput[];
  },
): Promise<number> {
  const { targets, tcpPorts, timing } = setup;
  const color = io.stdoutIsTerminal && io.env("NO_COLOR") === undefined;
  const start = new Date();
  const seed = options.seed ?? randomSeed();
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
  const outputsDone = runOutputs(outputTargets, bus);
  bus.emit({ type: "start", report: builder.snapshot() });

  const progress = createProgress({ write: io.stderr, isTerminal: io.stderrIsTerminal });
  const engine = createConnectEngine({ transport: options.connectEngine });
  if (options.verbose > 0) {
    io.stderr(`portolan: ${engine.name} engine, seed ${seed}, ${tcpPorts.length} ports\n`);
  }
  const signalOption = io.signal ? { signal: io.signal } : {};
  let probes = 0;
  let retries = 0;
  let hostsDown = 0;

  // Host discovery: unprivileged, as nmap does it, a connect to 443 and 80.
  let scanTargets = targets;
  if (!options.skipDiscovery && targets.size > 0n) {
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
    const upHosts = [...up.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [, { host, reason }] of upHosts) {
      const verdict = {
        address: host.address,
        hostnames: namesOf(host),
        state: "up" as const,
        reason,
      };
      builder.addHost(verdict, { sortKey: hostSortKey(host), hostnames: namesOf(host) });
      bus.emit({ type: "host", host: verdict });
    }
    hostsDown = Number(targets.size) - upHosts.length;
    if (options.verbose > 0 && hostsDown > 0 && hostsDown <= 65_536) {
      for (const host of targets.hosts()) {
        if ([...up.values()].some((entry) => entry.host.address === host.address)) continue;
        builder.addHost(
          { address: host.address, hostnames: namesOf(host), state: "down", reason: "no-response" },
          { sortKey: hostSortKey(host) },
        );
      }
    }
    scanTargets = hostList(upHosts.map(([, entry]) => entry.host));
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
    };
    const stats = await engine.run(plan, {
      result(_hostIndex: bigint, host: Host, result: PortResult): void {
        builder.addPort(result, { sortKey: hostSortKey(host), hostnames: namesOf(host) });
        bus.emit({ type: "port", result });
      },
      progress: (done, total) => progress.update(done, total),
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
    io.stderr("portolan: interrupted; the results above are partial\n");
    return 130;
  }
  return errors.length > 0 ? 1 : 0;
}
