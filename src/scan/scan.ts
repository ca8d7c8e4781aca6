/**
 * One scan, from planned options to a finished report: discover the hosts
 * that are up, run each phase's engine over them, and route every verdict
 * through the {@link Pipeline} to the report, the outputs and the history.
 * What the user sees on the terminal (the table, the resume hint) stays with
 * the CLI.
 *
 * @module
 */

import type { ScanOptions } from "./options.ts";
import { randomSeed } from "../engine/mod.ts";
import { type HostResult, isSilent, type PortResult, type ScanReport } from "../model/mod.ts";
import type { EngineSink, EngineStats, ResumePoint, ScanPlan, Timing } from "../engine/types.ts";
import type { StdoutSink } from "../output/writer.ts";
import { formatPortRanges } from "../ports/mod.ts";
import type { ProbePlugin } from "../plugin/probe_types.ts";
import { createServiceDetector, DEFAULT_INTENSITY } from "../service/detect.ts";
import type { ScriptPlugin } from "../plugin/script_types.ts";
import { escapeControls } from "../plugin/format.ts";
import { createScriptRunner } from "../script/engine.ts";
import type { HistoryDb } from "../store/mod.ts";
import type { Host, TargetSet } from "../targets/types.ts";
import { VERSION } from "../version.ts";
import type { TraceSink } from "../engine/trace.ts";
import { discover } from "./discover.ts";
import { type HostNames, lookUpNames, noNames, targetHosts, wantsNames } from "./names.ts";
import { type PhaseInfo, phaseInfo } from "./phase_info.ts";
import type { ResumeState } from "./resume_state.ts";
import { openPipeline, type Pipeline, type PlannedOutput } from "./pipeline.ts";
import {
  foldDiscovery,
  hostList,
  type Modes,
  phasesOf,
  type PortLists,
  shardHosts,
} from "./plan.ts";

/** -Pn: up to this many hosts are each reported up, whether or not they answer. */
const PN_LISTED_HOSTS = 4096n;

/** Everything {@link runScan} needs, settled and validated. */

export interface ScanSetup {
  targets: TargetSet;
  modes: Modes;
  ports: PortLists;
  /** Probe plugins loaded with --plugin, tried after the built-ins. */
  userProbes: readonly ProbePlugin[];
  /** The built-in probes' factories (handed in by the command). */
  builtinProbes: readonly (() => ProbePlugin)[];
  /** Scripts to run on open ports after detection (-sC, --script); none by default. */
  scripts?: readonly ScriptPlugin[];
  timing: Timing;
  /** The command line (without the program name). */
  args: readonly string[];
  outputs: readonly PlannedOutput[];
  /** Where an output to "-" goes: the command's stdout (the process's when absent). */
  stdout?: StdoutSink;
  /** Record into this history, under this target specification. */
  history?: { db: HistoryDb; targets: string };
  /** The state of an interrupted run to go on from. */
  previous?: ResumeState;
}

/** How the scan talks back while it runs. */
export interface ScanHooks {
  /** A line for the user (verbose notes), with its newline. */
  log(text: string): void;
  /** Progress: probes finished of total. */
  progress(done: number, total: number): void;
  /** Called once the engines are done, before the outputs render (stop the progress line). */
  settled?(): void;
  /** Stops the scan: SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** A phase begins (and the one before it, if any, has ended): discovery, DNS, a scan, -sV. */
  phase?(info: PhaseInfo): void;
  /** An open port, as soon as it is found (before -sV looks at it). */
  found?(result: PortResult, host: Host): void;
  /** Every try sent and answer received, of every engine (`--packet-trace`, `-d`). */
  trace?: TraceSink;
}

/** What a scan ended with. */
export interface ScanOutcome {
  report: ScanReport;
  /** Outputs that failed. */
  errors: Error[];
  interrupted: boolean;
  /** Where an interrupted scan would go on from. */
  seed: bigint;
  upHosts: string[] | undefined;
  phase: number;
  point: ResumePoint;
}

function namesOf(host: Host): string[] {
  return host.hostname === undefined ? [] : [host.hostname];
}

