/**
 * Script plugins: `-sC` and `--script NAMES`, a few lines of output about an
 * open port once its service is known, shown as nmap shows its scripts'
 * output (`| http-title: …` under the port, `<script id= output=>` in XML,
 * `scripts` in JSON).
 *
 * A script plugin is a factory returning a {@link ScriptPlugin}: a name,
 * nmap-style categories, the ports and service names it applies to, and one
 * async `run(conn, context)` method. As with probe plugins, the engine
 * (`src/script/`) owns every socket: it connects (inside TLS when the port
 * speaks TLS), bounds every read and the whole run in time, and hands the
 * plugin a {@link ProbeConn}. A plugin that needs more than one connection
 * asks `context.connect()` for another; it opens no socket of its own and
 * keeps no state between calls.
 *
 * What a script reads comes from whoever runs the service: the engine caps
 * the lines and makes every control character visible before any output
 * sees them.
 *
 * @example A script that prints the first line a service sends
 * ```ts
 * import type { ScriptPlugin } from "./script_types.ts";
 *
 * export function firstLineScript(): ScriptPlugin {
 *   return {
 *     name: "first-line",
 *     description: "The first line the service sends unasked",
 *     categories: ["discovery", "safe"],
 *     ports: [21, 22, 25],
 *     services: ["ftp", "ssh", "smtp"],
 *     async run(conn): Promise<string[]> {
 *       const text = await conn.readText({ until: "\n", timeoutMs: 2000 });
 *       const line = text.split(/\r?\n/)[0] ?? "";
 *       return line === "" ? [] : [line];
 *     },
 *   };
 * }
 *
 * console.assert(firstLineScript().ports.includes(25));
 * ```
 *
 * @module
 */

import type { ProbeConn, StartTlsOptions } from "./probe_types.ts";

/** The port a script runs on, as detection left it. */
export interface ScriptTarget {
  address: string;
  port: number;
  protocol: "tcp" | "udp";
  /** What `-sV` (or the port table) named the service; empty fields when unknown. */
  service: {
    name?: string;
    product?: string;
    version?: string;
    /** "ssl" when the service was found inside TLS. */
    tunnel?: "ssl";
  };
}

/** Options of {@link ScriptContext.connect}. */
export interface ScriptConnectOptions {
  /** Run the TLS handshake first; default: as the first connection did. */
  tls?: boolean | StartTlsOptions;
}

/** What a script is given besides its first connection. */
export interface ScriptContext {
  /** The port. */
  target: ScriptTarget;
  /** Aborts when the script's time is up or the scan is interrupted; reads return early then. */
  signal: AbortSignal;
  /**
   * Another connection to the same port, made by the engine (a few per run
   * at most); undefined when it cannot be made.
   */
  connect(options?: ScriptConnectOptions): Promise<ProbeConn | undefined>;
  /**
   * The DER of the certificate the first connection's TLS peer showed, for
   * what `conn.tls` does not carry (key, signature, other fingerprints);
   * undefined before TLS.
   */
  peerCertificate(): Uint8Array | undefined;
}

/** A script: output lines about an open port. */
export interface ScriptPlugin {
  /** Unique name, as on the command line (`--script http-title`): letters, digits, "-", "_", ".". */
  readonly name: string;
  /** One line for `--help` and PLUGINS.md. */
  readonly description: string;
  /** nmap's categories ("default", "safe", "discovery", …); `-sC` runs the "default" ones. */
  readonly categories: readonly string[];
  /** Ports it applies to whatever the service. */
  readonly ports: readonly number[];
  /** Service names it applies to on any port ("http", "ssh"…). */
  readonly services: readonly string[];
  /** Also applies to any port whose service runs inside TLS. */
  readonly tls?: boolean;
  /** Applies to every open TCP port (nmap's banner). */
  readonly allPorts?: boolean;
  /**
   * What the script found: lines (nmap's list form: under the script's name,
   * each indented), a text (kept as written, its first line beside the
   * name), or nothing to say (undefined, no line, an empty text). A throw, a
   * bad value or a run past its time counts as no output, and a line on
   * stderr names the script.
   */
  run(conn: ProbeConn, context: ScriptContext): Promise<readonly string[] | string | undefined>;
}

/** One script's output on a port, as the port carries it (`PortResult.scripts`). */
export interface ScriptOutput {
  /** The script's name. */
  id: string;
  /**
   * nmap's form: one line as is; several as "\n  " before each (what
   * `<script output=>` holds and the `|` lines show).
   */
  output: string;
}

/** Why `value` is not a {@link ScriptPlugin}, or undefined when it is one. */
export function scriptPluginProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "it is not an object";
  const record = value as Record<string, unknown>;
  if (typeof record.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(record.name)) {
    return '`name` must be 1-64 letters, digits, ".", "_" or "-"';
  }
  if (typeof record.description !== "string") return "`description` is not a string";
  const strings = (list: unknown): boolean =>
    Array.isArray(list) && list.every((item) => typeof item === "string");
  if (!strings(record.categories)) return "`categories` is not a list of strings";
  if (
    !Array.isArray(record.ports) ||
    !record.ports.every((port) => Number.isInteger(port) && port >= 0 && port <= 65535)
  ) {
    return "`ports` is not a list of port numbers";
  }
  if (!strings(record.services)) return "`services` is not a list of strings";
  if (record.tls !== undefined && typeof record.tls !== "boolean") return "`tls` is not a boolean";
  if (record.allPorts !== undefined && typeof record.allPorts !== "boolean") {
    return "`allPorts` is not a boolean";
  }
  if (typeof record.run !== "function") return "`run` is not a function";
  return undefined;
}
