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

/** Service names keyed by "port/protocol" ("22/tcp" → "ssh"); a `Map` is one. */
export interface ServiceNames {
  get(key: string): string | undefined;
}

/**
 * Parse nmap-services text: `name<TAB>port/protocol<TAB>frequency [# comment]`.
 * Lines that do not fit are skipped.
 *
 * @example
 * ```ts
 * import { parseServiceNames } from "./names.ts";
 * parseServiceNames("ssh\t22/tcp\t0.182286\t# Secure Shell Login\n").get("22/tcp"); // "ssh"
 * ```
 */
export function parseServiceNames(text: string): Map<string, string> {
  const names = new Map<string, string>();
  // The table is 1 MB: one pass of indexOf, no split of the whole text, no regex per line.
  const key = /^\d{1,5}\/(tcp|udp|sctp)$/;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (text.charCodeAt(start) !== 35 /* # */) {
      const nameEnd = fieldEnd(text, start, end);
      let at = nameEnd;
      while (at < end && (text[at] === "\t" || text[at] === " ")) at++;
      const port = text.slice(at, fieldEnd(text, at, end));
      if (nameEnd > start && !names.has(port) && key.test(port)) {
        names.set(port, text.slice(start, nameEnd));
      }
    }
    start = end + 1;
  }
  return names;
}

/** Where the field starting at `from` ends: the next tab, space or CR, or `end`. */
function fieldEnd(text: string, from: number, end: number): number {
  let at = from;
  while (at < end) {
    const code = text.charCodeAt(at);
    if (code === 9 || code === 32 || code === 13) break;
    at++;
  }
  return at;
}

/** The system's table (netbase), read where nmap's is missing. */
export const SYSTEM_SERVICES_PATH = "/etc/services";

/**
 * Environment variable naming nmap's table instead of {@link NMAP_SERVICES_PATH}
 * (a missing file there reads as "nmap not installed").
 */
export const NMAP_SERVICES_ENV = "PORTOLAN_NMAP_SERVICES";

function envPath(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined; // no --allow-env: the default path
    throw error;
  }
}

/** A file that is missing or not ours to read (by the OS or by Deno's permissions). */
function unreadable(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.IsADirectory;
}

/**
 * Read a table; an empty one when it is missing or not readable (no nmap
 * installed, or no read permission): outputs then simply name no service.
 * Without `path`, nmap's table ({@link NMAP_SERVICES_ENV} or
 * {@link NMAP_SERVICES_PATH}), else the system's /etc/services, which has
 * the same `name port/protocol` layout.
 * Names are looked up in the text as they are asked for (a scan asks for a
 * few; parsing all 27,000 lines costs more than reading them).
 */
export async function readServiceNames(path?: string): Promise<ServiceNames> {
  const paths = path !== undefined
    ? [path]
    : [envPath(NMAP_SERVICES_ENV) ?? NMAP_SERVICES_PATH, SYSTEM_SERVICES_PATH];
  for (const candidate of paths) {
    let text: string;
    try {
      text = await Deno.readTextFile(candidate);
    } catch (error) {
      if (unreadable(error)) continue;
      throw error;
    }
    return lazyTable((key) => findServiceName(text, key), () => parseServiceNames(text));
  }
  return new Map();
}

/** Lookups by search before the whole table is parsed instead (each search may scan 1 MB). */
const SEARCHES = 200;

/**
 * A lookup that searches the text for each new key and remembers the
 * answer; after {@link SEARCHES} searches it parses the whole table once.
 */
function lazyTable(
  find: (key: string) => string | undefined,
  parseAll: () => ReadonlyMap<string, string>,
): { get(key: string): string | undefined } {
  const known = new Map<string, string | undefined>();
  let all: ReadonlyMap<string, string> | undefined;
  return {
    get(key: string): string | undefined {
      if (all !== undefined) return all.get(key);
      if (known.has(key)) return known.get(key);
      if (known.size >= SEARCHES) {
        all = parseAll();
        return all.get(key);
      }
      const found = find(key);
      known.set(key, found);
      return found;
    },
  };
}

