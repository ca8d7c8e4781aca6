/**
 * FTP: the "220" greeting (RFC 959). vsftpd, ProFTPD, Pure-FTPd, FileZilla
 * and generic FTP servers; and, when the greeting names no product (a
 * customised banner is a common hardening step), how the server answers
 * HELP and FEAT before login, which each server does in its own words.
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

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
      cpe: [cpe("a:vsftpd:vsftpd")],
    };
  }
  if (!/^220[ -]/.test(text)) return undefined;
  const first = text.split(/\r?\n/, 1)[0] as string;
  // Mail servers greet with 220 too.
  if (/\b(E?SMTP|LMTP|Postfix|Exim|Sendmail)\b/i.test(first)) return undefined;
  const vsftpd = /\(vsFTPd ([\w.-]+)\)/.exec(text);
  if (vsftpd !== null) {
    const version = vsftpd[1] as string;
    return {
      name: "ftp",
      product: "vsftpd",
      version,
      ostype: "Unix",
      cpe: [cpe("a:vsftpd:vsftpd", version)],
    };
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

/** A "220" greeting that is not a mail server's: worth asking further. */
function ftpLike(greeting: string): boolean {
  const first = greeting.split(/\r?\n/, 1)[0] as string;
  return /^220[ -]/.test(greeting) && !/\b(E?SMTP|LMTP|Postfix|Exim|Sendmail)\b/i.test(first);
}

/** vsftpd's FEAT before login: its fixed list, one space before each feature, "211 End". */
const VSFTPD_FEAT =
  /^211-Features:\r\n(?: (?:AUTH SSL|AUTH TLS|EPRT|EPSV|MDTM|PASV|PBSZ|PROT|REST STREAM|SIZE|TVFS|UTF8)\r\n)+211 End\r\n/;

/**
 * Identify an FTP server by its answers to HELP and FEAT sent before login,
 * when its greeting named nothing. Each reply is the server's whole answer
 * (all its lines).
 *
 * @example
 * ```ts
 * import { parseFtpAnswers } from "./probe_ftp.ts";
 * parseFtpAnswers({
 *   help: "530 Please login with USER and PASS.\r\n",
 *   feat: "211-Features:\r\n EPRT\r\n EPSV\r\n PASV\r\n211 End\r\n",
 * })?.product; // "vsftpd"
 * ```
 */
export function parseFtpAnswers(
  answers: { help: string; feat: string },
): ServiceMatch | undefined {
  const { help, feat } = answers;
  // vsftpd refuses every command but a few before login, in these words, and
  // lists its features in a fixed form. nmap names it from the same answer
  // ("2.0.8 or later": older ones also answered blank lines). CPEs are
  // nmap's ("vsftpd:vsftpd"), so tools comparing the two files agree.
  if (/^530 Please login with USER and PASS\.\r\n/.test(help) && VSFTPD_FEAT.test(feat)) {
    return {
      name: "ftp",
      product: "vsftpd",
      version: "2.0.8 or later",
      cpe: [cpe("a:vsftpd:vsftpd")],
    };
  }
  if (/^214-The following commands are recognized \(\* =>'s unimplemented\):/.test(help)) {
    if (/^214 Direct comments to /m.test(help)) {
      return { name: "ftp", product: "ProFTPD", cpe: [cpe("a:proftpd:proftpd")] };
    }
  }
  if (/^530 You aren't logged in\r\n/.test(help) && /^211-Extensions supported:/.test(feat)) {
    return { name: "ftp", product: "Pure-FTPd", cpe: [cpe("a:pureftpd:pure-ftpd")] };
  }
  if (/^530 Please log in with USER and PASS first\.\r\n/.test(help)) {
    return { name: "ftp", product: "FileZilla ftpd", ostype: "Windows" };
  }
  return undefined;
}

/** An FTP reply is complete at its last line: "NNN text" (RFC 959 §4.2). */
function replyDone(bytes: Uint8Array): boolean {
  return /(?:^|\n)\d{3} [^\n]*\n$/.test(latin1(bytes));
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
      const match = parseFtpGreeting(latin1(conn.greeting), conn.port);
      // A greeting that names no product is left to ftpCommandsProbe, which asks further.
      return Promise.resolve(match?.product === undefined ? undefined : match);
    },
  };
}

/**
 * The FTP probe plugin that asks: on a "220" greeting that named no product,
 * HELP and FEAT before login, whose answers differ from server to server.
 * Falls back to plain "ftp" when they match nothing known.
 */
export function ftpCommandsProbe(): ProbePlugin {
  return {
    name: "ftp-commands",
    description: "FTP servers with a customised greeting: vsftpd, ProFTPD, Pure-FTPd, FileZilla",
    protocols: ["tcp"],
    ports: [21, 2121],
    tlsPorts: [990],
    rarity: 1,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      const greeting = latin1(conn.greeting);
      if (!ftpLike(greeting)) return undefined;
      const read = { maxBytes: 4096, timeoutMs: 2000, until: replyDone };
      await conn.write("HELP\r\n");
      const help = await conn.readText(read);
      await conn.write("FEAT\r\n");
      const feat = await conn.readText(read);
      await conn.write("QUIT\r\n");
      const found = parseFtpAnswers({ help, feat });
      if (found !== undefined) return found;
      // Still an FTP server by its greeting and its numbered answers.
      return /^\d{3}[ -]/.test(help) || /^\d{3}[ -]/.test(feat) || /\bftp\b/i.test(greeting) ||
          conn.port === 21
        ? { name: "ftp" }
        : undefined;
    },
  };
}
