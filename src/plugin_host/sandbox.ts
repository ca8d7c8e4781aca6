/**
 * User plugins in a sandbox: `--plugin PATH` loads the module in a child
 * process that may read its own file and portolan's sources (to import the
 * plugin helpers) and nothing else: no network, no writes, no environment,
 * no subprocesses, no FFI. The child has its own V8 heap limit, its resident
 * memory is watched, and it is killed, whatever the plugin does, when it
 * crashes, exits, floods, spins or will not finish: a Worker cannot be
 * stopped mid-loop (`terminate()` leaves it spinning) and a Worker that
 * runs out of heap takes the whole process down.
 *
 * Starting the child needs permission to run Deno (the scan task grants
 * `--allow-run=deno`). Where that is missing (a compiled binary) the same
 * sandbox runs in a Worker with the same permissions and time limits, but
 * without the memory limit, and a spinning plugin costs a core until exit.
 *
 * Output plugins: events go in and text comes out by message; the parent
 * writes the text where the user asked, holding the plugin back while the
 * file or terminal catches up. A plugin that has not finished a grace
 * period after the scan's end is killed.
 *
 * Probe plugins: the parent owns the connection the detection engine made
 * and the sandbox gets a {@link ProbeConn} whose reads, writes and TLS
 * handshakes are requests to the parent; `greeting`, `tls`, `closed`,
 * `address` and `port` are mirrored. The probe's abort signal crosses too.
 * A match that comes back is rebuilt field by field (types checked, text
 * capped, TLS details taken from the real connection, never from the
 * plugin), and a probe that throws or never answers is no match. A sandbox
 * that stops answering (a plugin stuck in a loop) is ended and its probes
 * count as no match from then on.
 *
 * Script plugins run the same way as probes, on the engine's first
 * connection to the port (`context.connect()` has no other to give inside
 * the sandbox); what comes back is checked and capped by the script engine.
 *
 * Every message from the sandbox is checked before use: one of the wrong
 * shape ends the sandbox like a crash does.
 *
 * @module
 */

import { fromFileUrl, join, resolve } from "../path.ts";
import { DEFAULT_READ_BYTES, MAX_READ_BYTES } from "../service/conn.ts";
import { DEFAULT_INTENSITY, intensityTimings } from "../service/detect.ts";
import { clip, FIELD_CHARS } from "../plugin/text.ts";
import { probePluginProblem } from "./validate.ts";
import { dlopenLibc } from "../engine/libc.ts";
import type { LoadedOutputPlugin } from "./loader.ts";
import type {
  ProbeConn,
  ProbePlugin,
  ReadOptions,
  ServiceMatch,
  StartTlsOptions,
} from "../plugin/probe_types.ts";
import { encodeFrame, readFrames, writeAll } from "./sandbox_frames.ts";
import type {
  FromSandbox,
  ProbeInfo,
  ReadLimits,
  ScriptInfo,
  ToSandbox,
  WireRead,
} from "./sandbox_serve.ts";
import type { OutputPlugin, OutputWriter, ScanEvent } from "../plugin/types.ts";
import { checkedDefaults, type OutputOptions } from "./output_options.ts";
import type { OptionValue } from "../plugin/mod.ts";
import {
  type ScriptContext,
  type ScriptPlugin,
  scriptPluginProblem,
} from "../plugin/script_types.ts";

/** Plugins loaded into one sandbox, and the sandbox's off switch. */
export interface Sandbox {
  /** The file's output plugins (as {@link Sandbox.outputs}; the name older callers use). */
  plugins: LoadedOutputPlugin[];
  /** The file's output plugins, for `--output NAME:FILE`. */
  outputs: LoadedOutputPlugin[];
  /** The file's probe plugins, for the `-sV` engine; each `probe()` runs in the Worker. */
  probes: ProbePlugin[];
  /**
   * The file's script plugins, for `--script`/`-sC`; each `run()` runs in the
   * sandbox on the engine's first connection (`context.connect()` gives no other there).
   */
  scripts: ScriptPlugin[];
  /**
   * Why the sandbox had to be ended during the run (a crash, a hang, a bad
   * message), or undefined while all is well.
   */
  readonly failure: string | undefined;
  /** End the sandbox (after the outputs and probes are done); resolves once it is gone. */
  close(): Promise<void>;
}

/**
 * A plugin that misbehaved while loading (never finished, exited, crashed, broke
 * the protocol, ran out of memory), as opposed to a file that is no plugin
 * (not found, exports none, does not compile): the scan can go on without it.
 */
export class PluginFailedError extends Error {}

/** A sandbox in place of one that failed to load: it holds nothing and reports `failure`. */
export function failedSandbox(failure: string): Sandbox {
  return {
    plugins: [],
    outputs: [],
    probes: [],
    scripts: [],
    failure,
    close: () => Promise.resolve(),
  };
}

