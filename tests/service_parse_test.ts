import assert from "node:assert/strict";
import {
  connectionRequest,
  dnsProduct,
  htmlTitle,
  parseDnsAnswer,
  parseFtpAnswers,
  parseFtpGreeting,
  parseHttpAnswer,
  parseImapGreeting,
  parseMemcachedStats,
  parseMemcachedVersion,
  parseMysqlGreeting,
  parsePop3Greeting,
  parsePostgresAnswer,
  parseRdpAnswer,
  parseRedis,
  parseRfbGreeting,
  parseSmtpGreeting,
  parseSnmpResponse,
  parseSshBanner,
  probePlugins,
  serverProduct,
  snmpGetRequest,
  startupMessage,
  versionBindQuery,
} from "../plugins/mod.ts";
import {
  bannerText,
  cpe,
  formatName,
  intensityTimings,
  isoDate,
  latin1,
  parseSans,
  parseVersionIntensity,
} from "../src/service/mod.ts";
import { probePluginProblem } from "../src/plugin_host/mod.ts";

Deno.test("ssh: OpenSSH with the Debian revision, Dropbear, others", () => {
  assert.deepEqual(parseSshBanner("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5\r\n"), {
    name: "ssh",
    product: "OpenSSH",
    version: "9.2p1 Debian 2+deb12u5",
    extraInfo: "protocol 2.0",
    ostype: "Linux",
    cpe: ["cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"],
  });
  const dropbear = parseSshBanner("SSH-2.0-dropbear_2022.83\r\n");
  assert.equal(dropbear?.product, "Dropbear sshd");
  assert.equal(dropbear?.version, "2022.83");
  assert.deepEqual(dropbear?.cpe, [
    "cpe:/a:matt_johnston:dropbear_ssh_server:2022.83",
    "cpe:/o:linux:linux_kernel",
  ]);
  assert.equal(dropbear?.ostype, "Linux", "as nmap: Dropbear is embedded Linux's");
  // Lines before the identification are allowed (RFC 4253 §4.2).
  assert.equal(parseSshBanner("hello\r\nSSH-1.99-Cisco-1.25\r\n")?.extraInfo, "protocol 1.99");
  assert.equal(parseSshBanner("SSH-2.0-libssh_0.9.6\r\n")?.product, "libssh");
  assert.equal(parseSshBanner("220 ftp ready\r\n"), undefined);
  assert.equal(parseSshBanner("SSH-2.0-OpenSSH_9.2p1"), undefined, "needs the whole line");
});

Deno.test("ftp: vsftpd, ProFTPD, generic on 21; mail greetings are not FTP", () => {
  assert.deepEqual(parseFtpGreeting("220 (vsFTPd 3.0.3)\r\n", 21), {
    name: "ftp",
    product: "vsftpd",
    version: "3.0.3",
    ostype: "Unix",
    cpe: ["cpe:/a:vsftpd:vsftpd:3.0.3"],
  });
  assert.equal(parseFtpGreeting("500 OOPS: vsftpd: no anon\r\n", 21)?.product, "vsftpd");
  assert.equal(parseFtpGreeting("220 ProFTPD 1.3.8 Server (Debian)\r\n", 21)?.version, "1.3.8");
  assert.deepEqual(parseFtpGreeting("220 Welcome\r\n", 21), { name: "ftp" });
  assert.equal(parseFtpGreeting("220 Welcome\r\n", 4000), undefined);
  assert.equal(parseFtpGreeting("220 mx ESMTP Exim 4.96\r\n", 21), undefined);
});

Deno.test("ftp behind a customised greeting: named by its answers to HELP and FEAT", () => {
  // vsftpd 3.0.3 with ftpd_banner set, as the lab runs it.
  const vsftpd = {
    help: "530 Please login with USER and PASS.\r\n",
    feat: "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n" +
      " TVFS\r\n211 End\r\n",
  };
  assert.deepEqual(parseFtpAnswers(vsftpd), {
    name: "ftp",
    product: "vsftpd",
    version: "2.0.8 or later",
    cpe: ["cpe:/a:vsftpd:vsftpd"],
  });
  // The same refusal with another server's feature list is not vsftpd.
  assert.equal(
    parseFtpAnswers({ ...vsftpd, feat: "211-Features:\r\n MDTM\r\n MLST size*;\r\n211 End\r\n" }),
    undefined,
  );
  assert.equal(parseFtpAnswers({ help: "", feat: vsftpd.feat }), undefined);
  assert.equal(
    parseFtpAnswers({
      help: "214-The following commands are recognized (* =>'s unimplemented):\r\n" +
        " CWD     XCWD    CDUP    XCUP    SMNT*   QUIT    PORT    PASV\r\n" +
        "214 Direct comments to root@ftp.example\r\n",
      feat: "",
    })?.product,
    "ProFTPD",
  );
  assert.equal(
    parseFtpAnswers({
      help: "530 You aren't logged in\r\n",
      feat: "211-Extensions supported:\r\n EPRT\r\n IDLE\r\n211 End.\r\n",
    })?.product,
    "Pure-FTPd",
  );
  assert.equal(
    parseFtpAnswers({ help: "530 Please log in with USER and PASS first.\r\n", feat: "" })
      ?.product,
    "FileZilla ftpd",
  );
});