/**
 * No discovery: hosts are up as nmap has them ("received user-set"). With -sn
 * every host is reported; with a port scan every host is up also when it
 * answers no probe ("1 host up"), up to a few thousand hosts and unsharded;
 * beyond, only the hosts that answer are kept.
 */
function takeAsUp(
  options: ScanOptions,
  targets: TargetSet,
  pipeline: Pipeline,
  named: (host: Host) => Host,
): void {
  if (!options.pingOnly && (options.shard !== undefined || targets.size > PN_LISTED_HOSTS)) return;
  for (const target of targets.hosts()) {
    const host = named(target);
    const verdict: HostResult = {
      address: host.address,
      hostnames: namesOf(host),
      state: "up",
      reason: "user-set",
    };
    if (options.pingOnly) pipeline.host(verdict, host);
    else pipeline.note(verdict, host);
  }
}

/** -v: how the scan will go (seed, discovery, rate, engines). */
function announce(
  hooks: ScanHooks,
  scan: {
    folded: boolean;
    phases: ReturnType<typeof phasesOf>;
    seed: bigint;
    timing: Timing;
    discovery: string;
  },
): void {
  const { folded, phases, seed, timing } = scan;
  if (folded) {
    hooks.log(
      "portolan: discovery folded into the port scan (it sends no more probes per host than discovery would): a host that answers no port is down or filtered\n",
    );
  }
  const engines = phases.map((phase) => `${phase.engine.name} (${phase.ports.length} ports)`);
  const rate = timing.maxRate > 0 ? `at most ${timing.maxRate} probes/s` : "rate adaptive";
  hooks.log(
    `portolan: seed ${seed}, discovery ${folded ? "folded" : scan.discovery}, ${rate}, ${
      engines.join(", ") || "no port scan"
    }\n`,
  );
}

/** The hosts discovery found up (and, with -v, the ones it did not) into the pipeline; the count down. */
function reportDiscovery(
  options: ScanOptions,
  found: {
    up: Awaited<ReturnType<typeof discover>>["up"];
    targets: TargetSet;
    pipeline: Pipeline;
    named: (host: Host) => Host;
  },
): number {
  const { up, targets, pipeline } = found;
  for (const { host, reason, found: seen } of up) {
    const verdict: HostResult = {
      address: host.address,
      hostnames: namesOf(host),
      state: "up",
      reason,
      ...(seen?.reasonTtl !== undefined ? { reasonTtl: seen.reasonTtl } : {}),
      ...(seen?.rtt !== undefined ? { rtt: seen.rtt } : {}),
      ...(seen?.mac !== undefined ? { mac: seen.mac } : {}),
    };
    pipeline.host(verdict, host);
  }
  const probed = options.pingOnly && options.shard
    ? Number(shardHosts(targets.size, options.shard))
    : Number(targets.size);
  const hostsDown = probed - up.length;
  if (options.verbose > 0 && hostsDown > 0 && hostsDown <= 65_536) {
    const upAddresses = new Set(up.map((entry) => entry.host.address));
    let index = 0n;
    for (const host of targets.hosts()) {
      const mine = !(options.pingOnly && options.shard) ||
        index % BigInt(options.shard.count) === BigInt(options.shard.index);
      index++;
      if (!mine || upAddresses.has(host.address)) continue;
      const named = found.named(host);
      pipeline.note(
        { address: host.address, hostnames: namesOf(named), state: "down", reason: "no-response" },
        named,
      );
    }
  }
  return hostsDown;
}

