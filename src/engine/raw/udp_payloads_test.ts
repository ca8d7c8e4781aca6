import assert from "node:assert/strict";
import { ber, UDP_PAYLOAD_PORTS, udpPayload } from "./udp_payloads.ts";

/** Read one BER TLV at `at`: tag, content start and end. */
function readTlv(bytes: Uint8Array, at: number): { tag: number; start: number; end: number } {
  const tag = bytes[at]!;
  let length = bytes[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[start + i]!;
    start += count;
  }
  return { tag, start, end: start + length };
}

Deno.test("unknown ports get an empty payload", () => {
  assert.equal(udpPayload(4).length, 0);
  assert.equal(udpPayload(65535).length, 0);
});

Deno.test("DNS payload is one CHAOS TXT question for version.bind", () => {
  const dns = udpPayload(53);
  const view = new DataView(dns.buffer, dns.byteOffset, dns.byteLength);
  assert.equal(view.getUint16(4), 1); // QDCOUNT
  assert.equal(view.getUint16(6) + view.getUint16(8) + view.getUint16(10), 0);
  assert.equal(new TextDecoder().decode(dns.subarray(13, 20)), "version");
  assert.equal(view.getUint16(dns.length - 4), 16); // TXT
  assert.equal(view.getUint16(dns.length - 2), 3); // CH
});

Deno.test("SNMP payload is a well-formed v1 GetRequest with community public", () => {
  const snmp = udpPayload(161);
  const message = readTlv(snmp, 0);
  assert.equal(message.tag, 0x30);
  assert.equal(message.end, snmp.length);
  const version = readTlv(snmp, message.start);
  assert.deepEqual([version.tag, snmp[version.start]], [0x02, 0]);
  const community = readTlv(snmp, version.end);
  assert.equal(new TextDecoder().decode(snmp.subarray(community.start, community.end)), "public");
  const pdu = readTlv(snmp, community.end);
  assert.equal(pdu.tag, 0xa0);
  assert.equal(pdu.end, snmp.length);
});

Deno.test("BER lengths use the long form past 127 bytes", () => {
  assert.deepEqual([...ber(0x04, new Uint8Array(3))], [4, 3, 0, 0, 0]);
  assert.deepEqual([...ber(0x04, new Uint8Array(200)).subarray(0, 3)], [4, 0x81, 200]);
  assert.deepEqual([...ber(0x04, new Uint8Array(300)).subarray(0, 4)], [4, 0x82, 1, 44]);
});

Deno.test("NTP, memcached, SSDP, NetBIOS and IKE payloads have their protocol's shape", () => {
  const ntp = udpPayload(123);
  assert.equal(ntp.length, 48);
  assert.equal(ntp[0]! & 7, 3); // client mode
  const memcached = udpPayload(11211);
  assert.deepEqual([...memcached.subarray(4, 6)], [0, 1]); // one datagram
  assert.equal(new TextDecoder().decode(memcached.subarray(8)), "stats\r\n");
  assert.match(new TextDecoder().decode(udpPayload(1900)), /^M-SEARCH \* HTTP\/1\.1\r\n/);
  const netbios = udpPayload(137);
  assert.equal(netbios.length, 50);
  assert.deepEqual([...netbios.subarray(46, 48)], [0, 0x21]); // NBSTAT
  const ike = udpPayload(500);
  const length = new DataView(ike.buffer, ike.byteOffset).getUint32(24);
  assert.equal(length, ike.length);
  assert.equal(ike[17], 0x10); // version 1.0
});

Deno.test("the payload port list is sorted and every entry has a payload", () => {
  assert.deepEqual([...UDP_PAYLOAD_PORTS], [...UDP_PAYLOAD_PORTS].sort((a, b) => a - b));
  for (const port of UDP_PAYLOAD_PORTS) assert.ok(udpPayload(port).length > 0, `port ${port}`);
  for (const port of [53, 123, 137, 161, 500, 1900, 11211]) {
    assert.ok(UDP_PAYLOAD_PORTS.includes(port));
  }
});
