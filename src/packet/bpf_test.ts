import assert from "node:assert/strict";
import {
  Bpf,
  BpfAssembler,
  type BpfInstruction,
  buildScanFilter,
  decodeBpfProgram,
  encodeBpfProgram,
  type ScanFilterOptions,
} from "./bpf.ts";
import { buildArpReply, buildArpRequest } from "./arp.ts";
import { buildEthernetFrame } from "./ethernet.ts";
import { buildEchoRequest, buildIcmpPacket, buildNeighborSolicitation } from "./icmp.ts";
import { buildTcpPacket, TcpFlag } from "./tcp.ts";
import { buildUdpPacket } from "./udp.ts";
import { DST4, DST6, fromHex, MAC1, SRC4, SRC6 } from "./testdata/scapy_packets.ts";

/**
 * A classic BPF interpreter with the kernel's semantics: loads past the end
 * of the packet and division by zero drop the packet, registers are 32-bit
 * unsigned. It first checks the program as sk_chk_filter does.
 */
function runBpf(program: readonly BpfInstruction[], packet: Uint8Array): number {
  checkProgram(program);
  const memory = new Uint32Array(16);
  let a = 0;
  let x = 0;
  const load = (size: number, at: number): number | undefined => {
    const width = size === Bpf.W ? 4 : size === Bpf.H ? 2 : 1;
    if (at < 0 || at + width > packet.length) return undefined;
    let value = 0;
    for (let i = 0; i < width; i++) value = value * 256 + packet[at + i]!;
    return value;
  };
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    const cls = code & 0x07;
    const size = code & 0x18;
    const mode = code & 0xe0;
    const op = code & 0xf0;
    const src = code & 0x08;
    switch (cls) {
      case Bpf.LD: {
        let value: number | undefined;
        if (mode === Bpf.IMM) value = k;
        else if (mode === Bpf.ABS) value = load(size, k);
        else if (mode === Bpf.IND) value = load(size, x + k);
        else if (mode === Bpf.MEM) value = memory[k];
        else if (mode === Bpf.LEN) value = packet.length;
        if (value === undefined) return 0;
        a = value >>> 0;
        break;
      }
      case Bpf.LDX: {
        let value: number | undefined;
        if (mode === Bpf.IMM) value = k;
        else if (mode === Bpf.MEM) value = memory[k];
        else if (mode === Bpf.LEN) value = packet.length;
        else if (mode === Bpf.MSH) {
          const byte = load(Bpf.B, k);
          value = byte === undefined ? undefined : (byte & 0x0f) * 4;
        }
        if (value === undefined) return 0;
        x = value >>> 0;
        break;
      }
      case Bpf.ST:
        memory[k] = a;
        break;
      case Bpf.STX:
        memory[k] = x;
        break;
      case Bpf.ALU: {
        const operand = src === Bpf.X ? x : k;
        if ((op === Bpf.DIV || op === Bpf.MOD) && operand === 0) return 0;
        switch (op) {
          case Bpf.ADD:
            a = (a + operand) >>> 0;
            break;
          case Bpf.SUB:
            a = (a - operand) >>> 0;
            break;
          case Bpf.MUL:
            a = Math.imul(a, operand) >>> 0;
            break;
          case Bpf.DIV:
            a = Math.floor(a / operand) >>> 0;
            break;
          case Bpf.MOD:
            a = (a % operand) >>> 0;
            break;
          case Bpf.OR:
            a = (a | operand) >>> 0;
            break;
          case Bpf.AND:
            a = (a & operand) >>> 0;
            break;
          case Bpf.XOR:
            a = (a ^ operand) >>> 0;
            break;
          case Bpf.LSH:
            a = operand >= 32 ? 0 : (a << operand) >>> 0;
            break;
          case Bpf.RSH:
            a = operand >= 32 ? 0 : a >>> operand;
            break;
          case Bpf.NEG:
            a = -a >>> 0;
            break;
          default:
            throw new Error(`bad ALU op ${code}`);
        }
        break;
      }
      case Bpf.JMP: {
        if (op === Bpf.JA) {
          pc += k;
          break;
        }
        const operand = src === Bpf.X ? x : k;
        let taken: boolean;
        if (op === Bpf.JEQ) taken = a === operand;
        else if (op === Bpf.JGT) taken = a > operand;
        else if (op === Bpf.JGE) taken = a >= operand;
        else if (op === Bpf.JSET) taken = (a & operand) !== 0;
        else throw new Error(`bad jump op ${code}`);
        pc += taken ? jt : jf;
        break;
      }
      case Bpf.RET:
        return (code & 0x18) === Bpf.A ? a : k;
      case Bpf.MISC:
        if ((code & 0xf8) === Bpf.TAX) x = a;
        else a = x;
        break;
    }
  }
  throw new Error("fell off the end of the program");
}

