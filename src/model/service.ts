/**
 * What service detection (`-sV`) found on a port: the port's `service`, as
 * a probe plugin returns it, as the engine completes it (method, tunnel,
 * TLS, certificate, banner), and as every report format and the history
 * store keep it. {@link serviceFromJson} reads one back from JSON that came
 * from elsewhere (a report file, the history database, a resume state).
 *
 * @module
 */

/** TLS details of a connection, as `service.tls` carries them. */
export interface TlsDetails {
  /** Certificate subject, e.g. "CN=lab.example, O=Portolan Lab". */
  subject: string;
  /** Certificate issuer, in the same form. */
  issuer: string;
  /** Subject alternative names, e.g. ["DNS:lab.example", "IP:198.51.100.2"]. */
  sans: string[];
  /** Start of validity, ISO 8601. */
  notBefore: string;
  /** End of validity, ISO 8601. */
  notAfter: string;
  /** SHA-256 fingerprint of the DER certificate, colon-separated upper-case hex. */
  sha256: string;
  /** Protocol chosen by ALPN, or "" when none was. */
  alpn: string;
  /** Protocol version, e.g. "TLSv1.3". */
  version: string;
}

/** HTTP details, as `service.http` carries them. */
export interface HttpDetails {
  /** Status code of the answer to `GET /`. */
  status: number;
  /** The `Server` header, or "" when there is none. */
  server: string;
  /** The page's `<title>`, whitespace collapsed, or "" when there is none. */
  title: string;
}

/**
 * What is known of a port's TLS certificate: what a diff compares and the
 * history keeps in columns. Service detection fills it from the handshake,
 * the nmap XML reader from nmap's `ssl-cert` script.
 */
export interface CertificateInfo {
  /** SHA-256 (or, from nmap's XML, SHA-1) fingerprint. */
  fingerprint?: string;
  /** Subject, e.g. "CN=lab.example, O=Portolan Lab". */
  subject?: string;
  /** End of validity. */
  notAfter?: string;
}

/** How the service name was found, in nmap's words: by a probe, or from the port table. */
export type ServiceMethod = "probed" | "table";

/**
 * A port's service. A probe plugin returns one with at least `name` (a
 * match without a name counts as none); the engine adds `method`,
 * `tunnel`, `tls`, `certificate` and `banner`. A port whose service was
 * not recognised may carry only a `banner`.
 */
export interface ServiceMatch {
  /** Service name as nmap names it: "ssh", "http", "smtp", "domain", … */
  name?: string;
  /** Product, e.g. "OpenSSH", "nginx", "Exim smtpd". */
  product?: string;
  version?: string;
  /** Extra information, e.g. "Debian 2+deb12u5" or "protocol 3.8". */
  extraInfo?: string;
  /** Host name the service announced. */
  hostname?: string;
  /** Operating system the service revealed, e.g. "Linux". */
  ostype?: string;
  /** Device type, e.g. "router". */
  devicetype?: string;
  /** CPE names, e.g. ["cpe:/a:openbsd:openssh:9.2p1"]. */
  cpe?: string[];
  /** HTTP status, Server header and title. */
  http?: HttpDetails;
  /**
   * Set by a plugin that put the connection inside TLS (`conn.startTls()`):
   * the engine then detects the service inside the tunnel.
   */
  tls?: TlsDetails;
  /** Set by the engine: "probed" once a probe named the service. */
  method?: ServiceMethod;
  /** Set by the engine: "ssl" when the service was found inside TLS. */
  tunnel?: "ssl";
  /** Set by the engine from `tls`, or read from nmap's `ssl-cert` script. */
  certificate?: CertificateInfo;
  /** What the service sent unasked, as text (capped). */
  banner?: string;
}

/** The fields of a {@link ServiceMatch} that hold one text. */
export type ServiceTextField =
  | "name"
  | "product"
  | "version"
  | "extraInfo"
  | "hostname"
  | "ostype"
  | "devicetype"
  | "banner";

/** Every {@link ServiceTextField}. */
export const SERVICE_TEXT_FIELDS: readonly ServiceTextField[] = Object.freeze([
  "name",
  "product",
  "version",
  "extraInfo",
  "hostname",
  "ostype",
  "devicetype",
  "banner",
]);

type Json = Record<string, unknown>;

function record(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Json
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function texts(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === "string" && item !== "")
    : [];
}

function httpFromJson(value: unknown): HttpDetails | undefined {
  const http = record(value);
  if (http === undefined || !Number.isInteger(http.status)) return undefined;
  return {
    status: Number(http.status),
    server: text(http.server) ?? "",
    title: text(http.title) ?? "",
  };
}

function tlsFromJson(value: unknown): TlsDetails | undefined {
  const tls = record(value);
  if (tls === undefined) return undefined;
  return {
    subject: text(tls.subject) ?? "",
    issuer: text(tls.issuer) ?? "",
    sans: texts(tls.sans),
    notBefore: text(tls.notBefore) ?? "",
    notAfter: text(tls.notAfter) ?? "",
    sha256: text(tls.sha256) ?? "",
    alpn: text(tls.alpn) ?? "",
    version: text(tls.version) ?? "",
  };
}

function certificateFromJson(value: unknown): CertificateInfo | undefined {
  const cert = record(value);
  if (cert === undefined) return undefined;
  const found: CertificateInfo = {};
  for (const key of ["fingerprint", "subject", "notAfter"] as const) {
    const item = text(cert[key]);
    if (item !== undefined) found[key] = item;
  }
  return Object.keys(found).length > 0 ? found : undefined;
}

/**
 * A service read from JSON someone else wrote, narrowed to the typed shape:
 * each known field kept when it has its type, everything else dropped;
 * undefined when nothing is left (or `value` is no object).
 *
 * @example
 * ```ts
 * import { serviceFromJson } from "./service.ts";
 * serviceFromJson({ name: "ssh", version: 9, cpe: ["cpe:/a:x", 1], x: {} });
 * // { name: "ssh", cpe: ["cpe:/a:x"] }
 * ```
 */
export function serviceFromJson(value: unknown): ServiceMatch | undefined {
  const s = record(value);
  if (s === undefined) return undefined;
  const service: ServiceMatch = {};
  for (const key of SERVICE_TEXT_FIELDS) {
    const item = text(s[key]);
    if (item !== undefined) service[key] = item;
  }
  const cpe = texts(s.cpe);
  if (cpe.length > 0) service.cpe = cpe;
  const http = httpFromJson(s.http);
  if (http !== undefined) service.http = http;
  const tls = tlsFromJson(s.tls);
  if (tls !== undefined) service.tls = tls;
  if (s.method === "probed" || s.method === "table") service.method = s.method;
  if (s.tunnel === "ssl") service.tunnel = "ssl";
  const certificate = certificateFromJson(s.certificate);
  if (certificate !== undefined) service.certificate = certificate;
  return Object.keys(service).length > 0 ? service : undefined;
}
