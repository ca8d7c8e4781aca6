/**
 * The raw engine's IPv4 TCP probe writer: the same bytes as the packet
 * layer's `writeTcpPacket` (TTL 64, no DF, window 1024, the given options),
 * written straight into the send buffer with both checksums summed from
 * precomputed constant parts. Every SYN of a scan goes through here, so it
 * allocates nothing and calls nothing.
 *
 * @module
 */

import { DEFAULT_PROBE_WINDOW, IpProtocol } from "../../packet/mod.ts";

const IP_HEADER = 20;
const TCP_HEADER = 20;
const TTL = 64;

/** The fields that change from one probe to the next. */
export interface Tcp4ProbeFields {
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** IP identification. */
  id: number;
}

/** Writes IPv4 TCP probes from one source address with fixed TCP options. */
export class Tcp4ProbeWriter {
  readonly length: number;
  #src: number;
  #options: Uint8Array;
  #offsetWord: number;
  #ipBase: number;
  #tcpBase: number;

  /** @param options TCP options, a multiple of 4 bytes (an MSS option for SYNs). */
  constructor(src: number, options: Uint8Array) {
    if (options.length % 4 !== 0 || options.length > 40) {
      throw new RangeError(
        `Cannot write TCP probes: options length ${options.length} is not valid`,
      );
    }
    this.#src = src >>> 0;
    this.#options = options.slice();
    const tcpLength = TCP_HEADER + options.length;
    this.length = IP_HEADER + tcpLength;
    this.#offsetWord = (tcpLength >>> 2) << 12;
    const srcWords = (this.#src >>> 16) + (this.#src & 0xffff);
    // IP header words that never change: version/IHL/TOS, total length, flags, TTL/protocol, source.
    this.#ipBase = 0x4500 + this.length + ((TTL << 8) | IpProtocol.Tcp) + srcWords;
    // Pseudo-header (source, protocol, TCP length) and the TCP words that never change.
    let tcp = srcWords + IpProtocol.Tcp + tcpLength + DEFAULT_PROBE_WINDOW;
    for (let i = 0; i < options.length; i += 2) tcp += (options[i]! << 8) | options[i + 1]!;
    this.#tcpBase = tcp;
  }

  /** Write one probe at the start of `buffer`; returns its length. */
  write(buffer: Uint8Array, fields: Tcp4ProbeFields): number {
    const { dst, srcPort, dstPort, seq, ack, flags, id } = fields;
    const src = this.#src;
    const dstWords = (dst >>> 16) + (dst & 0xffff);
    buffer[0] = 0x45;
    buffer[1] = 0;
    buffer[2] = this.length >>> 8;
    buffer[3] = this.length & 0xff;
    buffer[4] = (id >>> 8) & 0xff;
    buffer[5] = id & 0xff;
    buffer[6] = 0;
    buffer[7] = 0;
    buffer[8] = TTL;
    buffer[9] = IpProtocol.Tcp;
    const ipSum = finish(this.#ipBase + (id & 0xffff) + dstWords);
    buffer[10] = ipSum >>> 8;
    buffer[11] = ipSum & 0xff;
    put32(buffer, 12, src);
    put32(buffer, 16, dst);
    const t = IP_HEADER;
    buffer[t] = srcPort >>> 8;
    buffer[t + 1] = srcPort & 0xff;
    buffer[t + 2] = dstPort >>> 8;
    buffer[t + 3] = dstPort & 0xff;
    put32(buffer, t + 4, seq);
    put32(buffer, t + 8, ack);
    const offsetFlags = this.#offsetWord | (flags & 0xff);
    buffer[t + 12] = offsetFlags >>> 8;
    buffer[t + 13] = offsetFlags & 0xff;
    buffer[t + 14] = DEFAULT_PROBE_WINDOW >>> 8;
    buffer[t + 15] = DEFAULT_PROBE_WINDOW & 0xff;
    buffer[t + 18] = 0;
    buffer[t + 19] = 0;
    buffer.set(this.#options, t + TCP_HEADER);
    const tcpSum = finish(
      this.#tcpBase + dstWords + srcPort + dstPort + (seq >>> 16) + (seq & 0xffff) +
        (ack >>> 16) + (ack & 0xffff) + offsetFlags,
    );
    buffer[t + 16] = tcpSum >>> 8;
    buffer[t + 17] = tcpSum & 0xff;
    return this.length;
  }
}

function put32(buffer: Uint8Array, at: number, value: number): void {
  buffer[at] = value >>> 24;
  buffer[at + 1] = (value >>> 16) & 0xff;
  buffer[at + 2] = (value >>> 8) & 0xff;
  buffer[at + 3] = value & 0xff;
}

/** Fold a sum of 16-bit words (well under 2^32 here) and complement it. */
function finish(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