Deno.test("memcached: stats give nmap's uptime extra info", () => {
  assert.equal(
    parseMemcachedStats("STAT pid 7\r\nSTAT uptime 75\r\nSTAT time 1796285432\r\nEND\r\n"),
    "uptime 75 seconds",
  );
  assert.equal(parseMemcachedStats("ERROR\r\n"), undefined);
});

Deno.test("smtp: Exim, Postfix, generic; FTP greetings are not SMTP", () => {
  assert.deepEqual(
    parseSmtpGreeting("220 mx.lab.example ESMTP Exim 4.96 Thu, 26 Nov 2026 17:00:00 +0000\r\n", 25),
    {
      name: "smtp",
      product: "Exim smtpd",
      version: "4.96",
      hostname: "mx.lab.example",
      cpe: ["cpe:/a:exim:exim:4.96"],
    },
  );
  const postfix = parseSmtpGreeting("220 mail.example ESMTP Postfix (Debian/GNU)\r\n", 2525);
  assert.equal(postfix?.product, "Postfix smtpd");
  assert.equal(postfix?.extraInfo, "Debian/GNU");
  assert.deepEqual(parseSmtpGreeting("220 hello SMTP\r\n", 4000), { name: "smtp" });
  assert.equal(parseSmtpGreeting("220 (vsFTPd 3.0.3)\r\n", 4000), undefined);
  assert.equal(parseSmtpGreeting("+OK ready\r\n", 25), undefined);
});

Deno.test("imap and pop3: Dovecot and generic", () => {
  const imap = parseImapGreeting(
    "* OK [CAPABILITY IMAP4rev1 SASL-IR ID] Dovecot (Debian) ready.\r\n",
    143,
  );
  assert.equal(imap?.product, "Dovecot imapd");
  assert.equal(imap?.extraInfo, "Debian");
  assert.deepEqual(parseImapGreeting("* OK IMAP4rev1 server\r\n", 4000), { name: "imap" });
  assert.equal(parseImapGreeting("* OK hello\r\n", 4000), undefined);
  assert.equal(parseImapGreeting("+OK Dovecot ready.\r\n", 143), undefined);
  const pop = parsePop3Greeting("+OK Dovecot (Debian) ready.\r\n", 110);
  assert.equal(pop?.product, "Dovecot pop3d");
  assert.deepEqual(parsePop3Greeting("+OK POP3 server ready\r\n", 4000), { name: "pop3" });
  assert.equal(parsePop3Greeting("+OK\r\n", 4000), undefined);
  assert.equal(parsePop3Greeting("-ERR no\r\n", 110), undefined);
});

Deno.test("http: status, Server header, title; a TLS port's clear-text error is left to TLS", () => {
  const answer =
    "HTTP/1.1 200 OK\r\nServer: Apache/2.4.57 (Debian)\r\nContent-Type: text/html\r\n\r\n" +
    "<html><head><TITLE>\n  It   works \n</TITLE></head></html>";
  assert.deepEqual(parseHttpAnswer(answer), {
    name: "http",
    product: "Apache httpd",
    version: "2.4.57",
    extraInfo: "Debian",
    cpe: ["cpe:/a:apache:http_server:2.4.57"],
    http: { status: 200, server: "Apache/2.4.57 (Debian)", title: "It works" },
  });
  const nginx = parseHttpAnswer("HTTP/1.1 404 Not Found\r\nserver: nginx/1.22.1\r\n\r\n");
  assert.equal(nginx?.product, "nginx");
  assert.equal(nginx?.version, "1.22.1");
  assert.equal(nginx?.http?.status, 404);
  assert.deepEqual(parseHttpAnswer("HTTP/1.0 200 OK\r\n\r\n")?.http, {
    status: 200,
    server: "",
    title: "",
  });
  assert.equal(
    parseHttpAnswer(
      "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n<center>The plain HTTP request was sent to HTTPS port</center>",
    ),
    undefined,
  );
  assert.equal(parseHttpAnswer("SSH-2.0-x\r\n"), undefined);
  assert.equal(htmlTitle("<title>caf\u00e9</title>"), "caf\u00e9");
  assert.deepEqual(serverProduct("Microsoft-IIS/10.0"), {
    product: "Microsoft IIS httpd",
    version: "10.0",
    cpe: ["cpe:/a:microsoft:internet_information_services:10.0"],
  });
  assert.deepEqual(serverProduct("Werkzeug/3.0.1 Python/3.11"), {
    product: "Werkzeug",
    version: "3.0.1",
  });
});

