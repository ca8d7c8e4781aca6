/**
 * User plugins in a sandbox: `--plugin PATH` loads the module inside a
 * Worker that may read its own file and portolan's sources (to import the
 * plugin helpers) and nothing else: no network, no writes, no environment,
 * no subprocesses, no FFI.
 *
 * Output plugins: events go in and text comes out by message; the parent
 * writes the text where the user asked.
 *
 * Probe plugins: the parent owns the connection the detection engine made
 * and the Worker gets a {@link ProbeConn} whose reads, writes and TLS
 * handshakes are requests to the parent; `greeting`, `tls`, `closed`,
 * `address` and `port` are mirrored. The probe's abort signal crosses too.
 * A match that comes back is rebuilt field by field (types checked, text
 * capped, TLS details taken from the real connection, never from the
 * plugin), and a probe that throws or never answers is no match. A Worker
 * that stops answering (a plugin stuck in a loop) is ended and its probes
 * count as no match from then on.
 *
 * Worker permissions are an unstable Deno API (`--unstable-worker-options`,
 * which the tasks pass). Without it the sandbox cannot be built, and
 * {@link loadSandboxedPlugins} says so instead of loading the plugin with
 * the scanner's own permissions.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_READ_BYTES, MAX_READ_BYTES } from "../service/conn.ts";
import { DEFAULT_INTENSITY, intensityTimings } from "../service/detect.ts";
import { clip, FIELD_CHARS } from "../service/text.ts";
import { probePluginProblem } from "../service/validate.ts";
import type { LoadedOutputPlugin } from "./loader.ts";
import type {
  ProbeConn,
  ProbePlugin,
  ReadOptions,
  ServiceMatch,
  StartTlsOptions,
} from "./probe_types.ts";
import type { FromSandbox, ProbeInfo, ReadLimits, ToSandbox, WireRead } from "./sandbox_worker.ts";
import type { OutputPlugin, OutputWriter, ScanEvent } from "./types.ts";

/** Plugins loaded into one sandbox, and the sandbox's off switch. */
export interface Sandbox {
  /** The file's output plugins (as {@link Sandbox.outputs}; the name older callers use). */
  plugins: LoadedOutputPlugin[];
  /** The file's output plugins, for `--output NAME:FILE`. */
  outputs: LoadedOutputPlugin[];
  /** The file's probe plugins, for the `-sV` engine; each `probe()` runs in the Worker. */
  probes: ProbePlugin[];
  /** End the Worker (after the outputs and probes are done). */
  close(): void;
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
  /** How long an aborted probe's Worker may take to acknowledge, ms, before it is ended. Default 2000. */
  unresponsiveMs?: number;
  /** Told, once, when the Worker had to be ended; the file's plugins do nothing from then on. */
  onError?: (message: string) => void;
}

interface Session {
  out: OutputWriter;
  writing: Promise<void>;
  finish: (error?: Error) => void;
}

interface ProbeSession {
  conn: ProbeConn;
  settle: (match: ServiceMatch | undefined) => void;
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

/**
 * Load the output and probe plugins of `path` into a fresh sandbox.
 *
 * @throws {Error} one line naming the file as the user typed it, as
 * {@link ../plugins/loader.ts loadPlugins} words it, e.g.
 * `Cannot load plugin "x.ts": it exports no output plugin factory (…) and no probe plugin factory (…)`,
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
  options: { cwd?: string } = {},
): Promise<Sandbox> {
  return loadSandbox(path, "output", options);
}

async function loadSandbox(
  path: string,
  need: "output" | "any",
  options: SandboxOptions,
): Promise<Sandbox> {
  const absolute = resolve(options.cwd ?? Deno.cwd(), path);
  const limits: ReadLimits = {
    maxBytes: MAX_READ_BYTES,
    defaultBytes: DEFAULT_READ_BYTES,
    timeoutMs: options.readTimeoutMs ?? intensityTimings(DEFAULT_INTENSITY).probeWaitMs,
  };
  const unresponsiveMs = options.unresponsiveMs ?? 2000;
  let worker: Worker;
  try {
    worker = new Worker(new URL("./sandbox_worker.ts", import.meta.url).href, {
      type: "module",
      deno: {
        permissions: {
          // Its own file, and portolan's own sources so it can import the plugin helpers.
          read: [absolute, fileURLToPath(new URL("../", import.meta.url))],
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
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot load plugin "${path}": the sandbox is unavailable (${why.split("\n")[0]})`,
    );
  }
  const sessions = new Map<number, Session>();
  const probeSessions = new Map<number, ProbeSession>();
  /** Aborted probes whose acknowledgement is awaited, and the timer that gives up. */
  const watchdogs = new Map<number, ReturnType<typeof setTimeout>>();
  let nextId = 1;
  let dead: string | undefined;
  let onLoad: ((message: FromSandbox) => void) | undefined;

  function post(message: ToSandbox, transfer: Transferable[] = []): void {
    if (dead === undefined) worker.postMessage(message, transfer);
  }

  /** End the Worker: every output fails with `reason`, every probe is no match. */
  function kill(reason: string, outputError: Error = new Error(reason)): void {
    if (dead !== undefined) return;
    dead = reason;
    worker.terminate();
    for (const timer of watchdogs.values()) clearTimeout(timer);
    watchdogs.clear();
    for (const session of [...probeSessions.values()]) session.settle(undefined);
    for (const session of sessions.values()) session.finish(outputError);
  }

