/**
 * SNMP over UDP: an SNMPv1 GetRequest for sysDescr.0 with the community
 * "public". An agent that answers is SNMP, and its sysDescr tells the
 * system; agents with another community stay silent, as SNMP wants.
 *
 * @module
 */

import { clip, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/** Request ID of the query; the answer must echo it. */
const REQUEST_ID = [0x50, 0x54, 0x4c, 0x31];
/** sysDescr.0: 1.3.6.1.2.1.1.1.0. */
const SYS_DESCR = [0x2b, 6, 1, 2, 1, 1, 1, 0];

function tlv(tag: number, body: number[]): number[] {
  // Every part of this request is short: one length byte is enough.
  return [tag, body.length, ...body];
}

/** The GetRequest datagram. */
export function snmpGetRequest(community = "public"): Uint8Array {
  const varbind = tlv(0x30, [...tlv(0x06, SYS_DESCR), 0x05, 0x00]);
  const pdu = tlv(0xa0, [
    ...tlv(0x02, REQUEST_ID),
    ...tlv(0x02, [0]),
    ...tlv(0x02, [0]),
    ...tlv(0x30, varbind),
  ]);
  const message = tlv(0x30, [
    ...tlv(0x02, [0]),
    ...tlv(0x04, [...new TextEncoder().encode(community)]),
    ...pdu,
  ]);
  return new Uint8Array(message);
}

/** One BER element: tag, value bounds, and where the next one starts. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

function element(bytes: Uint8Array, at: number, limit: number): Element | undefined {
  const tag = bytes[at];
  let length = bytes[at + 1];
  if (tag === undefined || length === undefined) return undefined;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 2) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[start + i] ?? 0);
    start += count;
  }
  const end = start + length;
  return end > limit ? undefined : { tag, start, end };
}

function children(bytes: Uint8Array, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end && out.length < 16;) {
    const child = element(bytes, at, parent.end);
    if (child === undefined) return out;
    out.push(child);
    at = child.end;
  }
  return out;
}

/**
 * Parse the answer to {@link snmpGetRequest}.
 *
 * @example
 * ```ts
 * import { parseSnmpResponse } from "./probe_snmp.ts";
 * parseSnmpResponse(new TextEncoder().encode("HTTP/1.1 400")); // undefined
 * ```
 */
export function parseSnmpResponse(bytes: Uint8Array): ServiceMatch | undefined {
  const message = element(bytes, 0, bytes.length);
  if (message?.tag !== 0x30) return undefined;
  const [version, community, pdu] = children(bytes, message);
  if (version?.tag !== 0x02 || community?.tag !== 0x04 || pdu?.tag !== 0xa2) return undefined;
  const [id, status, , varbinds] = children(bytes, pdu);
  if (
    id?.tag !== 0x02 ||
    latin1(bytes.subarray(id.start, id.end)) !== latin1(new Uint8Array(REQUEST_ID))
  ) {
    return undefined;
  }
  const versionName = bytes[version.start] === 1 ? "SNMPv2c" : "SNMPv1";
  const match: ServiceMatch = {
    name: "snmp",
    product: `${versionName} server`,
    extraInfo: `community ${clip(latin1(bytes.subarray(community.start, community.end)), 64)}`,
  };
  if (status === undefined || bytes[status.start] !== 0 || varbinds === undefined) return match;
  const value = children(bytes, children(bytes, varbinds)[0] ?? varbinds)[1];
  if (value?.tag === 0x04) {
    const descr = clip(new TextDecoder().decode(bytes.subarray(value.start, value.end)), 200);
    match.extraInfo += `; sysDescr: ${descr}`;
    if (/^Linux\b/.test(descr)) match.ostype = "Linux";
  }
  return match;
}

/** The SNMP probe plugin (UDP). */
export function snmpProbe(): ProbePlugin {
  return {
    name: "snmp",
    description: "SNMP (UDP): v1 GetRequest sysDescr.0, community public",
    protocols: ["udp"],
    ports: [161],
    rarity: 4,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write(snmpGetRequest());
      // The first datagram is the answer.
      return parseSnmpResponse(await conn.read({ maxBytes: 4096, until: () => true }));
    },
  };
}
