/**
 * Script `ssl-cert`: the certificate of a TLS service, in the layout of
 * nmap's ssl-cert (names as `commonName=…/organizationName=…`).
 *
 * @module
 */

import type { TlsDetails } from "../src/plugins/probe_types.ts";
import type { ScriptPlugin } from "../src/plugins/script_types.ts";

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

/** The `ssl-cert` script (nmap's "default" category). */
export function sslCertScript(): ScriptPlugin {
  return {
    name: "ssl-cert",
    description: "The TLS certificate: subject, alternative names, issuer, validity, fingerprint",
    categories: ["default", "discovery", "safe"],
    ports: [443, 465, 636, 993, 995, 8443],
    services: ["https", "ssl", "imaps", "pop3s", "ldaps", "smtps"],
    tls: true,
    async run(conn): Promise<string | undefined> {
      const tls = conn.tls ?? await conn.startTls({ alpn: [] });
      return tls.subject === "" && tls.sha256 === "" ? undefined : certificateText(tls);
    },
  };
}
