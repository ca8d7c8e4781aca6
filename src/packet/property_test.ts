/**
 * Property tests (fast-check): the reply parser never throws and never
 * yields garbage on random or mutated bytes, builders round-trip through the
 * parser, filled-in checksums verify to zero, and cookies accept exactly the
 * replies to our probes. Each test prints how many cases it ran.
 */

import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { parseReply, type Reply } from "./parse.ts";
import { buildArpReply } from "./arp.ts";
import { buildEthernetFrame } from "./ethernet.ts";
import { buildEchoRequest, buildIcmpPacket } from "./icmp.ts";
import { internetChecksum, sumWords, transportChecksum } from "./checksum.ts";
import { probeIdentity, validateIcmpQuote, validateTcpReply } from "./cookie.ts";
import { buildSynProbe, buildTcpPacket, TcpFlag } from "./tcp.ts";
import { buildUdpPacket } from "./udp.ts";
import { fuzzBudget } from "../testing/fuzz.ts";

/** The fixed seed (FUZZ_SEED=n replays another: see src/testing/fuzz.ts). */
const SEED = 20240611;

const ipv4 = fc.integer({ min: 0, max: 0xffffffff });
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const port = fc.integer({ min: 0, max: 65535 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const addressPair = fc.oneof(
  fc.tuple(ipv4, ipv4),
  fc.tuple(ipv6, ipv6),
) as fc.Arbitrary<[number, number] | [Uint8Array, Uint8Array]>;

/** Every number in a reply is a finite integer, every port 16-bit: proof of no out-of-bounds read. */
function assertSane(reply: Reply): void {
  for (const [name, value] of Object.entries(reply)) {
    if (typeof value === "number") {
      assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, `${name} = ${value}`);
    } else if (value instanceof Uint8Array) {
      assert.ok(value.every((b) => Number.isInteger(b)), name);
    }
  }
  if ("srcPort" in reply) assert.ok(reply.srcPort <= 65535 && reply.dstPort <= 65535);
  if (reply.kind === "icmp-error") {
    for (const value of Object.values(reply.quoted)) {
      if (typeof value === "number") assert.ok(Number.isInteger(value) && value >= 0);
    }
    if (typeof reply.quoted.src !== "number") assert.equal(reply.quoted.src.length, 16);
  }
}

/**
 * A view of `bytes` that throws on any element read outside it. Reading past
 * a Uint8Array yields undefined, which bit operations silently turn into 0,
 * so without this an out-of-bounds read would go unnoticed.
 */
function strict(bytes: Uint8Array): Uint8Array {
  return new Proxy(bytes, {
    get(target, property): unknown {
      if (typeof property === "string" && /^-?\d+$/.test(property)) {
        const index = Number(property);
        if (index < 0 || index >= target.length) {
          throw new RangeError(`read of byte ${index} of ${target.length}`);
        }
        return target[index];
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function tally(counts: Map<string, number>, reply: Reply | undefined): void {
  const key = reply?.kind ?? "undefined";
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function summary(counts: Map<string, number>): string {
  return [...counts].sort().map(([k, v]) => `${k} ${v}`).join(", ");
}

/** Random bytes with IP (and sometimes Ethernet) length and protocol fields made consistent. */
const shapedPacket = fc.record({
  version: fc.constantFrom(4, 6),
  ihl: fc.integer({ min: 5, max: 15 }),
  protocol: fc.constantFrom(1, 6, 17, 58, 0, 43, 44, 60, 51, 47),
  body: fc.uint8Array({ minLength: 40, maxLength: 160 }),
  ethernet: fc.boolean(),
  // Usually the EtherType that matches the version; sometimes not.
  etherType: fc.constantFrom(0, 0, 0, 0x0806, 0x8100, 0x86dd),
}).map(({ version, ihl, protocol, body, ethernet, etherType }) => {
  const packet = body.slice();
  if (version === 4) {
    packet[0] = 0x40 | ihl;
    packet[2] = packet.length >> 8;
    packet[3] = packet.length & 0xff;
    packet[6] = packet[6]! & 0xe0; // first fragment
    packet[7] = 0;
    packet[9] = protocol;
  } else {
    packet[0] = 0x60;
    packet[4] = (packet.length - 40) >> 8;
    packet[5] = (packet.length - 40) & 0xff;
    packet[6] = protocol;
  }
  // Make the transport header's own length fields plausible too.
  const at = version === 4 ? ihl * 4 : 40;
  const left = packet.length - at;
  if (protocol === 17 && left >= 8) {
    packet[at + 4] = left >> 8;
    packet[at + 5] = left & 0xff;
  } else if (protocol === 6 && left >= 20) {
    packet[at + 12] = (5 + (packet[at + 12]! & 3)) << 4;
  }
  if (!ethernet) return { data: packet, linkType: "ip" as const };
  const frame = new Uint8Array(14 + packet.length);
  const type = etherType || (version === 4 ? 0x0800 : 0x86dd);
  frame[12] = type >> 8;
  frame[13] = type & 0xff;
  frame.set(packet, 14);
  return { data: frame, linkType: "ethernet" as const };
});

Deno.test("fuzz: parseReply() never throws on random bytes", () => {
  const { numRuns: runs, seed } = fuzzBudget(100_000, SEED);
  let crashes = 0;
  const counts = new Map<string, number>();
  const raw = fc.record({
    data: fc.uint8Array({ maxLength: 120 }),
    linkType: fc.constantFrom("ip" as const, "ethernet" as const),
    verify: fc.boolean(),
  });
  // Random checksums would almost never verify, so shaped packets skip that check.
  const shaped = shapedPacket.map((packet) => ({ ...packet, verify: false }));
  fc.assert(
    fc.property(fc.oneof(raw, shaped), ({ data, linkType, verify }) => {
      let reply: Reply | undefined;
      try {
        reply = parseReply(strict(data), { linkType, verifyChecksums: verify });
      } catch (error) {
        crashes++;
        throw error;
      }
      tally(counts, reply);
      if (reply) assertSane(reply);
    }),
    { numRuns: runs, seed },
  );
  console.log(`fuzz: parseReply ${runs} cases, ${crashes} crashes (${summary(counts)})`);
  assert.equal(crashes, 0);
  // The shaped half must reach the transport parsers, or it tested little.
  assert.ok((counts.get("undefined") ?? 0) < runs * 0.97, summary(counts));
});

/** Valid replies of every kind, to mutate. */
function seedPackets(): { bytes: Uint8Array; linkType: "ip" | "ethernet" }[] {
  const mac = new Uint8Array([2, 0, 0, 0, 0, 1]);
  const peer = new Uint8Array([2, 0, 0, 0, 0, 5]);
  const v6a = new Uint8Array(16).fill(0x20);
  const v6b = new Uint8Array(16).fill(0x21);
  const synAck4 = buildTcpPacket({
    src: 2,
    dst: 1,
    srcPort: 80,
    dstPort: 40000,
    seq: 1,
    ack: 2,
    flags: 0x12,
    options: new Uint8Array([2, 4, 5, 0xb4]),
  });
  const synAck6 = buildTcpPacket({
    src: v6b,
    dst: v6a,
    srcPort: 80,
    dstPort: 40000,
    seq: 1,
    ack: 2,
    flags: 0x12,
  });
  const udp4 = buildUdpPacket({
    src: 2,
    dst: 1,
    srcPort: 53,
    dstPort: 40000,
    payload: new Uint8Array(12),
  });
  const probe4 = buildSynProbe({ src: 1, dst: 2, srcPort: 40000, dstPort: 22, seq: 3 });
  const probe6 = buildSynProbe({ src: v6a, dst: v6b, srcPort: 40000, dstPort: 22, seq: 3 });
  const unreach4 = buildIcmpPacket({
    src: 2,
    dst: 1,
    type: 3,
    code: 3,
    body: probe4.subarray(0, 28),
  });
  const unreach6 = buildIcmpPacket({ src: v6b, dst: v6a, type: 1, code: 4, body: probe6 });
  const echo6 = buildIcmpPacket({ src: v6b, dst: v6a, type: 129, rest: 0x10002 });
  const naBody = new Uint8Array(24);
  naBody.set(v6b);
  naBody.set([2, 1, ...peer], 16);
  const na = buildIcmpPacket({ src: v6b, dst: v6a, type: 136, body: naBody, ttl: 255 });
  const frame = (packet: Uint8Array, etherType: number): Uint8Array =>
    buildEthernetFrame({ dst: mac, src: peer, etherType }, packet);
  return [
    { bytes: synAck4, linkType: "ip" },
    { bytes: frame(synAck6, 0x86dd), linkType: "ethernet" },
    { bytes: udp4, linkType: "ip" },
    { bytes: unreach4, linkType: "ip" },
    { bytes: frame(unreach6, 0x86dd), linkType: "ethernet" },
    { bytes: echo6, linkType: "ip" },
    { bytes: frame(na, 0x86dd), linkType: "ethernet" },
    {
      bytes: buildArpReply({ srcMac: peer, srcIp: 2, dstMac: mac, dstIp: 1 }),
      linkType: "ethernet",
    },
  ];
}

Deno.test("fuzz: parseReply() never throws on mutated valid packets", () => {
  const { numRuns: runs, seed } = fuzzBudget(50_000, SEED);
  const seeds = seedPackets();
  const counts = new Map<string, number>();
  const mutation = fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cut: fc.nat(),
    grow: fc.nat({ max: 16 }),
  });
  fc.assert(
    fc.property(mutation, ({ seed, flips, cut, grow }) => {
      const { bytes: original, linkType } = seeds[seed]!;
      const bytes = new Uint8Array(original.length + grow);
      bytes.set(original);
      for (const [at, value] of flips) bytes[at % bytes.length] = value;
      const data = bytes.subarray(0, bytes.length - (cut % 4 === 0 ? cut % bytes.length : 0));
      // Often make the outer IP length agree with the cut, so the cut reaches inner parsers.
      const ip = linkType === "ethernet" ? 14 : 0;
      if (cut % 3 === 0 && data.length >= ip + 6) {
        const version = data[ip]! >>> 4;
        const length = version === 4 ? data.length - ip : data.length - ip - 40;
        const at = version === 4 ? ip + 2 : ip + 4;
        if (length >= 0) {
          data[at] = length >> 8;
          data[at + 1] = length & 0xff;
        }
      }
      const reply = parseReply(strict(data), { linkType });
      tally(counts, reply);
      if (reply) assertSane(reply);
    }),
    { numRuns: runs, seed },
  );
  // Most mutations must still parse, or the fuzzing exercised little.
  assert.ok((counts.get("undefined") ?? 0) < runs / 2, summary(counts));
  console.log(`fuzz: parseReply mutated ${runs} cases, 0 crashes (${summary(counts)})`);
});

Deno.test("property: TCP packets round-trip through parseReply() with valid checksums", () => {
  const { numRuns: runs, seed } = fuzzBudget(5_000, SEED);
  fc.assert(
    fc.property(
      addressPair,
      fc.record({
        srcPort: port,
        dstPort: port,
        seq: u32,
        ack: u32,
        flags: fc.integer({ min: 0, max: 255 }),
        window: port,
        ttl: fc.integer({ min: 0, max: 255 }),
        id: port,
        mss: fc.option(port, { nil: undefined }),
        payload: fc.uint8Array({ maxLength: 64 }),
      }),
      ([src, dst], fields) => {
        const { mss, ...rest } = fields;
        const options = mss === undefined
          ? new Uint8Array(0)
          : new Uint8Array([2, 4, mss >> 8, mss & 255]);
        const packet = buildTcpPacket({ src, dst, ...rest, options });
        const reply = parseReply(packet, { linkType: "ip", verifyChecksums: true });
        assert.ok(reply?.kind === "tcp");
        assert.deepEqual(reply.src, src);
        assert.deepEqual(reply.dst, dst);
        assert.equal(reply.ttl, fields.ttl);
        assert.equal(reply.srcPort, fields.srcPort);
        assert.equal(reply.dstPort, fields.dstPort);
        assert.equal(reply.seq, fields.seq);
        assert.equal(reply.ack, fields.ack);
        assert.equal(reply.flags, fields.flags);
        assert.equal(reply.window, fields.window);
        assert.equal(reply.mss, mss);
      },
    ),
    { numRuns: runs, seed },
  );
  console.log(`property: TCP round trip ${runs} cases`);
});

Deno.test("property: UDP and echo replies round-trip; checksums verify to 0", () => {
  const { numRuns: runs, seed } = fuzzBudget(5_000, SEED);
  fc.assert(
    fc.property(
      addressPair,
      port,
      port,
      fc.uint8Array({ maxLength: 200 }),
      ([src, dst], sport, dport, payload) => {
        const packet = buildUdpPacket({ src, dst, srcPort: sport, dstPort: dport, payload });
        const ipLength = typeof src === "number" ? 20 : 40;
        const segment = packet.subarray(ipLength);
        assert.equal(transportChecksum(segment, { src, dst, protocol: 17 }), 0);
        assert.notEqual((segment[6]! << 8) | segment[7]!, 0, "0 is sent as 0xffff");
        if (typeof src === "number") assert.equal(internetChecksum(packet.subarray(0, 20)), 0);
        const reply = parseReply(packet, { linkType: "ip", verifyChecksums: true });
        assert.ok(reply?.kind === "udp");
        assert.equal(reply.srcPort, sport);
        assert.equal(reply.dstPort, dport);
        assert.deepEqual(reply.payload, payload);

        const type = typeof src === "number" ? 0 : 129;
        const echo = buildIcmpPacket({
          src,
          dst,
          type,
          rest: (sport << 16 | dport) >>> 0,
          body: payload,
        });
        const echoReply = parseReply(echo, { linkType: "ip", verifyChecksums: true });
        assert.ok(echoReply?.kind === "echo-reply");
        assert.equal(echoReply.id, sport);
        assert.equal(echoReply.seq, dport);
      },
    ),
    { numRuns: runs, seed },
  );
  console.log(`property: UDP/echo round trip and checksum ${runs} cases`);
});

Deno.test("property: data with its checksum appended sums to 0", () => {
  const { numRuns: runs, seed } = fuzzBudget(10_000, SEED);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 0xffff }), (data, initial) => {
      // Pad to an even length so the checksum word lands on a word boundary.
      const even = new Uint8Array(data.length + (data.length & 1) + 2);
      even.set(data);
      const checksum = internetChecksum(even.subarray(0, even.length - 2), initial);
      even[even.length - 2] = checksum >> 8;
      even[even.length - 1] = checksum & 0xff;
      assert.equal(internetChecksum(even, initial), 0);
      // Summing in two even pieces is the same as summing at once.
      const split = (data.length >> 2) * 2;
      assert.equal(
        sumWords(data.subarray(split), sumWords(data.subarray(0, split))),
        sumWords(data),
      );
    }),
    { numRuns: runs, seed },
  );
  console.log(`property: checksum verifies to 0 ${runs} cases`);
});

Deno.test("property: cookies validate replies to our probes and reject altered ones", () => {
  const { numRuns: runs, seed } = fuzzBudget(5_000, SEED);
  let rejected = 0;
  const ports = { first: 32768, last: 60999 };
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      addressPair,
      port,
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 1, max: 0xffff }),
      (key, [src, dst], dstPort, attempt, field, delta) => {
        const options = { ports, attempts: 4 };
        const { srcPort, seq } = probeIdentity(key, { src, dst, dstPort }, { ...options, attempt });
        const reply = {
          src: dst,
          dst: src,
          srcPort: dstPort,
          dstPort: srcPort,
          seq: 0,
          ack: (seq + 1) >>> 0,
          flags: TcpFlag.Syn | TcpFlag.Ack,
        };
        assert.equal(validateTcpReply(key, reply, options), attempt);
        // The ICMP error quoting the probe validates too.
        const quoted = {
          family: typeof src === "number" ? 4 as const : 6 as const,
          src,
          dst,
          protocol: 6,
          ttl: 1,
          srcPort,
          dstPort,
          seq,
        };
        assert.equal(validateIcmpQuote(key, quoted, options), attempt);

        const altered = { ...reply };
        if (field === 0) altered.srcPort = (altered.srcPort + delta) & 0xffff;
        else if (field === 1) altered.dstPort = (altered.dstPort + delta) & 0xffff;
        else if (field === 2) altered.ack = (altered.ack + delta) >>> 0;
        else if (field === 3 && typeof altered.src === "number") {
          altered.src = (altered.src + delta) >>> 0;
        } else if (field === 3 && typeof altered.src !== "number") {
          altered.src = altered.src.slice();
          altered.src[delta % 16] = altered.src[delta % 16]! ^ (delta >> 8 || 1);
        } else {
          const keyAltered = key.slice();
          keyAltered[delta % 16] = keyAltered[delta % 16]! ^ (delta >> 8 || 1);
          assert.equal(validateTcpReply(keyAltered, reply, options), undefined);
          rejected++;
          return;
        }
        assert.equal(validateTcpReply(key, altered, options), undefined, `field ${field}`);
        rejected++;
      },
    ),
    { numRuns: runs, seed },
  );
  console.log(`property: cookies ${runs} cases, ${rejected} altered replies rejected`);
});

