/**
 * MySQL and MariaDB: the initial handshake packet the server sends first
 * (protocol 10, with the server version), or the error packet of a server
 * that refuses this client.
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse a MySQL greeting packet.
 *
 * @example
 * ```ts
 * import { parseMysqlGreeting } from "./probe_mysql.ts";
 * const version = "8.0.36";
 * const payload = [0x0a, ...new TextEncoder().encode(version), 0, 1, 0, 0, 0];
 * const packet = new Uint8Array([payload.length, 0, 0, 0, ...payload]);
 * parseMysqlGreeting(packet)?.version; // "8.0.36"
 * ```
 */
export function parseMysqlGreeting(bytes: Uint8Array): ServiceMatch | undefined {
  if (bytes.length < 5) return undefined;
  const length = (bytes[0] as number) | (bytes[1] as number) << 8 | (bytes[2] as number) << 16;
  // Greetings are short; anything else is not this protocol.
  if (length < 2 || length > 1024 || bytes[3] !== 0) return undefined;
  const payload = bytes.subarray(4, 4 + length);
  if (payload[0] === 0xff) {
    // Error packet: 2-byte code, then the message.
    const message = latin1(payload.subarray(3));
    if (!/\b(MySQL|MariaDB|not allowed to connect|Too many connections)\b/.test(message)) {
      return undefined;
    }
    return { name: "mysql", extraInfo: "unauthorized" };
  }
  if (payload[0] !== 0x0a) return undefined;
  const end = payload.indexOf(0, 1);
  if (end < 2) return undefined;
  const version = latin1(payload.subarray(1, end));
  if (!/^\d+\.\d+\.\d+[!-~]*$/.test(version)) return undefined;
  const maria = /^(?:5\.5\.5-)?(\d+\.\d+\.\d+)-MariaDB(?:-(.*))?$/.exec(version);
  if (maria !== null) {
    const release = maria[1] as string;
    return {
      name: "mysql",
      product: "MariaDB",
      version: release,
      ...(maria[2] ? { extraInfo: maria[2] } : {}),
      cpe: [cpe("a:mariadb:mariadb", release)],
    };
  }
  const number = /^(\d+\.\d+\.\d+)/.exec(version)?.[1] as string;
  return { name: "mysql", product: "MySQL", version, cpe: [cpe("a:mysql:mysql", number)] };
}

/** The MySQL probe plugin (passive: MySQL servers speak first). */
export function mysqlProbe(): ProbePlugin {
  return {
    name: "mysql",
    description: "MySQL and MariaDB: server handshake packet",
    protocols: ["tcp"],
    ports: [3306, 3307],
    rarity: 1,
    passive: true,
    probe(conn): Promise<ServiceMatch | undefined> {
      return Promise.resolve(parseMysqlGreeting(conn.greeting));
    },
  };
}
