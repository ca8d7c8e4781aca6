/**
 * Testing helpers for plugin authors (`@portolan/portolan/plugin/testing`,
 * or `src/plugin_testing/mod.ts` in a checkout): what the project's own plugin
 * tests use.
 *
 * - Outputs: {@link sampleScan} builds a small scan through the real report
 *   builder (with `hostile: true`, full of text a hostile service could
 *   send), and {@link runOutput} runs a plugin over it through the real
 *   event bus and returns what it wrote; {@link rawControls} finds control
 *   characters that were not escaped.
 * - Probes and scripts: {@link fakeConnection} is a scripted service behind
 *   a {@link ProbeConn} that keeps the engine's read contract (the engine's
 *   own read loop: byte limits, `until`, leftovers, end of stream), and
 *   {@link runProbe} and {@link runScript} run a plugin on one.
 *
 * @example A probe against a scripted service
 * ```ts
 * import { defineProbe, latin1 } from "../plugin/mod.ts";
 * import { runProbe } from "./mod.ts";
 *
 * const hello = defineProbe({
 *   name: "hello",
 *   async probe(conn) {
 *     await conn.write("HELLO\r\n");
 *     const answer = await conn.readText({ until: "\n" });
 *     return answer.startsWith("HI ") ? { name: "hello", product: answer.slice(3).trim() } : undefined;
 *   },
 * });
 * const match = await runProbe(hello, { answers: ["HI Hellod\r\n"] });
 * console.log(match); // { name: "hello", product: "Hellod" }
 * ```
 *
 * @module
 */

import type { HostResult, PortResult, ScanReport, ServiceMatch, TlsDetails } from "../model/mod.ts";
import { createEventBus, runOutputs } from "../output/bus.ts";
import { createReportBuilder } from "../output/report_builder.ts";
import type { OutputPlugin, ScanEvent } from "../plugin/types.ts";
import type { ProbeConn, ProbePlugin, ReadOptions } from "../plugin/probe_types.ts";
import type { ScriptContext, ScriptPlugin, ScriptTarget } from "../plugin/script_types.ts";
import { readChunks, type ReadState } from "../service/conn.ts";
import { latin1 } from "../plugin/text.ts";

/** Hostile text a service could send: terminal escapes, NUL, markup, bidi and BOM-like marks. */
export const HOSTILE = "\x1b[31mred\x1b]0;title\x07\0NUL\r\n</title><script>alert(1)</script>" +
  `<img src=x onerror="alert(2)">&amp;\u202eevil\ufffe\ud800'"`;

/** A 100 KB line of hostile text. */
export const HUGE: string = (HOSTILE + "A".repeat(1000)).repeat(100);

/** A scan: its events in order, and the final report. */
export interface Fixture {
  events: ScanEvent[];
  report: ScanReport;
}

/**
 * A small scan of documentation addresses: an up host with open, closed (more
 * than 25, so counted) and filtered (more than 25, so nmap folds them) ports,
 * a host in state unknown, a down host, and an IPv6 host. With `hostile`, the
 * services' banners, names and the hostnames carry {@link HOSTILE} text and a
 * 100 KB banner.
 */
export function sampleScan(options: { hostile?: boolean } = {}): Fixture {
  const hostile = options.hostile ?? false;
  const start = new Date("2025-01-02T03:04:05.000Z");
  const builder = createReportBuilder({
    version: "0.1.0",
    args: [
      "portolan",
      ...(hostile ? ["--comment=--> \x1b[2J <!--", "-iL", HOSTILE] : []),
      "-p",
      "1-100",
      "198.51.100.0/30",
      "2001:db8::5",
    ],
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 100, services: "1-100" }],
    start,
  }, { includeDown: true });
  const events: ScanEvent[] = [{ type: "start", report: builder.snapshot() }];
  const web = hostile ? `web${HOSTILE}.example` : "web.example";

  const hosts: HostResult[] = [
    { address: "198.51.100.2", hostnames: [web], state: "up", reason: "syn-ack" },
    { address: "198.51.100.3", hostnames: [], state: "down", reason: "no-response" },
    { address: "2001:db8::5", hostnames: [], state: "up", reason: "conn-refused" },
  ];
  for (const host of hosts) {
    builder.addHost(host);
    events.push({ type: "host", host });
  }

  const ports: PortResult[] = [];
  for (let port = 1; port <= 100; port++) {
    const base = { address: "198.51.100.2", protocol: "tcp" as const, port };
    if (port === 22) {
      ports.push({
        ...base,
        state: "open",
        reason: "syn-ack",
        rtt: 0.25,
        reasonTtl: 64,
        service: {
          name: "ssh",
          product: hostile ? `=cmd|' /C calc'!A0${HOSTILE}` : "OpenSSH",
          version: "9.2p1",
          extraInfo: "protocol 2.0",
          cpe: ["cpe:/a:openbsd:openssh:9.2p1"],
          banner: hostile ? HUGE : "SSH-2.0-OpenSSH_9.2p1",
        },
      });
    } else if (port === 80) {
      ports.push({
        ...base,
        state: "open",
        reason: "syn-ack",
        service: { name: hostile ? `http${HOSTILE}` : "http", product: "nginx", version: "1.22.1" },
      });
    } else if (port === 43) {
      ports.push({
        ...base,
        state: "open",
        reason: "syn-ack",
        service: {
          name: "https",
          product: "nginx",
          tls: {
            subject: hostile ? `CN=${HOSTILE}` : "CN=web.example",
            issuer: "CN=Example CA",
            sans: ["web.example", hostile ? HOSTILE : "www.example"],
            notBefore: "2024-01-20T00:00:00.000Z",
            notAfter: "2025-01-20T00:00:00.000Z",
            sha256: "",
            alpn: "",
            version: "TLSv1.3",
          },
        },
      });
    } else if (port === 99) {
      ports.push({ ...base, state: "open", reason: "syn-ack" });
    } else if (port > 60) {
      ports.push({ ...base, state: "filtered", reason: "no-response" });
    } else {
      ports.push({ ...base, state: "closed", reason: "conn-refused" });
    }
  }
  for (const port of [1, 2, 3]) {
    ports.push({
      address: "198.51.100.1",
      protocol: "tcp",
      port,
      state: "filtered",
      reason: port === 3 ? "admin-prohibited" : "no-response",
    });
  }
  ports.push({
    address: "2001:db8::5",
    protocol: "tcp",
    port: 8080,
    state: "open",
    reason: "syn-ack",
    service: { name: "http-proxy" },
  });
  for (const result of ports) {
    builder.addPort(result);
    events.push({ type: "port", result });
  }
  const report = builder.finish(
    { probes: 204, retries: 3, hostsTotal: 5, hostsDown: 1 },
    new Date(start.getTime() + 2500),
  );
  events.push({ type: "end", report, interrupted: false });
  return { events, report };
}

