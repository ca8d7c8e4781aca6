/**
 * Forward name resolution: "localhost", then the hosts file, then DNS.
 *
 * @module
 */

import { formatIp, scanIpv4, scanIpv6 } from "./ip.ts";
import type { Family, Host } from "./types.ts";

/** Names (lower case, no trailing dot) to the addresses listed for them, in file order. */
export type HostsTable = ReadonlyMap<string, readonly { family: Family; value: bigint }[]>;

/** Options of {@link resolveHostname}. */
export interface ResolveOptions {
  /** Which address families to return; "any" (default) gives IPv4 first, then IPv6. */
  family?: Family | "any";
  /** Hosts file to consult; `null` skips it. Default "/etc/hosts". */
  hostsFile?: string | null;
  /** An already parsed hosts table; takes precedence over `hostsFile`. */
  hosts?: HostsTable;
  /** Query DNS when the name is not found locally. Default true. */
  dns?: boolean;
}

/** Default hosts file. */
export const HOSTS_FILE = "/etc/hosts";

/** Normalise a name for lookups. */
function key(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function scanAddress(text: string): { family: Family; value: bigint } | undefined {
  if (text.includes(":")) {
    const v6 = scanIpv6(text);
    return typeof v6 === "bigint" ? { family: 6, value: v6 } : undefined;
  }
  const v4 = scanIpv4(text);
  return typeof v4 === "number" ? { family: 4, value: BigInt(v4) } : undefined;
}

/**
 * Parse hosts-file text: `address name [alias…]` a line, `#` comments.
 * Entries with unparseable addresses (e.g. with zone ids) are skipped.
 */
export function parseHostsFile(text: string): HostsTable {
  const table = new Map<string, { family: Family; value: bigint }[]>();
  for (const raw of text.split("\n")) {
    const hash = raw.indexOf("#");
    const fields = (hash === -1 ? raw : raw.slice(0, hash)).trim().split(/\s+/);
    if (fields.length < 2) continue;
    const address = scanAddress(fields[0]!);
    if (!address) continue;
    for (const name of fields.slice(1)) {
      const list = table.get(key(name)) ?? [];
      if (!list.some((a) => a.family === address.family && a.value === address.value)) {
        list.push(address);
      }
      table.set(key(name), list);
    }
  }
  return table;
}

/** A file that is missing or not ours to read (by the OS or by Deno's permissions). */
function unreadable(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.IsADirectory;
}

/** Read and parse a hosts file; a missing or unreadable file is an empty table. */
export async function loadHostsFile(path: string = HOSTS_FILE): Promise<HostsTable> {
  try {
    return parseHostsFile(await Deno.readTextFile(path));
  } catch (error) {
    if (unreadable(error)) return new Map();
    throw error;
  }
}

function wanted(family: Family | "any"): Family[] {
  return family === "any" ? [4, 6] : [family];
}

async function queryDns(
  name: string,
  family: Family,
): Promise<{ family: Family; value: bigint }[]> {
  const records = await Deno.resolveDns(name, family === 4 ? "A" : "AAAA");
  const found: { family: Family; value: bigint }[] = [];
  for (const record of records) {
    const address = scanAddress(record);
    if (address && address.family === family) found.push(address);
  }
  return found;
}

/**
 * Resolve a hostname to its addresses, each as a {@link Host} carrying the
 * name as given. "localhost" is answered without any lookup (127.0.0.1, ::1),
 * then the hosts file is consulted, then DNS (A and AAAA). An address literal
 * is returned as is.
 *
 * @throws {Error} `Failed to resolve "name"` when no address of the wanted family is found.
 */
export async function resolveHostname(name: string, options: ResolveOptions = {}): Promise<Host[]> {
  const families = wanted(options.family ?? "any");
  const toHosts = (found: readonly { family: Family; value: bigint }[]): Host[] =>
    families.flatMap((family) =>
      found.filter((a) => a.family === family).map((a) => ({
        family: a.family,
        value: a.value,
        address: formatIp(a.family, a.value),
        hostname: name,
      }))
    );

  const literal = scanAddress(name);
  if (literal) {
    if (families.includes(literal.family)) {
      return [{ ...literal, address: formatIp(literal.family, literal.value) }];
    }
    throw new Error(`Failed to resolve "${name}": not an IPv${families[0]} address`);
  }

  const lookup = key(name);
  if (lookup === "localhost") {
    const hosts = toHosts([{ family: 4, value: 0x7f000001n }, { family: 6, value: 1n }]);
    if (hosts.length > 0) return hosts;
  }

  const table = options.hosts ??
    (options.hostsFile === null ? undefined : await loadHostsFile(options.hostsFile));
  const listed = table?.get(lookup);
  if (listed) {
    const hosts = toHosts(listed);
    if (hosts.length > 0) return hosts;
  }

  if (options.dns !== false) {
    const results = await Promise.allSettled(families.map((family) => queryDns(name, family)));
    const found = results.flatMap((result) => result.status === "fulfilled" ? result.value : []);
    const hosts = toHosts(found);
    if (hosts.length > 0) return hosts;
    const failure = results.find((result) => result.status === "rejected");
    throw new Error(`Failed to resolve "${name}"`, {
      cause: failure?.status === "rejected" ? failure.reason : undefined,
    });
  }
  throw new Error(`Failed to resolve "${name}"`);
}