/** The name on the first line whose second field is `key`, as {@link parseServiceNames} reads it. */
function findServiceName(text: string, key: string): string | undefined {
  if (!/^\d{1,5}\/(tcp|udp|sctp)$/.test(key)) return undefined;
  for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
    const after = text.charCodeAt(at + key.length);
    // The key is a whole field: whitespace (or the end) after it, whitespace before.
    if (!(Number.isNaN(after) || after === 9 || after === 32 || after === 13 || after === 10)) {
      continue;
    }
    const lineStart = text.lastIndexOf("\n", at - 1) + 1;
    if (text.charCodeAt(lineStart) === 35 /* # */) continue;
    const nameEnd = fieldEnd(text, lineStart, at);
    // Only whitespace between the name and the key: the key is the second field.
    if (nameEnd === lineStart || text.slice(nameEnd, at).trim() !== "") continue;
    return text.slice(lineStart, nameEnd);
  }
  return undefined;
}

/** Where Debian's nmap-common puts the vendor table of MAC prefixes. */
export const NMAP_MAC_PREFIXES_PATH = "/usr/share/nmap/nmap-mac-prefixes";

/** Vendors keyed by the first six hex digits of a MAC address, upper case ("0050F2"); a `Map` is one. */
export interface MacVendors {
  get(prefix: string): string | undefined;
}

/**
 * Parse nmap-mac-prefixes text: `0050F2 Microsoft` a line. Lines that do not
 * fit are skipped.
 *
 * @example
 * ```ts
 * import { parseMacVendors } from "./names.ts";
 * parseMacVendors("0050F2 Microsoft\n").get("0050F2"); // "Microsoft"
 * ```
 */
export function parseMacVendors(text: string): Map<string, string> {
  const vendors = new Map<string, string>();
  const hex = /^[0-9A-Fa-f]{6}$/;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const prefix = text.slice(start, start + 6);
    const vendor = text.slice(start + 6, end).trim();
    if (
      (text[start + 6] === " " || text[start + 6] === "\t") && vendor !== "" && hex.test(prefix)
    ) {
      vendors.set(prefix.toUpperCase(), vendor);
    }
    start = end + 1;
  }
  return vendors;
}

/**
 * Read the vendor table; an empty one when it is missing or not readable.
 * Prefixes are looked up in the text as they are asked for.
 */
export async function readMacVendors(path: string = NMAP_MAC_PREFIXES_PATH): Promise<MacVendors> {
  let text: string;
  try {
    text = "\n" + await Deno.readTextFile(path);
  } catch (error) {
    if (unreadable(error)) return new Map();
    throw error;
  }
  return lazyTable((prefix) => findVendor(text, prefix), () => parseMacVendors(text));
}

/** The vendor of a six-digit prefix in the table's text (which starts with a newline). */
function findVendor(text: string, prefix: string): string | undefined {
  if (!/^[0-9A-F]{6}$/.test(prefix)) return undefined;
  for (const gap of [" ", "\t"]) {
    const at = text.indexOf(`\n${prefix}${gap}`);
    if (at < 0) continue;
    const end = text.indexOf("\n", at + 1);
    const vendor = text.slice(at + 8, end < 0 ? text.length : end).trim();
    if (vendor !== "") return vendor;
  }
  return undefined;
}

/**
 * The vendor of a MAC address ("00:50:F2:01:02:03"), when the table knows it.
 *
 * @example
 * ```ts
 * import { macVendor } from "./names.ts";
 * macVendor("00:50:f2:01:02:03", new Map([["0050F2", "Microsoft"]])); // "Microsoft"
 * ```
 */
export function macVendor(mac: string, vendors: MacVendors | undefined): string | undefined {
  const prefix = mac.replace(/[^0-9A-Fa-f]/g, "").slice(0, 6).toUpperCase();
  return prefix.length === 6 ? vendors?.get(prefix) : undefined;
}
