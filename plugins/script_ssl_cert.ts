/**
 * Script `ssl-cert`: the certificate of a TLS service, in the layout of
 * nmap's ssl-cert (names as `commonName=…/organizationName=…`).
 *
 * @module
 */

import type { ScriptPlugin, TlsDetails } from "../src/plugin/mod.ts";

/** OpenSSL's short attribute names, as nmap spells them out. */
const LONG_NAMES: Readonly<Record<string, string>> = {
  CN: "commonName",
  O: "organizationName",
  OU: "organizationalUnitName",
  C: "countryName",
  ST: "stateOrProvinceName",
  L: "localityName",
  emailAddress: "emailAddress",
};

/** "CN=a, O=b" as nmap's "commonName=a/organizationName=b". */
export function nmapName(name: string): string {
  return name.split(/,\s*(?=[A-Za-z]+=)/).filter((part) => part !== "").map((part) => {
    const equals = part.indexOf("=");
    const key = part.slice(0, equals);
    return `${LONG_NAMES[key] ?? key}=${part.slice(equals + 1)}`;
  }).join("/");
}

/** "AB:CD:…" as nmap 7.9x writes a fingerprint: "abcd…". */
function hex(fingerprint: string): string {
  return fingerprint.replaceAll(":", "").toLowerCase();
}

/** nmap's date form: ISO 8601 without the zone. */
function date(iso: string): string {
  return iso.replace(/(\.\d+)?Z$/, "");
}

/** The lines of ssl-cert's output for a certificate. */
export function certificateText(tls: TlsDetails): string {
  const lines = [`Subject: ${nmapName(tls.subject)}`];
  if (tls.sans.length > 0) {
    lines.push(
      `Subject Alternative Name: ${
        tls.sans.map((san) => san.replace(/^IP:/, "IP Address:")).join(", ")
      }`,
    );
  }
  lines.push(`Issuer: ${nmapName(tls.issuer)}`);
  lines.push(`Not valid before: ${date(tls.notBefore)}`);
  lines.push(`Not valid after:  ${date(tls.notAfter)}`);
  if (tls.sha256 !== "") lines.push(`SHA-256: ${hex(tls.sha256)}`);
  return lines.join("\n");
}

/** OpenSSL's "Dec  3 12:28:16 2026 GMT" as nmap's "2026-12-03T12:28:16". */
function opensslDate(text: string): string {
  const date = new Date(text.replace(/ GMT$/, " UTC"));
  return Number.isNaN(date.getTime()) ? text : date.toISOString().replace(/\.\d+Z$/, "");
}

/** Bits of a public key: the RSA/DSA modulus, the curve's size. */
function keyBits(details: Record<string, unknown> | undefined, type: string): number | undefined {
  if (typeof details?.modulusLength === "number") return details.modulusLength;
  const curve = typeof details?.namedCurve === "string" ? details.namedCurve : "";
  const size = /(\d{3})/.exec(curve)?.[1];
  if (size !== undefined) return Number(size);
  return type === "ed25519" ? 256 : type === "ed448" ? 456 : undefined;
}

/**
 * ssl-cert's output from the certificate itself (DER), as nmap prints it:
 * names, key type and bits, signature algorithm, validity, MD5 and SHA-1.
 * Undefined when the bytes are not a certificate.
 */
export async function certificateTextFromDer(der: Uint8Array): Promise<string | undefined> {
  // Loaded here, not at the top: node:crypto costs every scan ~10 MB, and only this script needs it.
  const { createHash, X509Certificate } = await import("node:crypto");
  let cert: InstanceType<typeof X509Certificate>;
  try {
    cert = new X509Certificate(der);
  } catch {
    return undefined;
  }
  const name = (text: string): string => nmapName(text.split("\n").join(", "));
  const lines = [`Subject: ${name(cert.subject)}`];
  if (cert.subjectAltName) lines.push(`Subject Alternative Name: ${cert.subjectAltName}`);
  lines.push(`Issuer: ${name(cert.issuer)}`);
  const key = cert.publicKey;
  const type = key.asymmetricKeyType ?? "";
  if (type !== "") lines.push(`Public Key type: ${type}`);
  const bits = keyBits(key.asymmetricKeyDetails as Record<string, unknown> | undefined, type);
  if (bits !== undefined) lines.push(`Public Key bits: ${bits}`);
  // Newer than the typings: read only where the runtime has it.
  const signature = "signatureAlgorithm" in cert ? cert.signatureAlgorithm : undefined;
  if (typeof signature === "string") lines.push(`Signature Algorithm: ${signature}`);
  lines.push(`Not valid before: ${opensslDate(cert.validFrom)}`);
  lines.push(`Not valid after:  ${opensslDate(cert.validTo)}`);
  lines.push(`MD5:   ${createHash("md5").update(der).digest("hex")}`);
  lines.push(`SHA-1: ${hex(cert.fingerprint)}`);
  return lines.join("\n");
}

/** The `ssl-cert` script (nmap's "default" category). */
export function sslCertScript(): ScriptPlugin {
  return {
    name: "ssl-cert",
    description: "The TLS certificate: subject, alternative names, issuer, validity, fingerprint",
    categories: ["default", "discovery", "safe"],
    ports: [443, 465, 636, 993, 995, 8443],
    services: ["https", "ssl", "imaps", "pop3s", "ldaps", "smtps"],
    tls: true,
    async run(conn, context): Promise<string | undefined> {
      const tls = conn.tls ?? await conn.startTls({ alpn: [] });
      const der = context.peerCertificate();
      const full = der === undefined ? undefined : await certificateTextFromDer(der);
      if (full !== undefined) return full;
      // Without the certificate's bytes (a sandboxed copy of this script, say): what TLS told.
      return tls.subject === "" && tls.sha256 === "" ? undefined : certificateText(tls);
    },
  };
}