/** Options of {@link loadSandboxedPlugins}. */
export interface SandboxOptions {
  /** Directory a relative `path` is resolved from; default the current one. */
  cwd?: string;
  /**
   * Time budget, ms, of a plugin's read whose `until` is a function and
   * which names no `timeoutMs` (the only read the engine's own default
   * cannot reach). Default the probe wait of the default intensity.
   */
  readTimeoutMs?: number;
  /** How long an aborted probe's sandbox may take to acknowledge, ms, before it is ended. Default 2000. */
  unresponsiveMs?: number;
  /** How long loading may take, ms, before the sandbox is ended. Default 10000. */
  loadTimeoutMs?: number;
  /** How long an output plugin may take to finish after the scan's last event, ms. Default 5000. */
  graceMs?: number;
  /** V8 heap limit of the sandbox process, MiB. Default 512. */
  heapMb?: number;
  /** Resident memory of the sandbox process above which it is killed, MiB. Default 1024. */
  rssMb?: number;
  /** "process" (the default where Deno may be run) or "worker". */
  isolation?: "process" | "worker";
  /**
   * Told, once, when the sandbox had to be ended while no output of it was
   * running to carry the reason (each running output fails with it instead);
   * the file's plugins do nothing from then on.
   */
  onError?: (message: string) => void;
}

interface Session {
  out: OutputWriter;
  writing: Promise<void>;
  /** Characters handed to `out` and not yet written. */
  pending: number;
  finish: (error?: Error) => void;
}

interface ProbeSession {
  /** What runs on the connection: a probe's answer is a match, a script's its output. */
  kind: "probe" | "script";
  conn: ProbeConn;
  settle: (result: unknown) => void;
}

type ConnRequest = Extract<FromSandbox, { type: "conn" }>;

const ANY_CHUNK = (): boolean => true;

function finite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A read the Worker asked for, rebuilt from checked fields. */
function readOptions(wire: WireRead): ReadOptions {
  const options: ReadOptions = {};
  const maxBytes = finite(wire.maxBytes);
  const timeoutMs = finite(wire.timeoutMs);
  const idleMs = finite(wire.idleMs);
  if (maxBytes !== undefined) options.maxBytes = maxBytes;
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
  if (idleMs !== undefined) options.idleMs = idleMs;
  if (wire.anyChunk === true) options.until = ANY_CHUNK;
  else if (typeof wire.until === "string") options.until = wire.until;
  return options;
}

function tlsOptions(options: StartTlsOptions): StartTlsOptions {
  const clean: StartTlsOptions = {};
  if (Array.isArray(options.alpn)) {
    clean.alpn = options.alpn.filter((item): item is string => typeof item === "string")
      .slice(0, 16).map((item) => clip(item, 255));
  }
  if (typeof options.servername === "string") clean.servername = clip(options.servername, 255);
  return clean;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? clip(value, FIELD_CHARS) : undefined;
}

/**
 * A match from a sandboxed plugin, rebuilt from the fields a match may have
 * with the types they must have, text capped as the engine caps the
 * built-ins'. `tls` is the connection's own details (what the engine saw),
 * and only when the plugin did put the connection inside TLS.
 */
function sandboxedMatch(value: unknown, conn: ProbeConn): ServiceMatch | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.name !== "string" || record.name === "") return undefined;
  const match: ServiceMatch = { name: clip(record.name, 64) };
  for (
    const key of ["product", "version", "extraInfo", "hostname", "ostype", "devicetype"] as const
  ) {
    const field = text(record[key]);
    if (field !== undefined) match[key] = field;
  }
  if (Array.isArray(record.cpe)) {
    const cpes = record.cpe.filter((item): item is string => typeof item === "string")
      .slice(0, 8).map((item) => clip(item, 128));
    if (cpes.length > 0) match.cpe = cpes;
  }
  const http = record.http;
  if (typeof http === "object" && http !== null) {
    const fields = http as Record<string, unknown>;
    match.http = {
      status: Number.isInteger(fields.status) ? fields.status as number : 0,
      server: text(fields.server) ?? "",
      title: text(fields.title) ?? "",
    };
  }
  if (record.tls !== undefined && conn.tls !== undefined) match.tls = conn.tls;
  return match;
}

/** The parent's copy of a probe plugin description, checked. */
function probeInfo(info: ProbeInfo): ProbeInfo | string {
  const problem = probePluginProblem({ ...info, probe: ANY_CHUNK });
  if (problem !== undefined) return problem;
  return {
    name: info.name,
    description: info.description,
    exportName: info.exportName,
    protocols: [...info.protocols],
    ports: [...info.ports],
    ...(info.tlsPorts === undefined ? {} : { tlsPorts: [...info.tlsPorts] }),
    rarity: info.rarity,
    passive: info.passive,
  };
}

/** The parent's copy of a script plugin description, checked. */
function scriptInfo(info: ScriptInfo): ScriptInfo | string {
  const problem = scriptPluginProblem({ ...info, run: ANY_CHUNK });
  if (problem !== undefined) return problem;
  return {
    name: info.name,
    description: info.description,
    exportName: info.exportName,
    categories: [...info.categories],
    ports: [...info.ports],
    services: [...info.services],
    ...(info.tls === undefined ? {} : { tls: info.tls }),
    ...(info.allPorts === undefined ? {} : { allPorts: info.allPorts }),
  };
}

