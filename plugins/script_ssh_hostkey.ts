/**
 * Script `ssh-hostkey`: an SSH server's host keys, as nmap's ssh-hostkey
 * lists them (`256 aa:bb:… (ED25519)`: bits, MD5 fingerprint, type). One
 * key exchange per key type, each stopped once the server has shown its
 * key: nothing is authenticated, no session is opened.
 *
 * @module
 */

import type { ProbeConn, ScriptPlugin } from "../src/plugin/mod.ts";

/** Host key algorithms asked for, in nmap's order of output, and how nmap names their type. */
const KEY_TYPES: readonly { algorithm: string; label: string }[] = [
  { algorithm: "rsa-sha2-512,rsa-sha2-256,ssh-rsa", label: "RSA" },
  { algorithm: "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521", label: "ECDSA" },
  { algorithm: "ssh-ed25519", label: "ED25519" },
];

/** Bytes read at most from one server. */
const MAX_BYTES = 65_536;

const encoder = new TextEncoder();

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function sshString(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return concat([u32(bytes.length), bytes]);
}

/** An unencrypted binary packet: length, padding length, payload, 4-11 bytes of padding. */
export function sshPacket(payload: Uint8Array): Uint8Array {
  let padding = 8 - ((payload.length + 5) % 8);
  if (padding < 4) padding += 8;
  return concat([
    u32(payload.length + padding + 1),
    Uint8Array.of(padding),
    payload,
    new Uint8Array(padding),
  ]);
}

function kexInit(hostKeyAlgorithms: string): Uint8Array {
  const cipher = "aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,chacha20-poly1305@openssh.com";
  const mac = "hmac-sha2-256,hmac-sha2-512,hmac-sha1";
  return sshPacket(concat([
    Uint8Array.of(20),
    crypto.getRandomValues(new Uint8Array(16)),
    sshString("curve25519-sha256,curve25519-sha256@libssh.org"),
    sshString(hostKeyAlgorithms),
    sshString(cipher),
    sshString(cipher),
    sshString(mac),
    sshString(mac),
    sshString("none"),
    sshString("none"),
    sshString(""),
    sshString(""),
    Uint8Array.of(0),
    u32(0),
  ]));
}

function ecdhInit(): Uint8Array {
  // Any 32 bytes are a Curve25519 public key; the exchange is abandoned before it matters.
  return sshPacket(
    concat([Uint8Array.of(30), sshString(crypto.getRandomValues(new Uint8Array(32)))]),
  );
}

/** The strings at the start of `bytes` (SSH wire form), as many as there are. */
function strings(bytes: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (out.length < count && at + 4 <= bytes.length) {
    const length = view.getUint32(at);
    if (at + 4 + length > bytes.length) break;
    out.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** The host key blob of a KEX_ECDH_REPLY among the packets in `bytes`; undefined until it has come. */
export function hostKeyBlob(bytes: Uint8Array): Uint8Array | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 5 <= bytes.length) {
    const length = view.getUint32(at);
    if (length > 35_000 || length < 2) throw new RangeError("not an SSH packet");
    if (at + 4 + length > bytes.length) return undefined;
    const padding = bytes[at + 4]!;
    const payload = bytes.subarray(at + 5, at + 4 + length - padding);
    if (payload[0] === 31) return strings(payload.subarray(1), 1)[0];
    at += 4 + length;
  }
  return undefined;
}

/** Size in bits of a key blob: the RSA modulus, the ECDSA curve, 256 for Ed25519. */
export function keyBits(blob: Uint8Array): number {
  const [type, first, second] = strings(blob, 3);
  const name = new TextDecoder().decode(type);
  if (name === "ssh-rsa" && second !== undefined) {
    let start = 0;
    while (start < second.length && second[start] === 0) start++;
    const top = second[start];
    return top === undefined ? 0 : (second.length - start - 1) * 8 + Math.floor(Math.log2(top)) + 1;
  }
  if (name.startsWith("ecdsa-sha2-") && first !== undefined) {
    const curve = new TextDecoder().decode(first);
    return Number(/(\d+)$/.exec(curve)?.[1] ?? 0);
  }
  return name === "ssh-ed25519" ? 256 : 0;
}

/** nmap's line for a key: "256 aa:bb:… (ED25519)". */
export async function hostKeyLine(blob: Uint8Array, label: string): Promise<string> {
  // Loaded here, not at the top: node:crypto costs every scan ~10 MB, and only this script needs it.
  const { createHash } = await import("node:crypto");
  const md5 = createHash("md5").update(blob).digest("hex");
  return `${keyBits(blob)} ${md5} (${label})`;
}

/** Run a key exchange on `conn` as far as the server's host key. */
async function fetchHostKey(conn: ProbeConn, algorithms: string): Promise<Uint8Array | undefined> {
  let buffer: Uint8Array = new Uint8Array(0);
  const more = async (): Promise<boolean> => {
    const chunk = await conn.read({ maxBytes: 16_384, timeoutMs: 5000, until: () => true });
    if (chunk.length === 0 || buffer.length + chunk.length > MAX_BYTES) return false;
    buffer = concat([buffer, chunk]);
    return true;
  };
  await conn.write("SSH-2.0-portolan\r\n");
  // The server's identification line, after any lines it may send before it.
  for (;;) {
    const text = new TextDecoder("latin1").decode(buffer);
    const ident = /(^|\n)SSH-[^\n]*\n/.exec(text);
    if (ident !== null) {
      buffer = buffer.subarray(ident.index + ident[0].length);
      break;
    }
    if (!(await more())) return undefined;
  }
  await conn.write(concat([kexInit(algorithms), ecdhInit()]));
  for (;;) {
    const blob = hostKeyBlob(buffer);
    if (blob !== undefined) return blob;
    if (!(await more())) return undefined;
  }
}

/** The `ssh-hostkey` script (nmap's "default" category). */
export function sshHostkeyScript(): ScriptPlugin {
  return {
    name: "ssh-hostkey",
    description: "The server's host keys: bits, MD5 fingerprint, type",
    categories: ["default", "safe"],
    ports: [22],
    services: ["ssh"],
    async run(first, context): Promise<string[] | undefined> {
      const lines: string[] = [];
      let conn: ProbeConn | undefined = first;
      for (const { algorithm, label } of KEY_TYPES) {
        conn ??= await context.connect();
        if (conn === undefined || context.signal.aborted) break;
        try {
          const blob = await fetchHostKey(conn, algorithm);
          if (blob !== undefined) lines.push(await hostKeyLine(blob, label));
        } catch {
          // Not SSH as expected: no key of this type.
        }
        conn = undefined;
      }
      return lines.length === 0 ? undefined : lines;
    },
  };
}
