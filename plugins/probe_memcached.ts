/**
 * Memcached: the text protocol's `version` command.
 *
 * @module
 */

import { cpe, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse the answer to `version`.
 *
 * @example
 * ```ts
 * import { parseMemcachedVersion } from "./probe_memcached.ts";
 * parseMemcachedVersion("VERSION 1.6.18\r\n")?.version; // "1.6.18"
 * ```
 */
export function parseMemcachedVersion(text: string): ServiceMatch | undefined {
  const found = /^VERSION ([\w.-]+)\r\n/.exec(text);
  if (found === null) return undefined;
  const version = found[1] as string;
  return {
    name: "memcached",
    product: "Memcached",
    version,
    cpe: [cpe("a:memcached:memcached", version)],
  };
}

/**
 * The uptime from the answer to `stats`, as nmap's extra info: "uptime 75 seconds".
 *
 * @example
 * ```ts
 * import { parseMemcachedStats } from "./probe_memcached.ts";
 * parseMemcachedStats("STAT pid 7\r\nSTAT uptime 75\r\nEND\r\n"); // "uptime 75 seconds"
 * ```
 */
export function parseMemcachedStats(text: string): string | undefined {
  const uptime = /(?:^|\r\n)STAT uptime (\d{1,12})\r\n/.exec(text);
  return uptime === null ? undefined : `uptime ${uptime[1]} seconds`;
}

/** The Memcached probe plugin. */
export function memcachedProbe(): ProbePlugin {
  return {
    name: "memcached",
    description: "Memcached: version and stats commands",
    protocols: ["tcp"],
    ports: [11211],
    rarity: 5,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write("version\r\n");
      const match = parseMemcachedVersion(await conn.readText({ maxBytes: 256, until: "\r\n" }));
      if (match === undefined) return undefined;
      // The server is known; its uptime is nmap's extra info.
      await conn.write("stats\r\n");
      const uptime = parseMemcachedStats(
        await conn.readText({ maxBytes: 8192, until: "END\r\n", timeoutMs: 1500 }),
      );
      return uptime === undefined ? match : { ...match, extraInfo: uptime };
    },
  };
}