/** How a proxy runs a probe or script in the sandbox (see `runInSandbox` of {@link SandboxHost}). */
type SandboxRun = (
  kind: "probe" | "script",
  name: string,
  conn: ProbeConn,
  signal: AbortSignal,
  extra?: { target?: ScriptContext["target"]; certificate?: Uint8Array },
) => Promise<unknown>;

/** The parent's stand-in for a sandboxed script: `run` crosses to the sandbox. */
function scriptProxy(info: ScriptInfo, runInSandbox: SandboxRun): ScriptPlugin {
  return {
    name: info.name,
    description: info.description,
    categories: info.categories,
    ports: info.ports,
    services: info.services,
    ...(info.tls === undefined ? {} : { tls: info.tls }),
    ...(info.allPorts === undefined ? {} : { allPorts: info.allPorts }),
    async run(
      conn: ProbeConn,
      context: ScriptContext,
    ): Promise<readonly string[] | string | undefined> {
      const certificate = context.peerCertificate();
      const result = await runInSandbox("script", info.name, conn, context.signal, {
        target: context.target,
        ...(certificate === undefined ? {} : { certificate }),
      });
      if (result instanceof Error) throw result;
      return result as readonly string[] | string | undefined;
    },
  };
}

/**
 * Load the output and probe plugins of `path` into a fresh sandbox.
 *
 * @throws {Error} one line naming the file as the user typed it, as
 * {@link ./loader.ts loadPlugins} words it, e.g.
 * `Cannot load plugin "x.ts": it exports no output plugin factory (…), no probe plugin factory (…) and no script plugin factory (…)`,
 * or `Cannot load plugin "x.ts": the sandbox is unavailable (…)`.
 *
 * @example
 * ```ts ignore
 * import { loadSandboxedPlugins } from "./sandbox.ts";
 * import { createServiceDetector } from "../service/detect.ts";
 * import { probePlugins } from "../../plugins/mod.ts";
 *
 * const sandbox = await loadSandboxedPlugins("examples/probe_gopher.ts");
 * const detector = createServiceDetector([
 *   ...probePlugins.map((make) => make()),
 *   ...sandbox.probes,
 * ]);
 * // … detector.detect(port) for each open port …
 * sandbox.close();
 * ```
 */
export function loadSandboxedPlugins(
  path: string,
  options: SandboxOptions = {},
): Promise<Sandbox> {
  return loadSandbox(path, "any", options);
}

/**
 * Load the output plugins of `path` into a fresh sandbox; a file with none
 * is an error, even when it has probe plugins (use {@link loadSandboxedPlugins}).
 */
export function loadSandboxedOutputPlugins(
  path: string,
  options: SandboxOptions = {},
): Promise<Sandbox> {
  return loadSandbox(path, "output", options);
}

/**
 * A plugin's import the sandbox may not read is reported by Deno as a missing
 * permission; the scanner, which may read it, says what is really wrong:
 * the module is not there, or it is outside what a plugin may read.
 */
async function explainImport(message: string): Promise<string> {
  const missing = /import failed: Module not found "(?:file:\/\/)?([^"]+)".*$/.exec(message);
  if (missing !== null) {
    return message.slice(0, missing.index) + `module "${decodeURI(missing[1]!)}" not found`;
  }
  const denied = /import failed: Requires read access to "([^"]+)".*$/.exec(message);
  if (denied === null) return message;
  const module = denied[1]!;
  let why: string;
  try {
    await Deno.stat(module);
    why = `it imports "${module}", which a plugin may not read ` +
      "(only its own file and portolan's src/)";
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return message;
    why = `module "${module}" not found`;
  }
  return message.slice(0, denied.index) + why;
}

/** A way to the sandbox: a child process or a Worker. */
interface Channel {
  /** Send, in order; resolves once the message is written (a process) or posted (a Worker). */
  post(message: ToSandbox, transfer?: Transferable[]): Promise<void>;
  /** End the sandbox; resolves once its process, socket and files are gone. */
  close(): Promise<void>;
}

/** What a channel tells the parent. */
interface ChannelHandlers {
  /** A message, unchecked; the next is not read before a returned promise settles. */
  message(data: unknown): Promise<void> | void;
  /** The sandbox is gone or broke the protocol; `why` completes "Plugin … stopped: ". */
  ended(why: string): void;
}

/** Largest characters of text from one output the parent holds before it stops reading. */
const HIGH_WATER_CHARS = 4 * 1024 * 1024;
/** How often the sandbox process's resident memory is looked at, ms. */
const RSS_POLL_MS = 200;

