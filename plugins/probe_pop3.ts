/**
 * POP3: the "+OK" greeting (RFC 1939). Dovecot, Courier and generic POP3
 * servers.
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse a POP3 greeting.
 *
 * @example
 * ```ts
 * import { parsePop3Greeting } from "./probe_pop3.ts";
 * parsePop3Greeting("+OK Dovecot (Debian) ready.\r\n", 110)?.product; // "Dovecot pop3d"
 * ```
 */
export function parsePop3Greeting(text: string, port: number): ServiceMatch | undefined {
  if (!/^\+OK\b/.test(text)) return undefined;
  const line = text.split(/\r?\n/, 1)[0] as string;
  const dovecot = /\bDovecot(?: \(([^)]*)\))? ready/.exec(line);
  if (dovecot !== null) {
    return {
      name: "pop3",
      product: "Dovecot pop3d",
      ...(dovecot[1] ? { extraInfo: dovecot[1] } : {}),
      cpe: [cpe("a:dovecot:dovecot")],
    };
  }
  if (/Courier/.test(line)) return { name: "pop3", product: "Courier pop3d" };
  if (/\bPOP3?\b/i.test(line) || port === 110 || port === 995) return { name: "pop3" };
  return undefined;
}

/** The POP3 probe plugin (passive: POP3 servers greet first). */
export function pop3Probe(): ProbePlugin {
  return {
    name: "pop3",
    description: "POP3 greeting: Dovecot, Courier, others",
    protocols: ["tcp"],
    ports: [110],
    tlsPorts: [995],
    rarity: 1,
    passive: true,
    probe(conn): Promise<ServiceMatch | undefined> {
      return Promise.resolve(parsePop3Greeting(latin1(conn.greeting), conn.port));
    },
  };
}
