/**
 * IMAP: the "* OK" greeting (RFC 9051). Dovecot, Courier, Cyrus and generic
 * IMAP servers.
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse an IMAP greeting.
 *
 * @example
 * ```ts
 * import { parseImapGreeting } from "./probe_imap.ts";
 * parseImapGreeting("* OK [CAPABILITY IMAP4rev1] Dovecot (Debian) ready.\r\n", 143)?.product;
 * // "Dovecot imapd"
 * ```
 */
export function parseImapGreeting(text: string, port: number): ServiceMatch | undefined {
  if (!/^\* (OK|PREAUTH)\b/i.test(text)) return undefined;
  const line = text.split(/\r?\n/, 1)[0] as string;
  const dovecot = /\bDovecot(?: \(([^)]*)\))? ready/.exec(line);
  if (dovecot !== null) {
    return {
      name: "imap",
      product: "Dovecot imapd",
      ...(dovecot[1] ? { extraInfo: dovecot[1] } : {}),
      cpe: [cpe("a:dovecot:dovecot")],
    };
  }
  if (/Courier-IMAP/.test(line)) {
    return { name: "imap", product: "Courier Imapd", cpe: [cpe("a:courier-mta:courier-imap")] };
  }
  const cyrus = /Cyrus IMAP(?:4)?(?: Murder)? v?([\d.]+\w*)/.exec(line);
  if (cyrus !== null) {
    const version = cyrus[1] as string;
    return {
      name: "imap",
      product: "Cyrus imapd",
      version,
      cpe: [cpe("a:cmu:cyrus_imap_server", version)],
    };
  }
  if (/Microsoft Exchange/.test(line)) {
    return { name: "imap", product: "Microsoft Exchange imapd", ostype: "Windows" };
  }
  if (/IMAP4/i.test(line) || port === 143 || port === 993) return { name: "imap" };
  return undefined;
}

/** The IMAP probe plugin (passive: IMAP servers greet first). */
export function imapProbe(): ProbePlugin {
  return {
    name: "imap",
    description: "IMAP greeting: Dovecot, Courier, Cyrus, Exchange, others",
    protocols: ["tcp"],
    ports: [143, 220],
    tlsPorts: [993],
    rarity: 1,
    passive: true,
    probe(conn): Promise<ServiceMatch | undefined> {
      return Promise.resolve(parseImapGreeting(latin1(conn.greeting), conn.port));
    },
  };
}
