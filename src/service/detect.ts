/**
 * Service detection (`-sV`): for each open TCP port, connect, wait for a
 * greeting (nmap's NULL probe) and match it against the passive plugins;
 * then run the probes likely for the port, then the rest allowed by the
 * intensity, each on its own connection, concurrently, first match wins.
 * A TLS match is unwrapped and the service inside is detected the same way.
 *
 * UDP ports (open or open|filtered) get the UDP plugins' probes, with no
 * greeting to wait for; an answer makes the port open.
 *
 * Every port has a hard time budget, every connection counts against a
 * global bound, every read is capped in bytes and time.
 *
 * @module
 */

import type { PortResult, ServiceMatch, TlsDetails } from "../model/mod.ts";
import type { ProbePlugin } from "../plugin/probe_types.ts";
import { ConnectError, connectProbe, connectUdpProbe, type EngineConn } from "./conn.ts";
import { bannerText, clip, FIELD_CHARS } from "../plugin/text.ts";

/** Default of `--version-intensity`, as nmap's. */
export const DEFAULT_INTENSITY = 7;

/** Time limits of one port's detection, ms. */
export interface DetectTimings {
  /** How long to wait for a greeting. */
  greetingMs: number;
  /** How long an active probe waits for an answer (and a TLS handshake may take). */
  probeWaitMs: number;
  /** How long a connect may take. */
  connectMs: number;
  /** Hard bound on the whole detection of one port. */
  portMs: number;
}

const GREETING_MS = [1000, 1250, 1500, 1750, 2000, 2000, 2500, 2500, 3500, 5000];
const PROBE_WAIT_MS = [1500, 1500, 2000, 2000, 2500, 2500, 3000, 3000, 4000, 5000];

/**
 * Time limits for an intensity: a higher intensity waits longer for slow
 * services and tries rarer probes.
 *
 * @example
 * ```ts
 * import { intensityTimings } from "./detect.ts";
 * intensityTimings(7).greetingMs; // 2500
 * ```
 */
export function intensityTimings(intensity: number): DetectTimings {
  const level = Math.max(0, Math.min(9, Math.trunc(intensity)));
  const greetingMs = GREETING_MS[level] ?? 2500;
  const probeWaitMs = PROBE_WAIT_MS[level] ?? 3000;
  return {
    greetingMs,
    probeWaitMs,
    connectMs: 3000,
    // Greeting, TLS handshake, greeting inside TLS, probes inside TLS, with room to spare.
    portMs: 2 * greetingMs + 3 * probeWaitMs,
  };
}

/**
 * Parses a `--version-intensity` value.
 *
 * @throws {RangeError} `Cannot parse version intensity "12": value must be 0-9`
 */
export function parseVersionIntensity(text: string): number {
  if (!/^\d$/.test(text)) {
    throw new RangeError(`Cannot parse version intensity "${text}": value must be 0-9`);
  }
  return Number(text);
}

/** Options of {@link createServiceDetector} and {@link detectServices}. */
export interface DetectOptions {
  /** 0 (likely probes only, short waits) … 9 (every probe, long waits); default 7. */
  intensity?: number;
  /** Stops every detection; ports in progress resolve with what they have. */
  signal?: AbortSignal;
  /** Connections open at once, over all ports; default 128. */
  maxConnections?: number;
  /** Probes in flight at once on one port; default 16. */
  maxProbesPerPort?: number;
  /** Override the intensity's time limits. */
  timings?: Partial<DetectTimings>;
}

/** Detects the services of open ports, sharing one connection bound. */
export interface ServiceDetector {
  /**
   * The port with `service` filled in where detection found something.
   * Open TCP ports are probed, and open or open|filtered UDP ports by the
   * UDP plugins (an answer makes the port open, reason "udp-response").
   * Other ports come back unchanged. Never rejects.
   */
  detect(port: PortResult): Promise<PortResult>;
}

