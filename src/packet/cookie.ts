/**
 * Stateless reply validation, as masscan and zmap do it: one keyed hash
 * (SipHash-2-4 under a per-scan secret) of a probe's protocol, addresses and
 * destination port picks its source port from a fixed range (offset by the
 * attempt number) and gives its TCP sequence number. A reply
 * (SYN-ACK or RST acknowledging seq + 1, a RST to an ACK probe, an echo
 * reply, or an ICMP error quoting the probe) is then checked, and the attempt
 * recovered, with no per-probe state.
 *
 * @module
 */

import type { IpAddress } from "./address.ts";
import type { QuotedProbe } from "./icmp.ts";
import { IpProtocol } from "./protocols.ts";
import { sipHash24Halves } from "./siphash.ts";
import { TcpFlag } from "./tcp.ts";

/** Length of a cookie key. */
export const COOKIE_KEY_LENGTH = 16;

/** The source-port range used when none is given (Linux's default ephemeral range). */
export const DEFAULT_PORT_RANGE: Readonly<PortRange> = { first: 32768, last: 60999 };

/** An inclusive port range. */
export interface PortRange {
  first: number;
  last: number;
}

/** A probe's 4-tuple as sent (src is our address), with its protocol. */
export interface FlowTuple {
  /** Our address; a number for IPv4, 16 bytes for IPv6. */
  src: IpAddress;
  /** The probed address, of the same family. */
  dst: IpAddress;
  srcPort: number;
  dstPort: number;
  /** IP protocol; TCP when omitted. */
  protocol?: number;
}

/** A probe before its source port is chosen. */
export type ProbeTarget = Omit<FlowTuple, "srcPort">;

/** Options shared by the cookie functions. */
export interface CookieOptions {
  /** Source ports to draw from; {@link DEFAULT_PORT_RANGE} when omitted. */
  ports?: PortRange;
  /** How many attempts (first try plus retries) a probe may have; 1 when omitted. */
  attempts?: number;
}

/** Options of {@link probeIdentity} and friends. */
export interface ProbeOptions extends CookieOptions {
  /** Which try this is, from 0; 0 when omitted. */
  attempt?: number;
}

/** A TCP reply as {@link validateTcpReply} needs it (addresses as received). */
export interface TcpReplyFields {
  /** The replying host (our probe's destination). */
  src: IpAddress;
  /** Our address. */
  dst: IpAddress;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
}

/** A UDP reply's addresses and ports, as received. */
export interface UdpReplyFields {
  src: IpAddress;
  dst: IpAddress;
  srcPort: number;
  dstPort: number;
}

/** An echo reply's addresses, identifier and sequence, as received. */
export interface EchoReplyFields {
  src: IpAddress;
  dst: IpAddress;
  id: number;
  seq: number;
}

/** A fresh random cookie key. */
export function createCookieKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(COOKIE_KEY_LENGTH));
}

// Hash input: protocol, family, destination port, then source and destination
// addresses. Reused so hashing allocates nothing.
const scratch = new Uint8Array(4 + 32);
const scratch4 = scratch.subarray(0, 12);
const scratch6 = scratch.subarray(0, 36);

/**
 * The keyed 64-bit hash of a probe's protocol, addresses and destination port,
 * as [hi, lo] in a shared array: hi picks the source-port slot, lo is the cookie.
 */
function hashProbe(key: Uint8Array, probe: ProbeTarget): Uint32Array {
  const { src, dst } = probe;
  scratch[0] = probe.protocol ?? IpProtocol.Tcp;
  scratch[2] = probe.dstPort >>> 8;
  scratch[3] = probe.dstPort;
  if (typeof src === "number" && typeof dst === "number") {
    scratch[1] = 4;
    scratch[4] = src >>> 24;
    scratch[5] = src >>> 16;
    scratch[6] = src >>> 8;
    scratch[7] = src;
    scratch[8] = dst >>> 24;
    scratch[9] = dst >>> 16;
    scratch[10] = dst >>> 8;
    scratch[11] = dst;
    return sipHash24Halves(key, scratch4);
  }
  if (typeof src !== "number" && typeof dst !== "number") {
    if (src.length !== 16 || dst.length !== 16) {
      throw new RangeError(
        `Cannot hash probe: address lengths ${src.length}/${dst.length} are not 16`,
      );
    }
    scratch[1] = 6;
    scratch.set(src, 4);
    scratch.set(dst, 20);
    return sipHash24Halves(key, scratch6);
  }
  throw new RangeError("Cannot hash probe: source and destination families differ");
}

