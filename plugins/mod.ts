/**
 * The built-in plugins.
 *
 * @module
 */

import type { BuiltinPlugins, OutputPlugin, ProbePlugin, ScriptPlugin } from "../src/plugin/mod.ts";
import { csvOutput } from "./output_csv.ts";
import { grepableOutput } from "./output_grepable.ts";
import { htmlOutput } from "./output_html.ts";
import { jsonOutput } from "./output_json.ts";
import { jsonlOutput } from "./output_jsonl.ts";
import { normalOutput } from "./output_normal.ts";
import { xmlOutput } from "./output_xml.ts";

export { CSV_COLUMNS, csvOutput, toCsv } from "./output_csv.ts";
export { grepableFooter, grepableHeader, grepableHost, grepableOutput } from "./output_grepable.ts";
export type { GrepableOptions } from "./output_grepable.ts";
export { htmlOutput, toHtml } from "./output_html.ts";
export type { HtmlLimits } from "./output_html.ts";
export { jsonOutput, toJson } from "./output_json.ts";
export type { JsonPort } from "./output_json.ts";
export { jsonlLine, jsonlOutput } from "./output_jsonl.ts";
export { normalOutput } from "./output_normal.ts";
export type { NormalOutputOptions } from "./output_normal.ts";
export { toXml, xmlFooter, xmlHeader, xmlHost, xmlOutput } from "./output_xml.ts";
export type { XmlOptions } from "./output_xml.ts";

/** Built-in output plugins by the name used on the command line. */
export const outputPlugins: Record<string, () => OutputPlugin> = {
  csv: csvOutput,
  grepable: (): OutputPlugin => grepableOutput(),
  html: (): OutputPlugin => htmlOutput(),
  json: jsonOutput,
  jsonl: jsonlOutput,
  normal: (): OutputPlugin => normalOutput(),
  xml: (): OutputPlugin => xmlOutput(),
};

// Probe plugins (service detection, -sV).
import { dnsProbe, dnsUdpProbe } from "./probe_dns.ts";
import { ftpCommandsProbe, ftpProbe } from "./probe_ftp.ts";
import { httpProbe } from "./probe_http.ts";
import { imapProbe } from "./probe_imap.ts";
import { memcachedProbe } from "./probe_memcached.ts";
import { mysqlProbe } from "./probe_mysql.ts";
import { pop3Probe } from "./probe_pop3.ts";
import { postgresqlProbe } from "./probe_postgresql.ts";
import { rdpProbe } from "./probe_rdp.ts";
import { redisProbe } from "./probe_redis.ts";
import { smtpProbe } from "./probe_smtp.ts";
import { snmpProbe } from "./probe_snmp.ts";
import { sshProbe } from "./probe_ssh.ts";
import { tlsProbe } from "./probe_tls.ts";
import { vncProbe } from "./probe_vnc.ts";

export {
  dnsProbe,
  dnsProduct,
  dnsUdpProbe,
  parseDnsAnswer,
  parseDnsDatagram,
  versionBindQuery,
} from "./probe_dns.ts";
export { ftpCommandsProbe, ftpProbe, parseFtpAnswers, parseFtpGreeting } from "./probe_ftp.ts";
export { htmlTitle, httpProbe, parseHttpAnswer, serverProduct } from "./probe_http.ts";
export { imapProbe, parseImapGreeting } from "./probe_imap.ts";
export { memcachedProbe, parseMemcachedStats, parseMemcachedVersion } from "./probe_memcached.ts";
export { mysqlProbe, parseMysqlGreeting } from "./probe_mysql.ts";
export { parsePop3Greeting, pop3Probe } from "./probe_pop3.ts";
export { parsePostgresAnswer, postgresqlProbe, startupMessage } from "./probe_postgresql.ts";
export { connectionRequest, parseRdpAnswer, rdpProbe } from "./probe_rdp.ts";
export { parseRedis, redisProbe } from "./probe_redis.ts";
export { parseSmtpGreeting, smtpProbe } from "./probe_smtp.ts";
export { parseSnmpResponse, snmpGetRequest, snmpProbe } from "./probe_snmp.ts";
export { parseSshBanner, sshProbe } from "./probe_ssh.ts";
export { tlsProbe } from "./probe_tls.ts";
export { TLS_PORTS } from "../src/plugin/mod.ts";
export { parseRfbGreeting, vncProbe } from "./probe_vnc.ts";
export {
  matchResponse,
  NMAP_SERVICE_PROBES_PATH,
  nmapProbePlugins,
  parseNmapServiceProbes,
} from "./probe_nmap.ts";
export type { NmapDatabase, NmapMatch, NmapProbe, NmapProbeOptions } from "./probe_nmap.ts";

/** Built-in probe plugin factories, in the order their matches are preferred. */
export const probePlugins: readonly (() => ProbePlugin)[] = Object.freeze([
  sshProbe,
  ftpProbe,
  ftpCommandsProbe,
  smtpProbe,
  imapProbe,
  pop3Probe,
  mysqlProbe,
  vncProbe,
  tlsProbe,
  httpProbe,
  dnsProbe,
  dnsUdpProbe,
  redisProbe,
  memcachedProbe,
  postgresqlProbe,
  rdpProbe,
  snmpProbe,
]);

// Script plugins (-sC, --script).
import { bannerScript } from "./script_banner.ts";
import { httpHeadersScript } from "./script_http_headers.ts";
import { httpServerHeaderScript } from "./script_http_server_header.ts";
import { httpTitleScript } from "./script_http_title.ts";
import { sshHostkeyScript } from "./script_ssh_hostkey.ts";
import { sslCertScript } from "./script_ssl_cert.ts";

export { bannerLine, bannerScript } from "./script_banner.ts";
export { header, httpRequest, parseAnswer } from "./script_http.ts";
export type { HttpAnswer } from "./script_http.ts";
export { httpHeadersScript } from "./script_http_headers.ts";
export { httpServerHeaderScript } from "./script_http_server_header.ts";
export { HTTP_PORTS, HTTP_SERVICES, httpTitleScript } from "./script_http_title.ts";
export {
  hostKeyBlob,
  hostKeyLine,
  keyBits,
  sshHostkeyScript,
  sshPacket,
} from "./script_ssh_hostkey.ts";
export {
  certificateText,
  certificateTextFromDer,
  nmapName,
  sslCertScript,
} from "./script_ssl_cert.ts";

/** Built-in script plugin factories, by name order. */
export const scriptPlugins: readonly (() => ScriptPlugin)[] = Object.freeze([
  bannerScript,
  httpHeadersScript,
  httpServerHeaderScript,
  httpTitleScript,
  sshHostkeyScript,
  sslCertScript,
]);

/** Every built-in plugin, as the command takes them (main.ts hands them to runCli). */
export const builtinPlugins: BuiltinPlugins = Object.freeze({
  outputs: outputPlugins,
  probes: probePlugins,
  scripts: scriptPlugins,
});

/**
 * Every built-in plugin, registered as a `--plugin` module registers its own
 * (`export default [...]`, read by the same loader): outputs, probes, scripts.
 */
export default [...Object.values(outputPlugins), ...probePlugins, ...scriptPlugins];