/** A counting semaphore whose waiters give up on abort. */
class Limiter {
  #free: number;
  #queue: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
    if (this.#free > 0) {
      this.#free--;
      return this.#releaser();
    }
    const granted = await new Promise<boolean>((resolve) => {
      const grant = (): void => {
        signal.removeEventListener("abort", abort);
        resolve(true);
      };
      const abort = (): void => {
        const index = this.#queue.indexOf(grant);
        if (index >= 0) this.#queue.splice(index, 1);
        resolve(false);
      };
      if (signal.aborted) return resolve(false);
      signal.addEventListener("abort", abort, { once: true });
      this.#queue.push(grant);
    });
    return granted ? this.#releaser() : undefined;
  }

  #releaser(): () => void {
    let done = false;
    return (): void => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/** An abort controller that also aborts with a parent signal; `dispose` unlinks it. */
function childAbort(parent: AbortSignal): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  if (parent.aborted) controller.abort();
  else parent.addEventListener("abort", abort, { once: true });
  return { controller, dispose: (): void => parent.removeEventListener("abort", abort) };
}

interface PortContext {
  address: string;
  port: number;
  deadline: number;
  timings: DetectTimings;
  intensity: number;
  plugins: readonly ProbePlugin[];
  limiter: Limiter;
  maxProbes: number;
}

/** What one layer (clear text, or inside TLS) found. */
interface LayerResult {
  match?: NamedMatch;
  banner?: Uint8Array;
  /** Closed at once without a byte: nmap's "tcpwrapped". */
  wrapped?: boolean;
  /** The TLS details when the match came through a tunnel. */
  tls?: TlsDetails;
}

type Opener = (signal: AbortSignal) => Promise<EngineConn | undefined>;

function likely(plugin: ProbePlugin, port: number, inTls: boolean): boolean {
  return inTls ? (plugin.tlsPorts ?? []).includes(port) : plugin.ports.includes(port);
}

/** Likely plugins first, then by rarity; stable otherwise. */
function ordered(plugins: readonly ProbePlugin[], port: number, inTls: boolean): ProbePlugin[] {
  return plugins
    .map((plugin, index) => ({ plugin, index, likely: likely(plugin, port, inTls) }))
    .sort((a, b) =>
      Number(b.likely) - Number(a.likely) || a.plugin.rarity - b.plugin.rarity || a.index - b.index
    )
    .map((entry) => entry.plugin);
}

/** What a probe must return to count: a service with a name. */
type NamedMatch = ServiceMatch & { name: string };

function isMatch(value: unknown): value is NamedMatch {
  return typeof value === "object" && value !== null && "name" in value &&
    typeof value.name === "string" && value.name !== "";
}

/** Run one plugin; a throw, a bad return or a plugin that ignores the abort all count as no match. */
async function runPlugin(
  plugin: ProbePlugin,
  conn: EngineConn,
  signal: AbortSignal,
): Promise<NamedMatch | undefined> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = (): void => resolve(undefined);
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const result = await Promise.race([
      Promise.resolve().then(() => plugin.probe(conn, signal)).catch(() => undefined),
      aborted,
    ]);
    return isMatch(result) ? result : undefined;
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Read a greeting: wait for the first bytes, then keep reading while more
 * come, handing what arrived to `settled` after each pause; stop when it
 * says so, at the byte cap, at the end of the stream or at `waitMs`.
 */
async function readGreeting(
  conn: EngineConn,
  waitMs: number,
  settled?: (bytes: Uint8Array) => Promise<boolean>,
): Promise<Uint8Array> {
  const end = Date.now() + waitMs;
  let got = new Uint8Array(0);
  while (got.length < 4096) {
    const left = end - Date.now();
    if (left <= 0) break;
    const more = await conn.read({ timeoutMs: left, idleMs: 250, maxBytes: 4096 - got.length });
    if (more.length === 0) break;
    const joined = new Uint8Array(got.length + more.length);
    joined.set(got);
    joined.set(more, got.length);
    got = joined;
    if (conn.closed || (settled !== undefined && await settled(got))) break;
  }
  return got;
}