function rangeOf(options: CookieOptions): PortRange {
  const ports = options.ports ?? DEFAULT_PORT_RANGE;
  if (
    !Number.isInteger(ports.first) || !Number.isInteger(ports.last) || ports.first < 1 ||
    ports.last > 65535 || ports.first > ports.last
  ) {
    throw new RangeError(
      `Cannot use source port range "${ports.first}-${ports.last}": expected 1 <= first <= last <= 65535`,
    );
  }
  return ports;
}

/**
 * Source port and sequence number for a TCP probe, from one keyed hash of
 * its protocol, addresses and destination port: the high half picks a slot
 * in the port range and each attempt takes the next slot; the low half plus
 * the attempt is the sequence number. So a reply's port tells which try it
 * answers, and its acknowledgment proves the key. A SYN probe sends `seq` as
 * its sequence number; an ACK probe sends it as its acknowledgment number.
 *
 * @throws {RangeError} on a bad port range or mixed address families.
 */
export function probeIdentity(
  key: Uint8Array,
  probe: ProbeTarget,
  options: ProbeOptions = {},
): { srcPort: number; seq: number } {
  const { first, last } = rangeOf(options);
  const count = last - first + 1;
  const attempt = options.attempt ?? 0;
  const hash = hashProbe(key, probe);
  return {
    srcPort: first + (hash[0]! % count + attempt) % count,
    seq: (hash[1]! + attempt) >>> 0,
  };
}

/** The source port {@link probeIdentity} picks. */
export function probeSourcePort(
  key: Uint8Array,
  probe: ProbeTarget,
  options: ProbeOptions = {},
): number {
  return probeIdentity(key, probe, options).srcPort;
}

/**
 * The attempt a probe's source port belongs to and the sequence number that
 * attempt carried, or undefined when the port is out of the range or no
 * allowed attempt of this probe used it.
 */
export function probeAttempt(
  key: Uint8Array,
  probe: FlowTuple,
  options: CookieOptions = {},
): { attempt: number; seq: number } | undefined {
  const { first, last } = rangeOf(options);
  if (probe.srcPort < first || probe.srcPort > last) return undefined;
  const count = last - first + 1;
  const hash = hashProbe(key, probe);
  const attempt = (probe.srcPort - first - hash[0]! % count + count) % count;
  if (attempt >= Math.max(1, options.attempts ?? 1)) return undefined;
  return { attempt, seq: (hash[1]! + attempt) >>> 0 };
}

/**
 * The 32-bit cookie of a whole 4-tuple: the sequence number a TCP probe
 * with this source port carries (for a port outside the probe's slots, a
 * value no valid reply matches).
 */
export function probeCookie(
  key: Uint8Array,
  tuple: FlowTuple,
  options: CookieOptions = {},
): number {
  const { first, last } = rangeOf(options);
  const count = last - first + 1;
  const hash = hashProbe(key, tuple);
  const attempt = (((tuple.srcPort - first - hash[0]! % count) % count) + count) % count;
  return (hash[1]! + attempt) >>> 0;
}

/** Identifier and sequence number for an echo request (the cookie, plus the attempt). */
export function echoIdentity(
  key: Uint8Array,
  probe: { src: IpAddress; dst: IpAddress },
  options: { attempt?: number } = {},
): { id: number; seq: number } {
  const cookie = echoCookie(key, probe);
  return { id: cookie >>> 16, seq: ((cookie & 0xffff) + (options.attempt ?? 0)) & 0xffff };
}

