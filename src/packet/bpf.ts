/**
 * Classic BPF (the `struct sock_filter` programs of SO_ATTACH_FILTER):
 * instruction encoding, a tiny assembler with labels, and the filter a scan's
 * receive socket attaches so the kernel drops everything but replies to our
 * probes before they cost a copy to user space.
 *
 * @module
 */

import type { IpAddress } from "./address.ts";
import type { PortRange } from "./cookie.ts";
import { EtherType, IpProtocol } from "./protocols.ts";

/** One `struct sock_filter`: opcode, jump-if-true, jump-if-false, constant. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Opcode parts (linux/filter.h, linux/bpf_common.h). */
export const Bpf = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  K: 0x00,
  X: 0x08,
  A: 0x10,
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** Size in bytes of one encoded instruction. */
export const BPF_INSTRUCTION_SIZE = 8;

/** Linux caps a classic program at this many instructions (BPF_MAXINSNS). */
export const BPF_MAX_INSTRUCTIONS = 4096;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encode a program as the array of `struct sock_filter` the kernel reads
 * (u16 code, u8 jt, u8 jf, u32 k, in host byte order). The caller points a
 * `struct sock_fprog { u16 len; struct sock_filter *filter; }` at it.
 *
 * @throws {RangeError} on an empty or too long program, or a field out of range.
 */
export function encodeBpfProgram(program: readonly BpfInstruction[]): Uint8Array {
  if (program.length === 0 || program.length > BPF_MAX_INSTRUCTIONS) {
    throw new RangeError(
      `Cannot encode BPF program: length ${program.length} is not in 1..${BPF_MAX_INSTRUCTIONS}`,
    );
  }
  const bytes = new Uint8Array(program.length * BPF_INSTRUCTION_SIZE);
  const view = new DataView(bytes.buffer);
  program.forEach((instruction, index) => {
    const { code, jt, jf, k } = instruction;
    if (code < 0 || code > 0xffff || jt < 0 || jt > 255 || jf < 0 || jf > 255) {
      throw new RangeError(
        `Cannot encode BPF instruction ${index}: code ${code}, jt ${jt} or jf ${jf} is out of range`,
      );
    }
    const at = index * BPF_INSTRUCTION_SIZE;
    view.setUint16(at, code, LITTLE_ENDIAN);
    view.setUint8(at + 2, jt);
    view.setUint8(at + 3, jf);
    view.setUint32(at + 4, k >>> 0, LITTLE_ENDIAN);
  });
  return bytes;
}

