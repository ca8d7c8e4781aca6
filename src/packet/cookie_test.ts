import assert from "node:assert/strict";
import {
  attemptOfSourcePort,
  createCookieKey,
  echoIdentity,
  probeAttempt,
  probeCookie,
  probeIdentity,
  probeSourcePort,
  validateEchoReply,
  validateIcmpQuote,
  validateTcpReply,
  validateUdpReply,
} from "./cookie.ts";
import { TcpFlag } from "./tcp.ts";
import { DST4, DST6, SRC4, SRC6 } from "./testdata/scapy_packets.ts";

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
const PORTS = { first: 32768, last: 60999 };

Deno.test("createCookieKey() gives 16 random bytes", () => {
  const a = createCookieKey();
  const b = createCookieKey();
  assert.equal(a.length, 16);
  assert.notDeepEqual(a, b);
});

Deno.test("probeSourcePort() stays in range and steps by attempt", () => {
  const probe = { src: SRC4, dst: DST4, dstPort: 443 };
  const first = probeSourcePort(KEY, probe, { ports: PORTS });
  assert.ok(first >= PORTS.first && first <= PORTS.last);
  const second = probeSourcePort(KEY, probe, { ports: PORTS, attempt: 1 });
  assert.equal(second, first === PORTS.last ? PORTS.first : first + 1);
  assert.equal(probeSourcePort(KEY, probe, { ports: { first: 5000, last: 5000 } }), 5000);
  assert.notEqual(probeSourcePort(KEY, { ...probe, dstPort: 444 }, { ports: PORTS }), first);
  assert.throws(
    () => probeSourcePort(KEY, probe, { ports: { first: 6000, last: 5000 } }),
    /Cannot use source port range "6000-5000"/,
  );
});

Deno.test("SYN-ACK and RST-ACK acknowledging seq + 1 validate; others do not", () => {
  const options = { ports: PORTS, attempts: 3 };
  for (const [src, dst] of [[SRC4, DST4], [SRC6, DST6]] as const) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { srcPort, seq } = probeIdentity(KEY, { src, dst, dstPort: 22 }, {
        ...options,
        attempt,
      });
      const reply = {
        src: dst,
        dst: src,
        srcPort: 22,
        dstPort: srcPort,
        seq: 12345,
        ack: (seq + 1) >>> 0,
        flags: TcpFlag.Syn | TcpFlag.Ack,
      };
      assert.equal(validateTcpReply(KEY, reply, options), attempt);
      assert.equal(
        validateTcpReply(KEY, { ...reply, flags: TcpFlag.Rst | TcpFlag.Ack }, options),
        attempt,
      );
      assert.equal(validateTcpReply(KEY, { ...reply, ack: seq }, options), undefined, "ack = seq");
      assert.equal(validateTcpReply(KEY, { ...reply, srcPort: 23 }, options), undefined, "port");
      assert.equal(validateTcpReply(KEY, { ...reply, dstPort: srcPort ^ 1 }, options), undefined);
      assert.equal(validateTcpReply(KEY, { ...reply, flags: TcpFlag.Syn }, options), undefined);
      const otherKey = KEY.slice();
      otherKey[0] = otherKey[0]! ^ 0x80;
      assert.equal(validateTcpReply(otherKey, reply, options), undefined, "key");
    }
  }
});

Deno.test("an attempt beyond the allowed count is rejected", () => {
  const probe = { src: SRC4, dst: DST4, dstPort: 80 };
  const { srcPort, seq } = probeIdentity(KEY, probe, { ports: PORTS, attempt: 2 });
  const reply = {
    src: DST4,
    dst: SRC4,
    srcPort: 80,
    dstPort: srcPort,
    seq: 0,
    ack: seq + 1,
    flags: 0x12,
  };
  assert.equal(validateTcpReply(KEY, reply, { ports: PORTS, attempts: 2 }), undefined);
  assert.equal(validateTcpReply(KEY, reply, { ports: PORTS, attempts: 3 }), 2);
  assert.equal(
    attemptOfSourcePort(KEY, { src: SRC4, dst: DST4, srcPort: 1000, dstPort: 80 }, {
      ports: PORTS,
    }),
    undefined,
  );
});

Deno.test("a bare RST to an ACK probe validates by its sequence number", () => {
  // The ACK probe carries the cookie as its acknowledgment number; RFC 9293 has the RST echo it.
  const { srcPort, seq } = probeIdentity(KEY, { src: SRC4, dst: DST4, dstPort: 80 }, {
    ports: PORTS,
  });
  const rst = {
    src: DST4,
    dst: SRC4,
    srcPort: 80,
    dstPort: srcPort,
    seq,
    ack: 0,
    flags: TcpFlag.Rst,
  };
  assert.equal(validateTcpReply(KEY, rst, { ports: PORTS }), 0);
  assert.equal(validateTcpReply(KEY, { ...rst, seq: seq ^ 1 }, { ports: PORTS }), undefined);
});

