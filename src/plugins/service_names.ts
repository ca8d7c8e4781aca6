/**
 * Service names by port, read at run time from nmap's own `nmap-services`
 * table where nmap is installed (nothing of it ships here). nmap names every
 * port it lists from this table when it did not probe the service; the
 * nmap-compatible outputs do the same, so ndiff sees the same ports.
 *
 * @module
 */

/** Where Debian's nmap-common puts the table. */
export const NMAP_SERVICES_PATH = "/usr/share/nmap/nmap-services";

/** Service names keyed by "port/protocol" ("22/tcp" → "ssh"). */
export type ServiceNames = ReadonlyMap<string, string>;

/**
 * Parse nmap-services text: `name<TAB>port/protocol<TAB>frequency [# comment]`.
 * Lines that do not fit are skipped.
 *
 * @example
 * ```ts
 * import { parseServiceNames } from "./service_names.ts";
 * parseServiceNames("ssh\t22/tcp\t0.182286\t# Secure Shell Login\n").get("22/tcp"); // "ssh"
 * ```
 */
export function parseServiceNames(text: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const [name, key] = line.split(/\s+/, 2);
    if (name === undefined || key === undefined || !/^\d{1,5}\/(tcp|udp|sctp)$/.test(key)) continue;
    if (!names.has(key)) names.set(key, name);
  }
  return names;
}

/**
 * Read the table; an empty map when it is missing or not readable (no nmap
 * installed, or no read permission): outputs then simply name no service.
 */
export async function readServiceNames(path: string = NMAP_SERVICES_PATH): Promise<ServiceNames> {
  try {
    return parseServiceNames(await Deno.readTextFile(path));
  } catch {
    return new Map();
  }
}

/** Where Debian's nmap-common puts the vendor table of MAC prefixes. */
export const NMAP_MAC_PREFIXES_PATH = "/usr/share/nmap/nmap-mac-prefixes";

/** Vendors keyed by the first six hex digits of a MAC address, upper case ("0050F2"). */
export type MacVendors = ReadonlyMap<string, string>;

/**
 * Parse nmap-mac-prefixes text: `0050F2 Microsoft` a line. Lines that do not
 * fit are skipped.
 *
 * @example
 * ```ts
 * import { parseMacVendors } from "./service_names.ts";
 * parseMacVendors("0050F2 Microsoft\n").get("0050F2"); // "Microsoft"
 * ```
 */
export function parseMacVendors(text: string): Map<string, string> {
  const vendors = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9A-Fa-f]{6})\s+(\S.*?)\s*$/.exec(line);
    if (match !== null) vendors.set(match[1]!.toUpperCase(), match[2]!);
  }
  return vendors;
}

/** Read the vendor table; an empty map when it is missing or not readable. */
export async function readMacVendors(path: string = NMAP_MAC_PREFIXES_PATH): Promise<MacVendors> {
  try {
    return parseMacVendors(await Deno.readTextFile(path));
  } catch {
    return new Map();
  }
}

/**
 * The vendor of a MAC address ("00:50:F2:01:02:03"), when the table knows it.
 *
 * @example
 * ```ts
 * import { macVendor } from "./service_names.ts";
 * macVendor("00:50:f2:01:02:03", new Map([["0050F2", "Microsoft"]])); // "Microsoft"
 * ```
 */
export function macVendor(mac: string, vendors: MacVendors | undefined): string | undefined {
  const prefix = mac.replace(/[^0-9A-Fa-f]/g, "").slice(0, 6).toUpperCase();
  return prefix.length === 6 ? vendors?.get(prefix) : undefined;
}