/** Decode what {@link encodeBpfProgram} wrote. */
export function decodeBpfProgram(bytes: Uint8Array): BpfInstruction[] {
  if (bytes.length % BPF_INSTRUCTION_SIZE !== 0) {
    throw new RangeError(
      `Cannot decode BPF program: length ${bytes.length} is not a multiple of ${BPF_INSTRUCTION_SIZE}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program: BpfInstruction[] = [];
  for (let at = 0; at < bytes.length; at += BPF_INSTRUCTION_SIZE) {
    program.push({
      code: view.getUint16(at, LITTLE_ENDIAN),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, LITTLE_ENDIAN),
    });
  }
  return program;
}

/** A label, or "next" for the following instruction. */
type Target = string;

type Item =
  | { label: string }
  | { code: number; k: number; jt?: Target; jf?: Target; ja?: Target };

/**
 * A small assembler: instructions with symbolic jump targets, resolved to
 * the relative offsets classic BPF wants.
 */
export class BpfAssembler {
  #items: Item[] = [];

  /** Mark the position of the next instruction. */
  label(name: string): this {
    this.#items.push({ label: name });
    return this;
  }

  /** A non-jump instruction. */
  op(code: number, k = 0): this {
    this.#items.push({ code, k });
    return this;
  }

  /** A conditional jump: to `jt` when the test holds, else to `jf` ("next" falls through). */
  jump(code: number, k: number, jt: Target, jf: Target): this {
    this.#items.push({ code: Bpf.JMP | code, k, jt, jf });
    return this;
  }

  /** An unconditional jump (32-bit offset). */
  goto(target: Target): this {
    this.#items.push({ code: Bpf.JMP | Bpf.JA, k: 0, ja: target });
    return this;
  }

  /**
   * Resolve labels into instructions.
   *
   * @throws {RangeError} on an unknown or backward label, or a conditional jump over 255.
   */
  assemble(): BpfInstruction[] {
    const positions = new Map<string, number>();
    let count = 0;
    for (const item of this.#items) {
      if ("label" in item) positions.set(item.label, count);
      else count++;
    }
    const program: BpfInstruction[] = [];
    const offset = (target: Target, from: number, limit: number): number => {
      if (target === "next") return 0;
      const position = positions.get(target);
      if (position === undefined) {
        throw new RangeError(`Cannot assemble BPF program: label "${target}" is not defined`);
      }
      const distance = position - from - 1;
      if (distance < 0 || distance > limit) {
        throw new RangeError(
          `Cannot assemble BPF program: jump to "${target}" spans ${distance} instructions (0..${limit})`,
        );
      }
      return distance;
    };
    for (const item of this.#items) {
      if ("label" in item) continue;
      const index = program.length;
      if (item.ja !== undefined) {
        program.push({ code: item.code, jt: 0, jf: 0, k: offset(item.ja, index, 0xffffffff) });
      } else {
        program.push({
          code: item.code,
          jt: item.jt === undefined ? 0 : offset(item.jt, index, 255),
          jf: item.jf === undefined ? 0 : offset(item.jf, index, 255),
          k: item.k >>> 0,
        });
      }
    }
    return program;
  }
}

/** Options of {@link buildScanFilter}. */
export interface ScanFilterOptions {
  /**
   * "ip" when packets start at the IP header (AF_INET SOCK_RAW, AF_PACKET
   * SOCK_DGRAM), "ethernet" for AF_PACKET SOCK_RAW.
   */
  linkType: "ip" | "ethernet";
  /** Our source-port range: TCP/UDP replies must be sent to a port in it. */
  ports: PortRange;
  /**
   * Our addresses: keep only packets sent to one of them (at most 16). Any
   * destination when omitted; a family with no address here is dropped.
   */
  addresses?: readonly IpAddress[];
  /** Keep TCP replies; true when omitted. */
  tcp?: boolean;
  /** Keep UDP replies; false when omitted. */
  udp?: boolean;
  /**
   * Keep ICMP echo replies, destination unreachables and time exceeded, and
   * ICMPv6 echo replies, unreachables, time exceeded and neighbour
   * advertisements; true when omitted.
   */
  icmp?: boolean;
  /** Keep ARP replies (Ethernet only); false when omitted. */
  arp?: boolean;
  /** Bytes of an accepted packet to keep; 65535 when omitted. */
  snapLength?: number;
}

/** Addresses a filter may compare against, so conditional jumps stay within 255. */
const MAX_FILTER_ADDRESSES = 16;

/**
 * A classic BPF program that keeps only what a scan wants: TCP (and, if
 * asked, UDP) to a port in our source-port range, the ICMP and ICMPv6 types
 * that answer probes, ARP replies, all to our addresses; non-first IPv4
 * fragments are dropped. IPv6 extension headers are not followed (a reply
 * carrying one is dropped).
 *
 * @throws {RangeError} on a bad port range or too many addresses.
 */
export function buildScanFilter(options: ScanFilterOptions): BpfInstruction[] {
  const { first, last } = options.ports;
  if (
    !Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 65535 ||
    first > last
  ) {
    throw new RangeError(
      `Cannot build BPF filter: port range "${first}-${last}" is not within 0-65535`,
    );
  }
  const addresses = options.addresses;
  if (addresses && addresses.length > MAX_FILTER_ADDRESSES) {
    throw new RangeError(
      `Cannot build BPF filter: ${addresses.length} addresses is > ${MAX_FILTER_ADDRESSES}`,
    );
  }
  const v4 = addresses?.filter((a): a is number => typeof a === "number");
  const v6 = addresses?.filter((a): a is Uint8Array => typeof a !== "number");
  const wantV4 = v4 === undefined || v4.length > 0;
  const wantV6 = v6 === undefined || v6.length > 0;
  const tcp = options.tcp ?? true;
  const udp = options.udp ?? false;
  const icmp = options.icmp ?? true;
  const ethernet = options.linkType === "ethernet";
  const arp = ethernet && (options.arp ?? false);
  const base = ethernet ? 14 : 0;
  const snap = options.snapLength ?? 65535;

  const asm = new BpfAssembler();
  const ldAbs = (size: number, k: number): BpfAssembler => asm.op(Bpf.LD | size | Bpf.ABS, k);
  const ldInd = (size: number, k: number): BpfAssembler => asm.op(Bpf.LD | size | Bpf.IND, k);

  // Dispatch on the network protocol.
  if (ethernet) {
    ldAbs(Bpf.H, 12);
    if (wantV4) asm.jump(Bpf.JEQ, EtherType.Ipv4, "ipv4", "next");
    if (wantV6) asm.jump(Bpf.JEQ, EtherType.Ipv6, "ipv6", "next");
    if (arp) asm.jump(Bpf.JEQ, EtherType.Arp, "arp", "next");
  } else {
    ldAbs(Bpf.B, 0);
    asm.op(Bpf.ALU | Bpf.RSH | Bpf.K, 4);
    if (wantV4) asm.jump(Bpf.JEQ, 4, "ipv4", "next");
    if (wantV6) asm.jump(Bpf.JEQ, 6, "ipv6", "next");
  }
  asm.goto("reject");

  const portCheck = (): void => {
    asm.jump(Bpf.JGE, first, "next", "reject");
    asm.jump(Bpf.JGT, last, "reject", "accept");
  };

  if (wantV4) {
    asm.label("ipv4");
    if (v4) {
      ldAbs(Bpf.W, base + 16);
      for (const address of v4) asm.jump(Bpf.JEQ, address, "ipv4-to-us", "next");
      asm.goto("reject");
    }
    asm.label("ipv4-to-us");
    // Later fragments have no transport header to look at.
    ldAbs(Bpf.H, base + 6);
    asm.jump(Bpf.JSET, 0x1fff, "reject", "next");
    asm.op(Bpf.LDX | Bpf.B | Bpf.MSH, base);
    ldAbs(Bpf.B, base + 9);
    if (icmp) asm.jump(Bpf.JEQ, IpProtocol.Icmp, "icmp4", "next");
    if (tcp) asm.jump(Bpf.JEQ, IpProtocol.Tcp, "ports4", "next");
    if (udp) asm.jump(Bpf.JEQ, IpProtocol.Udp, "ports4", "next");
    asm.goto("reject");
    if (tcp || udp) {
      asm.label("ports4");
      ldInd(Bpf.H, base + 2);
      portCheck();
    }
    if (icmp) {
      asm.label("icmp4");
      ldInd(Bpf.B, base);
      asm.jump(Bpf.JEQ, 0, "accept", "next");
      asm.jump(Bpf.JEQ, 3, "accept", "next");
      asm.jump(Bpf.JEQ, 11, "accept", "reject");
    }
  }

  if (wantV6) {
    asm.label("ipv6");
    if (v6) {
      v6.forEach((address, index) => {
        const miss = index === v6.length - 1 ? "reject" : `ipv6-address-${index + 1}`;
        if (index > 0) asm.label(`ipv6-address-${index}`);
        for (let word = 0; word < 4; word++) {
          const at = word * 4;
          const value = ((address[at]! << 24) | (address[at + 1]! << 16) |
            (address[at + 2]! << 8) | address[at + 3]!) >>> 0;
          ldAbs(Bpf.W, base + 24 + at);
          asm.jump(Bpf.JEQ, value, word === 3 ? "ipv6-to-us" : "next", miss);
        }
      });
    }
    asm.label("ipv6-to-us");
    ldAbs(Bpf.B, base + 6);
    if (icmp) asm.jump(Bpf.JEQ, IpProtocol.Icmpv6, "icmp6", "next");
    if (tcp) asm.jump(Bpf.JEQ, IpProtocol.Tcp, "ports6", "next");
    if (udp) asm.jump(Bpf.JEQ, IpProtocol.Udp, "ports6", "next");
    asm.goto("reject");
    if (tcp || udp) {
      asm.label("ports6");
      ldAbs(Bpf.H, base + 42);
      portCheck();
    }
    if (icmp) {
      asm.label("icmp6");
      ldAbs(Bpf.B, base + 40);
      asm.jump(Bpf.JEQ, 1, "accept", "next");
      asm.jump(Bpf.JEQ, 3, "accept", "next");
      asm.jump(Bpf.JEQ, 129, "accept", "next");
      asm.jump(Bpf.JEQ, 136, "accept", "reject");
    }
  }

  if (arp) {
    asm.label("arp");
    ldAbs(Bpf.H, base + 6);
    asm.jump(Bpf.JEQ, 2, "next", "reject");
    if (v4) {
      ldAbs(Bpf.W, base + 24);
      for (const address of v4) asm.jump(Bpf.JEQ, address, "accept", "next");
      asm.goto("reject");
    } else {
      asm.goto("accept");
    }
  }

  asm.label("accept");
  asm.op(Bpf.RET | Bpf.K, snap);
  asm.label("reject");
  asm.op(Bpf.RET | Bpf.K, 0);
  return asm.assemble();
}
