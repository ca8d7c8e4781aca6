/**
 * The order of hosts in a report: IPv4 numerically, then IPv6 numerically,
 * as nmap lists them.
 *
 * @module
 */

import type { Family } from "./types.ts";

const IPV6_OFFSET = 1n << 32n;

/**
 * Ordering key of a host: IPv4 numerically, then IPv6 numerically.
 *
 * @example
 * ```ts
 * import { hostSortKey } from "./sort_key.ts";
 * hostSortKey({ family: 4, value: 0xc6336402n }); // 3325256706n
 * ```
 */
export function hostSortKey(host: { family: Family; value: bigint }): bigint {
  return host.family === 4 ? host.value : IPV6_OFFSET + host.value;
}

/** {@link hostSortKey} from an address text; undefined when it is not an IP address. */
export function addressSortKey(address: string): bigint | undefined {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return v4;
  const v6 = parseIpv6(address);
  return v6 === undefined ? undefined : IPV6_OFFSET + v6;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  const zone = text.indexOf("%");
  const bare = zone === -1 ? text : text.slice(0, zone);
  const halves = bare.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (half === undefined || half === "") return [];
    const out: number[] = [];
    const items = half.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i] ?? "";
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) {
        out.push(parseInt(item, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const group of [...head, ...new Array<number>(missing).fill(0), ...tail]) {
    value = (value << 16n) | BigInt(group);
  }
  return value;
}