function echoCookie(key: Uint8Array, probe: { src: IpAddress; dst: IpAddress }): number {
  const protocol = typeof probe.src === "number" ? IpProtocol.Icmp : IpProtocol.Icmpv6;
  return hashProbe(key, { src: probe.src, dst: probe.dst, dstPort: 0, protocol })[1]!;
}

/** The attempt a probe's source port belongs to, or undefined (see {@link probeAttempt}). */
export function attemptOfSourcePort(
  key: Uint8Array,
  probe: FlowTuple,
  options: CookieOptions = {},
): number | undefined {
  return probeAttempt(key, probe, options)?.attempt;
}

/**
 * Check a TCP reply against the probe it claims to answer: a SYN-ACK or
 * RST-ACK must acknowledge cookie + 1; a bare RST (the answer to an ACK
 * probe) must carry the cookie as its sequence number. Returns the attempt
 * answered, or undefined for a reply to no probe of ours.
 */
export function validateTcpReply(
  key: Uint8Array,
  reply: TcpReplyFields,
  options: CookieOptions = {},
): number | undefined {
  const probe: FlowTuple = {
    src: reply.dst,
    dst: reply.src,
    srcPort: reply.dstPort,
    dstPort: reply.srcPort,
    protocol: IpProtocol.Tcp,
  };
  const found = probeAttempt(key, probe, options);
  if (found === undefined) return undefined;
  if (reply.flags & TcpFlag.Ack) {
    return reply.ack === ((found.seq + 1) >>> 0) ? found.attempt : undefined;
  }
  if (reply.flags & TcpFlag.Rst) return reply.seq === found.seq ? found.attempt : undefined;
  return undefined;
}

/**
 * Check a UDP reply: only the source-port slot can be checked, so this is
 * weaker than the TCP check (about log2(range) bits). Returns the attempt.
 */
export function validateUdpReply(
  key: Uint8Array,
  reply: UdpReplyFields,
  options: CookieOptions = {},
): number | undefined {
  return attemptOfSourcePort(key, {
    src: reply.dst,
    dst: reply.src,
    srcPort: reply.dstPort,
    dstPort: reply.srcPort,
    protocol: IpProtocol.Udp,
  }, options);
}

/** Check an echo reply's identifier and sequence; returns the attempt. */
export function validateEchoReply(
  key: Uint8Array,
  reply: EchoReplyFields,
  options: { attempts?: number } = {},
): number | undefined {
  const cookie = echoCookie(key, { src: reply.dst, dst: reply.src });
  if (reply.id !== cookie >>> 16) return undefined;
  const attempt = (reply.seq - (cookie & 0xffff)) & 0xffff;
  return attempt < Math.max(1, options.attempts ?? 1) ? attempt : undefined;
}

/**
 * Check the probe an ICMP error quotes: a TCP probe by port slot and
 * sequence number, a UDP probe by port slot, an echo request by identifier
 * and sequence. Returns the attempt, or undefined when it is not ours.
 */
export function validateIcmpQuote(
  key: Uint8Array,
  quoted: QuotedProbe,
  options: CookieOptions = {},
): number | undefined {
  const { src, dst, protocol } = quoted;
  if (protocol === IpProtocol.Tcp || protocol === IpProtocol.Udp) {
    if (quoted.srcPort === undefined || quoted.dstPort === undefined) return undefined;
    const probe: FlowTuple = {
      src,
      dst,
      srcPort: quoted.srcPort,
      dstPort: quoted.dstPort,
      protocol,
    };
    const found = probeAttempt(key, probe, options);
    if (found === undefined || protocol === IpProtocol.Udp) return found?.attempt;
    return quoted.seq === found.seq ? found.attempt : undefined;
  }
  if (protocol === IpProtocol.Icmp || protocol === IpProtocol.Icmpv6) {
    if (quoted.icmpId === undefined || quoted.icmpSeq === undefined) return undefined;
    // The quote is of our request, so its source is us: swap into reply form.
    const fields: EchoReplyFields = { src: dst, dst: src, id: quoted.icmpId, seq: quoted.icmpSeq };
    return validateEchoReply(key, fields, options);
  }
  return undefined;
}
