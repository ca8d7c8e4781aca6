/**
 * PostgreSQL: a protocol 3.0 startup message; the server answers with an
 * authentication request or an error, either way in its own framing.
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/** The startup message: protocol 3.0, user and database "portolan". */
export function startupMessage(): Uint8Array {
  const text = new TextEncoder().encode("user\0portolan\0database\0portolan\0\0");
  const length = 8 + text.length;
  const bytes = new Uint8Array(length);
  new DataView(bytes.buffer).setUint32(0, length);
  new DataView(bytes.buffer).setUint32(4, 196_608);
  bytes.set(text, 8);
  return bytes;
}

/**
 * Parse the answer to {@link startupMessage}.
 *
 * @example
 * ```ts
 * import { parsePostgresAnswer } from "./probe_postgresql.ts";
 * parsePostgresAnswer(new Uint8Array([0x52, 0, 0, 0, 8, 0, 0, 0, 3]))?.name; // "postgresql"
 * ```
 */
export function parsePostgresAnswer(bytes: Uint8Array): ServiceMatch | undefined {
  if (bytes.length < 9) return undefined;
  const type = bytes[0];
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
  const match: ServiceMatch = {
    name: "postgresql",
    product: "PostgreSQL DB",
    cpe: [cpe("a:postgresql:postgresql")],
  };
  if (type === 0x52) {
    // AuthenticationRequest: length 8 and up, a known method code.
    const method = new DataView(bytes.buffer, bytes.byteOffset).getUint32(5);
    return length >= 8 && length < 1024 && method <= 12 ? match : undefined;
  }
  if (type !== 0x45 || length < 8 || length > 4096) return undefined;
  // ErrorResponse: fields of a type byte and a NUL-terminated text.
  const fields = latin1(bytes.subarray(5, 1 + length));
  if (!/(^|\0)S(FATAL|ERROR|PANIC)\0/.test(fields) || !/\0C[0-9A-Z]{5}\0/.test(fields)) {
    return undefined;
  }
  return match;
}

/** The PostgreSQL probe plugin. */
export function postgresqlProbe(): ProbePlugin {
  return {
    name: "postgresql",
    description: "PostgreSQL: startup message, authentication request or error",
    protocols: ["tcp"],
    ports: [5432, 5433],
    rarity: 3,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write(startupMessage());
      const answer = await conn.read({
        maxBytes: 4096,
        until: (bytes) =>
          bytes.length >= 5 &&
          bytes.length >= 1 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(1),
      });
      return parsePostgresAnswer(answer);
    },
  };
}