/**
 * Run an output plugin over a scan (a {@link Fixture} such as
 * {@link sampleScan}'s, or a list of events) through the real event bus, as
 * the scanner runs it; resolves to everything it wrote. A plugin that
 * throws makes this reject with its error.
 *
 * @example
 * ```ts
 * import { defineOutput } from "../plugin/mod.ts";
 * import { runOutput, sampleScan } from "./mod.ts";
 *
 * const count = defineOutput({
 *   name: "count",
 *   async write(events, out) {
 *     let ports = 0;
 *     for await (const event of events) if (event.type === "port") ports++;
 *     await out.write(`${ports} ports\n`);
 *   },
 * });
 * console.log(await runOutput(count, sampleScan())); // "104 ports\n"
 * ```
 */
export async function runOutput(
  plugin: OutputPlugin,
  scan: Fixture | readonly ScanEvent[],
): Promise<string> {
  const events = "events" in scan ? scan.events : scan;
  const chunks: string[] = [];
  const bus = createEventBus();
  const done = runOutputs([{
    plugin,
    writer: { color: false, write: (text) => Promise.resolve(void chunks.push(text)) },
  }], bus);
  for (const event of events) bus.emit(event);
  bus.close();
  const errors = await done;
  if (errors.length > 0) throw errors[0];
  return chunks.join("");
}

/**
 * The raw C0 and C1 controls in `text` other than those `allowed` (LF by
 * default), as `\xHH`: an output that escapes hostile text has none.
 */
export function rawControls(text: string, allowed = "\n"): string[] {
  const found = new Set<string>();
  for (const char of text) {
    const code = char.charCodeAt(0);
    if ((code < 0x20 || (code >= 0x7f && code <= 0x9f)) && !allowed.includes(char)) {
      found.add(`\\x${code.toString(16).padStart(2, "0")}`);
    }
  }
  return [...found];
}

// ---------------------------------------------------------------------------
// Probes and scripts: a scripted service.

/** What the service behind a {@link fakeConnection} does. */
export interface FakeService {
  /** What it sends on connecting, unasked (nmap's NULL probe answer). Default nothing. */
  greeting?: string | Uint8Array;
  /**
   * Its answers: one per write of the plugin, in order (text as UTF-8), or a
   * function of what was written that returns the answer (undefined: none).
   */
  answers?:
    | readonly (string | Uint8Array)[]
    | ((written: Uint8Array) => string | Uint8Array | undefined);
  /** Each answer arrives in pieces of at most this many bytes, as TCP segments may. Default whole. */
  segmentBytes?: number;
  /** It closes the connection once its answers (a list) are out. Default false. */
  closes?: boolean;
  /** The details `startTls` returns; without them the handshake fails, as a refused one does. */
  tls?: TlsDetails;
  /** The connection runs inside TLS from the start (`conn.tls` is `tls`). */
  inTls?: boolean;
  /** Where it listens. Default 198.51.100.7 (a documentation address), port 7. */
  address?: string;
  port?: number;
}

/** A {@link ProbeConn} to a {@link FakeService}, and what the plugin sent it. */
export interface FakeConnection extends ProbeConn {
  /** Each write of the plugin, as bytes, in order. */
  readonly written: readonly Uint8Array[];
  /** Everything written, decoded as Latin-1. */
  writtenText(): string;
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data.slice();
}