/** The kernel's static checks: every jump lands inside, the last instruction returns. */
function checkProgram(program: readonly BpfInstruction[]): void {
  assert.ok(program.length > 0 && program.length <= 4096);
  program.forEach((instruction, pc) => {
    if ((instruction.code & 0x07) !== Bpf.JMP) return;
    if ((instruction.code & 0xf0) === Bpf.JA) {
      assert.ok(pc + 1 + instruction.k < program.length, `JA at ${pc} leaves the program`);
    } else {
      assert.ok(
        pc + 1 + Math.max(instruction.jt, instruction.jf) < program.length,
        `jump at ${pc}`,
      );
    }
  });
  assert.equal(program[program.length - 1]!.code & 0x07, Bpf.RET, "ends with RET");
}

/** `tcpdump -dd -y EN10MB 'tcp dst portrange 32768-60999'` (tcpdump 4.99), to check the interpreter. */
const TCPDUMP_PORTRANGE: BpfInstruction[] = [
  [0x28, 0, 0, 0x0c],
  [0x15, 0, 4, 0x86dd],
  [0x30, 0, 0, 0x14],
  [0x15, 0, 12, 0x06],
  [0x28, 0, 0, 0x38],
  [0x35, 8, 10, 0x8000],
  [0x15, 0, 9, 0x0800],
  [0x30, 0, 0, 0x17],
  [0x15, 0, 7, 0x06],
  [0x28, 0, 0, 0x14],
  [0x45, 5, 0, 0x1fff],
  [0xb1, 0, 0, 0x0e],
  [0x48, 0, 0, 0x10],
  [0x35, 0, 2, 0x8000],
  [0x25, 1, 0, 0xee47],
  [0x6, 0, 0, 0x40000],
  [0x6, 0, 0, 0],
].map(([code, jt, jf, k]) => ({ code: code!, jt: jt!, jf: jf!, k: k! }));

const PORTS = { first: 32768, last: 60999 };
const PEER_MAC = fromHex("020000000005");

function ether(packet: Uint8Array): Uint8Array {
  const etherType = packet[0]! >>> 4 === 4 ? 0x0800 : 0x86dd;
  return buildEthernetFrame({ dst: MAC1, src: PEER_MAC, etherType }, packet);
}

function tcpTo(dstPort: number, family: 4 | 6 = 4, to?: number | Uint8Array): Uint8Array {
  const [src, dst] = family === 4 ? [DST4, SRC4] : [DST6, SRC6];
  return buildTcpPacket({
    src,
    dst: to ?? dst,
    srcPort: 443,
    dstPort,
    seq: 1,
    ack: 2,
    flags: TcpFlag.Syn | TcpFlag.Ack,
  });
}

function udpTo(dstPort: number, family: 4 | 6 = 4): Uint8Array {
  const [src, dst] = family === 4 ? [DST4, SRC4] : [DST6, SRC6];
  return buildUdpPacket({ src, dst, srcPort: 53, dstPort });
}

function icmpTo(type: number, family: 4 | 6 = 4): Uint8Array {
  const [src, dst] = family === 4 ? [DST4, SRC4] : [DST6, SRC6];
  return buildIcmpPacket({ src, dst, type, body: new Uint8Array(28) });
}

function accepts(options: ScanFilterOptions, packet: Uint8Array): boolean {
  const program = buildScanFilter(options);
  const bytes = options.linkType === "ethernet" ? ether(packet) : packet;
  return runBpf(program, bytes) > 0;
}

Deno.test("encodeBpfProgram() lays out struct sock_filter in host order", () => {
  const program = [{ code: 0x28, jt: 1, jf: 2, k: 0x0c }, { code: 0x06, jt: 0, jf: 0, k: 0x40000 }];
  const bytes = encodeBpfProgram(program);
  assert.equal(bytes.length, 16);
  // x86-64 and arm64 Linux are little-endian.
  assert.deepEqual([...bytes.subarray(0, 8)], [0x28, 0, 1, 2, 0x0c, 0, 0, 0]);
  assert.deepEqual([...bytes.subarray(8)], [0x06, 0, 0, 0, 0, 0, 4, 0]);
  assert.deepEqual(decodeBpfProgram(bytes), program);
  assert.throws(() => encodeBpfProgram([]), /length 0/);
  assert.throws(() => encodeBpfProgram([{ code: 6, jt: 256, jf: 0, k: 0 }]), /jt 256/);
  assert.throws(() => decodeBpfProgram(new Uint8Array(9)), /length 9/);
});