/** The Deno to run the sandbox with, or undefined when none may be run. */
function sandboxExecutable(): string | undefined {
  if (Deno.build.standalone) return undefined;
  let self: string | undefined;
  try {
    self = Deno.execPath();
  } catch (error) {
    // Without read permission the running binary cannot be named; "deno" may still be allowed.
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  for (const command of self === undefined ? ["deno"] : [self, "deno"]) {
    try {
      if (Deno.permissions.querySync({ name: "run", command }).state === "granted") {
        return command;
      }
    } catch {
      // Deno refuses a query it cannot ask (an empty name, say) with a plain Error, no
      // class to tell it by; whatever the reason, that command is not one to run.
    }
  }
  return undefined;
}

function describeExit(status: Deno.CommandStatus): string {
  if (status.signal === "SIGKILL") return "its process was killed";
  if (status.signal === "SIGTRAP" || status.signal === "SIGABRT") {
    return `its process crashed (${status.signal}; out of memory?)`;
  }
  if (status.signal !== null) return `its process ended on ${status.signal}`;
  return `its process exited (code ${status.code})`;
}

/**
 * A reader of a process's resident bytes, or undefined without FFI. Deno
 * reads another process's /proc entries only with --allow-all, which the
 * scanner does not have; libc's open/read do it with the FFI it has.
 */
function rssReader(): ((pid: number) => number) | undefined {
  const libc = dlopenLibc({
    open: { parameters: ["buffer", "i32"], result: "i32" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  });
  if (libc === undefined) return undefined;
  const buffer = new Uint8Array(256);
  return (pid: number): number => {
    const fd = libc.symbols.open(new TextEncoder().encode(`/proc/${pid}/statm\0`), 0);
    if (fd < 0) return 0;
    const got = Number(libc.symbols.read(fd, buffer, BigInt(buffer.length)));
    libc.symbols.close(fd);
    if (got <= 0) return 0;
    // "size resident shared …", in pages.
    const pages = Number(new TextDecoder().decode(buffer.subarray(0, got)).split(" ")[1]);
    return Number.isFinite(pages) ? pages * 4096 : 0;
  };
}

/** The sandbox as a child process, connected by a Unix socket in a private directory. */
async function openProcessChannel(
  absolute: string,
  setup: { executable: string; heapMb: number; rssMb: number; handlers: ChannelHandlers },
): Promise<Channel> {
  const { handlers } = setup;
  const src = fromFileUrl(new URL("../", import.meta.url));
  if (absolute.includes(",") || src.includes(",")) {
    // Permission lists are comma-separated: such a path cannot be granted alone.
    throw new Error("the path holds a comma");
  }
  const dir = await Deno.makeTempDir({ prefix: "portolan-sandbox-" });
  const socket = join(dir, "s");
  let listener: Deno.UnixListener | undefined;
  let child: Deno.ChildProcess | undefined;
  let conn: Deno.UnixConn | undefined;
  let ended = false;
  let watch: ReturnType<typeof setInterval> | undefined;
  let reading: Promise<void> = Promise.resolve();
  const end = (why: string): void => {
    if (ended) return;
    ended = true;
    handlers.ended(why);
  };
  const kill = (): void => {
    try {
      child?.kill("SIGKILL");
    } catch (error) {
      // Already gone: Deno says so with a TypeError.
      if (!(error instanceof TypeError)) throw error;
    }
  };
  async function close(): Promise<void> {
    ended = true;
    clearInterval(watch);
    kill();
    try {
      listener?.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error; // closed already
    }
    try {
      conn?.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error; // closed already
    }
    await child?.status;
    await reading;
    // Best effort: the directory is usually gone already (removed once connected).
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  try {
    listener = Deno.listen({ transport: "unix", path: socket });
    child = new Deno.Command(setup.executable, {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--no-config",
        "--no-lock",
        "--no-remote",
        "--no-npm",
        `--v8-flags=--max-old-space-size=${setup.heapMb}`,
        `--allow-read=${absolute},${src},${socket}`,
        `--allow-write=${socket}`,
        `--allow-net=unix:${socket}`,
        // For prctl alone; the sandbox drops it before the plugin loads.
        "--allow-ffi",
        fromFileUrl(new URL("./sandbox_process.ts", import.meta.url)),
        socket,
        String(Deno.pid),
      ],
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const started = child;
    const accepted = await Promise.race([
      listener.accept(),
      started.status.then(() => undefined),
    ]);
    listener.close();
    listener = undefined;
    if (accepted === undefined) throw new Error("its process ended before it started");
    conn = accepted;
    // Connected: the socket's directory has served, and a killed scanner leaves nothing behind.
    // Best effort: a directory left in the temp folder costs nothing worth failing the load for.
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    // From here on the sandbox runs the plugin: its end, or its memory, is the plugin's doing.
    void started.status.then((status) => end(describeExit(status)));
    const rssLimit = setup.rssMb * 1024 * 1024;
    const rss = rssReader();
    const interval = setInterval(() => {
      if (rss === undefined || rss(started.pid) <= rssLimit) return;
      end(`its process used more than ${setup.rssMb} MiB of memory`);
      kill();
    }, RSS_POLL_MS);
    watch = interval;
    Deno.unrefTimer(interval);
    const open = accepted;
    reading = (async (): Promise<void> => {
      let why = "its process closed the connection";
      try {
        for await (const message of readFrames(open)) {
          if (ended) break;
          await handlers.message(message);
        }
      } catch (error) {
        why = `it sent ${error instanceof Error ? error.message : String(error)}`;
      }
      if (ended) return;
      // An end of the socket is usually the process ending: say how it ended.
      const status = await Promise.race([
        started.status,
        new Promise<undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), 500);
          Deno.unrefTimer(timer);
        }),
      ]);
      end(status === undefined ? why : describeExit(status));
      kill();
    })();
  } catch (error) {
    await close();
    throw error;
  }
  let chain: Promise<void> = Promise.resolve();
  const open = conn;
  return {
    post(message: ToSandbox): Promise<void> {
      if (ended) return Promise.resolve();
      const frame = encodeFrame(message);
      chain = chain.then(() => writeAll(open, frame)).catch(() => {
        // A write to a sandbox that died; its end is reported by the process status.
      });
      return chain;
    },
    close,
  };
}