async function detectLayer(
  ctx: PortContext,
  open: Opener,
  signal: AbortSignal,
  inTls: boolean,
  first?: EngineConn,
): Promise<LayerResult> {
  const conn = first ?? await open(signal);
  if (conn === undefined) return {};
  const waitMs = inTls ? Math.ceil(ctx.timings.greetingMs / 2) : ctx.timings.greetingMs;
  const passive = ordered(ctx.plugins.filter((plugin) => plugin.passive), ctx.port, inTls);
  let match: NamedMatch | undefined;
  const greeting = await readGreeting(conn, waitMs, async (bytes) => {
    conn.setGreeting(bytes);
    for (const plugin of passive) {
      match = await runPlugin(plugin, conn, signal);
      if (match !== undefined) return true;
    }
    return false;
  });
  const wrapped = greeting.length === 0 && conn.closed;
  conn.close();
  if (match !== undefined) return { match, banner: greeting };
  if (wrapped) return { wrapped: true };
  if (signal.aborted) return greeting.length > 0 ? { banner: greeting } : {};

  const active = ctx.plugins.filter((plugin) =>
    !plugin.passive && plugin.protocols.includes("tcp")
  );
  const likelyOnes = ordered(
    active.filter((plugin) => likely(plugin, ctx.port, inTls)),
    ctx.port,
    inTls,
  );
  const rest = ordered(
    active.filter((plugin) => !likely(plugin, ctx.port, inTls) && plugin.rarity <= ctx.intensity),
    ctx.port,
    inTls,
  );
  for (const phase of [likelyOnes, rest]) {
    if (phase.length === 0) continue;
    const found = await runPhase(ctx, phase, open, signal, greeting.length > 0, inTls);
    if (found !== undefined) {
      return { ...found, ...(greeting.length > 0 ? { banner: greeting } : {}) };
    }
    if (signal.aborted) break;
  }
  return greeting.length > 0 ? { banner: greeting } : {};
}

/** UDP: no greeting to wait for; the likely probes, then the rest the intensity allows. */
async function detectUdp(
  ctx: PortContext,
  open: Opener,
  signal: AbortSignal,
): Promise<LayerResult> {
  const likelyOnes = ordered(
    ctx.plugins.filter((plugin) => plugin.ports.includes(ctx.port)),
    ctx.port,
    false,
  );
  const rest = ordered(
    ctx.plugins.filter((plugin) =>
      !plugin.ports.includes(ctx.port) && plugin.rarity <= ctx.intensity
    ),
    ctx.port,
    false,
  );
  for (const phase of [likelyOnes, rest]) {
    if (phase.length === 0) continue;
    const found = await runPhase(ctx, phase, open, signal, false, false);
    if (found !== undefined || signal.aborted) return found ?? {};
  }
  return {};
}

/** Run a phase's plugins concurrently, each on a new connection; the first match wins. */
async function runPhase(
  ctx: PortContext,
  plugins: readonly ProbePlugin[],
  open: Opener,
  signal: AbortSignal,
  greets: boolean,
  inTls: boolean,
): Promise<LayerResult | undefined> {
  const phase = childAbort(signal);
  const { controller } = phase;
  let winner: LayerResult | undefined;
  let next = 0;
  async function worker(): Promise<void> {
    while (!controller.signal.aborted) {
      const plugin = plugins[next++];
      if (plugin === undefined) return;
      const conn = await open(controller.signal);
      if (conn === undefined) continue;
      let handedOff = false;
      try {
        if (greets) conn.setGreeting(await readGreeting(conn, ctx.timings.greetingMs));
        const match = await runPlugin(plugin, conn, controller.signal);
        if (match === undefined || controller.signal.aborted) continue;
        if (match.tls !== undefined && conn.tls !== undefined && !inTls) {
          // Claim the port before looking inside, so the other probes stop.
          conn.useSignal(signal);
          controller.abort();
          handedOff = true;
          winner = await unwrapTls(ctx, open, signal, conn, match);
          return;
        }
        winner = { match };
        controller.abort();
      } finally {
        if (!handedOff) conn.close();
      }
    }
  }
  const workers = Math.max(1, Math.min(ctx.maxProbes, plugins.length));
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    phase.dispose();
  }
  return winner;
}

