/**
 * The script engine (`-sC`, `--script`): after detection, each open port
 * gets the scripts that apply to it, each on a connection the engine makes
 * (inside TLS when the port speaks TLS), each bounded in time; their lines
 * land on the port as `scripts`, in nmap's form.
 *
 * A script that throws, returns something else than lines, or outlives its
 * time never costs the port its other results: it has no output, and one
 * line on stderr names it.
 *
 * @module
 */

import type { PortResult } from "../model/mod.ts";
import { escapeControls } from "../plugin/format.ts";
import type { ProbeConn } from "../plugin/probe_types.ts";
import type {
  ScriptConnectOptions,
  ScriptOutput,
  ScriptPlugin,
  ScriptTarget,
} from "../plugin/script_types.ts";
import { ConnectError, connectProbe, type EngineConn } from "../service/conn.ts";
import { TLS_PORTS } from "../ports/tls_ports.ts";

/** Time one script may take on one port, ms, by default. */
export const SCRIPT_TIMEOUT_MS = 10_000;
/** Connections one script may ask for on one port (its first included). */
export const SCRIPT_CONNECTIONS = 4;
/** Lines a script's output keeps, and characters per line. */
export const SCRIPT_MAX_LINES = 40;
export const SCRIPT_LINE_CHARS = 400;

/** Options of {@link createScriptRunner}. */
export interface ScriptRunnerOptions {
  /** Stops every script; ports in progress resolve with what finished. */
  signal?: AbortSignal;
  /** Time of one script on one port, ms; default {@link SCRIPT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Time of a connect, ms; default 3000. */
  connectMs?: number;
  /** Time of a read that names none, ms; default 3000. */
  readTimeoutMs?: number;
  /** Connections open at once over all ports; default 64. */
  maxConnections?: number;
  /** A script failed: one line naming it, without newline. */
  onError?(message: string): void;
}

/** Runs the scripts that apply to each port it is given. */
export interface ScriptRunner {
  /** The port with `scripts` added where a script had something to say. Never rejects. */
  run(port: PortResult): Promise<PortResult>;
}

/** Whether `script` applies to `port` (open, TCP, by number, service name or TLS). */
export function scriptApplies(script: ScriptPlugin, port: PortResult): boolean {
  if (port.state !== "open" || port.protocol !== "tcp") return false;
  const name = typeof port.service?.name === "string" ? port.service.name : undefined;
  if (name !== undefined && script.services.includes(name)) return true;
  if (script.tls === true && port.service?.tunnel === "ssl") return true;
  return script.allPorts === true || script.ports.includes(port.port);
}

/** The port as a script sees it. */
function targetOf(port: PortResult): ScriptTarget {
  const service = port.service ?? {};
  const text = (value: unknown): string | undefined =>
    typeof value === "string" && value !== "" ? value : undefined;
  const name = text(service.name);
  const product = text(service.product);
  const version = text(service.version);
  return {
    address: port.address,
    port: port.port,
    protocol: port.protocol,
    service: {
      ...(name === undefined ? {} : { name }),
      ...(product === undefined ? {} : { product }),
      ...(version === undefined ? {} : { version }),
      ...(service.tunnel === "ssl" ? { tunnel: "ssl" as const } : {}),
    },
  };
}

/** Whether the port is taken to speak TLS: found so by -sV, or a TLS port nobody looked at. */
function speaksTls(port: PortResult): boolean {
  if (port.service?.tunnel === "ssl") return true;
  return port.service?.method !== "probed" && TLS_PORTS.includes(port.port);
}

/**
 * A script's answer as a port keeps it, controls made visible and capped;
 * undefined when it says nothing. Lines are nmap's list form (each on its
 * own line, indented, under the script's name); a string is kept as it is
 * written (its first line beside the name), as nmap keeps a script's text.
 */
export function scriptOutput(id: string, value: unknown): ScriptOutput | undefined {
  const list = Array.isArray(value);
  if (!list && typeof value !== "string") return undefined;
  const kept = (list ? value : [value])
    .filter((line): line is string => typeof line === "string")
    .flatMap((line) => line.split(/\r?\n/))
    .map((line) => escapeControls(line.trimEnd()).slice(0, SCRIPT_LINE_CHARS))
    .slice(0, SCRIPT_MAX_LINES);
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  if (kept.length === 0) return undefined;
  // nmap's list form even for one item: "| ssh-hostkey: " then "|_  256 … (ED25519)".
  if (!list) return { id, output: kept.join("\n") };
  return { id, output: kept.map((line) => `\n  ${line}`).join("") };
}

