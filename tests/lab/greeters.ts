/**
 * Small hand-written services for service-detection tests: an Exim-like
 * SMTP server, Dovecot-like IMAP and POP3, a Dropbear-like SSH greeting,
 * MySQL, PostgreSQL, RDP and VNC answers, and the hostile ones: a tarpit
 * (accepts, never sends), a silent port (reads, never answers), a hostile
 * banner (escape sequences, NUL bytes, markup, a 100 KB line), a port that
 * resets at once and a slow drip (one byte every 500 ms).
 *
 * Used in-process on 127.0.0.1 by tests, and as a program inside the lab's
 * target namespace:
 *
 * ```sh
 * deno run --allow-net tests/lab/greeters.ts --host :: smtp=25 imap=143 tarpit=7000
 * ```
 *
 * prints "ready" once every port is bound.
 *
 * @module
 */

import * as net from "node:net";

/** The kinds of greeter. */
export type GreeterKind =
  | "smtp"
  | "imap"
  | "pop3"
  | "ssh"
  | "mysql"
  | "postgresql"
  | "rdp"
  | "vnc"
  | "tarpit"
  | "silent"
  | "hostile"
  | "reset"
  | "slowdrip";

/** Every kind, in a stable order. */
export const GREETER_KINDS: readonly GreeterKind[] = Object.freeze([
  "smtp",
  "imap",
  "pop3",
  "ssh",
  "mysql",
  "postgresql",
  "rdp",
  "vnc",
  "tarpit",
  "silent",
  "hostile",
  "reset",
  "slowdrip",
]);

/** What each identifiable greeter should be detected as. */
export const GREETER_EXPECTED: Readonly<
  Partial<Record<GreeterKind, { name: string; product?: string; version?: string }>>
> = Object.freeze({
  smtp: { name: "smtp", product: "Exim smtpd", version: "4.96" },
  imap: { name: "imap", product: "Dovecot imapd" },
  pop3: { name: "pop3", product: "Dovecot pop3d" },
  ssh: { name: "ssh", product: "Dropbear sshd", version: "2022.83" },
  mysql: { name: "mysql", product: "MySQL", version: "8.0.36" },
  postgresql: { name: "postgresql", product: "PostgreSQL DB" },
  rdp: { name: "ms-wbt-server" },
  vnc: { name: "vnc", product: "VNC" },
});

/** The hostile greeter's first line: terminal escapes, NUL bytes and markup. */
export const HOSTILE_LINE =
  "\x1b[2J\x1b[31mEVIL\x1b]0;pwned\x07\x00\x00</title><script>alert(1)</script>\r\n";
/** Length of the hostile greeter's long line, bytes. */
export const HOSTILE_LONG_BYTES = 100 * 1024;

const encoder = new TextEncoder();
/** No connection of a greeter lives longer than this, ms. */
const CONNECTION_MS = 60_000;
/** A greeter reads at most this much from one connection. */
const INPUT_BYTES = 65_536;

function mysqlHandshake(version: string): Uint8Array {
  const payload = [
    0x0a,
    ...encoder.encode(version),
    0,
    0x2a,
    0,
    0,
    0, // connection id
    ...encoder.encode("abcdefgh"),
    0, // auth data part 1
    0xff,
    0xf7, // capabilities
    0x21, // charset
    0x02,
    0x00, // status
    0xff,
    0xc1, // capabilities, upper
    21, // auth data length
    ...new Array(10).fill(0),
    ...encoder.encode("ijklmnopqrst"),
    0,
    ...encoder.encode("mysql_native_password"),
    0,
  ];
  return new Uint8Array([payload.length & 0xff, payload.length >> 8, 0, 0, ...payload]);
}

function postgresError(): Uint8Array {
  const fields = encoder.encode(
    'SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry for host "198.51.100.1", user "portolan"\0' +
      "Fauth.c\0L543\0RClientAuthentication\0\0",
  );
  const bytes = new Uint8Array(5 + fields.length);
  bytes[0] = 0x45;
  new DataView(bytes.buffer).setUint32(1, 4 + fields.length);
  bytes.set(fields, 5);
  return bytes;
}

const RDP_CONFIRM = new Uint8Array([
  0x03,
  0x00,
  0x00,
  0x13,
  0x0e,
  0xd0,
  0x00,
  0x00,
  0x12,
  0x34,
  0x00,
  0x02,
  0x00,
  0x08,
  0x00,
  0x02,
  0x00,
  0x00,
  0x00,
]);

/** Runs one connection of a line-based greeter: greet, answer each line, end on QUIT. */
function lineServer(
  socket: net.Socket,
  greeting: string,
  answer: (line: string) => string | undefined,
): void {
  socket.write(greeting);
  let pending = "";
  let total = 0;
  socket.on("data", (data: Uint8Array) => {
    total += data.length;
    if (total > INPUT_BYTES) return socket.destroy();
    pending += new TextDecoder("latin1").decode(data);
    let end: number;
    while ((end = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, end).replace(/\r$/, "");
      pending = pending.slice(end + 1);
      const reply = answer(line);
      if (reply === undefined) {
        socket.end();
        return;
      }
      socket.write(reply);
    }
  });
}

