/**
 * The inside of the plugin sandbox, whatever holds it: it loads the plugin
 * module, runs each output session the parent starts (events in, text out),
 * and runs each probe the parent starts against a {@link ProbeConn} proxy:
 * the parent owns the real connection, and every read, write and TLS
 * handshake is a request to it.
 *
 * It runs in a child process (`sandbox_process.ts`, messages framed on a
 * Unix socket) or, where no child can be started, in a Worker
 * (`sandbox_worker.ts`, messages by postMessage). Either way the parent
 * trusts nothing that comes back.
 *
 * @module
 */

import { concatBytes, latin1 } from "../plugin/text.ts";
import { type LoadedPlugins, loadOutputPlugins, loadPlugins } from "./loader.ts";
import type {
  ProbeConn,
  ProbePlugin,
  ProbeProtocol,
  ReadOptions,
  StartTlsOptions,
  TlsDetails,
} from "../plugin/probe_types.ts";
import type { ScriptPlugin, ScriptTarget } from "../plugin/script_types.ts";
import type { OutputPlugin, ScanEvent } from "../plugin/types.ts";
import type { OptionValue } from "../plugin/mod.ts";
import type { OutputOptions } from "./output_options.ts";

/** How messages cross: `send` resolves once the message is on its way (back-pressure). */
export interface SandboxPort {
  send(message: FromSandbox, transfer?: Transferable[]): Promise<void>;
  /** Called with each message from the parent, in order. */
  listen(handler: (message: ToSandbox) => void): void;
}

/** A probe plugin's description, as the parent rebuilds it. */
export interface ProbeInfo {
  name: string;
  description: string;
  exportName: string;
  protocols: ProbeProtocol[];
  ports: number[];
  tlsPorts?: number[];
  rarity: number;
  passive: boolean;
}

/** A script plugin's description, as the parent rebuilds it. */
export interface ScriptInfo {
  name: string;
  description: string;
  exportName: string;
  categories: string[];
  ports: number[];
  services: string[];
  tls?: boolean;
  allPorts?: boolean;
}

/** The mirrored state of the parent's connection when a probe starts. */
export interface ConnSnapshot {
  address: string;
  port: number;
  greeting: Uint8Array;
  tls: TlsDetails | undefined;
  closed: boolean;
}

/** The engine's read limits (conn.ts), for reads the proxy splits into several. */
export interface ReadLimits {
  /** Largest read. */
  maxBytes: number;
  /** Bytes of a read that names none. */
  defaultBytes: number;
  /** Time of a read that names none, ms. */
  timeoutMs: number;
}

/**
 * A read as it crosses to the parent: {@link ReadOptions} without a function.
 * `anyChunk` returns as soon as anything arrived.
 */
export interface WireRead {
  maxBytes?: number;
  timeoutMs?: number;
  idleMs?: number;
  until?: string;
  anyChunk?: true;
}

/** Messages from the parent. */
export type ToSandbox =
  /** `need`: "output" loads as {@link loadOutputPlugins}, "any" as {@link loadPlugins}. */
  | { type: "load"; path: string; need: "output" | "any" }
  /** `options`: typed by the plugin's defaults already (output_options.ts). */
  | { type: "start"; id: number; name: string; options?: OutputOptions }
  | { type: "event"; id: number; event: ScanEvent }
  | { type: "end"; id: number }
  | { type: "probe"; id: number; name: string; conn: ConnSnapshot; limits: ReadLimits }
  /** Run a script on the connection, as a probe runs; aborted by "probe-abort" too. */
  | {
    type: "script";
    id: number;
    name: string;
    conn: ConnSnapshot;
    limits: ReadLimits;
    target: ScriptTarget;
    /** The peer's certificate (DER) as of the start, when the connection runs TLS. */
    certificate?: Uint8Array;
  }
  | { type: "probe-abort"; id: number }
  | {
    type: "conn-reply";
    id: number;
    call: number;
    closed: boolean;
    tls: TlsDetails | undefined;
    bytes?: Uint8Array;
    error?: string;
  };

/** Messages to the parent. */
export type FromSandbox =
  | {
    type: "loaded";
    plugins: {
      name: string;
      description: string;
      exportName: string;
      defaults?: Readonly<Record<string, OptionValue>>;
    }[];
    probes: ProbeInfo[];
    scripts: ScriptInfo[];
  }
  | { type: "load-error"; message: string }
  | { type: "write"; id: number; text: string }
  | { type: "done"; id: number }
  | { type: "error"; id: number; message: string }
  | { type: "conn"; id: number; call: number; op: "read"; read: WireRead }
  | { type: "conn"; id: number; call: number; op: "write"; data: string | Uint8Array }
  | { type: "conn"; id: number; call: number; op: "startTls"; options: StartTlsOptions }
  | { type: "probe-done"; id: number; match: unknown }
  | { type: "probe-error"; id: number; message: string }
  | { type: "probe-aborted"; id: number }
  | { type: "script-done"; id: number; output: unknown }
  | { type: "script-error"; id: number; message: string };

