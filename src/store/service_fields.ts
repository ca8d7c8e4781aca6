/**
 * The service fields a diff compares and the history keeps in columns,
 * read from a port's typed `service`.
 *
 * @module
 */

import type { ServiceMatch } from "../model/mod.ts";

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

function column(value: string | undefined): string | null {
  return value === undefined || value === "" ? null : value;
}

/**
 * The compared fields of `service`; all null without one.
 *
 * @example
 * ```ts
 * import { serviceColumns } from "./service_fields.ts";
 * serviceColumns({ name: "https", certificate: { fingerprint: "AB:CD" } }).certFingerprint;
 * // "AB:CD"
 * ```
 */
export function serviceColumns(service: ServiceMatch | undefined): ServiceColumns {
  const cpe = (service?.cpe ?? []).filter((item) => item !== "");
  const cert = service?.certificate;
  return {
    name: column(service?.name),
    product: column(service?.product),
    version: column(service?.version),
    extraInfo: column(service?.extraInfo),
    cpe: cpe.length > 0 ? cpe.join(" ") : null,
    certFingerprint: column(cert?.fingerprint),
    certSubject: column(cert?.subject),
    certNotAfter: column(cert?.notAfter),
  };
}

/**
 * The columns of `c` in the order the history's `ports` table lists them
 * (service_name, product, version, extra_info, cpe, cert_fingerprint,
 * cert_subject, cert_not_after): what its insert and its migration bind.
 */
export function serviceColumnValues(c: ServiceColumns): (string | null)[] {
  return [
    c.name,
    c.product,
    c.version,
    c.extraInfo,
    c.cpe,
    c.certFingerprint,
    c.certSubject,
    c.certNotAfter,
  ];
}