Deno.test("the interpreter agrees with a tcpdump-compiled program", () => {
  assert.equal(runBpf(TCPDUMP_PORTRANGE, ether(tcpTo(40000))), 0x40000);
  assert.equal(runBpf(TCPDUMP_PORTRANGE, ether(tcpTo(40000, 6))), 0x40000);
  assert.equal(runBpf(TCPDUMP_PORTRANGE, ether(tcpTo(80))), 0);
  assert.equal(runBpf(TCPDUMP_PORTRANGE, ether(tcpTo(61000))), 0);
  assert.equal(runBpf(TCPDUMP_PORTRANGE, ether(udpTo(40000))), 0);
  assert.equal(runBpf(TCPDUMP_PORTRANGE, new Uint8Array(10)), 0, "short packet");
});

Deno.test("the scan filter keeps TCP to our port range, IPv4 and IPv6, as tcpdump's does", () => {
  const options: ScanFilterOptions = { linkType: "ethernet", ports: PORTS, icmp: false };
  for (const family of [4, 6] as const) {
    for (const port of [0, 80, 32767, 32768, 45000, 60999, 61000, 65535]) {
      const packet = ether(tcpTo(port, family));
      const ours = runBpf(buildScanFilter(options), packet) > 0;
      const theirs = runBpf(TCPDUMP_PORTRANGE, packet) > 0;
      assert.equal(ours, theirs, `IPv${family} port ${port}`);
      assert.equal(ours, port >= 32768 && port <= 60999);
    }
  }
});

Deno.test("the scan filter on an IP link: TCP, UDP when asked, ICMP types, options in the IPv4 header", () => {
  const options: ScanFilterOptions = { linkType: "ip", ports: PORTS };
  assert.ok(accepts(options, tcpTo(40000)));
  assert.ok(!accepts(options, tcpTo(22)));
  assert.ok(!accepts(options, udpTo(40000)), "UDP off by default");
  assert.ok(accepts({ ...options, udp: true }, udpTo(40000)));
  assert.ok(accepts({ ...options, udp: true }, udpTo(40000, 6)));
  assert.ok(!accepts({ ...options, udp: true }, udpTo(53)));
  assert.ok(!accepts({ ...options, tcp: false, udp: true }, tcpTo(40000)));
  for (const type of [0, 3, 11]) assert.ok(accepts(options, icmpTo(type)), `ICMP ${type}`);
  for (const type of [8, 5, 13]) assert.ok(!accepts(options, icmpTo(type)), `ICMP ${type}`);
  for (const type of [1, 3, 129, 136]) {
    assert.ok(accepts(options, icmpTo(type, 6)), `ICMPv6 ${type}`);
  }
  for (const type of [128, 135, 2]) assert.ok(!accepts(options, icmpTo(type, 6)), `ICMPv6 ${type}`);
  assert.ok(!accepts({ ...options, icmp: false }, icmpTo(3)));
  // An IPv4 header with options moves the TCP header; the filter follows IHL.
  const withOptions = tcpTo(40000);
  const longer = new Uint8Array(withOptions.length + 4);
  longer.set(withOptions.subarray(0, 20));
  longer.set([1, 1, 1, 0], 20);
  longer.set(withOptions.subarray(20), 24);
  longer[0] = 0x46;
  assert.ok(accepts(options, longer));
  longer[26] = 0; // destination port 0x00xx
  assert.ok(!accepts(options, longer));
  // A later fragment is dropped.
  const fragment = tcpTo(40000);
  fragment[7] = 8;
  assert.ok(!accepts(options, fragment));
  assert.ok(!accepts(options, new Uint8Array([0x50, 0, 0, 0])), "version 5");
});

Deno.test("the scan filter keeps only packets to our addresses", () => {
  const other4 = 0xc6336402;
  const other6 = fromHex("20010db8000000000000000000000002");
  const options: ScanFilterOptions = {
    linkType: "ethernet",
    ports: PORTS,
    addresses: [SRC4, SRC6],
  };
  assert.ok(accepts(options, tcpTo(40000, 4)));
  assert.ok(accepts(options, tcpTo(40000, 6)));
  assert.ok(!accepts(options, tcpTo(40000, 4, other4)));
  assert.ok(!accepts(options, tcpTo(40000, 6, other6)));
  // Only IPv4 addresses: IPv6 is dropped entirely.
  assert.ok(!accepts({ ...options, addresses: [SRC4] }, tcpTo(40000, 6)));
  assert.ok(accepts({ ...options, addresses: [other4, SRC4] }, tcpTo(40000, 4)));
  // Several IPv6 addresses, the match last; each word must match.
  const near = SRC6.slice();
  near[15] = 0x11;
  const many = [other6, near, fromHex("fe800000000000000000000000000001"), SRC6];
  assert.ok(accepts({ ...options, addresses: many }, tcpTo(40000, 6)));
  assert.ok(!accepts({ ...options, addresses: many.slice(0, 3) }, tcpTo(40000, 6)));
});