type ConnReply = Extract<ToSandbox, { type: "conn-reply" }>;

interface Session {
  queue: ScanEvent[];
  ended: boolean;
  wake: (() => void) | undefined;
}

/** One probe in progress. */
interface ProbeRun {
  controller: AbortController;
  /** Requests to the parent awaiting a reply, by call number. */
  pending: Map<number, (reply: ConnReply | undefined) => void>;
  /** Aborted or finished: the parent no longer listens. */
  ended: boolean;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function* eventsOf(session: Session): AsyncGenerator<ScanEvent> {
  for (;;) {
    const event = session.queue.shift();
    if (event !== undefined) {
      yield event;
      continue;
    }
    if (session.ended) return;
    await new Promise<void>((resolve) => (session.wake = resolve));
    session.wake = undefined;
  }
}

const EMPTY = new Uint8Array(0);

/** The parent sends an absolute path; the sandbox may not even ask for its own directory. */
const ABSOLUTE = { cwd: "/" };

function finite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/**
 * Serve the parent over `port`: load the plugin it names, then run its
 * output sessions and probes. Call once per process or Worker.
 */
export function serveSandbox(port: SandboxPort): void {
  // A plugin's stray rejection or timer error must not end the sandbox and
  // every other probe and output with it.
  globalThis.addEventListener("unhandledrejection", (event) => event.preventDefault());
  globalThis.addEventListener("error", (event) => event.preventDefault());
  const server = new SandboxServer(port);
  port.listen((data) => void server.receive(data));
}

/** A read as it crosses to the parent: the fields that can cross, checked. */
function wireRead(options: ReadOptions): WireRead {
  const out: WireRead = {};
  const maxBytes = finite(options.maxBytes);
  const timeoutMs = finite(options.timeoutMs);
  const idleMs = finite(options.idleMs);
  if (maxBytes !== undefined) out.maxBytes = maxBytes;
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (idleMs !== undefined) out.idleMs = idleMs;
  if (typeof options.until === "string") out.until = options.until;
  return out;
}

/** What the sandbox tells the parent it loaded: the plugins' descriptions, without their code. */
function loadedMessage(loaded: LoadedPlugins): FromSandbox {
  return {
    type: "loaded",
    plugins: loaded.outputs.map(({ name, description, exportName, defaults }) => ({
      name,
      description,
      exportName,
      ...(defaults === undefined ? {} : { defaults: { ...defaults } }),
    })),
    probes: loaded.probes.map(({ exportName, plugin }) => ({
      name: plugin.name,
      description: plugin.description,
      exportName,
      protocols: [...plugin.protocols],
      ports: [...plugin.ports],
      ...(plugin.tlsPorts === undefined ? {} : { tlsPorts: [...plugin.tlsPorts] }),
      rarity: plugin.rarity,
      passive: plugin.passive,
    })),
    scripts: (loaded.scripts ?? []).map(({ exportName, plugin }) => ({
      name: plugin.name,
      description: plugin.description,
      exportName,
      categories: [...plugin.categories],
      ports: [...plugin.ports],
      services: [...plugin.services],
      ...(plugin.tls === undefined ? {} : { tls: plugin.tls }),
      ...(plugin.allPorts === undefined ? {} : { allPorts: plugin.allPorts }),
    })),
  };
}

/** The sandbox's side: the loaded plugins, and the output sessions and runs in progress. */
class SandboxServer {
  readonly #port: SandboxPort;
  readonly #factories = new Map<string, (options?: OutputOptions) => OutputPlugin>();
  readonly #sessions = new Map<number, Session>();
  readonly #probePlugins = new Map<string, ProbePlugin>();
  readonly #scriptPlugins = new Map<string, ScriptPlugin>();
  readonly #runs = new Map<number, ProbeRun>();

  constructor(port: SandboxPort) {
    this.#port = port;
  }

  #send(message: FromSandbox, transfer: Transferable[] = []): Promise<void> {
    return this.#port.send(message, transfer);
  }