Deno.test("http: a UTF-8 title survives the Latin-1 view of the answer", () => {
  const bytes = new TextEncoder().encode(
    "HTTP/1.1 200 OK\r\n\r\n<title>\u00dcber \u2603</title>",
  );
  assert.equal(parseHttpAnswer(latin1(bytes))?.http?.title, "\u00dcber \u2603");
});

function dnsAnswer(txt: string, options: { id?: number; rcode?: number } = {}): Uint8Array {
  const query = versionBindQuery().subarray(2);
  const text = new TextEncoder().encode(txt);
  const answer = [0xc0, 0x0c, 0, 16, 0, 3, 0, 0, 0, 0, 0, text.length + 1, text.length, ...text];
  const message = new Uint8Array([...query, ...(options.rcode ? [] : answer)]);
  const id = options.id ?? 0x5054;
  message[0] = id >> 8;
  message[1] = id & 0xff;
  message[2] = 0x84; // answer, authoritative
  message[3] = options.rcode ?? 0;
  message[7] = options.rcode ? 0 : 1;
  return new Uint8Array([message.length >> 8, message.length & 0xff, ...message]);
}

Deno.test("dns: version.bind query and answers", () => {
  const query = versionBindQuery();
  assert.equal((query[0] as number) << 8 | (query[1] as number), query.length - 2);
  assert.ok(latin1(query).includes("\x07version\x04bind\x00\x00\x10\x00\x03"));
  assert.deepEqual(parseDnsAnswer(dnsAnswer("dnsmasq-2.90")), {
    name: "domain",
    product: "dnsmasq",
    version: "2.90",
    cpe: ["cpe:/a:thekelleys:dnsmasq:2.90"],
  });
  const bind = parseDnsAnswer(dnsAnswer("9.18.24-1-Debian"));
  assert.equal(bind?.product, "ISC BIND");
  assert.equal(bind?.version, "9.18.24-1-Debian");
  assert.deepEqual(bind?.cpe, ["cpe:/a:isc:bind:9.18.24"]);
  // Refused: still a DNS server.
  assert.deepEqual(parseDnsAnswer(dnsAnswer("", { rcode: 5 })), { name: "domain" });
  assert.equal(parseDnsAnswer(dnsAnswer("dnsmasq-2.90", { id: 1 })), undefined);
  assert.equal(parseDnsAnswer(new TextEncoder().encode("HTTP/1.1 400 Bad\r\n\r\n")), undefined);
  assert.deepEqual(dnsProduct("unbound 1.17.1"), {
    product: "Unbound",
    version: "1.17.1",
    cpe: ["cpe:/a:nlnetlabs:unbound:1.17.1"],
  });
  assert.deepEqual(dnsProduct("none of your business"), {
    extraInfo: "version.bind: none of your business",
  });
});

Deno.test("redis and memcached", () => {
  assert.deepEqual(
    parseRedis(
      "+PONG\r\n",
      "$100\r\n# Server\r\nredis_version:7.0.15\r\nos:Linux 6.1.0 x86_64\r\n",
    ),
    {
      name: "redis",
      product: "Redis key-value store",
      version: "7.0.15",
      ostype: "Linux",
      cpe: ["cpe:/a:redislabs:redis:7.0.15"],
    },
  );
  assert.equal(
    parseRedis("-NOAUTH Authentication required.\r\n", "")?.extraInfo,
    "authentication required",
  );
  assert.equal(parseRedis("-ERR unknown command\r\n", ""), undefined);
  assert.equal(parseMemcachedVersion("VERSION 1.6.18\r\n")?.version, "1.6.18");
  assert.equal(parseMemcachedVersion("ERROR\r\n"), undefined);
});

