import assert from "node:assert/strict";
import {
  ArpOperation,
  buildArpReply,
  buildArpRequest,
  parseArpFrame,
  parseArpPacket,
} from "./arp.ts";
import { ARP, fromHex, MAC1, SRC4, toHex } from "./testdata/scapy_packets.ts";

const PEER_MAC = fromHex("020000000007");
const PEER_IP = 0xc6336407; // 198.51.100.7

Deno.test("buildArpRequest() matches scapy's who-has frame", () => {
  const frame = buildArpRequest({ srcMac: MAC1, srcIp: SRC4, targetIp: PEER_IP });
  assert.equal(toHex(frame), ARP);
});

Deno.test("buildArpReply() → parseArpFrame() round trip", () => {
  const frame = buildArpReply({ srcMac: PEER_MAC, srcIp: PEER_IP, dstMac: MAC1, dstIp: SRC4 });
  assert.deepEqual(frame.subarray(0, 6), MAC1);
  assert.deepEqual(parseArpFrame(frame), {
    operation: ArpOperation.Reply,
    senderMac: PEER_MAC,
    senderIp: PEER_IP,
    targetMac: MAC1,
    targetIp: SRC4,
  });
});

Deno.test("parseArpPacket() rejects short or non-Ethernet/IPv4 ARP", () => {
  const frame = fromHex(ARP);
  assert.equal(parseArpPacket(frame, 14)?.operation, ArpOperation.Request);
  assert.equal(parseArpPacket(frame.subarray(0, 41), 14), undefined);
  const token = frame.slice();
  token[15] = 6; // hardware type 6 (IEEE 802)
  assert.equal(parseArpPacket(token, 14), undefined);
  const notArp = frame.slice();
  notArp[13] = 0x00; // EtherType 0x0800
  assert.equal(parseArpFrame(notArp), undefined);
  assert.throws(
    () => buildArpRequest({ srcMac: new Uint8Array(5), srcIp: 1, targetIp: 2 }),
    /MAC length 5/,
  );
});