Deno.test("the scan filter keeps ARP replies to us and drops ARP requests", () => {
  const options: ScanFilterOptions = {
    linkType: "ethernet",
    ports: PORTS,
    arp: true,
    addresses: [SRC4],
  };
  const program = buildScanFilter(options);
  const reply = buildArpReply({ srcMac: PEER_MAC, srcIp: DST4, dstMac: MAC1, dstIp: SRC4 });
  assert.ok(runBpf(program, reply) > 0);
  const elsewhere = buildArpReply({ srcMac: PEER_MAC, srcIp: DST4, dstMac: MAC1, dstIp: SRC4 + 1 });
  assert.equal(runBpf(program, elsewhere), 0);
  assert.equal(
    runBpf(program, buildArpRequest({ srcMac: PEER_MAC, srcIp: DST4, targetIp: SRC4 })),
    0,
  );
  assert.equal(runBpf(buildScanFilter({ ...options, arp: false }), reply), 0);
  const anyAddress = buildScanFilter({ linkType: "ethernet", ports: PORTS, arp: true });
  assert.ok(runBpf(anyAddress, elsewhere) > 0);
  // Our own neighbour solicitation and echo request are not replies.
  assert.equal(
    runBpf(program, buildNeighborSolicitation({ src: SRC6, target: DST6, srcMac: MAC1 })),
    0,
  );
  assert.equal(
    runBpf(program, ether(buildEchoRequest({ src: SRC4, dst: DST4, id: 1, seq: 1 }))),
    0,
  );
});

Deno.test("the scan filter accepts snapLength bytes and checks its inputs", () => {
  const program = buildScanFilter({ linkType: "ip", ports: PORTS, snapLength: 128 });
  assert.equal(runBpf(program, tcpTo(40000)), 128);
  assert.equal(runBpf(program, tcpTo(40000).subarray(0, 21)), 0, "truncated packet");
  assert.throws(() => buildScanFilter({ linkType: "ip", ports: { first: 10, last: 5 } }), /"10-5"/);
  const addresses = Array.from({ length: 17 }, (_, i) => i + 1);
  assert.throws(() => buildScanFilter({ linkType: "ip", ports: PORTS, addresses }), /17 addresses/);
  // Sixteen IPv6 addresses still fit the 8-bit jumps.
  const sixteen = Array.from(
    { length: 16 },
    (_, i) => fromHex((i + 1).toString(16).padStart(32, "0")),
  );
  const big = buildScanFilter({
    linkType: "ethernet",
    ports: PORTS,
    addresses: [...sixteen.slice(1), SRC6],
    udp: true,
    arp: true,
  });
  checkProgram(big);
  assert.ok(runBpf(big, ether(tcpTo(40000, 6))) > 0);
  assert.ok(encodeBpfProgram(big).length === big.length * 8);
});

Deno.test("BpfAssembler resolves labels and refuses bad jumps", () => {
  const program = new BpfAssembler()
    .op(Bpf.LD | Bpf.W | Bpf.LEN)
    .jump(Bpf.JGT, 10, "big", "next")
    .op(Bpf.RET | Bpf.K, 1)
    .label("big")
    .op(Bpf.RET | Bpf.K, 2)
    .assemble();
  assert.equal(runBpf(program, new Uint8Array(5)), 1);
  assert.equal(runBpf(program, new Uint8Array(11)), 2);
  assert.throws(() => new BpfAssembler().goto("nowhere").assemble(), /"nowhere" is not defined/);
  assert.throws(
    () => new BpfAssembler().label("back").op(0).jump(Bpf.JEQ, 0, "back", "next").assemble(),
    /spans -2/,
  );
  const far = new BpfAssembler().jump(Bpf.JEQ, 0, "end", "next");
  for (let i = 0; i < 256; i++) far.op(Bpf.LD | Bpf.IMM, i);
  far.label("end").op(Bpf.RET | Bpf.K, 0);
  assert.throws(() => far.assemble(), /spans 256 instructions/);
});