/** The result pipeline of one scan: its report's header, the scanned ports, the outputs. */
function scanPipeline(
  options: ScanOptions,
  setup: ScanSetup,
  scan: { phases: ReturnType<typeof phasesOf>; start: Date },
): Promise<Pipeline> {
  const { phases, start } = scan;
  const scanned = {
    ...(phases.some((phase) => phase.protocol === "tcp") ? { tcp: setup.ports.tcp } : {}),
    ...(phases.some((phase) => phase.protocol === "udp") ? { udp: setup.ports.udp } : {}),
  };
  return openPipeline({
    info: {
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
    report: {
      openOnly: options.open,
      includeDown: options.verbose > 0,
      scanned,
      // A shard probes part of each host's ports: what it did not hear from may be another's.
      deriveSilent: options.shard === undefined,
    },
    outputs: setup.outputs,
    ...(setup.stdout ? { stdout: setup.stdout } : {}),
    ...(setup.history ? { history: setup.history } : {}),
  });
}

/**
 * Where the engines' verdicts go: silence straight to the pipeline; an open
 * port through service detection and the scripts first (reported once,
 * when they are done with it). `settle` waits for those still running,
 * announcing nmap's "Service scan" phase with its own progress.
 */
function resultSink(
  options: ScanOptions,
  setup: ScanSetup,
  context: {
    pipeline: Pipeline;
    hooks: ScanHooks;
    named: (host: Host) => Host;
    onCheckpoint: (point: ResumePoint) => void;
  },
): { sink: EngineSink; settle(): Promise<void> } {
  const { pipeline, hooks, named } = context;
  const signalOption = hooks.signal ? { signal: hooks.signal } : {};
  const detector = options.serviceDetection
    ? createServiceDetector([...setup.builtinProbes.map((make) => make()), ...setup.userProbes], {
      intensity: options.versionIntensity ?? DEFAULT_INTENSITY,
      ...signalOption,
    })
    : undefined;
  const scripts = (setup.scripts ?? []).length === 0
    ? undefined
    : createScriptRunner(setup.scripts ?? [], {
      ...signalOption,
      ...(options.scriptTimeout === undefined ? {} : { timeoutMs: options.scriptTimeout }),
      onError: (message) => hooks.log(`portolan: ${escapeControls(message)}\n`),
    });
  const detecting = new Set<Promise<void>>();
  const detections = { started: 0, done: 0, hosts: new Map<string, Host>(), reporting: false };
  const sink: EngineSink = {
    result(_hostIndex: bigint, target: Host, result: PortResult): void {
      const wanted = result.state === "open" ||
        (result.protocol === "udp" && result.state === "open|filtered");
      const probing = wanted && (detector !== undefined || scripts !== undefined);
      // Most verdicts of a wide scan: silence, which the router only counts (no names needed).
      if (!probing && isSilent(result)) return pipeline.port(result);
      const host = named(target);
      if (result.state === "open") hooks.found?.(result, host);
      if (!probing) return pipeline.port(result, host);
      // The port is reported once, with its service and scripts, when they end.
      detections.started++;
      detections.hosts.set(host.address, host);
      const task = (detector?.detect(result) ?? Promise.resolve(result))
        .then((found) => scripts?.run(found) ?? found)
        .then((found) => {
          pipeline.port(found, host);
          detections.done++;
          if (detections.reporting) hooks.progress(detections.done, detections.started);
        });
      detecting.add(task);
      task.finally(() => detecting.delete(task));
    },
    progress: hooks.progress,
    checkpoint: context.onCheckpoint,
  };
  return {
    sink,
    async settle(): Promise<void> {
      if (detections.started > 0) {
        // nmap's "Service scan" phase: what is left of detection once the ports are known.
        const [one] = detections.hosts.values();
        hooks.phase?.(phaseInfo.services(detections.started, detections.hosts.size, one));
        detections.reporting = true;
        hooks.progress(detections.done, detections.started);
      }
      await Promise.all(detecting);
    },
  };
}

/** Run the scan; resolves once every output is written. */
export async function runScan(
  options: ScanOptions,
  setup: ScanSetup,
  hooks: ScanHooks,
): Promise<ScanOutcome> {
  const { targets, modes, timing, previous } = setup;
  const start = previous ? new Date(previous.report.start) : new Date();
  const seed = previous ? BigInt(previous.seed) : options.seed ?? randomSeed();
  const phases = options.pingOnly ? [] : phasesOf(options, modes, setup.ports);
  const pipeline = await scanPipeline(options, setup, { phases, start });
  if (previous !== undefined) pipeline.replay(previous.report);

  const folded = previous?.upHosts === undefined && foldDiscovery(options, modes, setup.ports);
  if (options.verbose > 0) {
    announce(hooks, { folded, phases, seed, timing, discovery: modes.discovery });
  }
  const signal = hooks.signal;
  const signalOption = signal ? { signal } : {};
  const runOptions = { ...signalOption, ...(hooks.trace ? { trace: hooks.trace } : {}) };
  let names: HostNames = noNames();
  const resolveNames = async (hosts: readonly Host[]): Promise<void> => {
    if (!wantsNames(options) || hosts.length === 0) return;
    hooks.phase?.(phaseInfo.dns(hosts.length));
    names = await lookUpNames(options, hosts, signalOption);
  };
  let probes = previous?.report.stats.probes ?? 0;
  let retries = previous?.report.stats.retries ?? 0;
  let hostsDown = previous?.report.stats.hostsDown ?? 0;
  let receiverDrops = previous?.report.stats.receiverDrops;
  let sendRate = previous?.report.stats.sendRate ?? 0;
  const count = (stats: EngineStats): void => {
    probes += stats.probes;
    retries += stats.retries;
    sendRate = Math.max(sendRate, stats.sendRate);
    const drops = (stats as Partial<EngineStats>).receiverDrops;
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
    const hosts = upHosts.flatMap((address) => byAddress.get(address) ?? []);
    restrictTo(hosts);
    await resolveNames(options.resolveAll ? targetHosts(targets) : hosts);
  } else if (modes.discovery !== "none" && targets.size > 0n && !folded) {
    hooks.phase?.(phaseInfo.discovery(targets.size));
    const { up, stats } = await discover(options, modes, {
      targets,
      timing,
      seed,
      progress: hooks.progress,
      ...runOptions,
    });
    count(stats);
    // nmap names the hosts found up; -R names every target.
    await resolveNames(options.resolveAll ? targetHosts(targets) : up.map((entry) => entry.host));
    for (const entry of up) entry.host = names.named(entry.host);
    hostsDown = reportDiscovery(options, { up, targets, pipeline, named: (h) => names.named(h) });
    restrictTo(up.map((entry) => entry.host));
    // Only a finished discovery can be trusted to resume from.
    if (!signal?.aborted) upHosts = up.map((entry) => entry.host.address);
  } else if (targets.size > 0n) {
    // Without a discovery of its own every host counts as up: all are named.
    await resolveNames(targetHosts(targets));
    if (options.pingOnly || options.skipDiscovery) {
      takeAsUp(options, targets, pipeline, (host) => names.named(host));
    }
  }

  const results = resultSink(options, setup, {
    pipeline,
    hooks,
    named: (host) => names.named(host),
    onCheckpoint: (at) => {
      point = at;
    },
  });
  const sink = results.sink;

  let interrupted = signal?.aborted ?? false;
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
    hooks.phase?.(phaseInfo.portScan(phase.type, {
      hosts: scanHosts,
      ports: phase.ports.length,
      ...(scanTargets.size === 1n ? { one: names.named(scanTargets.at(0n)) } : {}),
    }));
    const stats = await phase.engine.run(plan, sink, runOptions);
    count(stats);
    if (options.verbose > 0) {
      const drops = (stats as Partial<EngineStats>).receiverDrops;
      hooks.log(
        `portolan: ${phase.engine.name}: ${stats.probes} probes, ${stats.retries} retries, ${stats.backoffs} backoffs, peak ${stats.peakInFlight} in flight${
          drops !== undefined ? `, receiver drops ${drops}` : ""
        }\n`,
      );
    }
    interrupted = signal?.aborted ?? false;
  }
  await results.settle();
  hooks.settled?.();
  interrupted = signal?.aborted ?? false;

  const { report, errors } = await pipeline.finish(
    {
      probes,
      retries,
      hostsTotal: Number(targets.size),
      ...(folded ? { unansweredDown: true } : { hostsDown }),
      ...(receiverDrops !== undefined ? { receiverDrops } : {}),
      ...(probes > 0 ? { sendRate } : {}),
    },
    { interrupted },
  );
  return { report, errors, interrupted, seed, upHosts, phase: phaseIndex, point };
}