async function unwrapTls(
  ctx: PortContext,
  open: Opener,
  signal: AbortSignal,
  conn: EngineConn,
  match: NamedMatch,
): Promise<LayerResult> {
  const tls = match.tls as TlsDetails;
  const openTls: Opener = async (inner) => {
    const plain = await open(inner);
    if (plain === undefined) return undefined;
    try {
      // No ALPN: the probes inside speak HTTP/1.x and other clear-text protocols.
      await plain.startTls({ alpn: [] });
      return plain;
    } catch {
      plain.close();
      return undefined;
    }
  };
  const inside = await detectLayer(ctx, openTls, signal, true, conn);
  if (inside.match !== undefined) {
    return { match: inside.match, tls, ...(inside.banner ? { banner: inside.banner } : {}) };
  }
  // nmap's "ssl/unknown": a tunnel with nothing recognisable inside.
  return {
    match: { name: "unknown" },
    tls,
    ...(inside.banner ? { banner: inside.banner } : {}),
  };
}

function text(value: unknown, max = FIELD_CHARS): string | undefined {
  return typeof value === "string" && value !== "" ? clip(value, max) : undefined;
}

/** The `service` object of a port from what the layers found; fields capped. */
function serviceOf(found: LayerResult): ServiceMatch | undefined {
  const service: ServiceMatch = {};
  // A binary greeting (MySQL's handshake, say) says nothing once identified.
  const binary = found.banner !== undefined && found.match !== undefined &&
    found.banner.subarray(0, 256).some((byte) => byte < 0x09 || (byte > 0x0d && byte < 0x20));
  const banner = found.banner !== undefined && found.banner.length > 0 && !binary
    ? bannerText(found.banner)
    : undefined;
  if (found.wrapped) {
    service.name = "tcpwrapped";
    service.method = "probed";
    return service;
  }
  const match = found.match;
  if (match !== undefined) {
    service.name = clip(match.name, 64);
    for (
      const key of ["product", "version", "extraInfo", "hostname", "ostype", "devicetype"] as const
    ) {
      const value = text(match[key]);
      if (value !== undefined) service[key] = value;
    }
    if (Array.isArray(match.cpe)) {
      const cpes = match.cpe.filter((item): item is string => typeof item === "string")
        .slice(0, 8).map((item) => clip(item, 128));
      if (cpes.length > 0) service.cpe = cpes;
    }
    if (match.http !== undefined) {
      service.http = {
        status: Number.isInteger(match.http.status) ? match.http.status : 0,
        server: text(match.http.server) ?? "",
        title: text(match.http.title) ?? "",
      };
    }
    service.method = "probed";
  }
  if (found.tls !== undefined) {
    service.tunnel = "ssl";
    service.tls = found.tls;
    service.certificate = {
      fingerprint: found.tls.sha256,
      subject: found.tls.subject,
      notAfter: found.tls.notAfter,
    };
  }
  if (banner !== undefined) service.banner = banner;
  return Object.keys(service).length > 0 ? service : undefined;
}

/**
 * A detector sharing one connection bound over every port it is given.
 *
 * @example
 * ```ts ignore
 * import { createServiceDetector } from "./detect.ts";
 * const detector = createServiceDetector({ intensity: 7 });
 * const port = await detector.detect({
 *   address: "127.0.0.1", protocol: "tcp", port: 22, state: "open", reason: "syn-ack",
 * });
 * console.log(port.service?.name, port.service?.product);
 * ```
 */