  async #runSession(id: number, name: string, options?: OutputOptions): Promise<void> {
    const session: Session = { queue: [], ended: false, wake: undefined };
    this.#sessions.set(id, session);
    try {
      const factory = this.#factories.get(name);
      if (factory === undefined) throw new Error(`no plugin named "${name}" in this module`);
      await factory(options).write(eventsOf(session), {
        color: false,
        write: (text: string): Promise<void> =>
          // Resolves once the text is on its way: a plugin that awaits its writes cannot outrun the parent.
          this.#send({ type: "write", id, text: String(text) }),
      });
      this.#send({ type: "done", id });
    } catch (error) {
      this.#send({ type: "error", id, message: message(error) });
    } finally {
      this.#sessions.delete(id);
    }
  }

  /**
   * The worker side of the parent's connection. Reads and writes never throw,
   * as the engine's own; `closed` and `tls` are as of the last reply.
   */
  #proxyConn(
    request: { id: number; conn: ConnSnapshot; limits: ReadLimits },
    run: ProbeRun,
  ): ProbeConn {
    const { id, conn: snapshot, limits } = request;
    const port = this.#port;
    let closed = snapshot.closed;
    let tls = snapshot.tls;
    let nextCall = 1;

    function call(
      request:
        | { op: "read"; read: WireRead }
        | { op: "write"; data: string | Uint8Array }
        | { op: "startTls"; options: StartTlsOptions },
    ): Promise<ConnReply | undefined> {
      if (run.ended) {
        // After an abort reads return nothing, as the engine's do; a timer
        // turn keeps a plugin that loops on them from starving the Worker.
        return new Promise((resolve) => setTimeout(() => resolve(undefined), 0));
      }
      const number = nextCall++;
      return new Promise((resolve) => {
        run.pending.set(number, (reply) => {
          if (reply !== undefined) {
            closed = reply.closed;
            tls = reply.tls;
          }
          resolve(reply);
        });
        const transfer = request.op === "write" && typeof request.data !== "string"
          ? [request.data.buffer as ArrayBuffer]
          : [];
        port.send({ type: "conn", id, call: number, ...request }, transfer);
      });
    }

    async function readOnce(read: WireRead): Promise<Uint8Array> {
      const reply = await call({ op: "read", read });
      return reply?.bytes ?? EMPTY;
    }

    /**
     * A read whose `until` is a test, which cannot cross to the parent: one
     * parent read per arrival, each with the time left, the test run here.
     * Same limits as the engine's read: bytes capped, the same time budget,
     * `idleMs` between arrivals once something came.
     */
    async function readUntil(
      options: ReadOptions,
      test: (received: Uint8Array) => boolean,
    ): Promise<Uint8Array> {
      const maxBytes = Math.max(
        1,
        Math.min(finite(options.maxBytes) ?? limits.defaultBytes, limits.maxBytes),
      );
      const end = Date.now() + Math.max(0, finite(options.timeoutMs) ?? limits.timeoutMs);
      const idleMs = finite(options.idleMs);
      let got: Uint8Array = EMPTY;
      for (let first = true; !run.controller.signal.aborted; first = false) {
        let wait = end - Date.now();
        if (idleMs !== undefined && got.length > 0) wait = Math.min(wait, idleMs);
        // The first read always goes: what is already buffered comes back even at no wait.
        if (wait <= 0 && !first) break;
        const more = await readOnce({
          maxBytes: maxBytes - got.length,
          timeoutMs: Math.max(0, wait),
          anyChunk: true,
        });
        if (more.length === 0) break;
        got = concatBytes(got, more);
        if (got.length >= maxBytes) break;
        let done: boolean;
        try {
          done = test(got) === true;
        } catch {
          // A test that throws cannot say "more": the read ends, and still does not throw.
          done = true;
        }
        if (done) break;
      }
      return got;
    }

    async function read(options: ReadOptions = {}): Promise<Uint8Array> {
      // A JavaScript plugin may pass anything; the engine's read would not throw on it either.
      const safe: ReadOptions = typeof options === "object" && options !== null ? options : {};
      return typeof safe.until === "function"
        ? await readUntil(safe, safe.until)
        : await readOnce(wireRead(safe));
    }

    return {
      address: snapshot.address,
      port: snapshot.port,
      greeting: snapshot.greeting,
      get tls(): TlsDetails | undefined {
        return tls;
      },
      get closed(): boolean {
        return closed;
      },
      read,
      async readText(options?: ReadOptions): Promise<string> {
        return latin1(await read(options));
      },
      async write(data: string | Uint8Array): Promise<void> {
        // Copied: the caller keeps its buffer, and only the bytes in view cross.
        const payload = typeof data === "string"
          ? data
          : data instanceof Uint8Array
          ? data.slice()
          : undefined;
        if (payload === undefined) return;
        await call({ op: "write", data: payload });
      },
      async startTls(options: StartTlsOptions = {}): Promise<TlsDetails> {
        const clean: StartTlsOptions = {};
        if (Array.isArray(options.alpn)) {
          clean.alpn = options.alpn.filter((item): item is string => typeof item === "string");
        }
        if (typeof options.servername === "string") clean.servername = options.servername;
        const reply = await call({ op: "startTls", options: clean });
        if (reply === undefined) throw new Error("Cannot start TLS: the probe was stopped");
        if (reply.error !== undefined || reply.tls === undefined) {
          throw new Error(reply.error ?? "Cannot start TLS: no TLS details");
        }
        return reply.tls;
      },
    };
  }

  /** Stop a run: the parent no longer listens, pending requests return nothing. */
  #endRun(id: number, run: ProbeRun): void {
    run.ended = true;
    this.#runs.delete(id);
    for (const resolve of run.pending.values()) resolve(undefined);
    run.pending.clear();
  }

  async #runProbe(data: Extract<ToSandbox, { type: "probe" }>): Promise<void> {
    const { id } = data;
    const run: ProbeRun = { controller: new AbortController(), pending: new Map(), ended: false };
    this.#runs.set(id, run);
    try {
      const plugin = this.#probePlugins.get(data.name);
      if (plugin === undefined) {
        throw new Error(`no probe plugin named "${data.name}" in this module`);
      }
      const conn = this.#proxyConn(data, run);
      const match = await plugin.probe(conn, run.controller.signal);
      // A match the structured clone refuses (a function inside, say) lands in the catch.
      if (!run.ended) this.#send({ type: "probe-done", id, match });
    } catch (error) {
      if (!run.ended) this.#send({ type: "probe-error", id, message: message(error) });
    } finally {
      this.#endRun(id, run);
    }
  }

  /**
   * A script on the parent's connection. Only that one: `context.connect()`
   * has no second connection to give inside the sandbox.
   */
  async #runScript(data: Extract<ToSandbox, { type: "script" }>): Promise<void> {
    const { id } = data;
    const run: ProbeRun = { controller: new AbortController(), pending: new Map(), ended: false };
    this.#runs.set(id, run);
    try {
      const plugin = this.#scriptPlugins.get(data.name);
      if (plugin === undefined) {
        throw new Error(`no script plugin named "${data.name}" in this module`);
      }
      const conn = this.#proxyConn(data, run);
      const output = await plugin.run(conn, {
        target: data.target,
        signal: run.controller.signal,
        connect: () => Promise.resolve(undefined),
        peerCertificate: () => data.certificate,
      });
      if (!run.ended) this.#send({ type: "script-done", id, output });
    } catch (error) {
      if (!run.ended) this.#send({ type: "script-error", id, message: message(error) });
    } finally {
      this.#endRun(id, run);
    }
  }

  async #load(data: Extract<ToSandbox, { type: "load" }>): Promise<void> {
    try {
      const loaded: LoadedPlugins = data.need === "output"
        ? { outputs: await loadOutputPlugins(data.path, ABSOLUTE), probes: [] }
        : await loadPlugins(data.path, ABSOLUTE);
      for (const plugin of loaded.outputs) this.#factories.set(plugin.name, plugin.factory);
      for (const probe of loaded.probes) this.#probePlugins.set(probe.name, probe.plugin);
      for (const script of loaded.scripts ?? []) {
        this.#scriptPlugins.set(script.name, script.plugin);
      }
      this.#send(loadedMessage(loaded));
    } catch (error) {
      this.#send({ type: "load-error", message: message(error) });
    }
  }

  async receive(data: ToSandbox): Promise<void> {
    switch (data.type) {
      case "load":
        await this.#load(data);
        break;
      case "start":
        void this.#runSession(data.id, data.name, data.options);
        break;
      case "event":
      case "end": {
        const session = this.#sessions.get(data.id);
        if (session === undefined) break;
        if (data.type === "event") session.queue.push(data.event);
        else session.ended = true;
        session.wake?.();
        break;
      }
      case "probe":
        void this.#runProbe(data);
        break;
      case "script":
        void this.#runScript(data);
        break;
      case "probe-abort": {
        // Answered at once: the parent takes silence as a Worker that stopped responding.
        this.#send({ type: "probe-aborted", id: data.id });
        const run = this.#runs.get(data.id);
        if (run === undefined) break;
        this.#endRun(data.id, run);
        run.controller.abort();
        break;
      }
      case "conn-reply": {
        const pending = this.#runs.get(data.id)?.pending;
        const resolve = pending?.get(data.call);
        pending?.delete(data.call);
        resolve?.(data);
        break;
      }
    }
  }
}
