/**
 * FTP: the "220" greeting (RFC 959). vsftpd, ProFTPD, Pure-FTPd, FileZilla
 * and generic FTP servers.
 *
 * @module
 */

import type { ProbePlugin, ServiceMatch } from "../src/plugins/probe_types.ts";
import { cpe, latin1 } from "../src/service/text.ts";

/**
 * Parse an FTP greeting.
 *
 * @example
 * ```ts
 * import { parseFtpGreeting } from "./probe_ftp.ts";
 * parseFtpGreeting("220 (vsFTPd 3.0.3)\r\n", 21)?.version; // "3.0.3"
 * ```
 */
export function parseFtpGreeting(text: string, port: number): ServiceMatch | undefined {
  // vsftpd refusing to serve (a configuration error) still names itself.
  if (/^500 OOPS: vsftpd/.test(text)) {
    return {
      name: "ftp",
      product: "vsftpd",
      extraInfo: "misconfigured",
      cpe: [cpe("a:beasts:vsftpd")],
    };
  }
  if (!/^220[ -]/.test(text)) return undefined;
  const first = text.split(/\r?\n/, 1)[0] as string;
  // Mail servers greet with 220 too.
  if (/\b(E?SMTP|LMTP|Postfix|Exim|Sendmail)\b/i.test(first)) return undefined;
  const vsftpd = /\(vsFTPd ([\w.-]+)\)/.exec(text);
  if (vsftpd !== null) {
    const version = vsftpd[1] as string;
    return { name: "ftp", product: "vsftpd", version, cpe: [cpe("a:beasts:vsftpd", version)] };
  }
  const proftpd = /ProFTPD(?: ([\d.]+\w*))?/.exec(text);
  if (proftpd !== null) {
    return {
      name: "ftp",
      product: "ProFTPD",
      ...(proftpd[1] === undefined ? {} : { version: proftpd[1] }),
      cpe: [cpe("a:proftpd:proftpd", proftpd[1])],
    };
  }
  if (/Pure-FTPd/.test(text)) {
    return { name: "ftp", product: "Pure-FTPd", cpe: [cpe("a:pureftpd:pure-ftpd")] };
  }
  const filezilla = /FileZilla Server(?: version)? ?([\d.]+\w*)?/.exec(text);
  if (filezilla !== null) {
    return {
      name: "ftp",
      product: "FileZilla ftpd",
      ...(filezilla[1] === undefined ? {} : { version: filezilla[1] }),
    };
  }
  if (/\bftp\b/i.test(first) || port === 21) return { name: "ftp" };
  return undefined;
}

/** The FTP probe plugin (passive: FTP servers greet first). */
export function ftpProbe(): ProbePlugin {
  return {
    name: "ftp",
    description: "FTP greeting: vsftpd, ProFTPD, Pure-FTPd, FileZilla, others",
    protocols: ["tcp"],
    ports: [21, 2121],
    tlsPorts: [990],
    rarity: 1,
    passive: true,
    probe(conn): Promise<ServiceMatch | undefined> {
      return Promise.resolve(parseFtpGreeting(latin1(conn.greeting), conn.port));
    },
  };
}
