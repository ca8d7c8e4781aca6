/**
 * SMTP: the "220" greeting (RFC 5321). Exim, Postfix, Sendmail, OpenSMTPD,
 * Microsoft and generic SMTP servers.
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse an SMTP greeting.
 *
 * @example
 * ```ts
 * import { parseSmtpGreeting } from "./probe_smtp.ts";
 * parseSmtpGreeting("220 mx.example ESMTP Exim 4.96\r\n", 25)?.product; // "Exim smtpd"
 * ```
 */
export function parseSmtpGreeting(text: string, port: number): ServiceMatch | undefined {
  const found = /^220[ -](\S+)?(.*)/.exec(text);
  if (found === null) return undefined;
  const host = found[1] ?? "";
  const rest = `${host} ${found[2] ?? ""}`;
  const hostname = /^[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z0-9-]+$/.test(host)
    ? { hostname: host }
    : {};
  const exim = /\bExim ([\d.]+\w*)/.exec(rest);
  if (exim !== null) {
    const version = exim[1] as string;
    return {
      name: "smtp",
      product: "Exim smtpd",
      version,
      ...hostname,
      cpe: [cpe("a:exim:exim", version)],
    };
  }
  const postfix = /\bESMTP Postfix(?: \(([^)]*)\))?/.exec(rest);
  if (postfix !== null) {
    return {
      name: "smtp",
      product: "Postfix smtpd",
      ...(postfix[1] ? { extraInfo: postfix[1] } : {}),
      ...hostname,
      cpe: [cpe("a:postfix:postfix")],
    };
  }
  const sendmail = /\bSendmail ([\d.]+\w*)/.exec(rest);
  if (sendmail !== null) {
    const version = sendmail[1] as string;
    return {
      name: "smtp",
      product: "Sendmail",
      version,
      ...hostname,
      cpe: [cpe("a:sendmail:sendmail", version)],
    };
  }
  if (/\bOpenSMTPD\b/.test(rest)) {
    return { name: "smtp", product: "OpenSMTPD", ...hostname, cpe: [cpe("a:openbsd:opensmtpd")] };
  }
  if (/Microsoft ESMTP MAIL Service/.test(rest)) {
    return { name: "smtp", product: "Microsoft ESMTP", ...hostname, ostype: "Windows" };
  }
  if (/\bE?SMTP\b/i.test(rest) || [25, 465, 587].includes(port) && !/\bftp\b/i.test(rest)) {
    return { name: "smtp", ...hostname };
  }
  return undefined;
}

/** The SMTP probe plugin (passive: SMTP servers greet first). */
export function smtpProbe(): ProbePlugin {
  return {
    name: "smtp",
    description: "SMTP greeting: Exim, Postfix, Sendmail, OpenSMTPD, others",
    protocols: ["tcp"],
    ports: [25, 587, 2525],
    tlsPorts: [465],
    rarity: 1,
    passive: true,
    probe(conn): Promise<ServiceMatch | undefined> {
      return Promise.resolve(parseSmtpGreeting(latin1(conn.greeting), conn.port));
    },
  };
}
