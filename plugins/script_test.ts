import assert from "node:assert/strict";
import {
  bannerLine,
  certificateText,
  hostKeyBlob,
  hostKeyLine,
  keyBits,
  nmapName,
  parseAnswer,
  sshPacket,
} from "./mod.ts";
import { disallowedEntries } from "../examples/script_http_robots.ts";

const encoder = new TextEncoder();

function sshString(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("sshPacket pads to a multiple of 8 with at least 4 bytes", () => {
  for (let size = 0; size < 20; size++) {
    const packet = sshPacket(new Uint8Array(size));
    assert.equal(packet.length % 8, 0);
    const padding = packet[4]!;
    assert.ok(padding >= 4 && padding <= 11, `${size}: ${padding}`);
    assert.equal(new DataView(packet.buffer).getUint32(0), packet.length - 4);
  }
});

Deno.test("hostKeyBlob finds the key of a KEX_ECDH_REPLY after the server's KEXINIT, even split", async () => {
  const blob = join(sshString("ssh-ed25519"), sshString(new Uint8Array(32).fill(7)));
  const kexinit = sshPacket(join(Uint8Array.of(20), new Uint8Array(40)));
  const reply = sshPacket(join(Uint8Array.of(31), sshString(blob), sshString(new Uint8Array(32))));
  const stream = join(kexinit, reply);
  assert.equal(hostKeyBlob(stream.subarray(0, stream.length - 3)), undefined, "not all there yet");
  assert.deepEqual(hostKeyBlob(stream), blob);
  assert.throws(() => hostKeyBlob(encoder.encode("HTTP/1.1 400 Bad Request\r\n\r\n")), RangeError);
  assert.equal(keyBits(blob), 256);
  assert.match(await hostKeyLine(blob, "ED25519"), /^256 [0-9a-f]{32} \(ED25519\)$/);
});

Deno.test("keyBits: the RSA modulus, the ECDSA curve", () => {
  const modulus = join(Uint8Array.of(0, 0xc1), new Uint8Array(383)); // 3072 bits
  const rsa = join(sshString("ssh-rsa"), sshString(Uint8Array.of(1, 0, 1)), sshString(modulus));
  assert.equal(keyBits(rsa), 3072);
  const ecdsa = join(sshString("ecdsa-sha2-nistp384"), sshString("nistp384"), sshString("x"));
  assert.equal(keyBits(ecdsa), 384);
});

Deno.test("bannerLine: printable kept, the rest as nmap's \\xHH, trailing breaks dropped", () => {
  assert.equal(bannerLine(encoder.encode("220-Hi\r\n220 ok\r\n")), "220-Hi\\x0D\\x0A220 ok");
  assert.equal(bannerLine(encoder.encode("\x1b[2J")), "\\x1B[2J");
  assert.equal(bannerLine(new Uint8Array(0)), "");
});

Deno.test("parseAnswer and certificate names as nmap writes them", () => {
  const answer = parseAnswer("HTTP/1.1 301 Moved\r\nLocation: /x\r\nServer: a\r\n\r\nbody");
  assert.deepEqual(answer, {
    status: 301,
    headers: [["Location", "/x"], ["Server", "a"]],
    body: "body",
  });
  assert.equal(parseAnswer("SSH-2.0-x\r\n"), undefined);
  assert.equal(
    nmapName("CN=lab.example, O=Portolan Lab, C=FR"),
    "commonName=lab.example/organizationName=Portolan Lab/countryName=FR",
  );
  const text = certificateText({
    subject: "CN=a",
    issuer: "CN=b",
    sans: ["DNS:a", "IP:198.51.100.2"],
    notBefore: "2030-01-01T00:00:00Z",
    notAfter: "2031-01-01T00:00:00Z",
    sha256: "AB:CD",
    alpn: "",
    version: "TLSv1.3",
  });
  assert.equal(
    text,
    [
      "Subject: commonName=a",
      "Subject Alternative Name: DNS:a, IP Address:198.51.100.2",
      "Issuer: commonName=b",
      "Not valid before: 2030-01-01T00:00:00",
      "Not valid after:  2031-01-01T00:00:00",
      "SHA-256: abcd",
    ].join("\n"),
  );
  assert.deepEqual(disallowedEntries("User-agent: *\nDisallow: /a\ndisallow:/b\nDisallow: /a\n"), [
    "/a",
    "/b",
  ]);
});
