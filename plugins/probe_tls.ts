/**
 * TLS: a handshake (certificates are not checked: the point is to see
 * them). On success the engine looks for the service inside the tunnel.
 *
 * @module
 */

import type { ProbePlugin, ServiceMatch } from "../src/plugins/probe_types.ts";

/** Ports where TLS is usual from the first byte. */
export const TLS_PORTS: readonly number[] = Object.freeze([
  261,
  443,
  448,
  465,
  563,
  585,
  614,
  636,
  853,
  989,
  990,
  992,
  993,
  994,
  995,
  1443,
  2083,
  2087,
  3269,
  4443,
  5061,
  5986,
  6443,
  6697,
  8443,
  9443,
]);

/** The TLS probe plugin. */
export function tlsProbe(): ProbePlugin {
  return {
    name: "tls",
    description: "TLS handshake: certificate, ALPN and version; then the service inside",
    protocols: ["tcp"],
    ports: TLS_PORTS,
    rarity: 1,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      if (conn.tls !== undefined) return undefined;
      try {
        const tls = await conn.startTls();
        return { name: "ssl", tls };
      } catch {
        return undefined;
      }
    },
  };
}
