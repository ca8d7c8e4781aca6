/**
 * TLS: a handshake (certificates are not checked: the point is to see
 * them). On success the engine looks for the service inside the tunnel.
 *
 * @module
 */

import { type ProbePlugin, type ServiceMatch, TLS_PORTS } from "../src/plugin/mod.ts";

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
