/**
 * The command: parse, validate everything that can be validated before a
 * packet leaves, then discover hosts, scan, and report.
 *
 * @module
 */

import { tableChunks, type TableOptions } from "../output/table.ts";
import type { ScanReport } from "../model/mod.ts";
import { createProgress } from "../output/progress.ts";
import { checkOutputPaths, checkWritable, type StdoutSink } from "../output/writer.ts";
import {
  buildCollectedTargetSet,
  listTargets,
  SpecCollector,
  splitExcludeList,
} from "../targets/mod.ts";
import { escapeControls } from "../plugin/format.ts";
import { readServiceNames } from "../plugin/names.ts";
import { type LoadedOutputPlugin, mergeOutputPlugins } from "../plugin_host/loader.ts";
import { type BuiltinPlugins, NO_BUILTINS } from "../plugin_host/registry.ts";
import type { Sandbox } from "../plugin_host/sandbox.ts";
import type { OutputPlugin } from "../plugin/types.ts";
import {
  makeOutput,
  optionDefaults,
  type OutputOptions,
  typedOptions,
} from "../plugin_host/output_options.ts";
import { DEFAULT_INTENSITY, intensityTimings } from "../service/detect.ts";
import { defaultDbPath, type HistoryDb, normalizeTargetSpec, openHistory } from "../store/mod.ts";
import type { PlannedOutput } from "../scan/pipeline.ts";
import { buildTiming, resolveModes, selectPorts } from "../scan/plan.ts";
import { runScan, type ScanOutcome, type ScanSetup } from "../scan/scan.ts";
import { mergeReports } from "../scan/merge.ts";
import { rateCeiling } from "../engine/mod.ts";
import { VERSION } from "../version.ts";
import { type CliOptions, parseArgs } from "./args.ts";
import { readTargetList } from "./target_list.ts";
import { HELP } from "./help.ts";
import { runDiff, runHistory } from "./history.ts";
import type { CliIo } from "./io.ts";
import {
  checkResumePlan,
  defaultResumePath,
  readResumeState,
  type ResumeState,
  writeResumeState,
} from "./resume.ts";
import { quietExitCode } from "./quiet_exit.ts";
import { UsageError } from "./usage_error.ts";
import { AGGRESSIVE_NOTE, planScripts } from "./scripts.ts";
import { resolveUserPaths, userDirectory, userPath } from "./user_paths.ts";
import { createChatter, notices, timingReport } from "./verbose.ts";

export type { CliIo } from "./io.ts";

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
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) return undefined; // no --allow-env
        throw error;
      }
    },
    cwd(): string | undefined {
      try {
        return Deno.cwd();
      } catch (error) {
        // No --allow-read, or the folder was removed under us.
        if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.NotFound) {
          return undefined;
        }
        throw error;
      }
    },
    // From source the user runs the task; a compiled binary is run by its name.
    command: Deno.build.standalone ? "portolan" : "deno task scan",
    ...(signal ? { signal } : {}),
  };
}

