/**
 * Redis: `PING`, then `INFO server` for the version. A server that wants a
 * password still says it is Redis.
 *
 * @module
 */

import { cpe, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse the answers to `PING` and `INFO server`.
 *
 * @example
 * ```ts
 * import { parseRedis } from "./probe_redis.ts";
 * parseRedis("+PONG\r\n", "$40\r\n# Server\r\nredis_version:7.0.15\r\n")?.version; // "7.0.15"
 * ```
 */
export function parseRedis(pong: string, info: string): ServiceMatch | undefined {
  const product = "Redis key-value store";
  if (/^-(NOAUTH|DENIED|ERR operation not permitted|WRONGPASS)/.test(pong)) {
    return {
      name: "redis",
      product,
      extraInfo: "authentication required",
      cpe: [cpe("a:redislabs:redis")],
    };
  }
  if (!pong.startsWith("+PONG\r\n")) return undefined;
  const version = /\bredis_version:([\w.]+)/.exec(info)?.[1];
  const os = /\bos:([^\r\n]+)/.exec(info)?.[1];
  return {
    name: "redis",
    product,
    ...(version === undefined ? {} : { version }),
    ...(os !== undefined && /^Linux/.test(os) ? { ostype: "Linux" } : {}),
    cpe: [cpe("a:redislabs:redis", version)],
  };
}

/** The Redis probe plugin. */
export function redisProbe(): ProbePlugin {
  return {
    name: "redis",
    description: "Redis: PING and INFO server",
    protocols: ["tcp"],
    ports: [6379, 6380],
    tlsPorts: [6380],
    rarity: 4,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write("PING\r\n");
      const pong = await conn.readText({ maxBytes: 512, until: "\r\n" });
      if (!pong.startsWith("+PONG")) return parseRedis(pong, "");
      await conn.write("INFO server\r\n");
      // "$<length>\r\n" then the text; stop at the version line's end or the size cap.
      const info = await conn.readText({
        maxBytes: 8192,
        until: (bytes) => /redis_version:[^\r\n]*\r\n/.test(new TextDecoder().decode(bytes)),
        idleMs: 500,
      });
      return parseRedis(pong, info);
    },
  };
}
