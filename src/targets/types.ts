/**
 * Target sets: what to scan, held as ranges so that a /8 or a huge IPv6
 * prefix costs a few bytes, with random access for the permutation.
 *
 * @module
 */

/** Address family. */
export type Family = 4 | 6;

/** One host to scan. */
export interface Host {
  family: Family;
  /** Numeric address: 32 bits for IPv4, 128 bits for IPv6. */
  value: bigint;
  /** Canonical text form (dotted quad, RFC 5952 IPv6). */
  address: string;
  /** The name the user gave, when the target was a hostname. */
  hostname?: string;
}

/** An ordered, duplicate-free set of hosts with random access. */
export interface TargetSet {
  /** Number of hosts. */
  readonly size: bigint;
  /** The host at `index` (0 ≤ index < size), in ascending range order. */
  at(index: bigint): Host;
  /** All hosts in order, lazily. */
  hosts(): Iterable<Host>;
}
