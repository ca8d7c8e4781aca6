/**
 * The connection the engine hands to probe plugins: `Deno.connect` for TCP,
 * `node:tls` layered on the same socket for TLS (it lets us see
 * self-signed certificates, which `Deno.startTls` refuses). Every read is
 * bounded in bytes and time, and by the port's deadline and abort signal.
 *
 * @module
 */

// node:tls, node:stream and node:dgram cost tens of ms to load: they are
// imported by the first probe that needs them, not by every start-up.
import type { Socket as UdpSocket } from "node:dgram";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { ProbeConn, ReadOptions, StartTlsOptions, TlsDetails } from "../plugin/probe_types.ts";
import { concatBytes, latin1 } from "../plugin/text.ts";
import { tlsDetails } from "./tls.ts";

/** Largest read a plugin may ask for. */
export const MAX_READ_BYTES = 65_536;
/** Default of {@link ReadOptions.maxBytes}. */
export const DEFAULT_READ_BYTES = 4096;
/** Bytes queued from a TLS socket before it is paused. */
const TLS_QUEUE_BYTES = 65_536;

/**
 * Chunks as they arrive. `next` waits at most `waitMs` (Infinity: no limit)
 * and returns undefined when nothing came in time; a chunk that arrives later
 * is kept for the next call, never lost. EOF is null.
 */
export interface ChunkSource {
  next(waitMs: number, signal?: AbortSignal): Promise<Uint8Array | null | undefined>;
}

/** A {@link ChunkSource} that can also be written to and closed. */
interface Source extends ChunkSource {
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
}

/** What a stream has read but not yet handed out, and whether it ended (for good). */
export interface ReadState {
  buffer: Uint8Array;
  eof: boolean;
}

/** Options of {@link readChunks}. */
export interface ReadChunksOptions {
  /** The plugin's read options (maxBytes, until, idleMs). */
  read: ReadOptions;
  /** Time (Date.now()) past which nothing more is waited for. */
  limit: number;
  signal: AbortSignal;
}

/**
 * One read of {@link ProbeConn.read}'s contract from `source`: at most
 * `maxBytes` (clamped to {@link MAX_READ_BYTES}), done early once `until`
 * holds, the rest kept in `state` for the next read; EOF stays; an abort ends
 * the read with what it has.
 */
export async function readChunks(
  state: ReadState,
  source: ChunkSource,
  options: ReadChunksOptions,
): Promise<Uint8Array> {
  const { read, limit, signal } = options;
  const maxBytes = Math.max(1, Math.min(read.maxBytes ?? DEFAULT_READ_BYTES, MAX_READ_BYTES));
  const until = read.until;
  const done = (bytes: Uint8Array): boolean =>
    bytes.length >= maxBytes ||
    (until !== undefined && bytes.length > 0 &&
      (typeof until === "string" ? contains(bytes, until) : until(bytes)));
  let got = state.buffer;
  state.buffer = new Uint8Array(0);
  while (!done(got) && !state.eof && !signal.aborted) {
    let wait = limit - Date.now();
    if (read.idleMs !== undefined && got.length > 0) wait = Math.min(wait, read.idleMs);
    if (wait <= 0) break;
    const chunk = await source.next(wait, signal);
    if (chunk === undefined) break;
    if (chunk === null) {
      state.eof = true;
      break;
    }
    got = concatBytes(got, chunk);
  }
  if (got.length > maxBytes) {
    state.buffer = got.slice(maxBytes);
    got = got.slice(0, maxBytes);
  }
  return got;
}