  async function serveConn(request: ConnRequest): Promise<void> {
    const { id, call } = request;
    const session = probeSessions.get(id);
    if (session === undefined) {
      // The probe was stopped; its Worker side already returns nothing.
      post({ type: "conn-reply", id, call, closed: true, tls: undefined, error: "stopped" });
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
    post(
      { type: "conn-reply", id, call, closed: conn.closed, tls: conn.tls, ...extra },
      extra.bytes === undefined ? [] : [extra.bytes.buffer],
    );
  }

  worker.onmessage = (message: MessageEvent<FromSandbox>): void => {
    const data = message.data;
    switch (data.type) {
      case "loaded":
      case "load-error":
        onLoad?.(data);
        return;
      case "conn":
        void serveConn(data);
        return;
      case "probe-done":
      case "probe-error": {
        const session = probeSessions.get(data.id);
        if (session === undefined) return;
        session.settle(
          data.type === "probe-done" ? sandboxedMatch(data.match, session.conn) : undefined,
        );
        return;
      }
      case "probe-aborted":
        clearTimeout(watchdogs.get(data.id));
        watchdogs.delete(data.id);
        return;
    }
    const session = sessions.get(data.id);
    if (session === undefined) return;
    if (data.type === "write") {
      const text = data.text;
      session.writing = session.writing.then(() => session.out.write(text));
    } else if (data.type === "done") {
      session.finish();
    } else {
      session.finish(new Error(data.message));
    }
  };
  worker.onerror = (event: ErrorEvent): void => {
    event.preventDefault();
    onLoad?.({ type: "load-error", message: event.message });
    if (onLoad === undefined) {
      const reason = `Plugin "${path}" failed: ${event.message}`;
      kill(reason, new Error(event.message));
      options.onError?.(reason);
    }
  };

  const loaded = await new Promise<FromSandbox>((resolve) => {
    onLoad = resolve;
    post({ type: "load", path: absolute, need });
  });
  onLoad = undefined;
  if (loaded.type === "load-error") {
    kill("load failed");
    // The sandbox names the absolute path; the user knows the file by what they typed.
    throw new Error(loaded.message.replace(`"${absolute}"`, `"${path}"`));
  }
  if (loaded.type !== "loaded") {
    kill("load failed");
    throw new Error(`Cannot load plugin "${path}": sandbox failed`);
  }
  const infos: ProbeInfo[] = [];
  for (const info of loaded.probes) {
    const checked = probeInfo(info);
    if (typeof checked === "string") {
      kill("load failed");
      throw new Error(
        `Cannot load plugin "${path}": export "${info.exportName}" returns no valid probe plugin: ${checked}`,
      );
    }
    infos.push(checked);
  }

  function outputProxy(name: string, description: string): OutputPlugin {
    return {
      name,
      description,
      async write(events: AsyncIterable<ScanEvent>, out: OutputWriter): Promise<void> {
        if (dead !== undefined) throw new Error(dead);
        const id = nextId++;
        let finish!: (error?: Error) => void;
        const finished = new Promise<void>((resolve, reject) => {
          finish = (error?: Error): void => (error ? reject(error) : resolve());
        });
        const session: Session = { out, writing: Promise.resolve(), finish };
        sessions.set(id, session);
        post({ type: "start", id, name });
        try {
          let failed = false;
          finished.catch(() => (failed = true));
          for await (const event of events) {
            if (failed) break;
            post({ type: "event", id, event });
          }
          post({ type: "end", id });
          await finished;
          await session.writing;
        } finally {
          sessions.delete(id);
        }
      },
    };
  }

  function probeProxy(info: ProbeInfo): ProbePlugin {
    const name = info.name;
    return {
      name,
      description: info.description,
      protocols: info.protocols,
      ports: info.ports,
      ...(info.tlsPorts === undefined ? {} : { tlsPorts: info.tlsPorts }),
      rarity: info.rarity,
      passive: info.passive,
      probe(conn: ProbeConn, signal: AbortSignal): Promise<ServiceMatch | undefined> {
        if (dead !== undefined || signal.aborted) return Promise.resolve(undefined);
        const id = nextId++;
        return new Promise((resolve) => {
          const onAbort = (): void => {
            if (!probeSessions.has(id)) return;
            settle(undefined);
            post({ type: "probe-abort", id });
            if (dead !== undefined) return;
            const timer = setTimeout(() => {
              watchdogs.delete(id);
              const reason = `Plugin "${path}" stopped responding: its probe "${name}" ` +
                `ignored an abort for ${unresponsiveMs} ms`;
              kill(reason);
              options.onError?.(reason);
            }, unresponsiveMs);
            // The watchdog alone must not keep the process alive.
            Deno.unrefTimer(Number(timer));
            watchdogs.set(id, timer);
          };
          const settle = (match: ServiceMatch | undefined): void => {
            if (!probeSessions.delete(id)) return;
            signal.removeEventListener("abort", onAbort);
            resolve(match);
          };
          probeSessions.set(id, { conn, settle });
          signal.addEventListener("abort", onAbort, { once: true });
          const greeting = conn.greeting.slice();
          post({
            type: "probe",
            id,
            name,
            conn: {
              address: conn.address,
              port: conn.port,
              greeting,
              tls: conn.tls,
              closed: conn.closed,
            },
            limits,
          }, [greeting.buffer]);
        });
      },
    };
  }

  const outputs = loaded.plugins.map(({ name, description, exportName }) => ({
    name,
    description,
    exportName,
    path,
    factory: (): OutputPlugin => outputProxy(name, description),
  }));
  return {
    plugins: outputs,
    outputs,
    probes: infos.map(probeProxy),
    close(): void {
      kill("the sandbox is closed");
    },
  };
}