/** The sandbox as a Worker, where no process can be started. */
function openWorkerChannel(absolute: string, handlers: ChannelHandlers): Channel {
  const worker = new Worker(new URL("./sandbox_worker.ts", import.meta.url).href, {
    type: "module",
    deno: {
      permissions: {
        // Its own file, and portolan's own sources so it can import the plugin helpers.
        read: [absolute, fromFileUrl(new URL("../", import.meta.url))],
        write: false,
        net: false,
        env: false,
        run: false,
        ffi: false,
        sys: false,
        import: false,
      },
    },
  });
  worker.onmessage = (event: MessageEvent<unknown>): void => void handlers.message(event.data);
  worker.onmessageerror = (): void => handlers.ended("it sent a message that does not decode");
  worker.onerror = (event: ErrorEvent): void => {
    event.preventDefault();
    handlers.ended(`it failed: ${event.message}`);
  };
  return {
    post(message: ToSandbox, transfer: Transferable[] = []): Promise<void> {
      worker.postMessage(message, transfer);
      return Promise.resolve();
    },
    close(): Promise<void> {
      worker.terminate();
      return Promise.resolve();
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

function isPluginInfo(value: unknown): boolean {
  return isRecord(value) && typeof value.name === "string" &&
    typeof value.description === "string" && typeof value.exportName === "string" &&
    (value.defaults === undefined || checkedDefaults(value.defaults) !== undefined);
}

/** `data` as a message from the sandbox, when it has the shape one must have. */
function checkedMessage(data: unknown): FromSandbox | undefined {
  if (!isRecord(data) || typeof data.type !== "string") return undefined;
  const ok = ((): boolean => {
    switch (data.type) {
      case "loaded":
        return Array.isArray(data.plugins) && data.plugins.every(isPluginInfo) &&
          Array.isArray(data.probes) && data.probes.every(isPluginInfo) &&
          Array.isArray(data.scripts) && data.scripts.every(isPluginInfo);
      case "load-error":
        return typeof data.message === "string";
      case "write":
        return isId(data.id) && typeof data.text === "string";
      case "done":
      case "probe-aborted":
        return isId(data.id);
      case "error":
      case "probe-error":
      case "script-error":
        return isId(data.id) && typeof data.message === "string";
      case "probe-done":
      case "script-done":
        return isId(data.id);
      case "conn":
        return isId(data.id) && isId(data.call) && (
          (data.op === "read" && isRecord(data.read)) ||
          (data.op === "write" &&
            (typeof data.data === "string" || data.data instanceof Uint8Array)) ||
          (data.op === "startTls" && isRecord(data.options))
        );
      default:
        return false;
    }
  })();
  return ok ? data as FromSandbox : undefined;
}

async function loadSandbox(
  path: string,
  need: "output" | "any",
  options: SandboxOptions,
): Promise<Sandbox> {
  const host = new SandboxHost(path, options);
  await host.open();
  return await host.load(need);
}

/** What a script's run carries beside its connection. */
interface RunExtra {
  target?: ScriptContext["target"];
  certificate?: Uint8Array;
}

/**
 * One sandbox seen from the parent: the channel to it, the outputs and the
 * probe and script runs in flight, and how it ends. {@link loadSandbox}
 * opens it, loads the file into it, and hands out proxies whose work
 * crosses to it.
 */
class SandboxHost {
  readonly #path: string;
  readonly #absolute: string;
  readonly #options: SandboxOptions;
  readonly #limits: ReadLimits;
  readonly #unresponsiveMs: number;
  readonly #graceMs: number;
  readonly #loadTimeoutMs: number;
  readonly #sessions = new Map<number, Session>();
  readonly #probeSessions = new Map<number, ProbeSession>();
  /** Aborted probes whose acknowledgement is awaited, and the timer that gives up. */
  readonly #watchdogs = new Map<number, ReturnType<typeof setTimeout>>();
  #nextId = 1;
  #dead: string | undefined;
  #failure: string | undefined;
  #onLoad: ((message: FromSandbox) => void) | undefined;
  #channel: Channel | undefined;
  #closing: Promise<void> | undefined;
  /** Set when loading ended by what the plugin did, not by what its file is. */
  #misbehaved = false;

  constructor(path: string, options: SandboxOptions) {
    this.#path = path;
    this.#options = options;
    this.#absolute = resolve(options.cwd ?? Deno.cwd(), path);
    this.#limits = {
      maxBytes: MAX_READ_BYTES,
      defaultBytes: DEFAULT_READ_BYTES,
      timeoutMs: options.readTimeoutMs ?? intensityTimings(DEFAULT_INTENSITY).probeWaitMs,
    };
    this.#unresponsiveMs = options.unresponsiveMs ?? 2000;
    this.#graceMs = options.graceMs ?? 5000;
    this.#loadTimeoutMs = options.loadTimeoutMs ?? 10_000;
  }

  #post(message: ToSandbox, transfer: Transferable[] = []): void {
    if (this.#dead === undefined) void this.#channel?.post(message, transfer);
  }

  #closeChannel(): Promise<void> {
    this.#closing ??= this.#channel?.close() ?? Promise.resolve();
    return this.#closing;
  }

  /** End the sandbox: every output fails with `reason`, every probe is no match. */
  #kill(reason: string): void {
    if (this.#dead !== undefined) return;
    this.#dead = reason;
    void this.#closeChannel();
    for (const timer of this.#watchdogs.values()) clearTimeout(timer);
    this.#watchdogs.clear();
    for (const session of [...this.#probeSessions.values()]) session.settle(undefined);
    for (const session of this.#sessions.values()) session.finish(new Error(reason));
  }

  /** End a sandbox that misbehaved, and say so once: through its running outputs, or `onError`. */
  #fail(why: string): void {
    if (this.#dead !== undefined) return;
    const reason = `Plugin "${this.#path}" stopped: ${why}`;
    this.#failure = reason;
    const carried = this.#sessions.size > 0;
    this.#kill(reason);
    if (!carried) this.#options.onError?.(reason);
  }

  async #serveConn(request: ConnRequest): Promise<void> {
    const { id, call } = request;
    const session = this.#probeSessions.get(id);
    if (session === undefined) {
      // The probe was stopped; its sandbox side already returns nothing.
      this.#post({ type: "conn-reply", id, call, closed: true, tls: undefined, error: "stopped" });
      return;
    }
    const conn = session.conn;
    let extra: { bytes?: Uint8Array<ArrayBuffer>; error?: string } = {};
    try {
      if (request.op === "read") {
        // A copy: the engine's bytes may be a view of a larger buffer.
        extra = { bytes: (await conn.read(readOptions(request.read))).slice() };
      } else if (request.op === "write") {
        const data = request.data;
        if (typeof data === "string" || data instanceof Uint8Array) await conn.write(data);
      } else {
        await conn.startTls(tlsOptions(request.options));
      }
    } catch (error) {
      // Reads and writes never throw; a failed handshake does, and its reason crosses.
      extra = { error: error instanceof Error ? error.message : String(error) };
    }
    this.#post(
      { type: "conn-reply", id, call, closed: conn.closed, tls: conn.tls, ...extra },
      extra.bytes === undefined ? [] : [extra.bytes.buffer],
    );
  }

  async #receive(raw: unknown): Promise<void> {
    if (this.#dead !== undefined) return;
    const data = checkedMessage(raw);
    if (data === undefined) {
      const why = "it sent a malformed message";
      if (this.#onLoad !== undefined) this.#onLoad({ type: "load-error", message: why });
      else this.#fail(why);
      return;
    }
    switch (data.type) {
      case "loaded":
      case "load-error":
        this.#onLoad?.(data);
        return;
      case "conn":
        void this.#serveConn(data);
        return;
      case "probe-done":
      case "probe-error": {
        const session = this.#probeSessions.get(data.id);
        if (session === undefined || session.kind !== "probe") return;
        session.settle(
          data.type === "probe-done" ? sandboxedMatch(data.match, session.conn) : undefined,
        );
        return;
      }
      case "script-done":
      case "script-error": {
        const session = this.#probeSessions.get(data.id);
        if (session === undefined || session.kind !== "script") return;
        // The script engine checks and caps what comes back, as it does a built-in's.
        session.settle(data.type === "script-done" ? data.output : new Error(data.message));
        return;
      }
      case "probe-aborted":
        clearTimeout(this.#watchdogs.get(data.id));
        this.#watchdogs.delete(data.id);
        return;
    }
    const session = this.#sessions.get(data.id);
    if (session === undefined) return;
    if (data.type === "write") {
      const text = data.text;
      session.pending += text.length;
      session.writing = session.writing.then(() => session.out.write(text)).finally(() => {
        session.pending -= text.length;
      });
      // Hold the sandbox back (stop reading it) until the writer catches up.
      // Only the wait: a failed write is the session's to report, through `writing`.
      if (session.pending > HIGH_WATER_CHARS) await session.writing.catch(() => {});
    } else if (data.type === "done") {
      session.finish();
    } else {
      session.finish(new Error(data.message));
    }
  }

  /** The sandbox is gone or broke the protocol: while loading, loading fails; after, it is ended. */
  #ended(why: string): void {
    if (this.#onLoad !== undefined) {
      this.#misbehaved = true;
      this.#onLoad({ type: "load-error", message: why });
    } else this.#fail(why);
  }

  /**
   * Start the sandbox: a child process where Deno may be run, else a Worker.
   *
   * @throws {Error} `Cannot load plugin "x.ts": the sandbox is unavailable (…)`
   */
  async open(): Promise<void> {
    const handlers: ChannelHandlers = {
      message: (data: unknown): Promise<void> => this.#receive(data),
      ended: (why: string): void => this.#ended(why),
    };
    const options = this.#options;
    const executable = options.isolation === "worker" ? undefined : sandboxExecutable();
    try {
      if (executable !== undefined) {
        this.#channel = await openProcessChannel(this.#absolute, {
          executable,
          heapMb: options.heapMb ?? 512,
          rssMb: options.rssMb ?? 1024,
          handlers,
        }).catch(() => undefined);
      }
      // No process to be had (no Deno on PATH, say): the Worker, without the memory limit.
      this.#channel ??= openWorkerChannel(this.#absolute, handlers);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Cannot load plugin "${this.#path}": the sandbox is unavailable (${why.split("\n")[0]})`,
      );
    }
  }

  /**
   * Load the file in the opened sandbox, check what it describes, and hand
   * out its plugins as proxies.
   *
   * @throws {PluginFailedError} when the plugin misbehaved while loading
   * @throws {Error} when the file is no plugin
   */
  async load(need: "output" | "any"): Promise<Sandbox> {
    const path = this.#path;
    const absolute = this.#absolute;
    const loadTimeoutMs = this.#loadTimeoutMs;
    let loadTimer: ReturnType<typeof setTimeout> | undefined;
    const loaded = await new Promise<FromSandbox>((resolve) => {
      this.#onLoad = resolve;
      loadTimer = setTimeout(() => {
        this.#misbehaved = true;
        resolve({
          type: "load-error",
          message: `Cannot load plugin "${path}": it did not load within ${loadTimeoutMs} ms`,
        });
      }, loadTimeoutMs);
      this.#post({ type: "load", path: absolute, need });
    });
    clearTimeout(loadTimer);
    this.#onLoad = undefined;
    if (loaded.type === "load-error") {
      // The sandbox names the absolute path; the user knows the file by what they typed.
      const message = (await explainImport(loaded.message)).replace(`"${absolute}"`, `"${path}"`);
      return await this.#refuse(
        message.startsWith("Cannot load plugin")
          ? message
          : `Cannot load plugin "${path}": ${message}`,
      );
    }
    if (loaded.type !== "loaded") {
      return await this.#refuse(`Cannot load plugin "${path}": sandbox failed`);
    }
    const infos: ProbeInfo[] = [];
    for (const info of loaded.probes) {
      const checked = probeInfo(info);
      if (typeof checked === "string") {
        return await this.#refuse(
          `Cannot load plugin "${path}": ${info.exportName} makes no valid probe plugin: ${checked}`,
        );
      }
      infos.push(checked);
    }

    const scriptInfos = loaded.scripts.map(scriptInfo);
    const badScript = scriptInfos.findIndex((info) => typeof info === "string");
    if (badScript >= 0) {
      return await this.#refuse(
        `Cannot load plugin "${path}": ${
          loaded.scripts[badScript]?.exportName
        } makes no valid script plugin: ${scriptInfos[badScript]}`,
      );
    }
    return this.#sandbox(
      loaded.plugins,
      infos,
      scriptInfos.filter((info): info is ScriptInfo => typeof info !== "string"),
    );
  }

  async #refuse(message: string): Promise<never> {
    this.#kill("load failed");
    await this.#closeChannel();
    throw this.#misbehaved ? new PluginFailedError(message) : new Error(message);
  }

  /** The loaded file's plugins, each a proxy to the sandbox. */
  #sandbox(
    plugins: readonly {
      name: string;
      description: string;
      exportName: string;
      defaults?: Readonly<Record<string, OptionValue>>;
    }[],
    probes: readonly ProbeInfo[],
    scripts: readonly ScriptInfo[],
  ): Sandbox {
    const path = this.#path;
    const outputs = plugins.map(({ name, description, exportName, defaults = {} }) => ({
      name,
      description,
      exportName,
      path,
      defaults,
      // The defaults ride on the factory too, as on the SDK's (run.ts checks options by them).
      factory: Object.assign(
        (options?: OutputOptions): OutputPlugin => this.#outputProxy(name, description, options),
        { defaults },
      ),
    }));
    const runInSandbox: SandboxRun = (kind, name, conn, signal, extra) =>
      this.#runInSandbox(kind, name, conn, signal, extra);
    const failure = (): string | undefined => this.#failure;
    const close = (): Promise<void> => {
      this.#kill("the sandbox is closed");
      return this.#closeChannel();
    };
    return {
      plugins: outputs,
      outputs,
      probes: probes.map((info) => this.#probeProxy(info)),
      scripts: scripts.map((info) => scriptProxy(info, runInSandbox)),
      get failure(): string | undefined {
        return failure();
      },
      close,
    };
  }

  /**
   * Start `kind` on `conn` in the sandbox; resolves with what comes back, or
   * undefined when it is stopped (abort) or the sandbox ends. A run that
   * ignores the abort past `unresponsiveMs` ends the sandbox.
   */
  #runInSandbox(
    kind: "probe" | "script",
    name: string,
    conn: ProbeConn,
    signal: AbortSignal,
    extra: RunExtra = {},
  ): Promise<unknown> {
    if (this.#dead !== undefined || signal.aborted) return Promise.resolve(undefined);
    const id = this.#nextId++;
    const limits = this.#limits;
    return new Promise((resolve) => {
      const onAbort = (): void => {
        if (!this.#probeSessions.has(id)) return;
        settle(undefined);
        this.#post({ type: "probe-abort", id });
        if (this.#dead !== undefined) return;
        const timer = setTimeout(() => {
          this.#watchdogs.delete(id);
          this.#fail(`its ${kind} "${name}" ignored an abort for ${this.#unresponsiveMs} ms`);
        }, this.#unresponsiveMs);
        // The watchdog alone must not keep the process alive.
        Deno.unrefTimer(Number(timer));
        this.#watchdogs.set(id, timer);
      };
      const settle = (result: unknown): void => {
        if (!this.#probeSessions.delete(id)) return;
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      };
      this.#probeSessions.set(id, { kind, conn, settle });
      signal.addEventListener("abort", onAbort, { once: true });
      const greeting = conn.greeting.slice();
      const snapshot = {
        address: conn.address,
        port: conn.port,
        greeting,
        tls: conn.tls,
        closed: conn.closed,
      };
      this.#post(
        kind === "probe" || extra.target === undefined
          ? { type: "probe", id, name, conn: snapshot, limits }
          : {
            type: "script",
            id,
            name,
            conn: snapshot,
            limits,
            target: extra.target,
            ...(extra.certificate === undefined ? {} : { certificate: extra.certificate.slice() }),
          },
        [greeting.buffer],
      );
    });
  }

  #outputProxy(name: string, description: string, options?: OutputOptions): OutputPlugin {
    return {
      name,
      description,
      write: (events: AsyncIterable<ScanEvent>, out: OutputWriter): Promise<void> =>
        this.#runOutput(name, events, out, options),
    };
  }

  /** One run of a sandboxed output: events cross to it, its text comes back to `out`. */
  async #runOutput(
    name: string,
    events: AsyncIterable<ScanEvent>,
    out: OutputWriter,
    options?: OutputOptions,
  ): Promise<void> {
    if (this.#dead !== undefined) throw new Error(this.#dead);
    const id = this.#nextId++;
    let finish!: (error?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error?: Error): void => (error ? reject(error) : resolve());
    });
    const session: Session = { out, writing: Promise.resolve(), pending: 0, finish };
    this.#sessions.set(id, session);
    this.#post({ type: "start", id, name, ...(options === undefined ? {} : { options }) });
    let grace: ReturnType<typeof setTimeout> | undefined;
    try {
      let failed = false;
      finished.catch(() => (failed = true));
      for await (const event of events) {
        if (failed) break;
        this.#post({ type: "event", id, event });
      }
      this.#post({ type: "end", id });
      // The scan is over: the plugin has a bounded time to finish, then its sandbox ends.
      const graceMs = this.#graceMs;
      grace = setTimeout(
        () => this.#fail(`output "${name}" did not finish within ${graceMs} ms of the scan's end`),
        graceMs,
      );
      await finished;
      await session.writing;
    } finally {
      clearTimeout(grace);
      this.#sessions.delete(id);
    }
  }

  #probeProxy(info: ProbeInfo): ProbePlugin {
    const name = info.name;
    return {
      name,
      description: info.description,
      protocols: info.protocols,
      ports: info.ports,
      ...(info.tlsPorts === undefined ? {} : { tlsPorts: info.tlsPorts }),
      rarity: info.rarity,
      passive: info.passive,
      probe: async (conn: ProbeConn, signal: AbortSignal): Promise<ServiceMatch | undefined> =>
        // What settles a probe session is a match rebuilt by sandboxedMatch, or undefined.
        await this.#runInSandbox("probe", name, conn, signal) as ServiceMatch | undefined,
    };
  }
}
