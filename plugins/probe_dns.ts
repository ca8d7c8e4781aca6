/**
 * DNS over TCP: a `version.bind` CHAOS TXT query, which dnsmasq, BIND,
 * Unbound and others answer with their version (or refuse, which still
 * shows a DNS server).
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/** Message ID of the query; the answer must echo it. */
const QUERY_ID = 0x5054;

/** The query, with its two-byte TCP length prefix. */
export function versionBindQuery(): Uint8Array {
  const name = [
    7,
    ...new TextEncoder().encode("version"),
    4,
    ...new TextEncoder().encode("bind"),
    0,
  ];
  const message = [
    QUERY_ID >> 8,
    QUERY_ID & 0xff,
    0x00, // standard query, no recursion wanted
    0x00,
    0x00,
    0x01, // one question
    0,
    0,
    0,
    0,
    0,
    0,
    ...name,
    0x00,
    0x10, // TXT
    0x00,
    0x03, // CHAOS
  ];
  return new Uint8Array([message.length >> 8, message.length & 0xff, ...message]);
}

/** Skip a (possibly compressed) domain name; the offset after it, or -1. */
function skipName(message: Uint8Array, offset: number): number {
  for (let steps = 0; steps < 128; steps++) {
    const length = message[offset];
    if (length === undefined) return -1;
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) return offset + 2;
    if (length > 63) return -1;
    offset += length + 1;
  }
  return -1;
}

/** Text of the first TXT answer of a DNS message, or undefined. */
function firstTxt(message: Uint8Array): string | undefined {
  const answers = (message[6] as number) << 8 | (message[7] as number);
  if (answers === 0) return undefined;
  let offset = skipName(message, 12);
  if (offset < 0) return undefined;
  offset += 4; // type, class of the question
  offset = skipName(message, offset);
  if (offset < 0 || offset + 10 > message.length) return undefined;
  const type = (message[offset] as number) << 8 | (message[offset + 1] as number);
  const length = (message[offset + 8] as number) << 8 | (message[offset + 9] as number);
  const start = offset + 10;
  if (type !== 16 || start + length > message.length) return undefined;
  const parts: string[] = [];
  for (let at = start; at < start + length;) {
    const size = message[at] as number;
    parts.push(latin1(message.subarray(at + 1, Math.min(at + 1 + size, start + length))));
    at += size + 1;
  }
  return parts.join("");
}

/** Product and version from a `version.bind` text. */
export function dnsProduct(version: string): Partial<ServiceMatch> {
  const dnsmasq = /^dnsmasq-([\w.]+)/.exec(version);
  if (dnsmasq !== null) {
    const number = dnsmasq[1] as string;
    return { product: "dnsmasq", version: number, cpe: [cpe("a:thekelleys:dnsmasq", number)] };
  }
  const unbound = /^unbound ([\d.]+)/i.exec(version);
  if (unbound !== null) {
    const number = unbound[1] as string;
    return { product: "Unbound", version: number, cpe: [cpe("a:nlnetlabs:unbound", number)] };
  }
  const powerdns = /^PowerDNS (?:Authoritative Server |Recursor )?([\d.]+)/.exec(version);
  if (powerdns !== null) return { product: "PowerDNS", version: powerdns[1] as string };
  const bind = /^(\d+\.\d+\.\d+)(\S*)/.exec(version);
  if (bind !== null) {
    const number = bind[1] as string;
    return {
      product: "ISC BIND",
      version: `${number}${bind[2]}`,
      cpe: [cpe("a:isc:bind", number)],
    };
  }
  return { extraInfo: `version.bind: ${version}` };
}

/**
 * Parse the TCP answer (length prefix included) to {@link versionBindQuery}.
 *
 * @example
 * ```ts
 * import { parseDnsAnswer } from "./probe_dns.ts";
 * parseDnsAnswer(new Uint8Array([0, 2, 0, 0])); // undefined: too short
 * ```
 */
export function parseDnsAnswer(bytes: Uint8Array): ServiceMatch | undefined {
  if (bytes.length < 14) return undefined;
  const length = (bytes[0] as number) << 8 | (bytes[1] as number);
  const message = bytes.subarray(2, 2 + length);
  if (length < 12 || message.length < 12) return undefined;
  const id = (message[0] as number) << 8 | (message[1] as number);
  const flags = message[2] as number;
  // An answer (QR set) to our query, with the opcode we sent.
  if (id !== QUERY_ID || (flags & 0x80) === 0 || (flags & 0x78) !== 0) return undefined;
  const text = ((message[3] as number) & 0x0f) === 0 ? firstTxt(message) : undefined;
  return { name: "domain", ...(text === undefined ? {} : dnsProduct(text)) };
}

/** Parse a UDP answer (a bare DNS message) to {@link versionBindQuery}'s message. */
export function parseDnsDatagram(bytes: Uint8Array): ServiceMatch | undefined {
  if (bytes.length < 12 || bytes.length > 65_535) return undefined;
  const framed = new Uint8Array(bytes.length + 2);
  framed[0] = bytes.length >> 8;
  framed[1] = bytes.length & 0xff;
  framed.set(bytes, 2);
  return parseDnsAnswer(framed);
}

/** The DNS probe over UDP: the same query as one datagram, without the length prefix. */
export function dnsUdpProbe(): ProbePlugin {
  return {
    name: "dns-udp",
    description: "DNS over UDP: version.bind CHAOS TXT (dnsmasq, BIND, Unbound, others)",
    protocols: ["udp"],
    ports: [53, 5353],
    rarity: 1,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write(versionBindQuery().subarray(2));
      // One datagram is the whole answer: return as soon as a header's worth has come.
      return parseDnsDatagram(
        await conn.read({ maxBytes: 4096, until: (bytes) => bytes.length >= 12 }),
      );
    },
  };
}

/** The DNS probe plugin. */
export function dnsProbe(): ProbePlugin {
  return {
    name: "dns",
    description: "DNS over TCP: version.bind CHAOS TXT (dnsmasq, BIND, Unbound, others)",
    protocols: ["tcp"],
    ports: [53, 5353],
    tlsPorts: [853],
    rarity: 1,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write(versionBindQuery());
      const answer = await conn.read({
        maxBytes: 4096,
        until: (bytes) =>
          bytes.length >= 2 &&
          bytes.length >= 2 + ((bytes[0] as number) << 8 | (bytes[1] as number)),
      });
      return parseDnsAnswer(answer);
    },
  };
}