/** Run the command with `args`; resolves to the exit code. Never throws. */
export async function runCli(
  args: readonly string[],
  io: CliIo,
  options: RunCliOptions = {},
): Promise<number> {
  try {
    return await run(args, io, options.builtins ?? NO_BUILTINS);
  } catch (error) {
    const quiet = quietExitCode(error, io.signal);
    if (quiet !== undefined) return quiet;
    // One line, controls made visible: messages quote arguments, file lines and plugin errors.
    io.stderr(`portolan: ${oneLine(error)}\n`);
    if (error instanceof UsageError) {
      if (error.exitCode === 2) io.stderr("Try 'portolan --help' for usage.\n");
      return error.exitCode;
    }
    return 1;
  }
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /**
   * The built-in plugins (main.ts passes plugins/mod.ts's `builtinPlugins`);
   * without them only the plugins a user loads exist.
   */
  builtins?: BuiltinPlugins;
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

/** Load each --plugin file into a sandbox of its own; see {@link planOutputs}. */
async function loadPluginFiles(
  paths: readonly string[],
  context: {
    sandboxes: Sandbox[];
    io: CliIo;
    loaded: LoadedOutputPlugin[];
    intensity: number;
    serviceDetection: boolean;
  },
): Promise<void> {
  const { sandboxes, io, loaded, intensity } = context;
  // Imported here: the sandbox's machinery is loaded only by a run with --plugin.
  const { failedSandbox, loadSandboxedPlugins, PluginFailedError } = await import(
    "../plugin_host/sandbox.ts"
  );
  for (const path of paths) {
    try {
      const sandbox = await loadSandboxedPlugins(path, {
        readTimeoutMs: intensityTimings(intensity).probeWaitMs,
        onError: (message) => io.stderr(`portolan: ${oneLine(message)}\n`),
      });
      sandboxes.push(sandbox);
      loaded.push(...sandbox.outputs);
      if (sandbox.probes.length > 0 && !context.serviceDetection) {
        io.stderr(
          `portolan: warning: "${path}" holds probe plugins; they run only with -sV\n`,
        );
      }
    } catch (error) {
      if (!(error instanceof PluginFailedError)) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
      io.stderr(`portolan: ${oneLine(error)}; going on without it\n`);
      sandboxes.push(failedSandbox(error.message));
    }
  }
}

/**
 * Load --plugin modules (each in its own sandbox) and make every output's
 * plugin. A file that is no plugin is a usage error; a plugin that hangs,
 * exits or crashes while loading is told in one line and the scan goes on
 * without it (its `--output`s too), the run failing at the end. `sandboxes`
 * are closed by the caller once the outputs are done.
 */
async function planOutputs(
  options: CliOptions,
  context: { sandboxes: Sandbox[]; io: CliIo; builtins: BuiltinPlugins },
): Promise<PlannedOutput[]> {
  const { sandboxes } = context;
  const loaded: LoadedOutputPlugin[] = [];
  const intensity = options.versionIntensity ?? DEFAULT_INTENSITY;
  if (options.plugins.length > 0) {
    await loadPluginFiles(options.plugins, {
      ...context,
      loaded,
      intensity,
      serviceDetection: options.serviceDetection,
    });
  }
  let registry: Map<string, () => OutputPlugin>;
  try {
    registry = mergeOutputPlugins(context.builtins.outputs, loaded);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  // An output no loaded plugin has may be the failed plugin's: it goes with it.
  const failed = sandboxes.some((sandbox) => sandbox.failure !== undefined);
  const wanted = options.outputs.filter(({ format }) => !failed || registry.has(format));
  return wanted.map(({ format, path, options: given }) => {
    const factory = registry.get(format);
    if (factory === undefined) {
      const names = [...registry.keys()].sort().join(", ");
      throw new UsageError(
        `Cannot use --output "${format}:${path}": no output plugin named "${format}" (available: ${names})`,
      );
    }
    // Typed by the factory's defaults: an unknown key or a bad value is a usage error.
    let typed: OutputOptions | undefined;
    try {
      typed = given === undefined
        ? undefined
        : typedOptions(format, given, optionDefaults(factory));
    } catch (error) {
      throw asUsage(error);
    }
    try {
      return { plugin: makeOutput(factory, typed), path };
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

async function run(
  commandArgs: readonly string[],
  io: CliIo,
  builtins: BuiltinPlugins,
): Promise<number> {
  if (commandArgs[0] === "history") return await runHistory(commandArgs.slice(1), io);
  if (commandArgs[0] === "diff") return await runDiff(commandArgs.slice(1), io);
  if (commandArgs[0] === "merge") return await runMerge(commandArgs.slice(1), { io, builtins });
  let args = commandArgs;
  let options = parseArgs(args);
  let base = userDirectory((name) => io.env(name), () => io.cwd?.());
  let resumed: { state: ResumeState; path: string } | undefined;
  if (options.resume !== undefined) {
    const given = options.resume;
    const path = userPath(given, base);
    const others = args.filter((arg) =>
      arg !== "--resume" && arg !== given && arg !== `--resume=${given}`
    );
    if (others.length > 0) {
      throw new UsageError(
        `Cannot use ${others[0]} with --resume: a resumed scan goes on with its own options`,
      );
    }
    const state = await usageStep(() =>
      readResumeState(path, io.signal === undefined ? {} : { signal: io.signal })
    );
    args = state.args;
    // Its paths are where the first run's user stood.
    base = state.cwd ?? base;
    options = resolveUserPaths(await usageStep(() => parseArgs(state.args)), base);
    // Interrupted again, it leaves its state where it found it.
    options.resumeFile ??= path;
    resumed = { state, path };
  } else {
    options = resolveUserPaths(options, base);
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
    const code = await runPlanned(options, io, { args, resumed, sandboxes, base, builtins });
    // A plugin whose sandbox had to be ended fails the run, whatever else went well.
    return code === 0 && sandboxes.some((sandbox) => sandbox.failure !== undefined) ? 1 : code;
  } finally {
    await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
  }
}

async function runPlanned(
  options: CliOptions,
  io: CliIo,
  context: {
    args: readonly string[];
    resumed: { state: ResumeState; path: string } | undefined;
    sandboxes: Sandbox[];
    /** Where the command line's relative paths start (recorded in a resume state). */
    base: string | undefined;
    builtins: BuiltinPlugins;
  },
): Promise<number> {
  const { args, resumed } = context;
  const modes = options.listOnly
    ? { udp: false, discovery: "none" as const }
    : resolveModes(options);
  const ports = options.listOnly || options.pingOnly
    ? { tcp: [], udp: [] }
    : await usageStep(() => selectPorts(options, modes, io.stderr));
  const timing = await usageStep(() => buildTiming(options));
  const { builtins } = context;
  const outputs = await planOutputs(options, { sandboxes: context.sandboxes, io, builtins });
  const scripts = planScripts(options, context.sandboxes.flatMap((sandbox) => sandbox.scripts), {
    builtins: builtins.scripts,
  });
  if (options.aggressive) io.stderr(AGGRESSIVE_NOTE);
  await usageStep(() =>
    checkOutputPaths(options.outputs, {
      ...(options.noDb ? {} : { db: () => options.db ?? defaultDbPath((name) => io.env(name)) }),
    })
  );
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
  // Lists stream into merged ranges: a million-line -iL costs no memory per line. A scan
  // keeps the specs for the history's record of its targets; a listing (-sL) needs none.
  const collected = new SpecCollector();
  const specs = [...options.targets];
  await usageStep(() => options.targets.forEach((spec) => collected.add(spec)));
  if (options.inputList !== undefined) {
    const keep = !options.listOnly;
    await usageStep(() =>
      readTargetList(options.inputList!, {
        onSpec: (spec) => {
          collected.add(spec);
          if (keep) specs.push(spec);
        },
        signal: io.signal,
      })
    );
  }
  const exclude = new SpecCollector();
  await usageStep(() => {
    for (const spec of options.exclude.flatMap(splitExcludeList)) exclude.add(spec);
    if (!options.noDefaultExclude) DEFAULT_EXCLUDES.forEach((spec) => exclude.add(spec));
  });
  if (options.excludeFile !== undefined) {
    await usageStep(() =>
      readTargetList(options.excludeFile!, {
        onSpec: (spec) => exclude.add(spec),
        signal: io.signal,
      })
    );
  }
  if (collected.count === 0) {
    throw new UsageError(
      options.inputList === undefined
        ? "No targets given (see --help)"
        : `No targets in "${options.inputList}"`,
    );
  }
  const targets = await usageStep(() =>
    buildCollectedTargetSet(collected, {
      exclude,
      family: options.family ?? "any",
      onUnresolved: (name) => io.stderr(`portolan: warning: Failed to resolve "${name}"\n`),
    })
  );

  if (resumed !== undefined) {
    // The state against the scan its own command line plans, before anything is touched.
    await usageStep(() =>
      checkResumePlan(resumed.state, resumed.path, {
        phasePorts: options.listOnly || options.pingOnly ? [] : [
          ...(modes.tcp === undefined ? [] : [ports.tcp.length]),
          ...(modes.udp ? [ports.udp.length] : []),
        ],
        targets,
        discovery: modes.discovery !== "none",
      })
    );
  }
  if (options.listOnly) {
    await listTargets(targets, (chunk) => io.stdout(chunk), {
      ...(io.signal ? { signal: io.signal } : {}),
    });
    return io.signal?.aborted ? 130 : 0;
  }
  if (targets.size === 0n) {
    io.stderr("portolan: warning: no targets left to scan after exclusions and resolution\n");
  }
  // A sweep across many hosts gets a default ceiling, said once before it starts.
  const ceiling = rateCeiling(targets.size, timing);
  timing.maxRate = ceiling.maxRate;
  if (ceiling.notice !== undefined) io.stderr(`portolan: ${ceiling.notice}\n`);
  await confirmLarge(options, io, targets.size, Math.max(1, ports.tcp.length + ports.udp.length));

  return await scan(options, io, {
    targets,
    modes,
    ports,
    userProbes: context.sandboxes.flatMap((sandbox) => sandbox.probes),
    builtinProbes: builtins.probes,
    scripts,
    timing,
    args,
    outputs,
    specs,
    ...(resumed ? { resumed } : {}),
    ...(context.base !== undefined ? { base: context.base } : {}),
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

async function scan(
  options: CliOptions,
  io: CliIo,
  setup: Omit<ScanSetup, "history" | "previous"> & {
    specs: readonly string[];
    resumed?: { state: ResumeState; path: string };
    base?: string;
  },
): Promise<number> {
  const { resumed } = setup;
  const color = io.stdoutIsTerminal && io.env("NO_COLOR") === undefined;
  const db = openDb(options, io);
  const progress = createProgress({ write: io.stderr, isTerminal: io.stderrIsTerminal });
  // nmap's running commentary goes to stdout, unless stdout carries a format.
  let said = Promise.resolve();
  const say = options.outputs.some((output) => output.path === "-")
    ? io.stderr
    : (text: string): void => {
      // Commentary only: a stdout that went away (a closed pipe) must not fail the scan.
      said = said.then(() => io.stdout(encoder.encode(text))).catch(() => {});
    };
  for (const line of notices(options)) io.stderr(line);
  if (options.debug > 0) say(timingReport(setup.timing));
  const chatter = createChatter(options, { say, trace: io.stderr, progress });
  let outcome: ScanOutcome;
  try {
    outcome = await runScan(options, {
      ...setup,
      stdout: stdoutSink(io),
      ...(db !== undefined ? { history: { db, targets: normalizeTargetSpec(setup.specs) } } : {}),
      ...(resumed !== undefined ? { previous: resumed.state } : {}),
    }, {
      // After the commentary queued before it: one order on a terminal or in one file.
      log: (text) => {
        said = said.then(() => progress.log(text));
      },
      progress: (done, total) => progress.update(done, total),
      settled: () => {
        chatter.settled();
        progress.stop();
      },
      phase: chatter.phase,
      ...(chatter.found ? { found: chatter.found } : {}),
      ...(chatter.trace ? { trace: chatter.trace } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } finally {
    chatter.settled();
    progress.stop();
    db?.close();
    await said;
  }
  const { report, errors, interrupted } = outcome;
  // A failed output (a user plugin that threw, say) costs only its own file.
  for (const error of errors) io.stderr(`portolan: ${oneLine(error)}\n`);

  if (!options.outputs.some((output) => output.path === "-")) {
    await writeTable(io, report, {
      color,
      // nmap's -vv shows the reasons too.
      reason: options.reason || options.verbose > 1,
      verbose: options.verbose > 0,
      serviceNames: await readServiceNames(),
      serviceDetection: options.serviceDetection,
    });
  }
  if (interrupted) {
    const path = options.resumeFile ?? defaultResumePath((name) => io.env(name));
    const { upHosts, phase, point, seed } = outcome;
    const resumable = upHosts !== undefined || options.skipDiscovery;
    const state: ResumeState = {
      format: "portolan-resume",
      version: 1,
      written: new Date().toISOString(),
      args: setup.args.filter((arg, i, all) => arg !== "--resume" && all[i - 1] !== "--resume"),
      ...(setup.base !== undefined ? { cwd: setup.base } : {}),
      seed: String(seed),
      ...(upHosts !== undefined ? { upHosts } : {}),
      ...(resumable && phase > 0 ? { phase } : {}),
      point: resumable ? point : { next: 0, done: [] },
      report,
    };
    try {
      await writeResumeState(path, state);
      io.stderr(
        `portolan: interrupted; the results are partial. Resume with: ${
          io.command ?? "portolan"
        } --resume ${path}\n`,
      );
    } catch (error) {
      io.stderr(
        `portolan: interrupted, and the resume state could not be saved: ${oneLine(error)}\n`,
      );
    }
    return 130;
  }
  if (resumed !== undefined) {
    // Finished: the state has served. Best effort: the results are whole and written, and a
    // state file left behind is not worth failing them for.
    await Deno.remove(resumed.path).catch(() => {});
  }
  return errors.length > 0 ? 1 : 0;
}

/** Options `portolan merge` takes besides its files: outputs, plugins, history, view. */
const MERGE_OPTIONS: ReadonlySet<keyof CliOptions> = new Set<keyof CliOptions>([
  "targets",
  "outputs",
  "plugins",
  "db",
  "noDb",
  "open",
  "reason",
  "verbose",
]);

/**
 * `portolan merge FILE... [-oJ|-oX|-oN|-oG|-oH FILE] [--output NAME:FILE]`:
 * the shard outputs of one scan as one report. The merged scan is recorded
 * only with an explicit `--db` (the shards may have recorded themselves).
 */
async function runMerge(
  args: readonly string[],
  context: { io: CliIo; builtins: BuiltinPlugins },
): Promise<number> {
  const { io, builtins } = context;
  const options = parseArgs(args);
  const defaults = parseArgs([]);
  for (const key of Object.keys(options) as (keyof CliOptions)[]) {
    if (MERGE_OPTIONS.has(key)) continue;
    if (JSON.stringify(options[key]) !== JSON.stringify(defaults[key])) {
      throw new UsageError(`Cannot use that option with merge: it takes files and outputs only`);
    }
  }
  const base = userDirectory((name) => io.env(name), () => io.cwd?.());
  resolveUserPaths(options, base);
  const files = options.targets.map((file) => userPath(file, base));
  if (files.length === 0) throw new UsageError("Cannot merge: no files given");
  const sandboxes: Sandbox[] = [];
  try {
    const outputs = await planOutputs(options, { sandboxes, io, builtins });
    const db = options.db !== undefined && !options.noDb ? openHistory(options.db) : undefined;
    let result;
    try {
      result = await mergeReports(files, {
        outputs,
        stdout: stdoutSink(io),
        openOnly: options.open,
        includeDown: options.verbose > 0,
        ...(db !== undefined ? { history: { db, targets: normalizeTargetSpec(files) } } : {}),
      });
    } finally {
      db?.close();
    }
    for (const error of result.errors) io.stderr(`portolan: ${oneLine(error)}\n`);
    if (!options.outputs.some((output) => output.path === "-")) {
      const color = io.stdoutIsTerminal && io.env("NO_COLOR") === undefined;
      await writeTable(io, result.report, {
        color,
        reason: options.reason,
        verbose: options.verbose > 0,
        serviceNames: await readServiceNames(),
      });
    }
    return result.errors.length > 0 ||
        sandboxes.some((sandbox) => sandbox.failure !== undefined)
      ? 1
      : 0;
  } finally {
    await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
  }
}

/** Where outputs to "-" go: the command's stdout, coloured as NO_COLOR and a terminal allow. */
function stdoutSink(io: CliIo): StdoutSink {
  const noColor = io.env("NO_COLOR");
  return {
    write: (bytes) => io.stdout(bytes),
    color: io.stdoutIsTerminal && (noColor === undefined || noColor === ""),
  };
}

/** The terminal table, written in pieces of about 64 KB: a large report is never one string. */
async function writeTable(io: CliIo, report: ScanReport, options: TableOptions): Promise<void> {
  let pending: string[] = [];
  let size = 0;
  for (const chunk of tableChunks(report, options)) {
    pending.push(chunk);
    size += chunk.length;
    if (size < 65_536) continue;
    await io.stdout(encoder.encode(pending.join("")));
    pending = [];
    size = 0;
  }
  if (pending.length > 0) await io.stdout(encoder.encode(pending.join("")));
}