export function createServiceDetector(
  plugins: readonly ProbePlugin[],
  options: DetectOptions = {},
): ServiceDetector {
  const intensity = Math.max(0, Math.min(9, Math.trunc(options.intensity ?? DEFAULT_INTENSITY)));
  const timings = { ...intensityTimings(intensity), ...options.timings };
  const limiter = new Limiter(Math.max(1, options.maxConnections ?? 128));
  const maxProbes = Math.max(1, options.maxProbesPerPort ?? 16);
  const global = options.signal ?? new AbortController().signal;
  const byProtocol = {
    tcp: plugins.filter((plugin) => plugin.protocols.includes("tcp")),
    udp: plugins.filter((plugin) => plugin.protocols.includes("udp")),
  };

  return {
    async detect(result: PortResult): Promise<PortResult> {
      const udp = result.protocol === "udp";
      const wanted = result.state === "open" || (udp && result.state === "open|filtered");
      if (!wanted || global.aborted || byProtocol[result.protocol].length === 0) return result;
      const deadline = Date.now() + timings.portMs;
      const portAbort = childAbort(global);
      const timer = setTimeout(() => portAbort.controller.abort(), timings.portMs);
      const ctx: PortContext = {
        address: result.address,
        port: result.port,
        deadline,
        timings,
        intensity,
        plugins: byProtocol[result.protocol],
        limiter,
        maxProbes,
      };
      let refused = false;
      let reset = false;
      const open: Opener = async (signal) => {
        const release = await limiter.acquire(signal);
        if (release === undefined) return undefined;
        try {
          const connect = udp ? connectUdpProbe : connectProbe;
          const conn = await connect(result.address, result.port, {
            timeoutMs: timings.connectMs,
            signal,
            deadline,
            readTimeoutMs: timings.probeWaitMs,
          });
          const close = conn.close;
          conn.close = (): void => {
            close();
            release();
          };
          return conn;
        } catch (error) {
          release();
          if (error instanceof ConnectError) {
            if (error.kind === "refused") refused = true;
            if (error.kind === "reset") reset = true;
          }
          return undefined;
        }
      };
      try {
        if (udp) {
          const found = await detectUdp(ctx, open, portAbort.controller.signal);
          const service = serviceOf(found);
          if (service === undefined) return result;
          // An answer proves the port open, as nmap's -sV concludes too.
          return {
            ...result,
            state: "open",
            reason: "udp-response",
            service: { ...result.service, ...service },
          };
        }
        const found = await detectLayer(ctx, open, portAbort.controller.signal, false);
        const service = found.match === undefined && found.banner === undefined && !found.wrapped &&
            reset && !refused
          ? serviceOf({ wrapped: true })
          : serviceOf(found);
        return service === undefined
          ? result
          : { ...result, service: { ...result.service, ...service } };
      } catch {
        return result;
      } finally {
        clearTimeout(timer);
        portAbort.dispose();
      }
    },
  };
}

/**
 * Detect the services of a batch of ports, concurrently. Each result is
 * handed to `onResult` as soon as it is known; the promise resolves with all
 * of them, in the order given.
 *
 * @example
 * ```ts ignore
 * import { detectServices } from "./detect.ts";
 * const ports = await detectServices(openPorts, { plugins: [], intensity: 7 });
 * ```
 */
export async function detectServices(
  ports: Iterable<PortResult>,
  options: DetectOptions & {
    /** The probe plugins to run (plugins/mod.ts's `probePlugins`, made, for the built-ins). */
    plugins: readonly ProbePlugin[];
    onResult?: (port: PortResult) => void;
  },
): Promise<PortResult[]> {
  const detector = createServiceDetector(options.plugins, options);
  return await Promise.all([...ports].map(async (port) => {
    const detected = await detector.detect(port);
    options.onResult?.(detected);
    return detected;
  }));
}
