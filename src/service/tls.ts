/**
 * TLS details from a `node:tls` socket, as `service.tls` and
 * `service.certificate` carry them. Certificate text comes from whoever runs
 * the service: every field is capped.
 *
 * @module
 */

import type { PeerCertificate, TLSSocket } from "node:tls";
import type { TlsDetails } from "../model/mod.ts";

const FIELD_CHARS = 512;
const MAX_SANS = 64;

function clip(text: string, max = FIELD_CHARS): string {
  return text.length > max ? text.slice(0, max) : text;
}

/**
 * A distinguished name as "CN=…, O=…": the common name first, then the other
 * attributes in the order given.
 *
 * @example
 * ```ts
 * import { formatName } from "./tls.ts";
 * formatName({ O: "Lab", CN: "lab.example" }); // "CN=lab.example, O=Lab"
 * ```
 */
export function formatName(name: unknown): string {
  if (typeof name !== "object" || name === null) return "";
  const entries = Object.entries(name as Record<string, unknown>);
  entries.sort(([a], [b]) => (a === "CN" ? -1 : b === "CN" ? 1 : 0));
  const parts: string[] = [];
  for (const [key, value] of entries) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === "string") parts.push(`${key}=${item}`);
    }
  }
  return clip(parts.join(", "));
}

/**
 * Subject alternative names from OpenSSL's text form
 * ("DNS:a, IP Address:198.51.100.2") as ["DNS:a", "IP:198.51.100.2"].
 */
export function parseSans(text: unknown): string[] {
  if (typeof text !== "string" || text === "") return [];
  return text.split(/,\s*/).slice(0, MAX_SANS).map((name) =>
    clip(name.replace(/^IP Address:/, "IP:"), 256)
  );
}

/** OpenSSL's "Nov 26 16:57:54 2026 GMT" as ISO 8601; the text itself when it does not parse. */
export function isoDate(text: unknown): string {
  if (typeof text !== "string") return "";
  const found = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2}) (\d{4}) GMT$/.exec(text);
  const date = found === null
    ? new Date(text)
    : new Date(`${found[2]} ${found[1]} ${found[4]} ${found[3]} GMT`);
  return Number.isNaN(date.getTime()) ? clip(text, 64) : date.toISOString().replace(".000Z", "Z");
}

/** What a finished handshake shows. */
export function tlsDetails(socket: TLSSocket): TlsDetails {
  // Typed as always whole, but empty (or absent) when the peer showed no certificate.
  const cert: Partial<PeerCertificate> | null | undefined = socket.getPeerCertificate(false);
  const alpn = socket.alpnProtocol;
  return {
    subject: formatName(cert?.subject),
    issuer: formatName(cert?.issuer),
    sans: parseSans(cert?.subjectaltname),
    notBefore: isoDate(cert?.valid_from),
    notAfter: isoDate(cert?.valid_to),
    sha256: typeof cert?.fingerprint256 === "string" ? clip(cert.fingerprint256, 128) : "",
    alpn: typeof alpn === "string" ? clip(alpn, 64) : "",
    version: clip(socket.getProtocol() ?? "", 32),
  };
}