/** Resolves after `ms` (never for Infinity) or on abort; `cancel` frees the timer. */
function sleepOrAbort(ms: number, signal?: AbortSignal): { done: Promise<void>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const done = new Promise<void>((resolve) => {
    if (ms !== Infinity) timer = setTimeout(resolve, Math.max(0, ms));
    if (signal !== undefined) {
      if (signal.aborted) return resolve();
      onAbort = (): void => resolve();
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  return {
    done,
    cancel(): void {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** Chunks queued by a producer, taken by one consumer with a wait limit. */
class ChunkQueue {
  #chunks: (Uint8Array | null)[] = [];
  #waiters = new Set<() => void>();
  bytes = 0;

  push(chunk: Uint8Array | null): void {
    this.#chunks.push(chunk);
    if (chunk !== null) this.bytes += chunk.length;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  get length(): number {
    return this.#chunks.length;
  }

  /** The next chunk, or undefined when the wait ends first. EOF stays queued. */
  async take(waitMs: number, signal?: AbortSignal): Promise<Uint8Array | null | undefined> {
    if (this.#chunks.length === 0) {
      const timer = sleepOrAbort(waitMs, signal);
      let wake: (() => void) | undefined;
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
        this.#waiters.add(resolve);
      });
      await Promise.race([arrived, timer.done]);
      timer.cancel();
      if (wake) this.#waiters.delete(wake);
    }
    const chunk = this.#chunks[0];
    if (chunk === undefined) return undefined;
    if (chunk === null) return null;
    this.#chunks.shift();
    this.bytes -= chunk.length;
    return chunk;
  }
}

function rawSource(conn: Deno.TcpConn): Source {
  const queue = new ChunkQueue();
  let reading = false;
  let closed = false;
  function pull(): void {
    if (reading || closed || queue.length > 0) return;
    reading = true;
    const buffer = new Uint8Array(16_384);
    conn.read(buffer).then(
      (n) => queue.push(n === null ? null : buffer.subarray(0, n)),
      // Reset, or closed under us: both end the stream.
      () => queue.push(null),
    ).finally(() => {
      reading = false;
    });
  }
  return {
    next(waitMs: number, signal?: AbortSignal): Promise<Uint8Array | null | undefined> {
      if (closed && queue.length === 0) return Promise.resolve(null);
      pull();
      return queue.take(waitMs, signal);
    },
    async write(bytes: Uint8Array): Promise<void> {
      let offset = 0;
      while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
    },
    close(): void {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** A node Duplex over a source, for `tls.connect({ socket })`. */
async function duplexOver(source: Source, leftover: Uint8Array): Promise<Duplex> {
  const { Duplex } = await import("node:stream");
  let first: Uint8Array | undefined = leftover.length > 0 ? leftover : undefined;
  return new Duplex({
    read(): void {
      if (first !== undefined) {
        const chunk = first;
        first = undefined;
        this.push(chunk);
        return;
      }
      source.next(Infinity).then((chunk) => this.push(chunk ?? null), () => this.push(null));
    },
    write(chunk: Uint8Array, _encoding: string, callback: (error?: Error | null) => void): void {
      source.write(chunk).then(() => callback(), (error) => callback(error as Error));
    },
    final(callback: () => void): void {
      callback();
    },
    destroy(_error: Error | null, callback: (error: Error | null) => void): void {
      source.close();
      callback(null);
    },
  });
}

function tlsSource(socket: TLSSocket, under: Source): Source {
  const queue = new ChunkQueue();
  let ended = false;
  socket.on("data", (data: Uint8Array) => {
    queue.push(data);
    // Bounded memory: a service that floods us waits until we read.
    if (queue.bytes > TLS_QUEUE_BYTES) socket.pause();
  });
  const end = (): void => {
    if (ended) return;
    ended = true;
    queue.push(null);
  };
  socket.on("end", end);
  socket.on("close", end);
  socket.on("error", end);
  return {
    async next(waitMs: number, signal?: AbortSignal): Promise<Uint8Array | null | undefined> {
      const chunk = await queue.take(waitMs, signal);
      if (queue.bytes <= TLS_QUEUE_BYTES && !ended) socket.resume();
      return chunk;
    },
    write(bytes: Uint8Array): Promise<void> {
      return new Promise((resolve, reject) => {
        if (socket.destroyed) return reject(new Error("TLS socket is closed"));
        socket.write(bytes, (error) => (error ? reject(error) : resolve()));
      });
    },
    close(): void {
      socket.destroy();
      under.close();
      end();
    },
  };
}

/** Datagrams from a connected UDP socket; an ICMP port unreachable ends the stream. */
function udpSource(socket: UdpSocket): Source {
  const queue = new ChunkQueue();
  let closed = false;
  socket.on("message", (message: Uint8Array) => {
    // Bounded memory: a flood beyond what a probe reads is dropped.
    if (queue.bytes <= TLS_QUEUE_BYTES) queue.push(new Uint8Array(message));
  });
  socket.on("error", () => queue.push(null));
  return {
    next(waitMs: number, signal?: AbortSignal): Promise<Uint8Array | null | undefined> {
      return queue.take(waitMs, signal);
    },
    write(bytes: Uint8Array): Promise<void> {
      return new Promise((resolve, reject) => {
        if (closed) return reject(new Error("UDP socket is closed"));
        socket.send(bytes, (error) => (error ? reject(error) : resolve()));
      });
    },
    close(): void {
      if (closed) return;
      closed = true;
      queue.push(null);
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    },
  };
}

function contains(bytes: Uint8Array, needle: string): boolean {
  return needle !== "" && latin1(bytes).includes(needle);
}

const IP_LITERAL = /^[\d.]+$|:/;

/** Options of {@link connectProbe}. */
export interface ConnectOptions {
  /** Give up connecting after this long, ms. */
  timeoutMs: number;
  /** Aborts the connect and, later, every read. */
  signal: AbortSignal;
  /** Absolute time (ms since the epoch, `Date.now()`) after which reads return at once. */
  deadline: number;
  /** Default read time limit, ms. */
  readTimeoutMs: number;
}

/** A {@link ProbeConn} the engine can close and re-greet. */
export interface EngineConn extends ProbeConn {
  /** Record the greeting (already read) that plugins see as `conn.greeting`. */
  setGreeting(bytes: Uint8Array): void;
  /** Make reads and writes follow another abort signal from now on. */
  useSignal(signal: AbortSignal): void;
  /** Bytes written so far. */
  readonly written: number;
  /** The DER of the certificate the TLS peer showed; undefined before TLS. */
  peerCertificate(): Uint8Array | undefined;
  close(): void;
}

/** Why a connect failed: "refused", "reset" (accepted, then reset), "timeout" or "error". */
export class ConnectError extends Error {
  constructor(readonly kind: "refused" | "reset" | "timeout" | "error", message: string) {
    super(message);
    this.name = "ConnectError";
  }
}

/**
 * Open a TCP connection for probing.
 *
 * @throws {ConnectError} when the connection cannot be made in time.
 */
export async function connectProbe(
  address: string,
  port: number,
  options: ConnectOptions,
): Promise<EngineConn> {
  if (options.signal.aborted) {
    throw new ConnectError("timeout", `Cannot connect to ${address}:${port}: aborted`);
  }
  const attempt = Deno.connect({ hostname: address, port, transport: "tcp" });
  const wait = sleepOrAbort(
    Math.min(options.timeoutMs, options.deadline - Date.now()),
    options.signal,
  );
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Promise.race([attempt, wait.done.then(() => undefined)]);
  } catch (error) {
    const kind = error instanceof Deno.errors.ConnectionRefused
      ? "refused"
      : error instanceof Deno.errors.ConnectionReset
      ? "reset"
      : "error";
    throw new ConnectError(
      kind,
      `Cannot connect to ${address}:${port}: ${(error as Error).message}`,
    );
  } finally {
    wait.cancel();
  }
  if (conn === undefined) {
    // A late success must not leak a socket.
    attempt.then((late) => late.close(), () => {});
    throw new ConnectError("timeout", `Cannot connect to ${address}:${port}: timed out`);
  }
  try {
    conn.setNoDelay(true);
  } catch {
    // Reset already; reads will say so.
  }
  return probeConn(address, port, rawSource(conn), options);
}

/**
 * A connected UDP socket for probing: each `write` sends one datagram, and
 * reads return the datagrams that came back (an `until` test that always
 * says yes returns after the first).
 *
 * @throws {ConnectError} when the socket cannot be bound or connected.
 */
export async function connectUdpProbe(
  address: string,
  port: number,
  options: ConnectOptions,
): Promise<EngineConn> {
  const dgram = await import("node:dgram");
  const socket = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(port, address, () => {
        socket.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw new ConnectError(
      "error",
      `Cannot connect to ${address}:${port}/udp: ${(error as Error).message}`,
    );
  }
  const conn = probeConn(address, port, udpSource(socket), options);
  conn.startTls = (): Promise<TlsDetails> =>
    Promise.reject(new Error(`Cannot start TLS with ${address}:${port}/udp: it is UDP`));
  return conn;
}

function probeConn(
  address: string,
  port: number,
  initial: Source,
  options: ConnectOptions,
): EngineConn {
  let source = initial;
  const state: ReadState = { buffer: new Uint8Array(0), eof: false };
  let written = 0;
  let greeting: Uint8Array = new Uint8Array(0);
  let tlsInfo: TlsDetails | undefined;
  let certificate: Uint8Array | undefined;
  let signal = options.signal;
  const encoder = new TextEncoder();

  function read(read: ReadOptions = {}): Promise<Uint8Array> {
    const limit = Math.min(
      Date.now() + Math.max(0, read.timeoutMs ?? options.readTimeoutMs),
      options.deadline,
    );
    return readChunks(state, source, { read, limit, signal });
  }

  const conn: EngineConn = {
    address,
    port,
    get greeting(): Uint8Array {
      return greeting;
    },
    get tls(): TlsDetails | undefined {
      return tlsInfo;
    },
    get closed(): boolean {
      return state.eof && state.buffer.length === 0;
    },
    get written(): number {
      return written;
    },
    read,
    async readText(options?: ReadOptions): Promise<string> {
      return latin1(await read(options));
    },
    async write(data: string | Uint8Array): Promise<void> {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      if (state.eof || signal.aborted) return;
      written += bytes.length;
      const timer = sleepOrAbort(options.deadline - Date.now(), signal);
      try {
        // A peer that never reads must not hold us past the deadline.
        const result = await Promise.race([
          source.write(bytes).then(() => "ok" as const, () => "failed" as const),
          timer.done.then(() => "timeout" as const),
        ]);
        if (result !== "ok") state.eof = true;
      } finally {
        timer.cancel();
      }
    },
    async startTls(start: StartTlsOptions = {}): Promise<TlsDetails> {
      if (tlsInfo !== undefined) {
        throw new Error("Cannot start TLS: the connection already runs TLS");
      }
      const leftover = state.buffer;
      state.buffer = new Uint8Array(0);
      const under = source;
      const servername = start.servername ?? (IP_LITERAL.test(address) ? undefined : address);
      const [tls, plain] = await Promise.all([import("node:tls"), duplexOver(under, leftover)]);
      const socket = tls.connect({
        socket: plain,
        rejectUnauthorized: false,
        ALPNProtocols: start.alpn ?? ["h2", "http/1.1"],
        ...(servername === undefined ? {} : { servername }),
      });
      const timer = sleepOrAbort(
        Math.min(options.readTimeoutMs, options.deadline - Date.now()),
        signal,
      );
      try {
        const outcome = await Promise.race([
          new Promise<"ok" | Error>((resolve) => {
            socket.once("secureConnect", () => resolve("ok"));
            socket.once("error", (error: Error) => resolve(error));
            socket.once("close", () => resolve(new Error("connection closed")));
          }),
          timer.done.then(() => new Error("timed out")),
        ]);
        if (outcome !== "ok") {
          socket.destroy();
          under.close();
          state.eof = true;
          throw new Error(`Cannot start TLS with ${address}:${port}: ${outcome.message}`);
        }
      } finally {
        timer.cancel();
      }
      // Errors after the handshake end the stream; they must not crash the process.
      socket.on("error", () => {});
      source = tlsSource(socket, under);
      tlsInfo = tlsDetails(socket);
      const raw: unknown = socket.getPeerCertificate(false)?.raw;
      if (raw instanceof Uint8Array && raw.length > 0) certificate = new Uint8Array(raw);
      return tlsInfo;
    },
    peerCertificate(): Uint8Array | undefined {
      return certificate;
    },
    useSignal(next: AbortSignal): void {
      signal = next;
    },
    setGreeting(bytes: Uint8Array): void {
      greeting = bytes;
    },
    close(): void {
      state.eof = true;
      source.close();
    },
  };
  return conn;
}