/** A counting semaphore whose waiters give up on abort. */
function semaphore(size: number): (signal: AbortSignal) => Promise<(() => void) | undefined> {
  let free = size;
  const queue: (() => void)[] = [];
  const releaser = (): () => void => {
    let done = false;
    return (): void => {
      if (done) return;
      done = true;
      const next = queue.shift();
      if (next !== undefined) next();
      else free++;
    };
  };
  return async (signal) => {
    if (signal.aborted) return undefined;
    if (free > 0) {
      free--;
      return releaser();
    }
    const granted = await new Promise<boolean>((resolve) => {
      const grant = (): void => {
        signal.removeEventListener("abort", abort);
        resolve(true);
      };
      const abort = (): void => {
        const index = queue.indexOf(grant);
        if (index >= 0) queue.splice(index, 1);
        resolve(false);
      };
      signal.addEventListener("abort", abort, { once: true });
      queue.push(grant);
    });
    return granted ? releaser() : undefined;
  };
}

function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]?.trim() || "unknown error";
}

/**
 * A runner sharing one connection bound over every port.
 *
 * @example
 * ```ts ignore
 * import { createScriptRunner } from "./engine.ts";
 * import { scriptPlugins } from "../../plugins/mod.ts";
 * const runner = createScriptRunner([...scriptPlugins.map((make) => make())]);
 * const port = await runner.run({
 *   address: "127.0.0.1", protocol: "tcp", port: 80, state: "open", reason: "syn-ack",
 * });
 * console.log(port.scripts);
 * ```
 */
export function createScriptRunner(
  scripts: readonly ScriptPlugin[],
  options: ScriptRunnerOptions = {},
): ScriptRunner {
  const timeoutMs = Math.max(1, options.timeoutMs ?? SCRIPT_TIMEOUT_MS);
  const connectMs = options.connectMs ?? 3000;
  const readTimeoutMs = options.readTimeoutMs ?? 3000;
  const acquire = semaphore(Math.max(1, options.maxConnections ?? 64));
  const global = options.signal ?? new AbortController().signal;

  async function runOne(script: ScriptPlugin, port: PortResult): Promise<ScriptOutput | undefined> {
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    global.addEventListener("abort", stop, { once: true });
    const deadline = Date.now() + timeoutMs;
    const opened: EngineConn[] = [];
    const tlsByDefault = speaksTls(port);
    const connect = async (wanted: ScriptConnectOptions = {}): Promise<ProbeConn | undefined> => {
      if (opened.length >= SCRIPT_CONNECTIONS || controller.signal.aborted) return undefined;
      const release = await acquire(controller.signal);
      if (release === undefined) return undefined;
      let conn: EngineConn;
      try {
        conn = await connectProbe(port.address, port.port, {
          timeoutMs: connectMs,
          signal: controller.signal,
          deadline,
          readTimeoutMs,
        });
      } catch (error) {
        release();
        if (!(error instanceof ConnectError)) throw error;
        return undefined;
      }
      const close = conn.close;
      conn.close = (): void => {
        close();
        release();
      };
      opened.push(conn);
      const tls = wanted.tls ?? tlsByDefault;
      if (tls !== false) {
        try {
          await conn.startTls(typeof tls === "object" ? tls : { alpn: ["http/1.1"] });
        } catch {
          // Not TLS after all (a guess from the port number): the clear connection will do.
          if (wanted.tls !== undefined) return undefined;
          conn.close();
          opened.pop();
          return await connect({ tls: false });
        }
      }
      return conn;
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve("timeout");
      }, timeoutMs);
    });
    try {
      const conn = await connect();
      if (conn === undefined) return undefined;
      const first = opened[0];
      const context = {
        target: targetOf(port),
        signal: controller.signal,
        connect,
        peerCertificate: (): Uint8Array | undefined => first?.peerCertificate(),
      };
      const result = await Promise.race([
        Promise.resolve().then(() => script.run(conn, context)),
        timedOut,
      ]);
      if (result === "timeout") {
        if (!global.aborted) {
          options.onError?.(
            `script "${script.name}" on ${port.address}:${port.port} took over ${timeoutMs} ms: no output`,
          );
        }
        return undefined;
      }
      if (result !== undefined && !Array.isArray(result) && typeof result !== "string") {
        options.onError?.(
          `script "${script.name}" on ${port.address}:${port.port} returned neither lines nor text`,
        );
        return undefined;
      }
      return scriptOutput(script.name, result);
    } catch (error) {
      if (!global.aborted) {
        options.onError?.(
          `script "${script.name}" on ${port.address}:${port.port} failed: ${message(error)}`,
        );
      }
      return undefined;
    } finally {
      clearTimeout(timer);
      controller.abort();
      global.removeEventListener("abort", stop);
      for (const conn of opened) conn.close();
    }
  }

  return {
    async run(port: PortResult): Promise<PortResult> {
      const chosen = scripts.filter((script) => scriptApplies(script, port));
      if (chosen.length === 0 || global.aborted) return port;
      const outputs = await Promise.all(chosen.map((script) => runOne(script, port)));
      const found = outputs.filter((output): output is ScriptOutput => output !== undefined);
      return found.length === 0 ? port : { ...port, scripts: [...(port.scripts ?? []), ...found] };
    },
  };
}