function mysqlPacket(payload: number[]): Uint8Array {
  return new Uint8Array([payload.length, 0, 0, 0, ...payload]);
}

Deno.test("mysql: MySQL, MariaDB, refusal, garbage", () => {
  const encode = (text: string): number[] => [...new TextEncoder().encode(text)];
  assert.equal(
    parseMysqlGreeting(mysqlPacket([0x0a, ...encode("8.0.36"), 0, 1]))?.product,
    "MySQL",
  );
  const maria = parseMysqlGreeting(
    mysqlPacket([0x0a, ...encode("5.5.5-10.11.6-MariaDB-0+deb12u1"), 0, 1]),
  );
  assert.equal(maria?.product, "MariaDB");
  assert.equal(maria?.version, "10.11.6");
  assert.equal(maria?.extraInfo, "0+deb12u1");
  const refused = parseMysqlGreeting(
    mysqlPacket([0xff, 0x6a, 0x04, ...encode("Host '198.51.100.1' is not allowed to connect")]),
  );
  assert.deepEqual(refused, { name: "mysql", extraInfo: "unauthorized" });
  assert.equal(parseMysqlGreeting(new TextEncoder().encode("SSH-2.0-x\r\n")), undefined);
  assert.equal(parseMysqlGreeting(mysqlPacket([0x0a, ...encode("hello"), 0])), undefined);
});

Deno.test("postgresql: startup message, authentication request, error", () => {
  const startup = startupMessage();
  const view = new DataView(startup.buffer);
  assert.equal(view.getUint32(0), startup.length);
  assert.equal(view.getUint32(4), 196_608);
  assert.equal(
    parsePostgresAnswer(new Uint8Array([0x52, 0, 0, 0, 8, 0, 0, 0, 5]))?.name,
    "postgresql",
  );
  const fields = new TextEncoder().encode("SFATAL\0C28000\0Mno\0\0");
  const error = new Uint8Array([0x45, 0, 0, 0, 4 + fields.length, ...fields]);
  assert.equal(parsePostgresAnswer(error)?.product, "PostgreSQL DB");
  assert.equal(parsePostgresAnswer(new TextEncoder().encode("HTTP/1.1 400 Bad\r\n")), undefined);
});

Deno.test("rdp, vnc", () => {
  assert.equal(connectionRequest().length, 19);
  const confirm = [3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 1, 0, 0, 0];
  assert.deepEqual(parseRdpAnswer(new Uint8Array(confirm)), {
    name: "ms-wbt-server",
    extraInfo: "security TLS",
  });
  assert.equal(parseRdpAnswer(new TextEncoder().encode("HTTP/1.1 400 Bad Req")), undefined);
  assert.deepEqual(parseRfbGreeting("RFB 003.008\n"), {
    name: "vnc",
    product: "VNC",
    extraInfo: "protocol 3.8",
  });
  assert.equal(parseRfbGreeting("RFB 3.8\n"), undefined);
});

Deno.test("built-in probe plugins are well-formed and uniquely named", () => {
  const plugins = probePlugins.map((make) => make());
  for (const plugin of plugins) assert.equal(probePluginProblem(plugin), undefined, plugin.name);
  assert.equal(new Set(plugins.map((plugin) => plugin.name)).size, plugins.length);
  const names = plugins.map((plugin) => plugin.name);
  for (
    const wanted of [
      "ftp",
      "ssh",
      "smtp",
      "pop3",
      "imap",
      "dns",
      "http",
      "tls",
      "redis",
      "memcached",
      "mysql",
      "postgresql",
      "rdp",
      "vnc",
    ]
  ) {
    assert.ok(names.includes(wanted), wanted);
  }
});

Deno.test("probePluginProblem names what is wrong", () => {
  const good = {
    name: "x",
    description: "d",
    protocols: ["tcp"],
    ports: [1],
    rarity: 5,
    passive: false,
    probe: () => Promise.resolve(undefined),
  };
  assert.equal(probePluginProblem(good), undefined);
  assert.equal(probePluginProblem(null), "it is not an object");
  assert.equal(
    probePluginProblem({ ...good, name: "a b" }),
    'name "a b" must be letters, digits, ".", "_" or "-"',
  );
  assert.equal(
    probePluginProblem({ ...good, protocols: ["sctp"] }),
    '`protocols` is not a non-empty list of "tcp" and "udp"',
  );
  assert.equal(
    probePluginProblem({ ...good, ports: [70000] }),
    "`ports` is not a list of ports 1-65535",
  );
  assert.equal(probePluginProblem({ ...good, rarity: 10 }), "`rarity` is not an integer 0-9");
  assert.equal(probePluginProblem({ ...good, passive: "no" }), "`passive` is not a boolean");
  assert.equal(probePluginProblem({ ...good, probe: 1 }), "`probe` is not a function");
});

