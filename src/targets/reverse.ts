/**
 * Reverse name resolution, as nmap does it for the hosts it reports: the
 * hosts file first (nmap reads /etc/hosts, so 127.0.0.1 is "localhost"),
 * then PTR queries over DNS, many at once and all within one deadline, so a
 * resolver that does not answer costs the scan a bounded moment, not a
 * timeout per host. Loopback addresses are named by the hosts file alone.
 *
 * @module
 */

import { HOSTS_FILE } from "./resolve.ts";
import { formatIp, scanIpv4, scanIpv6 } from "./ip.ts";

/** A DNS server to ask, as `Deno.resolveDns` takes it. */
export interface NameServer {
  ipAddr: string;
  port?: number;
}

/** Options of {@link reverseNames}. */
export interface ReverseOptions {
  /** Hosts file to consult first; `null` skips it. Default "/etc/hosts". */
  hostsFile?: string | null;
  /** Ask these servers (in order) instead of the system's resolver configuration. */
  nameServers?: readonly NameServer[];
  /** Query DNS for addresses the hosts file does not name. Default true. */
  dns?: boolean;
  /** Every lookup ends by then, ms from the call. Default {@link REVERSE_DEADLINE_MS}. */
  deadlineMs?: number;
  /** Queries in flight at once. Default 32. */
  parallel?: number;
  /** Stops the lookups (the names found so far are returned). */
  signal?: AbortSignal;
}

/** How long reverse DNS may take in all, ms: a silent resolver costs no more. */
export const REVERSE_DEADLINE_MS = 1000;

/** Most addresses looked up over DNS in one call; the rest stay numeric. */
export const REVERSE_DNS_LIMIT = 4096;

/** An address in one canonical text form, or undefined when it is not one. */
function canonical(text: string): string | undefined {
  if (text.includes(":")) {
    const v6 = scanIpv6(text.replace(/%.*$/, ""));
    return typeof v6 === "bigint" ? formatIp(6, v6) : undefined;
  }
  const v4 = scanIpv4(text);
  return typeof v4 === "number" ? formatIp(4, BigInt(v4)) : undefined;
}

/** Loopback (127/8, ::1): named by the hosts file alone, never asked of a DNS server. */
function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/**
 * Hosts-file text read backwards: each address to the first name listed for
 * it (what the C library's `getnameinfo` returns), in canonical address form.
 *
 * @example
 * ```ts
 * import { parseHostsReverse } from "./reverse.ts";
 * parseHostsReverse("127.0.0.1 localhost vm\n").get("127.0.0.1"); // "localhost"
 * ```
 */
export function parseHostsReverse(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const hash = raw.indexOf("#");
    const fields = (hash === -1 ? raw : raw.slice(0, hash)).trim().split(/\s+/);
    if (fields.length < 2) continue;
    const address = canonical(fields[0]!);
    if (address !== undefined && !names.has(address)) names.set(address, fields[1]!);
  }
  return names;
}

/**
 * The DNS name of an address's PTR record: `4.3.2.1.in-addr.arpa`, or the
 * 32 nibbles of an IPv6 address under `ip6.arpa`.
 *
 * @example
 * ```ts
 * import { ptrName } from "./reverse.ts";
 * ptrName("198.51.100.2"); // "2.100.51.198.in-addr.arpa"
 * ```
 */
export function ptrName(address: string): string {
  if (!address.includes(":")) return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
  const value = scanIpv6(address);
  if (typeof value !== "bigint") {
    throw new RangeError(`Cannot reverse "${address}": not an address`);
  }
  const hex = value.toString(16).padStart(32, "0");
  return `${[...hex].reverse().join(".")}.ip6.arpa`;
}

async function queryPtr(
  address: string,
  servers: readonly (NameServer | undefined)[],
  limits: { signal: AbortSignal; perServerMs: number },
): Promise<string | undefined> {
  for (const server of servers) {
    if (limits.signal.aborted) return undefined;
    try {
      // Each server gets its share of the time: a silent first one leaves the next its turn.
      const signal = servers.length === 1
        ? limits.signal
        : AbortSignal.any([limits.signal, AbortSignal.timeout(limits.perServerMs)]);
      const records = await Deno.resolveDns(ptrName(address), "PTR", {
        signal,
        ...(server === undefined ? {} : {
          nameServer: server.port === undefined
            ? { ipAddr: server.ipAddr }
            : { ipAddr: server.ipAddr, port: server.port },
        }),
      });
      const name = records[0]?.replace(/\.$/, "");
      // An answer, named or not, settles it: the next server would say the same.
      return name === "" ? undefined : name;
    } catch {
      // No answer from this server (refused, unreachable, no such name, timed out): the next.
    }
  }
  return undefined;
}

/**
 * Names of `addresses` (canonical text forms), where the hosts file or DNS
 * has one: a map from address to name, missing the ones without.
 */
export async function reverseNames(
  addresses: readonly string[],
  options: ReverseOptions = {},
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let table = new Map<string, string>();
  if (options.hostsFile !== null) {
    try {
      table = parseHostsReverse(await Deno.readTextFile(options.hostsFile ?? HOSTS_FILE));
    } catch {
      // No hosts file, or no permission to read it: DNS alone.
    }
  }
  const asking: string[] = [];
  for (const address of addresses) {
    const key = canonical(address) ?? address;
    const name = table.get(key);
    if (name !== undefined) found.set(address, name);
    else if (asking.length < REVERSE_DNS_LIMIT && !isLoopback(key)) asking.push(address);
  }
  if (options.dns === false || asking.length === 0) return found;

  const deadlineMs = options.deadlineMs ?? REVERSE_DEADLINE_MS;
  const deadline = AbortSignal.timeout(deadlineMs);
  const signal = options.signal === undefined
    ? deadline
    : AbortSignal.any([deadline, options.signal]);
  const servers: readonly (NameServer | undefined)[] = options.nameServers?.length
    ? options.nameServers
    : [undefined];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < asking.length && !signal.aborted) {
      const address = asking[next++]!;
      const name = await queryPtr(address, servers, {
        signal,
        perServerMs: deadlineMs / servers.length,
      });
      if (name !== undefined && !signal.aborted) found.set(address, name);
    }
  };
  const parallel = Math.max(1, Math.min(options.parallel ?? 32, asking.length));
  // Each query ends at the deadline (its signal aborts it): no timer outlives the call.
  await Promise.all(Array.from({ length: parallel }, worker));
  return found;
}