Deno.test("property: ICMP errors quoting echo and UDP probes give the probe back", () => {
  const { numRuns: runs, seed } = fuzzBudget(3_000, SEED);
  fc.assert(
    fc.property(
      addressPair,
      port,
      port,
      fc.integer({ min: 0, max: 255 }),
      ([src, dst], id, seq, code) => {
        const probe = buildEchoRequest({ src, dst, id, seq });
        const v4 = typeof src === "number";
        const error = buildIcmpPacket({
          src: dst,
          dst: src,
          type: v4 ? 3 : 1,
          code,
          body: probe.subarray(0, v4 ? 28 : 48),
        });
        const reply = parseReply(error, { linkType: "ip", verifyChecksums: true });
        assert.ok(reply?.kind === "icmp-error");
        assert.deepEqual(reply.quoted.dst, dst);
        assert.equal(reply.quoted.icmpId, id);
        assert.equal(reply.quoted.icmpSeq, seq);
        assert.equal(typeof reply.reason, "string");

        const udp = buildUdpPacket({
          src,
          dst,
          srcPort: id,
          dstPort: seq,
          payload: new Uint8Array(8),
        });
        const udpError = buildIcmpPacket({ src: dst, dst: src, type: v4 ? 3 : 1, code, body: udp });
        const udpReply = parseReply(udpError, { linkType: "ip", verifyChecksums: true });
        assert.ok(udpReply?.kind === "icmp-error");
        assert.equal(udpReply.quoted.protocol, 17);
        assert.equal(udpReply.quoted.srcPort, id);
        assert.equal(udpReply.quoted.dstPort, seq);
      },
    ),
    { numRuns: runs, seed },
  );
  console.log(`property: quoted echo round trip ${runs} cases`);
});