/** `bytes` as the pieces a socket would deliver, at most `size` bytes each (never an empty one). */
function segments(bytes: Uint8Array, size: number | undefined): Uint8Array[] {
  if (size === undefined || !(size >= 1) || bytes.length <= size) return [bytes];
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size));
  return out;
}

/**
 * A connection to a scripted service, as the engine gives a probe or a
 * script. Reads follow the engine's contract with its own read loop
 * (`maxBytes`, `until`, `idleMs`; bytes beyond a read stay for the next;
 * the end of the stream stays) in virtual time: a read that runs out of
 * answers returns what it has at once, as a timeout would. Reads and writes
 * never throw; after `signal` aborts they return nothing.
 *
 * @example
 * ```ts
 * import { fakeConnection } from "./mod.ts";
 * const conn = fakeConnection({ greeting: "220 ready\r\n", answers: ["214 help\r\n"] });
 * await conn.write("HELP\r\n");
 * console.log(await conn.readText({ until: "\r\n" })); // "214 help\r\n"
 * console.log(conn.writtenText()); // "HELP\r\n"
 * ```
 */
export function fakeConnection(
  service: FakeService = {},
  options: { signal?: AbortSignal } = {},
): FakeConnection {
  const signal = options.signal ?? new AbortController().signal;
  // Chunks that arrived and were not read yet; null is the end of the stream, and stays.
  const queue: (Uint8Array | null)[] = [];
  const answers = typeof service.answers === "function"
    ? service.answers
    : [...service.answers ?? []];
  const state: ReadState = { buffer: EMPTY, eof: false };
  const written: Uint8Array[] = [];
  let tls = service.inTls === true ? service.tls : undefined;

  const endIfDone = (): void => {
    if (service.closes === true && Array.isArray(answers) && answers.length === 0) {
      if (!queue.includes(null)) queue.push(null);
    }
  };
  endIfDone();
  const source = {
    next(): Promise<Uint8Array | null | undefined> {
      if (queue[0] === null) return Promise.resolve(null);
      return Promise.resolve(queue.shift() ?? undefined);
    },
  };
  async function read(read: ReadOptions = {}): Promise<Uint8Array> {
    if (signal.aborted) return EMPTY;
    return await readChunks(state, source, { read, limit: Infinity, signal });
  }
  return {
    address: service.address ?? "198.51.100.7",
    port: service.port ?? 7,
    greeting: service.greeting === undefined ? EMPTY : bytesOf(service.greeting),
    get tls(): TlsDetails | undefined {
      return tls;
    },
    get closed(): boolean {
      return state.eof && state.buffer.length === 0;
    },
    written,
    writtenText: (): string => written.map(latin1).join(""),
    read,
    async readText(options?: ReadOptions): Promise<string> {
      return latin1(await read(options));
    },
    write(data: string | Uint8Array): Promise<void> {
      const bytes = bytesOf(data);
      written.push(bytes);
      // A closed service answers nothing more; the write itself does not fail.
      if (signal.aborted || state.eof || queue.includes(null)) return Promise.resolve();
      const answer = typeof answers === "function" ? answers(bytes) : answers.shift();
      if (answer !== undefined) queue.push(...segments(bytesOf(answer), service.segmentBytes));
      endIfDone();
      return Promise.resolve();
    },
    startTls(): Promise<TlsDetails> {
      const where = `${service.address ?? "198.51.100.7"}:${service.port ?? 7}`;
      if (tls !== undefined) {
        return Promise.reject(new Error("Cannot start TLS: the connection already runs TLS"));
      }
      if (service.tls === undefined || signal.aborted) {
        return Promise.reject(new Error(`Cannot start TLS with ${where}: handshake failed`));
      }
      // What was buffered went into the handshake.
      state.buffer = EMPTY;
      tls = service.tls;
      return Promise.resolve(tls);
    },
  };
}

/**
 * Run a probe plugin on a {@link fakeConnection} to `service`; resolves to
 * its match, or undefined.
 */
export async function runProbe(
  plugin: ProbePlugin,
  service: FakeService,
  options: { signal?: AbortSignal } = {},
): Promise<ServiceMatch | undefined> {
  const signal = options.signal ?? new AbortController().signal;
  return await plugin.probe(fakeConnection(service, { signal }), signal);
}

/**
 * Run a script plugin on a {@link fakeConnection} to `service`, as the
 * sandbox runs it: `context.connect()` gives no second connection, and no
 * peer certificate. `target.service` is what detection would have found.
 */
export async function runScript(
  plugin: ScriptPlugin,
  service: FakeService,
  options: { target?: Partial<ScriptTarget>; signal?: AbortSignal } = {},
): Promise<readonly string[] | string | undefined> {
  const signal = options.signal ?? new AbortController().signal;
  const conn = fakeConnection(service, { signal });
  const context: ScriptContext = {
    target: {
      address: conn.address,
      port: conn.port,
      protocol: "tcp",
      service: {},
      ...options.target,
    },
    signal,
    connect: () => Promise.resolve(undefined),
    peerCertificate: () => undefined,
  };
  return await plugin.run(conn, context);
}