Deno.test("probeCookie() covers the whole tuple and the protocol", () => {
  const tuple = { src: SRC4, dst: DST4, srcPort: 40000, dstPort: 443 };
  const cookie = probeCookie(KEY, tuple);
  assert.equal(probeCookie(KEY, tuple), cookie, "deterministic");
  assert.notEqual(probeCookie(KEY, { ...tuple, srcPort: 40001 }), cookie);
  assert.notEqual(probeCookie(KEY, { ...tuple, dstPort: 444 }), cookie);
  assert.notEqual(probeCookie(KEY, { ...tuple, src: SRC4 + 1 }), cookie);
  assert.notEqual(probeCookie(KEY, { ...tuple, dst: DST4 + 1 }), cookie);
  assert.notEqual(probeCookie(KEY, { ...tuple, protocol: 17 }), cookie);
  assert.throws(() => probeCookie(KEY, { ...tuple, dst: DST6 }), /families differ/);
});

Deno.test("UDP replies validate by source-port slot", () => {
  const options = { ports: PORTS, attempts: 2 };
  const srcPort = probeSourcePort(KEY, { src: SRC6, dst: DST6, dstPort: 53, protocol: 17 }, {
    ...options,
    attempt: 1,
  });
  const reply = { src: DST6, dst: SRC6, srcPort: 53, dstPort: srcPort };
  assert.equal(validateUdpReply(KEY, reply, options), 1);
  assert.equal(validateUdpReply(KEY, { ...reply, srcPort: 54 }, options), undefined);
});

Deno.test("echo replies validate by identifier and sequence", () => {
  const { id, seq } = echoIdentity(KEY, { src: SRC4, dst: DST4 }, { attempt: 1 });
  const reply = { src: DST4, dst: SRC4, id, seq };
  assert.equal(validateEchoReply(KEY, reply, { attempts: 2 }), 1);
  assert.equal(validateEchoReply(KEY, reply, { attempts: 1 }), undefined);
  assert.equal(validateEchoReply(KEY, { ...reply, id: id ^ 1 }, { attempts: 2 }), undefined);
  assert.equal(validateEchoReply(KEY, { ...reply, src: DST4 + 1 }, { attempts: 2 }), undefined);
});

Deno.test("validateIcmpQuote() matches quoted TCP, UDP and echo probes", () => {
  const options = { ports: PORTS, attempts: 2 };
  const { srcPort, seq } = probeIdentity(KEY, { src: SRC4, dst: DST4, dstPort: 25 }, options);
  const tcp = {
    family: 4 as const,
    src: SRC4,
    dst: DST4,
    protocol: 6,
    ttl: 3,
    srcPort,
    dstPort: 25,
    seq,
  };
  assert.equal(validateIcmpQuote(KEY, tcp, options), 0);
  assert.equal(validateIcmpQuote(KEY, { ...tcp, seq: seq + 1 }, options), undefined);
  const { seq: _, ...portsOnly } = tcp;
  assert.equal(validateIcmpQuote(KEY, portsOnly, options), undefined, "TCP needs the sequence");
  const udpPort = probeSourcePort(
    KEY,
    { src: SRC4, dst: DST4, dstPort: 161, protocol: 17 },
    options,
  );
  const udp = {
    family: 4 as const,
    src: SRC4,
    dst: DST4,
    protocol: 17,
    ttl: 3,
    srcPort: udpPort,
    dstPort: 161,
  };
  assert.equal(validateIcmpQuote(KEY, udp, options), 0);
  assert.equal(validateIcmpQuote(KEY, { ...udp, dstPort: 162 }, options), undefined);
  const { id, seq: echoSeq } = echoIdentity(KEY, { src: SRC6, dst: DST6 }, { attempt: 1 });
  const echo = {
    family: 6 as const,
    src: SRC6,
    dst: DST6,
    protocol: 58,
    ttl: 1,
    icmpType: 128,
    icmpId: id,
    icmpSeq: echoSeq,
  };
  assert.equal(validateIcmpQuote(KEY, echo, options), 1);
  assert.equal(validateIcmpQuote(KEY, { ...echo, protocol: 47 }, options), undefined);
});

Deno.test("probeCookie() and probeAttempt() agree with probeIdentity() for every attempt", () => {
  const options = { ports: { first: 61000, last: 61003 }, attempts: 4 };
  const probe = { src: SRC6, dst: DST6, dstPort: 8080 };
  const seen = new Set<number>();
  for (let attempt = 0; attempt < 4; attempt++) {
    const { srcPort, seq } = probeIdentity(KEY, probe, { ...options, attempt });
    seen.add(srcPort);
    assert.equal(probeCookie(KEY, { ...probe, srcPort }, options), seq);
    assert.deepEqual(probeAttempt(KEY, { ...probe, srcPort }, options), { attempt, seq });
  }
  // Four attempts over a four-port range use every port once.
  assert.equal(seen.size, 4);
  assert.equal(probeAttempt(KEY, { ...probe, srcPort: 60999 }, options), undefined);
});
