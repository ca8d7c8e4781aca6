/**
 * nmap's flag habits that do not fit the one-name-one-option table of
 * args.ts: several scan types in one `-s` flag (`-sSV`), the debug level
 * (`-d`, `-dd`, `-d3`) and `--dns-servers` lists.
 *
 * @module
 */

import { UsageError } from "./usage_error.ts";

/** Every letter nmap takes after `-s` (nmap's scan types, -sP and -sR its old spellings). */
const NMAP_SCAN_LETTERS = new Set("ABCFILMNOPRSTUVWXYZn");

/**
 * The single-type flags (`sS`, `sV`) of a combined `-s` flag, as nmap reads
 * it: every letter after the `s` a scan type. `has` says which ones this
 * build knows. Undefined when `body` (the flag without its dash) is not a
 * combination of nmap's letters.
 *
 * @throws {UsageError} when a letter is one of nmap's that this build lacks.
 *
 * @example
 * ```ts
 * import { scanLetters } from "./nmap_flags.ts";
 * scanLetters("sSV", (flag) => flag === "sS" || flag === "sV"); // ["sS", "sV"]
 * ```
 */
export function scanLetters(body: string, has: (flag: string) => boolean): string[] | undefined {
  if (!/^s[A-Za-z]{2,}$/.test(body)) return undefined;
  const letters = [...body.slice(1)];
  if (!letters.every((letter) => NMAP_SCAN_LETTERS.has(letter))) return undefined;
  const flags: string[] = [];
  for (const letter of letters) {
    const flag = `s${letter}`;
    if (!has(flag)) {
      throw new UsageError(
        `Scan type -${flag} (in -${body}) is not available in this build; use -sS, -sT, -sU, -sV, -sn or -sL`,
      );
    }
    if (!flags.includes(flag)) flags.push(flag);
  }
  return flags;
}

/**
 * The level a `-d` flag adds: `-d` 1, `-dd` 2 (the value is "d"), `-d3` 3.
 *
 * @example
 * ```ts
 * import { debugLevel } from "./nmap_flags.ts";
 * debugLevel("d"); // 2
 * ```
 */
export function debugLevel(value: string): number {
  if (/^d*$/.test(value)) return value.length + 1;
  if (/^\d$/.test(value)) return Number(value);
  throw new UsageError(`Unknown option "-d${value}": -d takes a level 0-9 or more d's (-dd)`);
}

/**
 * `--dns-servers a,b`: IPv4 or IPv6 addresses, optionally with a port
 * (`198.51.100.53:5353`, `[2001:db8::53]:53`), as Deno's resolver takes them.
 */
export function dnsServerList(
  text: string,
): { ipAddr: string; port?: number }[] {
  const servers = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (servers.length === 0) throw new UsageError("Cannot use --dns-servers: no server given");
  return servers.map((server) => {
    const match = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(server) ??
      /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(server) ??
      /^([0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)()$/.exec(server);
    const port = match?.[2] ? Number(match[2]) : undefined;
    if (match === null || (port !== undefined && (port < 1 || port > 65_535))) {
      throw new UsageError(
        `Cannot use --dns-servers "${server}": expected an IP address (198.51.100.53, [2001:db8::53]:53)`,
      );
    }
    return port === undefined ? { ipAddr: match[1]! } : { ipAddr: match[1]!, port };
  });
}
