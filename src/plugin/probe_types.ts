/**
 * Probe plugins: service detection (`-sV`) one service at a time.
 *
 * A probe plugin is a factory returning a {@link ProbePlugin}: a name, the
 * ports where its service usually listens, how rare the service is, and one
 * async `probe(conn, signal)` method. The detection engine
 * (`src/service/`) owns every socket: it connects, waits for a greeting,
 * unwraps TLS, enforces byte and time limits, and hands each plugin a
 * {@link ProbeConn}. A plugin opens no socket of its own and keeps no state
 * between calls, so one plugin object serves every port of a scan at once.
 *
 * What a plugin receives is untrusted: it comes from whoever runs the
 * service. Match strictly (return `undefined` unless the answer really is
 * that service) and return short fields; the engine caps them anyway.
 *
 * @example A plugin for a made-up "hello" protocol on port 7777
 * ```ts
 * import type { ProbePlugin, ServiceMatch } from "./probe_types.ts";
 *
 * export function helloProbe(): ProbePlugin {
 *   return {
 *     name: "hello",
 *     description: "HELLO protocol: answers `HI <version>` to `HELLO`",
 *     protocols: ["tcp"],
 *     ports: [7777],
 *     rarity: 8,
 *     passive: false,
 *     async probe(conn): Promise<ServiceMatch | undefined> {
 *       await conn.write("HELLO\r\n");
 *       const answer = await conn.readText({ until: "\n" });
 *       const found = /^HI (\d[\w.]*)\r?\n/.exec(answer);
 *       if (found === null) return undefined;
 *       return { name: "hello", product: "Hello server", version: found[1] as string };
 *     },
 *   };
 * }
 *
 * const plugin = helloProbe();
 * console.assert(plugin.ports.includes(7777));
 * ```
 *
 * @module
 */

import type { ServiceMatch, TlsDetails } from "../model/mod.ts";

// What a probe returns is the model's: the port's `service`.
export type { HttpDetails, ServiceMatch, TlsDetails } from "../model/mod.ts";

/** Limits of one {@link ProbeConn.read}. */
export interface ReadOptions {
  /** Return once this many bytes have arrived. Default 4096; the engine caps it at 65536. */
  maxBytes?: number;
  /** Return after this long, ms, with whatever arrived. The engine caps it at the port's remaining time. */
  timeoutMs?: number;
  /** Once something arrived, return when nothing more comes for this long, ms. */
  idleMs?: number;
  /**
   * Return as soon as what arrived (something, at least) contains this text
   * (in Latin-1) or satisfies this test.
   */
  until?: string | ((received: Uint8Array) => boolean);
}

/** Options of {@link ProbeConn.startTls}. */
export interface StartTlsOptions {
  /** ALPN protocols to offer; default ["h2", "http/1.1"]. */
  alpn?: string[];
  /** Server name (SNI); default none for an address. */
  servername?: string;
}

/**
 * One connection to the service under test, made by the engine.
 *
 * Reads never throw: a timeout, the end of the stream, a reset or an abort
 * all return what arrived so far (possibly nothing). Writes never throw
 * either; after a failed write, reads return nothing.
 */
export interface ProbeConn {
  /** Address of the service ("198.51.100.2", "2001:db8::2"). */
  readonly address: string;
  readonly port: number;
  /**
   * What the service sent unasked right after the connection (or the TLS
   * handshake) was made: the answer to nmap's "NULL probe". Empty for a
   * service that waits to be spoken to. It has been read already: `read()`
   * returns only what comes after it.
   */
  readonly greeting: Uint8Array;
  /** TLS details once the connection runs inside TLS, else undefined. */
  readonly tls: TlsDetails | undefined;
  /** True once the peer has closed or reset the connection. */
  readonly closed: boolean;
  /** Read within limits; see {@link ReadOptions}. */
  read(options?: ReadOptions): Promise<Uint8Array>;
  /** {@link ProbeConn.read}, decoded as Latin-1 (one character per byte). */
  readText(options?: ReadOptions): Promise<string>;
  /** Send text (encoded as UTF-8) or bytes. */
  write(data: string | Uint8Array): Promise<void>;
  /**
   * Run a TLS handshake on this connection (certificates are not checked:
   * the point is to see them) and continue inside it.
   *
   * @throws {Error} when the handshake fails or times out.
   */
  startTls(options?: StartTlsOptions): Promise<TlsDetails>;
}

/** Transport protocols a probe plugin can speak. */
export type ProbeProtocol = "tcp" | "udp";

/** A service detection plugin. */
export interface ProbePlugin {
  /** Short unique name, e.g. "ssh". */
  readonly name: string;
  /** One line for `--help` and PLUGINS.md. */
  readonly description: string;
  /**
   * Transports it speaks; the engine runs TCP plugins on TCP ports and UDP
   * plugins on UDP ports. Over UDP each `write` is one datagram, there is no
   * greeting, and `startTls` throws.
   */
  readonly protocols: readonly ProbeProtocol[];
  /** Ports where the service usually listens in clear text: probed first there, at any intensity. */
  readonly ports: readonly number[];
  /** Ports where it usually listens inside TLS (443 for HTTP, 993 for IMAP). */
  readonly tlsPorts?: readonly number[];
  /**
   * 1 (common and cheap) … 9 (rare): on a port not in `ports`, the plugin is
   * tried only when `--version-intensity` is at least this.
   */
  readonly rarity: number;
  /**
   * True when the plugin only looks at `conn.greeting` and never writes or
   * reads: it is then tried on every greeting at no cost, before any
   * active probe, whatever the port and intensity.
   */
  readonly passive: boolean;
  /**
   * Identify the service, or return undefined. `signal` aborts when the
   * port's time is up, the scan is interrupted, or another probe already
   * found the service; reads return early then, so a plugin need not check it.
   */
  probe(conn: ProbeConn, signal: AbortSignal): Promise<ServiceMatch | undefined>;
}
