/**
 * The service fields a diff compares, read from a port's free-form
 * `ServiceInfo`.
 *
 * A TLS certificate is looked for in `service.certificate` (preferred),
 * `service.cert`, `service.tls.certificate` or `service.tls`, with the
 * fingerprint under `fingerprint`, `sha256` or `sha1`, the subject under
 * `subject` (a string, or an object such as `{ commonName }`), the expiry under
 * `notAfter`.
 *
 * @module
 */

/** What is known of a TLS certificate. */
export interface CertificateInfo {
  fingerprint?: string;
  subject?: string;
  notAfter?: string;
}

/** The compared fields of a service, null where absent. */
export interface ServiceColumns {
  name: string | null;
  product: string | null;
  version: string | null;
  extraInfo: string | null;
  /** CPEs joined by a space. */
  cpe: string | null;
  certFingerprint: string | null;
  certSubject: string | null;
  certNotAfter: string | null;
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

function subjectText(value: unknown): string | undefined {
  const plain = text(value);
  if (plain !== undefined) return plain;
  const fields = record(value);
  if (fields === undefined) return undefined;
  const cn = text(fields.commonName) ?? text(fields.CN) ?? text(fields.cn);
  if (cn !== undefined) return `CN=${cn}`;
  const parts = Object.entries(fields)
    .map(([key, item]) => [key, text(item)] as const)
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined)
    .map(([key, item]) => `${key}=${item}`);
  return parts.length > 0 ? parts.join(", ") : undefined;
}

/**
 * The certificate of a service, if it carries one.
 *
 * @example
 * ```ts
 * import { certificateOf } from "./service_fields.ts";
 * certificateOf({ certificate: { sha256: "ab:cd", notAfter: "2030-01-01" } });
 * // { fingerprint: "ab:cd", notAfter: "2030-01-01" }
 * ```
 */
export function certificateOf(service: unknown): CertificateInfo | undefined {
  const s = record(service);
  if (s === undefined) return undefined;
  const tls = record(s.tls);
  const candidates = [record(s.certificate), record(s.cert), record(tls?.certificate), tls];
  for (const cert of candidates) {
    if (cert === undefined) continue;
    const fingerprint = text(cert.fingerprint) ?? text(cert.sha256) ?? text(cert.sha1);
    const subject = subjectText(cert.subject);
    const notAfter = text(cert.notAfter) ?? text(cert.not_after);
    if (fingerprint === undefined && subject === undefined && notAfter === undefined) continue;
    return {
      ...(fingerprint === undefined ? {} : { fingerprint }),
      ...(subject === undefined ? {} : { subject }),
      ...(notAfter === undefined ? {} : { notAfter }),
    };
  }
  return undefined;
}

/** The compared fields of `service` (any JSON value; non-objects give all nulls). */
export function serviceColumns(service: unknown): ServiceColumns {
  const s = record(service) ?? {};
  const cpeList = Array.isArray(s.cpe)
    ? s.cpe.map(text).filter((item): item is string => item !== undefined)
    : text(s.cpe) === undefined
    ? []
    : [text(s.cpe) as string];
  const cert = certificateOf(s);
  return {
    name: text(s.name) ?? null,
    product: text(s.product) ?? null,
    version: text(s.version) ?? null,
    extraInfo: text(s.extraInfo) ?? null,
    cpe: cpeList.length > 0 ? cpeList.join(" ") : null,
    certFingerprint: cert?.fingerprint ?? null,
    certSubject: cert?.subject ?? null,
    certNotAfter: cert?.notAfter ?? null,
  };
}