function handle(kind: GreeterKind, socket: net.Socket): void {
  switch (kind) {
    case "smtp":
      return lineServer(
        socket,
        "220 mail.lab.example ESMTP Exim 4.96 Thu, 26 Nov 2026 17:00:00 +0000\r\n",
        (line) =>
          /^QUIT/i.test(line)
            ? undefined
            : /^(EHLO|HELO) /i.test(line)
            ? "250-mail.lab.example Hello\r\n250-SIZE 52428800\r\n250-PIPELINING\r\n250 HELP\r\n"
            : "500 unrecognized command\r\n",
      );
    case "imap":
      return lineServer(
        socket,
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] " +
          "Dovecot (Debian) ready.\r\n",
        (line) => {
          const tag = line.split(" ", 1)[0] || "*";
          return / LOGOUT$/i.test(line)
            ? undefined
            : `${tag} BAD Error in IMAP command received by server.\r\n`;
        },
      );
    case "pop3":
      return lineServer(
        socket,
        "+OK Dovecot (Debian) ready.\r\n",
        (line) => (/^QUIT/i.test(line) ? undefined : "-ERR Unknown command.\r\n"),
      );
    case "ssh":
      return lineServer(
        socket,
        "SSH-2.0-dropbear_2022.83\r\n",
        (line) => (line.startsWith("SSH-") ? "" : undefined),
      );
    case "vnc":
      socket.write("RFB 003.008\n");
      socket.on("data", () => socket.end());
      return;
    case "mysql":
      socket.write(mysqlHandshake("8.0.36"));
      socket.on("data", () => socket.end());
      return;
    case "postgresql":
      socket.once("data", (data: Uint8Array) => {
        // SSLRequest: 8 bytes, code 80877103.
        if (
          data.length === 8 && new DataView(data.buffer, data.byteOffset).getUint32(4) === 80877103
        ) {
          socket.write("N");
          socket.once("data", () => socket.end(postgresError()));
          return;
        }
        socket.end(postgresError());
      });
      return;
    case "rdp":
      socket.once("data", (data: Uint8Array) => {
        if (data[0] === 0x03 && data[5] === 0xe0) socket.end(RDP_CONFIRM);
        else socket.destroy();
      });
      return;
    case "tarpit":
      // Accept and hold: neither read nor write.
      socket.pause();
      return;
    case "silent":
      socket.on("data", () => {});
      return;
    case "hostile":
      socket.write(HOSTILE_LINE);
      socket.write("B".repeat(HOSTILE_LONG_BYTES) + "\r\n");
      socket.on("data", () => {});
      return;
    case "reset":
      socket.resetAndDestroy();
      return;
    case "slowdrip": {
      const text = "220 slow drip service, one byte at a time, forever and ever\r\n";
      socket.write(text[0] as string);
      let at = 1;
      const timer = setInterval(() => {
        if (socket.destroyed || at >= text.length) {
          clearInterval(timer);
          socket.end();
          return;
        }
        socket.write(text[at++] as string);
      }, 500);
      socket.on("close", () => clearInterval(timer));
      socket.on("data", () => {});
      return;
    }
  }
}

/** Running greeters. */
export interface Greeters {
  /** The bound port of each kind started. */
  ports: Partial<Record<GreeterKind, number>>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Options of {@link startGreeters}. */
export interface GreeterOptions {
  /** Address to bind; default "127.0.0.1". "::" binds IPv6 and IPv4. */
  hostname?: string;
}

/**
 * Starts greeters on the given ports (0 picks a free one).
 *
 * @example
 * ```ts ignore
 * const greeters = await startGreeters({ smtp: 0, tarpit: 0 });
 * console.log(greeters.ports.smtp);
 * await greeters.close();
 * ```
 */
export async function startGreeters(
  wanted: Partial<Record<GreeterKind, number>>,
  options: GreeterOptions = {},
): Promise<Greeters> {
  const hostname = options.hostname ?? "127.0.0.1";
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const ports: Partial<Record<GreeterKind, number>> = {};
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  };
  try {
    for (const [kind, port] of Object.entries(wanted) as [GreeterKind, number][]) {
      if (!GREETER_KINDS.includes(kind)) {
        throw new RangeError(`Cannot start greeter "${kind}": unknown kind`);
      }
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => {});
        socket.on("close", () => sockets.delete(socket));
        socket.setTimeout(CONNECTION_MS, () => socket.destroy());
        handle(kind, socket);
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: hostname, port, ipv6Only: false }, () => resolve());
      });
      ports[kind] = (server.address() as net.AddressInfo).port;
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { ports, close };
}

/**
 * Parses `[--host H] kind=port...`.
 *
 * @throws {SyntaxError} on an argument of another form.
 */
export function parseGreeterArgs(
  args: readonly string[],
): { hostname: string; wanted: Partial<Record<GreeterKind, number>> } {
  let hostname = "::";
  const wanted: Partial<Record<GreeterKind, number>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--host") {
      const value = args[++i];
      if (value === undefined) throw new SyntaxError('Cannot parse option "--host": value missing');
      hostname = value;
      continue;
    }
    const found = /^([a-z0-9]+)=(\d{1,5})$/.exec(arg);
    const kind = found?.[1] as GreeterKind | undefined;
    const port = Number(found?.[2]);
    if (kind === undefined || !GREETER_KINDS.includes(kind) || port < 1 || port > 65535) {
      throw new SyntaxError(`Cannot parse greeter "${arg}": expected kind=port`);
    }
    wanted[kind] = port;
  }
  return { hostname, wanted };
}

if (import.meta.main) {
  try {
    const { hostname, wanted } = parseGreeterArgs(Deno.args);
    await startGreeters(wanted, { hostname });
    console.log("ready");
  } catch (error) {
    console.error(`greeters: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
