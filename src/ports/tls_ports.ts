/**
 * The ports where a service speaks TLS from the first byte: the TLS probe
 * offers itself there, and scripts connect there through TLS.
 *
 * @module
 */

/** Ports where TLS is usual from the first byte. */
export const TLS_PORTS: readonly number[] = Object.freeze([
  261,
  443,
  448,
  465,
  563,
  585,
  614,
  636,
  853,
  989,
  990,
  992,
  993,
  994,
  995,
  1443,
  2083,
  2087,
  3269,
  4443,
  5061,
  5986,
  6443,
  6697,
  8443,
  9443,
]);
