/**
 * RDP: an X.224 Connection Request with an RDP negotiation request
 * (MS-RDPBCGR 2.2.1.1); a server answers with a Connection Confirm.
 *
 * @module
 */

import type { ProbePlugin, ServiceMatch } from "../src/plugin/mod.ts";

/** TPKT + X.224 Connection Request asking for TLS or CredSSP. */
export function connectionRequest(): Uint8Array {
  return new Uint8Array([
    0x03,
    0x00,
    0x00,
    0x13, // TPKT, length 19
    0x0e,
    0xe0,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00, // X.224 CR
    0x01,
    0x00,
    0x08,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00, // RDP_NEG_REQ: TLS | CredSSP
  ]);
}

const PROTOCOLS: Record<number, string> = { 0: "RDP", 1: "TLS", 2: "CredSSP", 8: "RDSTLS" };

/**
 * Parse the answer to {@link connectionRequest}.
 *
 * @example
 * ```ts
 * import { parseRdpAnswer } from "./probe_rdp.ts";
 * const answer = [3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 2, 0, 0, 0];
 * parseRdpAnswer(new Uint8Array(answer))?.extraInfo; // "security CredSSP"
 * ```
 */
export function parseRdpAnswer(bytes: Uint8Array): ServiceMatch | undefined {
  if (bytes.length < 11 || bytes[0] !== 0x03 || bytes[1] !== 0x00) return undefined;
  const length = (bytes[2] as number) << 8 | (bytes[3] as number);
  if (length < 11 || length > 512 || ((bytes[5] as number) & 0xf0) !== 0xd0) return undefined;
  const match: ServiceMatch = { name: "ms-wbt-server" };
  if (bytes.length >= 19 && bytes[11] === 0x02) {
    const chosen = bytes[15] as number;
    match.extraInfo = `security ${PROTOCOLS[chosen] ?? `0x${chosen.toString(16)}`}`;
  } else if (bytes.length >= 19 && bytes[11] === 0x03) {
    match.extraInfo = "negotiation failure";
  }
  return match;
}

/** The RDP probe plugin. */
export function rdpProbe(): ProbePlugin {
  return {
    name: "rdp",
    description: "RDP: X.224 connection request",
    protocols: ["tcp"],
    ports: [3389],
    rarity: 5,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write(connectionRequest());
      const answer = await conn.read({
        maxBytes: 512,
        until: (bytes) =>
          bytes.length >= 4 && bytes.length >= ((bytes[2] as number) << 8 | (bytes[3] as number)),
      });
      return parseRdpAnswer(answer);
    },
  };
}
