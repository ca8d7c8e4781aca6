import assert from "node:assert/strict";
import {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  createCookieKey,
  IcmpType,
  IpProtocol,
  parseReply,
  probeIdentity,
  TcpFlag,
} from "../packet/mod.ts";
import { ReplyKind } from "./raw_types.ts";
import { validateReply } from "./raw_validate.ts";

const key = createCookieKey();
const us = 0xc6336401;
const them = 0xc6336402;
const ports = { first: 32768, last: 60999 };
const config = { key, ports, attempts: 4, addresses: [us] };

function reply(packet: Uint8Array): ReturnType<typeof parseReply> & object {
  const parsed = parseReply(packet, { linkType: "ip" });
  assert.ok(parsed);
  return parsed;
}

Deno.test("a SYN-ACK acknowledging our cookie is open, with the attempt answered", () => {
  const id = probeIdentity(key, { src: us, dst: them, dstPort: 443 }, { ports, attempt: 2 });
  const synAck = buildTcpPacket({
    src: them,
    dst: us,
    srcPort: 443,
    dstPort: id.srcPort,
    seq: 12345,
    ack: (id.seq + 1) >>> 0,
    flags: TcpFlag.Syn | TcpFlag.Ack,
  });
  const record = validateReply(reply(synAck), config, 5);
  assert.equal(record?.kind, ReplyKind.SynAck);
  assert.equal(record?.port, 443);
  assert.equal(record?.attempt, 2);
  assert.equal(record?.address, them);
  const forged = buildTcpPacket({
    src: them,
    dst: us,
    srcPort: 443,
    dstPort: id.srcPort,
    seq: 1,
    ack: (id.seq + 2) >>> 0,
    flags: TcpFlag.Rst | TcpFlag.Ack,
  });
  assert.equal(validateReply(reply(forged), config, 5), undefined);
});

Deno.test("an ICMP error quoting our UDP probe names the probed port and who sent it", () => {
  const id = probeIdentity(key, { src: us, dst: them, dstPort: 161, protocol: IpProtocol.Udp }, {
    ports,
  });
  const probe = buildUdpPacket({ src: us, dst: them, srcPort: id.srcPort, dstPort: 161 });
  const fromTarget = buildIcmpPacket({
    src: them,
    dst: us,
    type: IcmpType.DestinationUnreachable,
    code: 3,
    body: probe,
  });
  const record = validateReply(reply(fromTarget), config, 5);
  assert.equal(record?.kind, ReplyKind.IcmpError);
  assert.equal(record?.reason, "port-unreach");
  assert.equal(record?.port, 161);
  assert.equal(record?.protocol, IpProtocol.Udp);
  assert.equal(record?.fromTarget, true);
  const fromRouter = buildIcmpPacket({
    src: 0x0a000001,
    dst: us,
    type: IcmpType.DestinationUnreachable,
    code: 1,
    body: probe,
  });
  const routed = validateReply(reply(fromRouter), config, 5);
  assert.equal(routed?.reason, "host-unreach");
  assert.equal(routed?.fromTarget, false);
  assert.equal(routed?.address, them);
});

Deno.test("a UDP reply from the probed port to our slot is an answer; others are not", () => {
  const id = probeIdentity(key, { src: us, dst: them, dstPort: 53, protocol: IpProtocol.Udp }, {
    ports,
    attempt: 1,
  });
  const answer = buildUdpPacket({ src: them, dst: us, srcPort: 53, dstPort: id.srcPort });
  assert.equal(validateReply(reply(answer), config, 5)?.attempt, 1);
  const stray = buildUdpPacket({ src: them, dst: us, srcPort: 54, dstPort: id.srcPort });
  assert.equal(validateReply(reply(stray), config, 5), undefined);
});