Deno.test("intensity: parsing and timings grow with it", () => {
  assert.equal(parseVersionIntensity("0"), 0);
  assert.equal(parseVersionIntensity("9"), 9);
  assert.throws(
    () => parseVersionIntensity("12"),
    new RangeError('Cannot parse version intensity "12": value must be 0-9'),
  );
  assert.throws(() => parseVersionIntensity("-1"), RangeError);
  for (let level = 1; level <= 9; level++) {
    const before = intensityTimings(level - 1);
    const now = intensityTimings(level);
    assert.ok(now.greetingMs >= before.greetingMs);
    assert.ok(now.probeWaitMs >= before.probeWaitMs);
    assert.ok(now.portMs > now.greetingMs + now.probeWaitMs, "room for a greeting and a probe");
  }
});

Deno.test("text helpers: banner capped, CPE cleaned, TLS names formatted", () => {
  const long = new TextEncoder().encode("A".repeat(10_000) + "\r\n");
  assert.equal(bannerText(long).length, 2048);
  assert.equal(bannerText(new TextEncoder().encode("hi\x00\x1b[2J\r\n")), "hi\x00\x1b[2J");
  assert.equal(bannerText(new Uint8Array([0xff, 0x41])), "\ufffdA");
  assert.equal(cpe("a:x:y", "1.2 (beta)"), "cpe:/a:x:y:1.2beta");
  assert.equal(cpe("a:x:y"), "cpe:/a:x:y");
  assert.equal(formatName({ O: ["A", "B"], CN: "c" }), "CN=c, O=A, O=B");
  assert.equal(formatName(undefined), "");
  assert.deepEqual(parseSans("DNS:a.example, IP Address:198.51.100.2"), [
    "DNS:a.example",
    "IP:198.51.100.2",
  ]);
  assert.equal(isoDate("Nov 26 16:57:54 2026 GMT"), "2026-11-26T16:57:54Z");
  assert.equal(isoDate("Jan  2 03:04:05 2030 GMT"), "2030-01-02T03:04:05Z");
  assert.equal(isoDate("not a date"), "not a date");
});

Deno.test("snmp: v1 GetRequest for sysDescr.0; answers with our request ID only", () => {
  const hex = (bytes: Uint8Array): string =>
    [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
  // BER by hand: SEQUENCE { 0, "public", GetRequest { id, 0, 0, { { 1.3.6.1.2.1.1.1.0, NULL } } } }
  assert.equal(
    hex(snmpGetRequest()),
    "30 29 02 01 00 04 06 70 75 62 6c 69 63 a0 1c 02 04 50 54 4c 31 02 01 00 02 01 00 " +
      "30 0e 30 0c 06 08 2b 06 01 02 01 01 01 00 05 00",
  );
  const answer = (id: number, descr: string): Uint8Array => {
    const text = [...new TextEncoder().encode(descr)];
    const varbind = [0x06, 8, 0x2b, 6, 1, 2, 1, 1, 1, 0, 0x04, text.length, ...text];
    const list = [0x30, varbind.length + 2, 0x30, varbind.length, ...varbind];
    const pdu = [0x02, 4, 0x50, 0x54, 0x4c, id, 0x02, 1, 0, 0x02, 1, 0, ...list];
    const body = [
      0x02,
      1,
      1,
      0x04,
      6,
      ...new TextEncoder().encode("public"),
      0xa2,
      pdu.length,
      ...pdu,
    ];
    return new Uint8Array([0x30, body.length, ...body]);
  };
  assert.deepEqual(parseSnmpResponse(answer(0x31, "Linux gw 6.1.0")), {
    name: "snmp",
    product: "SNMPv2c server",
    extraInfo: "community public; sysDescr: Linux gw 6.1.0",
    ostype: "Linux",
  });
  assert.equal(parseSnmpResponse(answer(0x32, "Linux gw")), undefined, "another request's answer");
  assert.equal(parseSnmpResponse(snmpGetRequest()), undefined, "a request is no answer");
  assert.equal(parseSnmpResponse(new Uint8Array([0x30, 0x82, 0xff, 0xff])), undefined);
});
