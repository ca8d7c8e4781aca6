/**
 * Memcached: the text protocol's `version` command.
 *
 * @module
 */

import type { ProbePlugin, ServiceMatch } from "../src/plugins/probe_types.ts";
import { cpe } from "../src/service/text.ts";

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

/** The Memcached probe plugin. */
export function memcachedProbe(): ProbePlugin {
  return {
    name: "memcached",
    description: "Memcached: version command",
    protocols: ["tcp"],
    ports: [11211],
    rarity: 5,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write("version\r\n");
      return parseMemcachedVersion(await conn.readText({ maxBytes: 256, until: "\r\n" }));
    },
  };
}
