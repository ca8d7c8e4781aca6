/**
 * Payloads for UDP probes: a request each common service answers, so an
 * open port speaks up instead of staying silent (which would only say
 * open|filtered). Unknown ports get an empty datagram, as nmap sends.
 *
 * @module
 */

const encoder = new TextEncoder();

function bytes(...parts: (number[] | Uint8Array | string)[]): Uint8Array {
  const chunks = parts.map((part) =>
    typeof part === "string" ? encoder.encode(part) : Uint8Array.from(part)
  );
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A BER tag-length-value (short and long length forms). */
export function ber(tag: number, content: Uint8Array): Uint8Array {
  const length = content.length;
  const header = length < 0x80
    ? [tag, length]
    : length < 0x100
    ? [tag, 0x81, length]
    : [tag, 0x82, length >>> 8, length & 0xff];
  return bytes(header, content);
}

function berInteger(value: number): Uint8Array {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    out.unshift(v & 0xff);
    v >>>= 8;
  } while (v > 0);
  if (out[0]! & 0x80) out.unshift(0);
  return ber(0x02, Uint8Array.from(out));
}

function berOid(oid: string): Uint8Array {
  const parts = oid.split(".").map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const encoded: number[] = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) encoded.unshift((v & 0x7f) | 0x80);
    out.push(...encoded);
  }
  return ber(0x06, Uint8Array.from(out));
}

/** SNMPv1 GetRequest for sysDescr.0 with community "public". */
function snmpGet(): Uint8Array {
  const varbind = ber(0x30, bytes(berOid("1.3.6.1.2.1.1.1.0"), [0x05, 0x00]));
  const pdu = ber(
    0xa0,
    bytes(berInteger(0x504f5254), berInteger(0), berInteger(0), ber(0x30, varbind)),
  );
  return ber(0x30, bytes(berInteger(0), ber(0x04, encoder.encode("public")), pdu));
}

/** DNS query for version.bind TXT in class CHAOS (answered by BIND, dnsmasq, unbound). */
function dnsVersion(): Uint8Array {
  return bytes(
    [0x50, 0x54, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    [7],
    "version",
    [4],
    "bind",
    [0, 0x00, 0x10, 0x00, 0x03],
  );
}

/** NTPv4 client request (mode 3). */
function ntpClient(): Uint8Array {
  const packet = new Uint8Array(48);
  packet[0] = 0xe3; // LI 3 (unsynchronised), version 4, mode 3
  return packet;
}

/** memcached UDP frame header (request 0x5054, sequence 0 of 1) and "stats". */
function memcachedStats(): Uint8Array {
  return bytes([0x50, 0x54, 0, 0, 0, 1, 0, 0], "stats\r\n");
}

/** NetBIOS name service NBSTAT query for "*". */
function netbiosStat(): Uint8Array {
  return bytes(
    [0x50, 0x54, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20],
    "CK" + "A".repeat(30),
    [0x00, 0x00, 0x21, 0x00, 0x01],
  );
}

/** IKEv1 main-mode proposal (3DES, SHA1, PSK, group 2): IKE daemons answer it. */
function ikeMainMode(): Uint8Array {
  const attributes = [
    [0x80, 0x01, 0x00, 0x05],
    [0x80, 0x02, 0x00, 0x02],
    [0x80, 0x03, 0x00, 0x01],
    [0x80, 0x04, 0x00, 0x02],
    [0x80, 0x0b, 0x00, 0x01],
    [0x00, 0x0c, 0x00, 0x04, 0x00, 0x00, 0x70, 0x80],
  ].flat();
  const transformLength = 8 + attributes.length;
  const transform = bytes([0, 0, 0, transformLength, 1, 1, 0, 0], attributes);
  const proposalLength = 8 + transform.length;
  const proposal = bytes([0, 0, 0, proposalLength, 1, 1, 0, 1], transform);
  const saLength = 12 + proposal.length;
  const sa = bytes([0, 0, saLength >>> 8, saLength & 0xff, 0, 0, 0, 1, 0, 0, 0, 1], proposal);
  const total = 28 + sa.length;
  return bytes(
    [0x50, 0x4f, 0x52, 0x54, 0x4f, 0x4c, 0x41, 0x4e, 0, 0, 0, 0, 0, 0, 0, 0],
    [
      1,
      0x10,
      2,
      0,
      0,
      0,
      0,
      0,
      total >>> 24,
      (total >>> 16) & 0xff,
      (total >>> 8) & 0xff,
      total & 0xff,
    ],
    sa,
  );
}

/** The requests, by port. */
const PAYLOADS = new Map<number, Uint8Array>([
  [7, encoder.encode("\r\n\r\n")],
  [53, dnsVersion()],
  [69, bytes([0, 1], "r7tbdp8q", [0], "octet", [0])],
  [
    111,
    bytes(
      [0x72, 0xfe, 0x1d, 0x13, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x86, 0xa0],
      [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ),
  ],
  [123, ntpClient()],
  [137, netbiosStat()],
  [161, snmpGet()],
  [500, ikeMainMode()],
  [520, bytes([1, 2, 0, 0], [0, 0, 0, 0], new Uint8Array(12), [0, 0, 0, 16])],
  [1434, bytes([0x02])],
  [
    1900,
    encoder.encode(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n',
    ),
  ],
  [3478, bytes([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42], "PORTOLANSCAN")],
  [
    5060,
    encoder.encode(
      "OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=z9hG4bKportolan\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
    ),
  ],
  [
    5353,
    bytes(
      [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
      [9],
      "_services",
      [7],
      "_dns-sd",
      [4],
      "_udp",
      [5],
      "local",
      [0, 0, 0x0c, 0, 1],
    ),
  ],
  [11211, memcachedStats()],
]);

/** Ports that get a protocol payload, ascending. */
export const UDP_PAYLOAD_PORTS: readonly number[] = Object.freeze(
  [...PAYLOADS.keys()].sort((a, b) => a - b),
);

/** The UDP payload to send to `port`: a service request, or empty for an unknown port. */
export function udpPayload(port: number): Uint8Array {
  return PAYLOADS.get(port) ?? new Uint8Array(0);
}
