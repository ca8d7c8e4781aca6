/**
 * Fuzz tests (fast-check) of every probe plugin. `probe()` runs against an
 * in-memory connection that keeps the engine's read contract
 * (src/service/conn.ts: byte limits, `until`, leftovers, EOF, failed writes,
 * aborts, startTls failing or not), fed random and near-valid bytes; the
 * exported parsers run on their own too. A plugin must never throw, never
 * hang and only return well-formed matches. Each test prints how many cases
 * it ran.
 */

import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import type {
  ProbeConn,
  ProbePlugin,
  ReadOptions,
  ServiceMatch,
  TlsDetails,
} from "../src/plugin/probe_types.ts";
import { readChunks, type ReadState } from "../src/service/conn.ts";
import { concatBytes, FIELD_CHARS, latin1, latin1Bytes } from "../src/plugin/text.ts";
import {
  dnsProduct,
  htmlTitle,
  matchResponse,
  NMAP_SERVICE_PROBES_PATH,
  nmapProbePlugins,
  parseDnsAnswer,
  parseDnsDatagram,
  parseFtpGreeting,
  parseHttpAnswer,
  parseImapGreeting,
  parseMemcachedVersion,
  parseMysqlGreeting,
  parseNmapServiceProbes,
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
} from "./mod.ts";
import { type NmapMatch, pcreToRegExp, substitute, unescapeProbe } from "./probe_nmap.ts";
import { fuzzBudget } from "../src/testing/fuzz.ts";

const CASES = 100_000;
/**
 * probe() cases per built-in plugin with exported parsers. 100,000 async
 * calls through the fake connection cost about 3 s a plugin (75 s for the
 * file); the matcher each plugin runs, its parsers, gets {@link CASES} cases
 * on its own instead.
 */
const PROBE_CASES = 25_000;
/**
 * probe() cases per nmap plugin run: each matches against the whole database
 * (4000+ patterns, 0.1-1.5 ms a call), so 100,000 would take minutes. The
 * matcher itself gets {@link CASES} cases on windows of the database.
 */
const NMAP_PROBE_CASES = 3_000;
/** The fixed seed (FUZZ_SEED=n replays another: see src/testing/fuzz.ts). */
const SEED = 20261126;
/** Longest one probe() call may take: a hang fails the property. No timing is asserted beyond that. */
const CALL_MS = 5_000;
/** Reads and writes after which the fake conn aborts the signal, as the port's deadline would. */
const SOFT_OPS = 64;
/** Reads and writes after which it throws: a plugin that ignores the abort loops forever. */
const HARD_OPS = 4096;

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------
// The fake connection.

/** What the fake service does; drawn by fast-check. */
interface Script {
  /** What it sent first (nmap's NULL probe answer). */
  greeting: Uint8Array;
  /** Bytes already there after the greeting, before any write. */
  early: Uint8Array;
  /** One answer released per write. */
  answers: Uint8Array[];
  /** Cut points splitting each answer into TCP segments (taken modulo its length). */
  cuts: number[];
  /** Spare bytes around each chunk: chunks are views into larger buffers, as real reads are. */
  pad: number;
  /** The service closes once its answers are out. */
  closes: boolean;
  /** Writes fail (a reset): reads then return only what was buffered. */
  writeFails: boolean;
  /** A startTls handshake succeeds. */
  tlsAccepts: boolean;
  /** The connection already runs TLS. */
  inTls: boolean;
  /** Abort the signal from this operation on (the port's time ran out). */
  abortAfter: number | undefined;
  address: string;
  port: number;
}

/** What the fake saw a plugin do. */
interface Trace {
  ops: number;
  /** Bytes the plugin was given: greeting and every read. */
  seen: number;
  /** The TLS details the plugin could have got (preset or from startTls). */
  tls: TlsDetails | undefined;
}

function fakeTls(): TlsDetails {
  return {
    subject: "CN=lab.example",
    issuer: "CN=lab.example",
    sans: ["DNS:lab.example"],
    notBefore: "2026-01-01T00:00:00Z",
    notAfter: "2027-01-01T00:00:00Z",
    sha256: "AB:CD",
    alpn: "",
    version: "TLSv1.3",
  };
}

/** `bytes` copied into the middle of a larger buffer: a view with a byteOffset, like a socket read. */
function view(bytes: Uint8Array, pad: number): Uint8Array {
  const buffer = new Uint8Array(bytes.length + 2 * pad);
  buffer.set(bytes, pad);
  buffer.fill(0xee, 0, pad);
  buffer.fill(0xee, pad + bytes.length);
  return buffer.subarray(pad, pad + bytes.length);
}

/** An answer as the chunks a socket would deliver: TCP segments, or one UDP datagram. */
function chunks(answer: Uint8Array, script: Script, udp: boolean): Uint8Array[] {
  if (udp) return [view(answer, script.pad)];
  const points = [...new Set(script.cuts.map((cut) => cut % (answer.length + 1)))]
    .sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...points, answer.length]) {
    // TCP never delivers an empty segment.
    if (to > from) out.push(view(answer.subarray(from, to), (script.pad + out.length) % 8));
    from = Math.max(from, to);
  }
  return out;
}

/**
 * A {@link ProbeConn} over a script, following `probeConn` in
 * src/service/conn.ts: reads are its own `readChunks` (byte limits, `until`,
 * leftovers kept for the next read, EOF sticky), writes and reads inert once
 * the stream ended or the signal aborted. Time is virtual: running out of
 * data is a timeout.
 */
function fakeConn(
  script: Script,
  options: { udp: boolean; abort: AbortController },
): { conn: ProbeConn; trace: Trace } {
  const { udp, abort } = options;
  const signal = abort.signal;
  // Chunks that arrived; null is EOF and stays queued.
  const queue: (Uint8Array | null)[] = [];
  const answers = [...script.answers];
  const state: ReadState = { buffer: EMPTY, eof: false };
  let tlsInfo = script.inTls ? fakeTls() : undefined;
  const greeting = udp ? EMPTY : script.greeting;
  const trace: Trace = { ops: 0, seen: greeting.length, tls: tlsInfo };
  const encoder = new TextEncoder();

  function release(answer: Uint8Array | undefined): void {
    if (answer !== undefined) queue.push(...chunks(answer, script, udp));
    if (answers.length === 0 && script.closes && !queue.includes(null)) queue.push(null);
  }

  function tick(): void {
    trace.ops++;
    if (script.abortAfter !== undefined && trace.ops > script.abortAfter) abort.abort();
    if (trace.ops > SOFT_OPS) abort.abort();
    if (trace.ops > HARD_OPS) throw new Error(`plugin looped: ${trace.ops} operations`);
  }

  const source = {
    // deno-lint-ignore require-await
    async next(): Promise<Uint8Array | null | undefined> {
      if (queue[0] === null) return null;
      return queue.shift() as Uint8Array | undefined;
    },
  };

  async function read(read: ReadOptions = {}): Promise<Uint8Array> {
    tick();
    const got = await readChunks(state, source, { read, limit: Infinity, signal });
    trace.seen += got.length;
    return got;
  }

  if (script.early.length > 0) queue.push(...chunks(script.early, script, udp));
  release(undefined);

  const conn: ProbeConn = {
    address: script.address,
    port: script.port,
    greeting,
    get tls(): TlsDetails | undefined {
      return tlsInfo;
    },
    get closed(): boolean {
      return state.eof && state.buffer.length === 0;
    },
    read,
    async readText(options?: ReadOptions): Promise<string> {
      return latin1(await read(options));
    },
    // deno-lint-ignore require-await
    async write(data: string | Uint8Array): Promise<void> {
      tick();
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      assert.ok(bytes instanceof Uint8Array, "write takes text or bytes");
      if (state.eof || signal.aborted) return;
      if (script.writeFails) {
        state.eof = true;
        return;
      }
      release(answers.shift());
    },
    // deno-lint-ignore require-await
    async startTls(): Promise<TlsDetails> {
      tick();
      if (tlsInfo !== undefined) {
        throw new Error("Cannot start TLS: the connection already runs TLS");
      }
      if (udp) throw new Error(`Cannot start TLS with ${script.address}:${script.port}/udp`);
      // What was buffered went into the handshake.
      state.buffer = EMPTY;
      if (!script.tlsAccepts || state.eof || signal.aborted) {
        state.eof = true;
        throw new Error(`Cannot start TLS with ${script.address}:${script.port}: handshake failed`);
      }
      tlsInfo = fakeTls();
      trace.tls = tlsInfo;
      return tlsInfo;
    },
  };
  return { conn, trace };
}

// ---------------------------------------------------------------------------
// What a well-formed match is.

const TEXT_KEYS = ["product", "version", "extraInfo", "hostname", "ostype", "devicetype"] as const;
const KEYS = new Set<string>(["name", ...TEXT_KEYS, "cpe", "http", "tls"]);
/** A built-in's CPE: cpe() output, lower case, version cleaned to CPE's characters. */
const BUILT_IN_CPE = /^cpe:\/[aho](?::[a-z0-9._~+-]+)+$/;
/** Fixed text a built-in adds around what it copies from the service ("version.bind: ", "; protocol "). */
const ADDED_CHARS = 32;

interface Expect {
  /** Service names the plugin may return; undefined: any name without spaces. */
  names: readonly string[] | undefined;
  /** Bytes the plugin was given; fields of a built-in are made of them. Undefined: no bound. */
  seen: number | undefined;
  /** The only TLS details it may return. */
  tls: TlsDetails | undefined;
  /** CPE names built with cpe() (else nmap's templates: "cpe:/" and anything). */
  builtInCpe: boolean;
}

/**
 * The contract (src/plugin/probe_types.ts): a ServiceMatch or undefined, a
 * non-empty name. The engine clips every text field to FIELD_CHARS and the
 * CPE list to 8 names (src/service/detect.ts), so plugins promise no cap of
 * their own; a built-in must still not make a field longer than what the
 * service sent, and the HTTP fields it clips itself must be within
 * FIELD_CHARS.
 */
function assertWellFormed(
  match: unknown,
  expect: Expect,
): asserts match is ServiceMatch | undefined {
  if (match === undefined) return;
  assert.ok(typeof match === "object" && match !== null && !Array.isArray(match), "an object");
  const record = match as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    assert.ok(KEYS.has(key), `unknown key ${key}`);
    assert.notEqual(value, undefined, `${key} present but undefined`);
  }
  const { name } = record;
  assert.ok(typeof name === "string" && /^\S+$/.test(name), `name ${JSON.stringify(name)}`);
  if (expect.names !== undefined) assert.ok(expect.names.includes(name), `name ${name}`);
  const bound = expect.seen === undefined ? Infinity : expect.seen + ADDED_CHARS;
  for (const key of TEXT_KEYS) {
    const value = record[key];
    if (value === undefined) continue;
    assert.equal(typeof value, "string", key);
    assert.ok((value as string).length <= bound, `${key}: ${(value as string).length} chars`);
  }
  if (record.cpe !== undefined) {
    assert.ok(Array.isArray(record.cpe), "cpe is a list");
    for (const item of record.cpe) {
      assert.equal(typeof item, "string");
      assert.ok((item as string).startsWith("cpe:/"), item);
      if (expect.builtInCpe) {
        assert.match(item, BUILT_IN_CPE);
        assert.ok((item as string).length <= bound + 64, item);
      }
    }
  }
  if (record.http !== undefined) {
    const http = record.http as Record<string, unknown>;
    assert.deepEqual(Object.keys(http).sort(), ["server", "status", "title"]);
    assert.ok(Number.isInteger(http.status) && (http.status as number) >= 0, "status");
    assert.ok((http.status as number) <= 999, "status");
    for (const key of ["server", "title"]) {
      assert.equal(typeof http[key], "string", key);
      assert.ok((http[key] as string).length <= FIELD_CHARS, `${key} over ${FIELD_CHARS}`);
    }
  }
  if (record.tls !== undefined) {
    assert.ok(expect.tls !== undefined && record.tls === expect.tls, "tls from startTls only");
  }
}

// ---------------------------------------------------------------------------
// Inputs: random bytes, and near-valid ones that get past the first checks.

function bytes(text: string): Uint8Array {
  return latin1Bytes(text);
}

function join(...parts: (Uint8Array | string | number[])[]): Uint8Array {
  return parts.reduce<Uint8Array>(
    (out, part) =>
      concatBytes(
        out,
        typeof part === "string" ? bytes(part) : Uint8Array.from(part as ArrayLike<number>),
      ),
    EMPTY,
  );
}

/** Characters protocols are made of. */
const ALPHABET = "abcxyzABCXYZ0123456789 ._-/()[]:;<>=+\"',$#*!?~\r\n\t";
/** Those characters, and now and then any byte. */
const textUnit = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...ALPHABET.split("")) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) },
);

/**
 * `size` bytes from `seed` (xorshift32), from ALPHABET with one any byte in
 * sixteen when `text`. fast-check makes one shrinkable value per element of
 * an array, which for long inputs costs more than the probe under test; long
 * inputs come from a seed and a size it draws (and shrinks) instead.
 */
function seeded(seed: number, size: number, text: boolean): Uint8Array {
  const out = new Uint8Array(size);
  let state = seed | 1;
  for (let at = 0; at < size; at++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const byte = state & 0xff;
    out[at] = text && (state >>> 8 & 15) !== 0
      ? ALPHABET.charCodeAt((state >>> 12) % ALPHABET.length)
      : byte;
  }
  return out;
}

/** Short inputs element by element (they shrink best), long ones from a seed. */
function byteInput(options: { text: boolean; maxLength: number }): fc.Arbitrary<Uint8Array> {
  const short = options.text
    ? fc.string({ unit: textUnit, maxLength: 16 }).map(bytes)
    : fc.uint8Array({ maxLength: 16 });
  const long = fc.tuple(fc.integer(), fc.nat(options.maxLength)).map(([seed, size]) =>
    seeded(seed, size, options.text)
  );
  return fc.oneof(short, long);
}

const textBytes = byteInput({ text: true, maxLength: 160 });
const text = textBytes.map(latin1);
const randomBytes = byteInput({ text: false, maxLength: 320 });
const tail = fc.oneof({ weight: 3, arbitrary: textBytes }, randomBytes, fc.constant(EMPTY));
const digits = fc.integer({ min: 0, max: 99 }).map(String);
const version = fc.oneof(
  fc.tuple(digits, digits, digits).map((parts) => parts.join(".")),
  fc.string({ unit: fc.constantFrom(..."0123456789.pabc-_".split("")), maxLength: 12 }),
);

/** `prefix` then random text or bytes. */
function prefixed(prefixes: readonly string[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...prefixes), tail).map(([prefix, rest]) => join(prefix, rest));
}

/** A valid sample with a few bytes set, inserted, deleted, or the end cut off. */
function mutated(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const edit = fc.tuple(fc.nat(), fc.nat(255), fc.nat(4));
  return fc.tuple(fc.constantFrom(...samples), fc.array(edit, { maxLength: 4 })).map(
    ([sample, edits]) => {
      const out = [...sample];
      for (const [position, value, kind] of edits) {
        const at = position % (out.length + 1);
        if (kind === 0 && at < out.length) out[at] = value;
        else if (kind === 1) out.splice(at, 0, value);
        else if (kind === 2) out.splice(at, 1);
        else if (kind === 3) out.length = at;
      }
      return Uint8Array.from(out);
    },
  );
}

/** Sizes around the byte limits plugins and the engine use (4096, 16384, 65536). */
const HUGE_SIZES = [1000, 4095, 4096, 4097, 16_383, 16_384, 16_385, 65_536, 65_537, 70_000];

/** A sample padded with a repeated pattern to a size around some byte limit. */
function huge(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(
    fc.constantFrom(...samples),
    fc.uint8Array({ minLength: 1, maxLength: 16 }),
    fc.oneof(fc.constantFrom(...HUGE_SIZES), fc.integer({ min: 1000, max: 70_000 })),
  ).map(([sample, pattern, size]) => {
    const out = repeat(pattern, Math.max(size, sample.length));
    out.set(sample);
    return out;
  });
}

/** `pattern` repeated to `size` bytes. */
function repeat(pattern: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  if (pattern.length === 0) return out;
  out.set(pattern.subarray(0, size));
  for (let filled = pattern.length; filled < size; filled *= 2) out.copyWithin(filled, 0, filled);
  return out;
}

function u16(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
}

/** A version.bind answer (TCP length prefix included) carrying `txt`. */
function dnsAnswer(txt: Uint8Array): Uint8Array {
  const question = [7, ...bytes("version"), 4, ...bytes("bind"), 0, 0, 16, 0, 3];
  const strings: number[] = [];
  for (let at = 0; at < txt.length || at === 0; at += 255) {
    const part = txt.subarray(at, at + 255);
    strings.push(part.length, ...part);
  }
  const answer = [0xc0, 12, 0, 16, 0, 3, 0, 0, 0, 0, ...u16(strings.length), ...strings];
  const message = [0x50, 0x54, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, ...question, ...answer];
  return join(u16(message.length), message);
}

/** BER type-length-value, with the long length form when asked or needed. */
function tlv(tag: number, body: ArrayLike<number>, long = false): number[] {
  const length = body.length;
  const head = length > 255 || long
    ? [0x82, ...u16(length)]
    : length > 127
    ? [0x81, length]
    : [length];
  return [tag, ...head, ...Array.from(body)];
}

interface SnmpShape {
  version: number;
  community: Uint8Array;
  pduTag: number;
  id: number[];
  status: number;
  valueTag: number;
  value: Uint8Array;
  long: boolean;
}

/** A GetResponse to our GetRequest, parts as given. */
function snmpResponse(shape: SnmpShape): Uint8Array {
  const oid = [0x2b, 6, 1, 2, 1, 1, 1, 0];
  const varbind = tlv(0x30, [...tlv(0x06, oid), ...tlv(shape.valueTag, shape.value, shape.long)]);
  const pdu = tlv(shape.pduTag, [
    ...tlv(0x02, shape.id),
    ...tlv(0x02, [shape.status]),
    ...tlv(0x02, [0]),
    ...tlv(0x30, varbind, shape.long),
  ], shape.long);
  return Uint8Array.from(
    tlv(0x30, [...tlv(0x02, [shape.version]), ...tlv(0x04, shape.community), ...pdu], shape.long),
  );
}

const REQUEST_ID = [0x50, 0x54, 0x4c, 0x31];

/** MySQL packet: 3-byte length, sequence number, payload. */
function mysqlPacket(
  payload: ArrayLike<number>,
  length = payload.length,
  sequence = 0,
): Uint8Array {
  return join([length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, sequence], [
    ...Array.from(payload),
  ]);
}

/** PostgreSQL message: type byte, 4-byte length (itself included), body. */
function pgMessage(type: number, body: ArrayLike<number>, length = body.length + 4): Uint8Array {
  return join([type, ...u32(length)], Array.from(body));
}

function pgFields(fields: [string, string][]): number[] {
  return [...bytes(fields.map(([code, value]) => `${code}${value}\0`).join("")), 0];
}

const RDP_CONFIRM = [3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, 2, 0, 8, 0, 2, 0, 0, 0];

/** Near-valid inputs of one service: samples to mutate, prefixes to extend, shaped generators. */
interface Corpus {
  /** The service names the plugin returns. */
  names: readonly string[];
  samples: readonly Uint8Array[];
  prefixes: readonly string[];
  shaped: readonly fc.Arbitrary<Uint8Array>[];
}

const CORPUS: Record<string, Corpus> = {
  ssh: {
    names: ["ssh"],
    samples: [
      "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5\r\n",
      "SSH-2.0-dropbear_2022.83\r\n",
      "SSH-1.99-libssh-0.9.6\n",
      "banner line\r\nSSH-2.0-Cisco_1.25\r\n",
    ].map(bytes),
    prefixes: ["SSH-2.0-", "SSH-1.99-", "SSH-2.0-OpenSSH_", "SSH-2.0-dropbear", "SSH-2.0-libssh"],
    shaped: [
      fc.tuple(
        fc.constantFrom("", "hello\r\n", "x\n"),
        fc.constantFrom("2.0", "1.99", "1.5", "9.9"),
        fc.string({ unit: fc.constantFrom(..."OpenSSH_dropbearlibs-_.0123456789p!~".split("")) }),
        fc.option(text),
        fc.constantFrom("\r\n", "\n", ""),
      ).map(([before, protocol, software, comment, end]) =>
        bytes(`${before}SSH-${protocol}-${software}${comment === null ? "" : ` ${comment}`}${end}`)
      ),
      fc.tuple(fc.constantFrom("Debian", "Ubuntu", "Raspbian", "FreeBSD"), text).map(
        ([distro, rest]) => bytes(`SSH-2.0-OpenSSH_9.6 ${distro}-${rest}\r\n`),
      ),
    ],
  },
  ftp: {
    names: ["ftp"],
    samples: [
      "220 (vsFTPd 3.0.3)\r\n",
      "220 ProFTPD 1.3.8 Server (Debian) [::ffff:198.51.100.2]\r\n",
      "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n220-You are user number 1.\r\n",
      "220-FileZilla Server version 0.9.60 beta\r\n",
      "500 OOPS: vsftpd: refusing to run with writable root inside chroot()\r\n",
    ].map(bytes),
    prefixes: [
      "220 ",
      "220-",
      "500 OOPS: vsftpd",
      "220 (vsFTPd ",
      "220 ProFTPD ",
      "220 FileZilla Server ",
    ],
    shaped: [],
  },
  smtp: {
    names: ["smtp"],
    samples: [
      "220 mx.example ESMTP Exim 4.96 Mon, 01 Jan 2026 00:00:00 +0000\r\n",
      "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n",
      "220 a.example ESMTP Sendmail 8.17.1/8.17.1; Mon, 1 Jan 2026\r\n",
      "220 smtp.example ESMTP OpenSMTPD\r\n",
      "220 EX01 Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2026\r\n",
    ].map(bytes),
    prefixes: [
      "220 ",
      "220-",
      "220 mx.example ESMTP Exim ",
      "220 h ESMTP Postfix (",
      "220 a.b Sendmail ",
    ],
    shaped: [],
  },
  imap: {
    names: ["imap"],
    samples: [
      "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS] Dovecot (Debian) ready.\r\n",
      "* OK [CAPABILITY IMAP4rev1 UIDPLUS] Courier-IMAP ready.\r\n",
      "* OK imap.example Cyrus IMAP v3.6.1-Debian server ready\r\n",
      "* OK The Microsoft Exchange IMAP4 service is ready.\r\n",
      "* PREAUTH IMAP4rev1 server logged in as lab\r\n",
    ].map(bytes),
    prefixes: ["* OK ", "* PREAUTH ", "* ok ", "* OK Dovecot (", "* OK Cyrus IMAP4 Murder v"],
    shaped: [],
  },
  pop3: {
    names: ["pop3"],
    samples: [
      "+OK Dovecot (Debian) ready.\r\n",
      "+OK Hello there. Courier\r\n",
      "+OK POP3 server ready <1.2@example>\r\n",
    ].map(bytes),
    prefixes: ["+OK ", "+OK Dovecot (", "+OK Courier", "+OK POP3 "],
    shaped: [],
  },
  mysql: {
    names: ["mysql"],
    samples: [
      mysqlPacket([0x0a, ...bytes("8.0.36"), 0, 1, 0, 0, 0, ...bytes("abcdefgh"), 0]),
      mysqlPacket([0x0a, ...bytes("5.5.5-10.11.6-MariaDB-0+deb12u1"), 0, 7, 0, 0, 0]),
      mysqlPacket([
        0xff,
        0x6a,
        0x04,
        ...bytes("Host '198.51.100.9' is not allowed to connect to this MySQL server"),
      ]),
      mysqlPacket([0xff, 0x10, 0x04, ...bytes("Too many connections")]),
    ],
    prefixes: [],
    shaped: [
      fc.record({
        kind: fc.constantFrom(0x0a, 0x0a, 0x0a, 0xff, 0x09),
        version: fc.oneof(
          version,
          version.map((v) => `5.5.5-${v}-MariaDB-1:10.11`),
          version.map((v) => `${v}-MariaDB`),
          text,
        ),
        rest: tail,
        length: fc.option(fc.integer({ min: 0, max: 0xffffff }), { freq: 4 }),
        sequence: fc.constantFrom(0, 0, 0, 1),
      }).map(({ kind, version, rest, length, sequence }) => {
        const payload = join([kind], version, [0], rest);
        return mysqlPacket(payload, length ?? payload.length, sequence);
      }),
    ],
  },
  vnc: {
    names: ["vnc"],
    samples: ["RFB 003.008\n", "RFB 003.889\n", "RFB 004.001\n"].map(bytes),
    prefixes: ["RFB ", "RFB 003.", "RFB 003.008\n"],
    shaped: [
      fc.tuple(fc.nat(1200), fc.nat(1200), fc.constantFrom("\n", "\r\n", "")).map(([a, b, end]) =>
        bytes(`RFB ${String(a).padStart(3, "0")}.${String(b).padStart(3, "0")}${end}`)
      ),
    ],
  },
  tls: {
    // Only startTls matters; what it reads is whatever the other plugins get.
    names: ["ssl"],
    samples: [bytes("\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03")],
    prefixes: ["\x16\x03\x01", "\x15\x03\x03\x00\x02\x02\x28"],
    shaped: [],
  },
  http: {
    names: ["http"],
    samples: [
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n<html><title>Hi</title>",
      "HTTP/1.0 200 OK\r\nServer: Apache/2.4.62 (Debian)\r\n\r\n<TITLE>\n  Apache2  Debian Default Page \n</TITLE >",
      "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\nThe plain HTTP request was sent to HTTPS port",
      "HTTP/1.1 302 Found\r\nserver: Jetty(9.4.z-SNAPSHOT)\r\nLocation: /\r\n\r\n",
      "HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\n\r\n<title>IIS \xe2\x9c\x93 \xff</title>",
    ].map(bytes),
    prefixes: ["HTTP/1.1 200", "HTTP/1.0 404 Not Found\r\n", "HTTP/1.1 200 OK\r\nServer: "],
    shaped: [
      fc.record({
        protocol: fc.constantFrom("1.0", "1.1", "2.0", "9.9"),
        status: fc.nat(999).map((code) => String(code).padStart(3, "0")),
        headers: fc.array(
          fc.tuple(fc.constantFrom("Server", "server", "SERVER", "Content-Type", "X-Title"), text),
          { maxLength: 4 },
        ),
        breakLine: fc.constantFrom("\r\n", "\n"),
        title: fc.option(fc.tuple(fc.constantFrom("<title>", "<TITLE lang=en>", "<title"), text)),
        body: text,
      }).map(({ protocol, status, headers, breakLine, title, body }) =>
        bytes(
          `HTTP/${protocol} ${status} X${breakLine}${
            headers.map(([name, value]) => `${name}: ${value}${breakLine}`).join("")
          }${breakLine}${body}${title === null ? "" : `${title[0]}${title[1]}</title>`}`,
        )
      ),
      fc.tuple(
        fc.constantFrom(
          "nginx",
          "Apache",
          "lighttpd",
          "Microsoft-IIS",
          "Caddy",
          "openresty",
          "Jetty(",
          "gunicorn",
          "x",
        ),
        version,
        text,
      ).map(([product, number, rest]) =>
        bytes(`HTTP/1.1 200 OK\r\nServer: ${product}/${number} (${rest}\r\n\r\n`)
      ),
    ],
  },
  dns: {
    names: ["domain"],
    samples: [
      dnsAnswer(bytes("dnsmasq-2.89")),
      dnsAnswer(bytes("9.18.28-1~deb12u2-Debian")),
      dnsAnswer(bytes("unbound 1.17.1")),
      // REFUSED, no answer.
      join([0, 12], [0x50, 0x54, 0x84, 0x05, 0, 0, 0, 0, 0, 0, 0, 0]),
    ],
    prefixes: [],
    shaped: [
      fc.tuple(
        fc.oneof(textBytes, randomBytes),
        fc.constantFrom("", "dnsmasq-", "unbound ", "PowerDNS Recursor ", "9.18."),
      ).map(([txt, head]) => dnsAnswer(join(head, txt))),
      fc.record({
        flags: fc.oneof(fc.constantFrom(0x80, 0x84, 0x81), fc.nat(255)),
        rcode: fc.oneof(fc.constant(0), fc.nat(255)),
        questions: fc.nat(2),
        answers: fc.oneof(fc.nat(3), fc.nat(0xffff)),
        body: fc.oneof(randomBytes, textBytes),
        length: fc.option(fc.nat(0xffff), { freq: 3 }),
      }).map(({ flags, rcode, questions, answers, body, length }) => {
        const message = join(
          [0x50, 0x54, flags, rcode, ...u16(questions), ...u16(answers), 0, 0, 0, 0],
          body,
        );
        return join(u16(length ?? message.length), message);
      }),
    ],
  },
  redis: {
    names: ["redis"],
    samples: [
      "+PONG\r\n",
      "-NOAUTH Authentication required.\r\n",
      "-DENIED Redis is running in protected mode\r\n",
      "$87\r\n# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nos:Linux 6.1.0 x86_64\r\n",
    ].map(bytes),
    prefixes: ["+PONG\r\n", "+PONG", "-ERR ", "-WRONGPASS", "$", "-NOAUTH"],
    shaped: [
      fc.tuple(fc.nat(9999), version, text, text).map(([size, number, os, rest]) =>
        bytes(`$${size}\r\n# Server\r\nredis_version:${number}\r\n${rest}\r\nos:${os}\r\n`)
      ),
    ],
  },
  memcached: {
    names: ["memcached"],
    samples: ["VERSION 1.6.18\r\n", "ERROR\r\n"].map(bytes),
    prefixes: ["VERSION ", "VERSION 1.", "SERVER_ERROR "],
    shaped: [version.map((number) => bytes(`VERSION ${number}\r\n`))],
  },
  postgresql: {
    names: ["postgresql"],
    samples: [
      pgMessage(0x52, u32(3)),
      pgMessage(0x52, [...u32(10), ...bytes("SCRAM-SHA-256\0\0")]),
      pgMessage(
        0x45,
        pgFields([["S", "FATAL"], ["V", "FATAL"], ["C", "28000"], ["M", "no pg_hba.conf entry"]]),
      ),
    ],
    prefixes: ["R\0\0\0\x08", "E\0\0\0"],
    shaped: [
      fc.record({
        type: fc.oneof(fc.constantFrom(0x52, 0x45, 0x4e), fc.nat(255)),
        fields: fc.array(
          fc.tuple(
            fc.constantFrom("S", "V", "C", "M", "D", "F", "L", "R", "x"),
            fc.oneof(fc.constantFrom("FATAL", "ERROR", "PANIC", "28000", "3D000"), text),
          ),
          { maxLength: 5 },
        ),
        raw: fc.option(randomBytes, { freq: 3 }),
        length: fc.option(fc.oneof(fc.nat(16), fc.nat(5000), fc.nat(0xffffffff)), { freq: 3 }),
      }).map(({ type, fields, raw, length }) => {
        const body = raw ?? pgFields(fields);
        return pgMessage(type, body, length ?? body.length + 4);
      }),
    ],
  },
  rdp: {
    names: ["ms-wbt-server"],
    samples: [
      Uint8Array.from(RDP_CONFIRM),
      Uint8Array.from([3, 0, 0, 11, 6, 0xd0, 0, 0, 0x12, 0x34, 0]),
    ],
    prefixes: ["\x03\x00\x00\x13\x0e\xd0"],
    shaped: [
      fc.record({
        length: fc.oneof(fc.nat(40), fc.nat(0xffff)),
        code: fc.oneof(fc.constant(0xd0), fc.nat(255)),
        negotiation: fc.oneof(fc.constantFrom(2, 3), fc.nat(255)),
        chosen: fc.nat(255),
        cut: fc.nat(24),
        rest: fc.uint8Array({ maxLength: 16 }),
      }).map(({ length, code, negotiation, chosen, cut, rest }) => {
        const answer = [...RDP_CONFIRM];
        [answer[2], answer[3]] = u16(length) as [number, number];
        answer[5] = code;
        answer[11] = negotiation;
        answer[15] = chosen;
        return join(answer.slice(0, cut), rest);
      }),
    ],
  },
  snmp: {
    names: ["snmp"],
    samples: [
      snmpResponse({
        version: 0,
        community: bytes("public"),
        pduTag: 0xa2,
        id: REQUEST_ID,
        status: 0,
        valueTag: 0x04,
        value: bytes("Linux lab 6.1.0-18-amd64 #1 SMP x86_64"),
        long: false,
      }),
    ],
    prefixes: ["\x30\x82", "\x30\x29\x02\x01\x01\x04\x06public\xa2"],
    shaped: [
      fc.record({
        version: fc.oneof(fc.constantFrom(0, 1), fc.nat(255)),
        community: fc.oneof(fc.constant(bytes("public")), textBytes),
        pduTag: fc.oneof(fc.constant(0xa2), fc.nat(255)),
        id: fc.oneof(fc.constant(REQUEST_ID), fc.array(fc.nat(255), { maxLength: 6 })),
        status: fc.oneof(fc.constant(0), fc.nat(255)),
        valueTag: fc.oneof(fc.constant(0x04), fc.nat(255)),
        value: fc.oneof(
          textBytes,
          randomBytes,
          // Past 127 and 255 bytes: BER's long length forms.
          fc.tuple(textBytes, fc.integer({ min: 100, max: 3000 })).map(([pattern, size]) =>
            repeat(pattern, size)
          ),
        ),
        long: fc.boolean(),
      }).map(snmpResponse),
    ],
  },
};

/** DNS over UDP: the TCP corpus without the two-byte length prefix. */
function unframed(framed: Corpus): Corpus {
  return {
    names: framed.names,
    samples: framed.samples.map((sample) => sample.subarray(2)),
    prefixes: [],
    shaped: framed.shaped.map((shaped) => shaped.map((message) => message.subarray(2))),
  };
}
CORPUS["dns-udp"] = unframed(corpus("dns"));

const ALL_SAMPLES = Object.values(CORPUS).flatMap((corpus) => corpus.samples);
/** For a plugin with no corpus of its own: every other one's inputs, any name allowed. */
const GENERIC: Corpus = {
  names: [],
  samples: ALL_SAMPLES,
  prefixes: Object.values(CORPUS).flatMap((corpus) => corpus.prefixes),
  shaped: [],
};

/** Near-valid inputs of one corpus. */
function nearValid(corpus: Corpus): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    mutated(corpus.samples),
    fc.constantFrom(...corpus.samples),
    ...(corpus.prefixes.length > 0 ? [prefixed(corpus.prefixes)] : []),
    ...corpus.shaped,
  );
}

const anyNearValid = fc.oneof(...Object.values(CORPUS).map(nearValid));

/**
 * Mostly the service's own near-valid inputs, then others', random and empty
 * ones, and (for probe(), whose reads have byte limits) oversized ones.
 */
function payload(corpus: Corpus, options: { oversized: boolean }): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 40, arbitrary: nearValid(corpus) },
    { weight: 10, arbitrary: anyNearValid },
    { weight: 10, arbitrary: randomBytes },
    { weight: 10, arbitrary: textBytes },
    { weight: 5, arbitrary: fc.constant(EMPTY) },
    // Few: each costs about a millisecond, and one input in 77 still crosses every limit often.
    ...(options.oversized
      ? [{ weight: 1, arbitrary: huge([...corpus.samples, ...ALL_SAMPLES.slice(0, 4)]) }]
      : []),
  );
}

const ADDRESSES = ["127.0.0.1", "::1", "198.51.100.2", "2001:db8::2"];

function scriptOf(
  plugin: ProbePlugin,
  options: { greeting: fc.Arbitrary<Uint8Array>; answer: fc.Arbitrary<Uint8Array> },
): fc.Arbitrary<Script> {
  const ports = [...plugin.ports, ...(plugin.tlsPorts ?? [])];
  const udp = !plugin.protocols.includes("tcp");
  return fc.record({
    // No greeting over UDP. Active plugins seldom look at it; passive ones never read,
    // so the rest is never seen.
    greeting: udp
      ? fc.constant(EMPTY)
      : plugin.passive
      ? fc.oneof({ weight: 4, arbitrary: options.greeting }, fc.constant(EMPTY))
      : fc.oneof({ weight: 3, arbitrary: fc.constant(EMPTY) }, options.greeting),
    early: plugin.passive
      ? fc.constant(EMPTY)
      : fc.oneof({ weight: 6, arbitrary: fc.constant(EMPTY) }, options.answer),
    answers: plugin.passive
      ? fc.constant<Uint8Array[]>([])
      : fc.array(options.answer, { minLength: 0, maxLength: 2 }),
    // The small switches from one number: a record of ten arbitraries costs more than the probe.
    knobs: fc.nat(),
    port: ports.length > 0
      ? fc.oneof(fc.constantFrom(...ports), fc.integer({ min: 1, max: 65535 }))
      : fc.integer({ min: 1, max: 65535 }),
  }).map(({ knobs, ...rest }): Script => {
    const bits = mix(knobs);
    return {
      ...rest,
      cuts: Array.from({ length: bits >>> 19 & 3 }, (_, index) => mix(knobs + index + 1)),
      pad: bits & 7,
      closes: (bits >>> 3 & 1) === 1,
      writeFails: (bits >>> 4 & 15) === 0,
      tlsAccepts: (bits >>> 8 & 1) === 1,
      inTls: (bits >>> 9 & 7) === 0,
      abortAfter: (bits >>> 12 & 7) === 0 ? bits >>> 15 & 3 : undefined,
      address: ADDRESSES[bits >>> 17 & 3] as string,
    };
  });
}

/** murmur3's finaliser: fast-check favours small numbers, this spreads them over every bit. */
function mix(value: number): number {
  let hash = (value + 0x9e3779b9) | 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/** An exported parser, fuzzed on its own. */
interface Direct {
  name: string;
  inputs: fc.Arbitrary<unknown>;
  /** Run on one input; throws when the result is malformed; true when it matched. */
  check(input: unknown): boolean;
}

/**
 * `parse` on `inputs`: it must not throw and must return a well-formed match
 * whose fields come from `size(input)` characters of input.
 */
function direct<T>(
  name: string,
  inputs: fc.Arbitrary<T>,
  options: { parse: (input: T) => unknown; size: (input: T) => number; names: readonly string[] },
): Direct {
  return {
    name,
    inputs,
    check(input: unknown): boolean {
      const match = options.parse(input as T);
      assertWellFormed(match, {
        names: options.names,
        seen: options.size(input as T),
        tls: undefined,
        builtInCpe: true,
      });
      return match !== undefined;
    },
  };
}

/** Counts of one probe() run. */
interface Tally {
  matched: number;
  slowestMs: number;
  operations: number;
}

/**
 * Drive `plugin.probe()` over `scripts`: it must settle (a call past
 * {@link CALL_MS} fails), never reject, stay within the operation budget
 * and return a well-formed match.
 */
async function fuzzProbe(
  plugins: readonly ProbePlugin[],
  scripts: fc.Arbitrary<[number, Script]>,
  options: { runs: number; expect: (plugin: ProbePlugin, trace: Trace) => Expect },
): Promise<Tally> {
  const tally: Tally = { matched: 0, slowestMs: 0, operations: 0 };
  // One watchdog for the whole run (a timer per case would double its cost):
  // a call that has not settled after CALL_MS fails the property.
  let started = Infinity;
  let fail: ((error: Error) => void) | undefined;
  const watchdog = setInterval(() => {
    if (performance.now() - started > CALL_MS) {
      fail?.(new Error(`probe() did not settle within ${CALL_MS} ms`));
    }
  }, 500);
  try {
    await fc.assert(
      fc.asyncProperty(scripts, async ([index, script]) => {
        const plugin = plugins[index % plugins.length] as ProbePlugin;
        const udp = !plugin.protocols.includes("tcp");
        const abort = new AbortController();
        const { conn, trace } = fakeConn(script, { udp, abort });
        started = performance.now();
        const match = await new Promise<ServiceMatch | undefined>((resolve, reject) => {
          fail = reject;
          plugin.probe(conn, abort.signal).then(resolve, reject);
        });
        tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
        started = Infinity;
        tally.operations += trace.ops;
        assert.ok(trace.ops <= SOFT_OPS, `${plugin.name}: ${trace.ops} reads and writes`);
        // Passive plugins look at the greeting only (probe_types.ts).
        if (plugin.passive) assert.equal(trace.ops, 0, `passive ${plugin.name} wrote or read`);
        assertWellFormed(match, options.expect(plugin, trace));
        if (match !== undefined) tally.matched++;
      }),
      fuzzBudget(options.runs, SEED),
    );
  } finally {
    clearInterval(watchdog);
  }
  return tally;
}

// ---------------------------------------------------------------------------
// The exported parsers.

/** Bytes of a corpus, as views with a byteOffset (parsers that use DataView must honour it). */
function bytesFor(corpus: Corpus): fc.Arbitrary<Uint8Array> {
  return fc.tuple(payload(corpus, { oversized: false }), fc.nat(7)).map(([input, pad]) =>
    view(input, pad)
  );
}

/** Text of a corpus: its bytes as Latin-1 (what plugins pass), or any string at all. */
function textFor(corpus: Corpus): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: payload(corpus, { oversized: false }).map(latin1) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 64 }) },
  );
}

const anyPort = fc.oneof(fc.constantFrom(21, 25, 110, 143, 465, 587, 993, 995), fc.nat(65535));

function textAndPort(corpus: Corpus): fc.Arbitrary<[string, number]> {
  return fc.tuple(textFor(corpus), anyPort);
}

function corpus(name: string): Corpus {
  const found = CORPUS[name];
  assert.ok(found !== undefined, name);
  return found;
}

function length(input: string | Uint8Array): number {
  return input.length;
}

function firstLength([input]: [string, number]): number {
  return input.length;
}

/** htmlTitle: whitespace collapsed, trimmed at the start, at most FIELD_CHARS. */
const htmlTitleDirect: Direct = {
  name: "htmlTitle",
  inputs: fc.oneof(
    textFor(corpus("http")),
    fc.tuple(text, fc.string({ unit: fc.constantFrom(" ", "\t", "\n", "\u00a0", "\ufeff", "a") }))
      .map(([page, title]) => `${page}<title>${title}</title>`),
  ),
  check(page: unknown): boolean {
    const title = htmlTitle(page as string);
    assert.equal(typeof title, "string");
    assert.ok(title.length <= FIELD_CHARS, `${title.length} chars`);
    assert.ok(!/[^\S ]| {2}|^ /.test(title), JSON.stringify(title));
    return title !== "";
  },
};

/** The exported parsers of each plugin. */
const PARSERS: Record<string, readonly Direct[]> = {
  ssh: [direct("parseSshBanner", textFor(corpus("ssh")), {
    parse: parseSshBanner,
    size: length,
    names: ["ssh"],
  })],
  ftp: [direct("parseFtpGreeting", textAndPort(corpus("ftp")), {
    parse: ([input, port]) => parseFtpGreeting(input, port),
    size: firstLength,
    names: ["ftp"],
  })],
  smtp: [direct("parseSmtpGreeting", textAndPort(corpus("smtp")), {
    parse: ([input, port]) => parseSmtpGreeting(input, port),
    size: firstLength,
    names: ["smtp"],
  })],
  imap: [direct("parseImapGreeting", textAndPort(corpus("imap")), {
    parse: ([input, port]) => parseImapGreeting(input, port),
    size: firstLength,
    names: ["imap"],
  })],
  pop3: [direct("parsePop3Greeting", textAndPort(corpus("pop3")), {
    parse: ([input, port]) => parsePop3Greeting(input, port),
    size: firstLength,
    names: ["pop3"],
  })],
  mysql: [direct("parseMysqlGreeting", bytesFor(corpus("mysql")), {
    parse: parseMysqlGreeting,
    size: length,
    names: ["mysql"],
  })],
  vnc: [direct("parseRfbGreeting", textFor(corpus("vnc")), {
    parse: parseRfbGreeting,
    size: length,
    names: ["vnc"],
  })],
  http: [
    direct("parseHttpAnswer", textFor(corpus("http")), {
      parse: parseHttpAnswer,
      size: length,
      names: ["http"],
    }),
    direct("serverProduct", textFor(corpus("http")), {
      parse: (server) => ({ name: "http", ...serverProduct(server) }),
      size: length,
      names: ["http"],
    }),
    htmlTitleDirect,
  ],
  dns: [
    direct("parseDnsAnswer", bytesFor(corpus("dns")), {
      parse: parseDnsAnswer,
      size: length,
      names: ["domain"],
    }),
    direct("dnsProduct", textFor(corpus("dns")), {
      parse: (version) => ({ name: "domain", ...dnsProduct(version) }),
      size: length,
      names: ["domain"],
    }),
  ],
  "dns-udp": [direct("parseDnsDatagram", bytesFor(corpus("dns-udp")), {
    parse: parseDnsDatagram,
    size: length,
    names: ["domain"],
  })],
  redis: [direct("parseRedis", fc.tuple(textFor(corpus("redis")), textFor(corpus("redis"))), {
    parse: ([pong, info]) => parseRedis(pong, info),
    size: ([pong, info]) => pong.length + info.length,
    names: ["redis"],
  })],
  memcached: [direct("parseMemcachedVersion", textFor(corpus("memcached")), {
    parse: parseMemcachedVersion,
    size: length,
    names: ["memcached"],
  })],
  postgresql: [direct("parsePostgresAnswer", bytesFor(corpus("postgresql")), {
    parse: parsePostgresAnswer,
    size: length,
    names: ["postgresql"],
  })],
  rdp: [direct("parseRdpAnswer", bytesFor(corpus("rdp")), {
    parse: parseRdpAnswer,
    size: length,
    names: ["ms-wbt-server"],
  })],
  snmp: [direct("parseSnmpResponse", bytesFor(corpus("snmp")), {
    parse: parseSnmpResponse,
    size: length,
    names: ["snmp"],
  })],
};

// ---------------------------------------------------------------------------
// probe() of every built-in plugin, then its parsers.

for (const factory of probePlugins) {
  const plugin = factory();
  const parsers = PARSERS[plugin.name] ?? [];
  // A plugin with no parser of its own (tls) gets all its cases through probe().
  const runs = parsers.length > 0 ? PROBE_CASES : CASES;
  Deno.test(`fuzz: probe ${plugin.name} never throws, hangs or returns a malformed match (${fuzzBudget(runs, SEED).numRuns} cases)`, async () => {
    const own = payload(CORPUS[plugin.name] ?? GENERIC, { oversized: true });
    if (CORPUS[plugin.name] === undefined) {
      console.log(
        `fuzz: probe ${plugin.name} has no corpus in probe_fuzz_test.ts; fed the others'`,
      );
    }
    const names = CORPUS[plugin.name]?.names;
    const scripts = scriptOf(plugin, { greeting: own, answer: own }).map((script) =>
      [0, script] as [number, Script]
    );
    const tally = await fuzzProbe([plugin], scripts, {
      runs,
      expect: (_, trace) => ({ names, seen: trace.seen, tls: trace.tls, builtInCpe: true }),
    });
    const matcher = parsers.length === 0
      ? ""
      : `; its matcher ${parsers.map((parser) => parser.name).join(", ")} got ${CASES} below`;
    console.log(
      `fuzz: probe ${plugin.name} ${runs} cases, 0 crashes (${tally.matched} matched, ` +
        `${tally.operations} reads/writes, slowest call ${
          tally.slowestMs.toFixed(1)
        } ms${matcher})`,
    );
  });
  for (const parser of parsers) {
    Deno.test(`fuzz: ${parser.name} never throws or returns a malformed match (${CASES} cases)`, () => {
      let matched = 0;
      fc.assert(
        fc.property(parser.inputs, (input) => {
          if (parser.check(input)) matched++;
        }),
        fuzzBudget(CASES, SEED),
      );
      console.log(`fuzz: ${parser.name} ${CASES} cases, 0 crashes (${matched} matched)`);
    });
  }
}

// ---------------------------------------------------------------------------
// nmap-service-probes: the database reader and the templates need no database.

const nmapLine = fc.oneof(
  fc.tuple(fc.constantFrom("TCP", "UDP", "SCTP"), fc.constantFrom("NULL", "GetRequest", "X"), text)
    .map(([protocol, name, payload]) => `Probe ${protocol} ${name} q|${payload}|`),
  fc.tuple(
    fc.constantFrom("match", "softmatch"),
    fc.constantFrom("http", "ssh", "ssl", "x-y"),
    fc.constantFrom("|", "=", "%", "@"),
    fc.string({
      unit: fc.constantFrom(..."^$()[]{}?*+|\\dswZzAh.:-[:alpha:]ab\\x41\\r\\n0".split("")),
    }),
    fc.constantFrom("", "i", "s", "si", "x"),
    text,
  ).map(([kind, service, delimiter, pattern, flags, fields]) =>
    `${kind} ${service} m${delimiter}${pattern}${delimiter}${flags} ${fields}`
  ),
  fc.tuple(
    fc.constantFrom("rarity ", "ports ", "sslports ", "totalwaitms ", "fallback "),
    fc.oneof(
      text,
      fc.array(fc.integer({ min: -5, max: 70_000 }), { maxLength: 4 }).map((ports) =>
        ports.join(",")
      ),
    ),
  ).map(([key, value]) => `${key}${value}`),
  text,
);

Deno.test(`fuzz: parseNmapServiceProbes never throws on mangled databases (${CASES} cases)`, () => {
  let probes = 0;
  fc.assert(
    fc.property(fc.array(nmapLine, { maxLength: 6 }), (lines) => {
      const db = parseNmapServiceProbes(lines.join("\n"));
      assert.ok(Number.isInteger(db.skipped) && db.skipped >= 0);
      for (const probe of db.probes) {
        probes++;
        assert.ok(probe.rarity >= 1 && probe.rarity <= 9, `rarity ${probe.rarity}`);
        for (const port of [...probe.ports, ...probe.sslPorts]) {
          assert.ok(Number.isInteger(port) && port >= 0 && port <= 65535, `port ${port}`);
        }
        for (const match of probe.matches) {
          assert.ok(match.service !== "" && match.pattern instanceof RegExp);
          assert.ok(/^[is]*$/.test(match.pattern.flags), match.pattern.flags);
        }
      }
    }),
    fuzzBudget(CASES, SEED),
  );
  console.log(`fuzz: parseNmapServiceProbes ${CASES} cases, 0 crashes (${probes} probes read)`);
});

Deno.test(`fuzz: nmap templates and escapes never throw (${CASES} cases)`, () => {
  const template = fc.string({
    unit: fc.oneof(
      fc.constantFrom("$1", "$2", "$9", "$P(1)", '$SUBST(1,"_",".")', '$I(1,">")', '$I(2,"<")'),
      textUnit,
    ),
    maxLength: 12,
  });
  const groups = fc.array(fc.option(text, { nil: undefined }), { maxLength: 4 });
  fc.assert(
    fc.property(template, groups, text, (pattern, found, escaped) => {
      const value = substitute(pattern, found);
      assert.equal(typeof value, "string");
      if (!pattern.includes("$")) assert.equal(value, pattern);
      // Every escape is at least as long as what it stands for.
      assert.ok(unescapeProbe(escaped).length <= escaped.length);
      const regex = pcreToRegExp(escaped, pattern);
      if (regex !== undefined) assert.ok(/^[is]*$/.test(regex.flags), regex.flags);
    }),
    fuzzBudget(CASES, SEED),
  );
  console.log(`fuzz: nmap templates and escapes ${CASES} cases, 0 crashes`);
});

Deno.test("fuzz: nmap patterns that backtrack exponentially are skipped (found by this fuzzer)", () => {
  // From nmap-service-probes. Time doubles with each character of a near
  // miss: "250-AUTH=" and 28 letters take a second, 40 take an hour.
  for (
    const source of [
      String.raw`^HTTP\/1\.0 404 Not Found\r\n(?:[^<]+|<(?!\/head>))*?<style>`,
      String.raw`^Agent Ready v([\w._]+)+\.\.\.`,
      String.raw`^250-AUTH=(?:\w+ ?)+\r\n`,
      String.raw`Patch Info : \[(?:[\w._-]+(?:, )?)+\]`,
    ]
  ) {
    assert.equal(pcreToRegExp(source, ""), undefined, source);
  }
  // A repeat that ends in a delimiter is linear, and kept.
  assert.ok(pcreToRegExp(String.raw`^SIP\/2\.0 200 OK\r\n(?:[^\r\n]+\r\n)*?Server: x`, ""));
  assert.ok(pcreToRegExp(String.raw`^SSH-([\d.]+)-OpenSSH_([\w._-]+)`, ""));
});

// ---------------------------------------------------------------------------
// nmap-service-probes: the installed database, when there is one (never shipped here).

let nmapText: string | undefined;
try {
  nmapText = Deno.readTextFileSync(NMAP_SERVICE_PROBES_PATH);
} catch {
  // Not installed.
}
const NMAP_SKIPPED = `(skipped: ${NMAP_SERVICE_PROBES_PATH} missing; apt-get install nmap)`;

/** What one escape of a pattern stands for in {@link sketch}. */
const ESCAPE_EXAMPLE: Record<string, string> = {
  d: "7",
  D: "x",
  w: "a",
  W: " ",
  s: " ",
  S: "x",
  b: "",
  B: "",
  r: "\r",
  n: "\n",
  t: "\t",
  f: "\f",
  v: "\v",
  "0": "\0",
};

/** The index of the ")" closing the group `at` is in (source.length at the top level). */
function groupEnd(source: string, at: number): number {
  let depth = 0;
  for (let index = at; index < source.length; index++) {
    const char = source[index];
    if (char === "\\") index++;
    else if (char === "[") index = classEnd(source, index);
    else if (char === "(") depth++;
    else if (char === ")" && depth-- === 0) return index;
  }
  return source.length;
}

/** The index of the "]" closing the class opened at `at`. */
function classEnd(source: string, at: number): number {
  let index = at + 1;
  if (source[index] === "^") index++;
  if (source[index] === "]") index++;
  for (; index < source.length; index++) {
    if (source[index] === "\\") index++;
    else if (source[index] === "]") return index;
  }
  return source.length;
}

/** One escape at `at` (just after its backslash): what it stands for and its length. */
function escapeAt(source: string, at: number): [string, number] {
  const code = source[at] ?? "";
  const hex = /^x([0-9a-fA-F]{2})/.exec(source.slice(at));
  if (hex !== null) return [String.fromCharCode(parseInt(hex[1] as string, 16)), 3];
  if (/^[1-9]$/.test(code)) return ["", 1]; // a back reference
  return [ESCAPE_EXAMPLE[code] ?? code, 1];
}

/**
 * A string a pattern may well match, to get the matcher past the start and
 * its templates some groups: one of each atom, the first alternative of each
 * choice, the first member of each class ("^SSH-([\d.]+)-OpenSSH_(\w+)" gives
 * "SSH-7-OpenSSH_a"). Rough on purpose.
 */
function sketch(pattern: RegExp): string {
  const source = pattern.source;
  let out = "";
  let last = "";
  for (let at = 0; at < source.length && out.length < 200; at++) {
    const char = source[at] as string;
    let atom = char;
    if (char === "\\") {
      const [example, size] = escapeAt(source, at + 1);
      atom = example;
      at += size;
    } else if (char === "[") {
      const end = classEnd(source, at);
      const body = source.slice(at + 1, end);
      atom = body.startsWith("^")
        ? "x"
        : body.startsWith("\\")
        ? escapeAt(body, 1)[0]
        : body[0] ?? "";
      at = end;
    } else if (char === "(") {
      // Lookarounds say nothing about the text itself: skip them.
      if (/^\(\?<?[=!]/.test(source.slice(at))) at = groupEnd(source, at + 1);
      else if (source.startsWith("(?:", at)) at += 2;
      continue;
    } else if (char === "|") {
      // Keep the first alternative: skip to the end of the group.
      at = groupEnd(source, at + 1) - 1;
      continue;
    } else if (char === "{") {
      const count = /^\{(\d+)(?:,\d*)?\}/.exec(source.slice(at));
      if (count !== null) {
        out += last.repeat(Math.max(0, Math.min(Number(count[1]), 16) - 1));
        at += count[0].length - 1;
        continue;
      }
    } else if (char === ".") {
      atom = "x";
    } else if ("^$)*+?".includes(char)) {
      // One of each atom is there already, which "*", "+" and "?" all allow.
      continue;
    }
    out += atom;
    last = atom;
  }
  return out;
}

/** One of `sketches`, cut short or not, then random text: an answer near a match. */
function nearMatch(sketches: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(sketches.length - 1), fc.option(fc.nat(), { freq: 2 }), tail).map(
    ([pick, cut, rest]) => {
      const sketched = sketches[pick] as string;
      return `${cut === null ? sketched : sketched.slice(0, cut % (sketched.length + 1))}${
        latin1(rest)
      }`;
    },
  );
}

Deno.test({
  name: nmapText === undefined
    ? `fuzz: nmap matchResponse on the installed database ${NMAP_SKIPPED}`
    : `fuzz: nmap matchResponse on windows of the installed database (${CASES} cases)`,
  ignore: nmapText === undefined,
  fn(): void {
    const db = parseNmapServiceProbes(nmapText as string);
    const all: NmapMatch[] = db.probes.flatMap((probe) => probe.matches);
    const sketches = all.map((match) => sketch(match.pattern));
    // Usually near a match of one of the window's own patterns.
    const input = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          pick: fc.nat(),
          cut: fc.option(fc.nat(), { freq: 2, nil: undefined }),
          rest: tail,
        }),
      },
      { weight: 1, arbitrary: anyNearValid.map((rest) => ({ pick: undefined, cut: 0, rest })) },
      { weight: 1, arbitrary: randomBytes.map((rest) => ({ pick: undefined, cut: 0, rest })) },
    );
    let matched = 0;
    let hard = 0;
    fc.assert(
      fc.property(
        fc.nat(all.length - 1),
        fc.integer({ min: 1, max: 48 }),
        input,
        (first, size, { pick, cut, rest }) => {
          const window = all.slice(first, first + size);
          const sketched = pick === undefined
            ? ""
            : sketches[first + pick % window.length] as string;
          const start = cut === undefined
            ? sketched
            : sketched.slice(0, cut % (sketched.length + 1));
          const answer = `${start}${latin1(rest)}`;
          const match = matchResponse(window, answer);
          assertWellFormed(match, {
            names: undefined,
            seen: undefined,
            tls: undefined,
            builtInCpe: false,
          });
          // The first hard match wins, else the first soft one; ssl is the TLS plugin's.
          const hits = window.filter((entry) =>
            entry.service !== "ssl" && entry.pattern.test(answer)
          );
          const winner = hits.find((entry) => !entry.soft) ?? hits[0];
          assert.equal(match?.name, winner?.service);
          if (match !== undefined) matched++;
          if (winner?.soft === false) hard++;
        },
      ),
      fuzzBudget(CASES, SEED),
    );
    console.log(
      `fuzz: nmap matchResponse ${CASES} cases, 0 crashes (${matched} matched, ${hard} by a ` +
        `hard match; windows of 1-48 of ${all.length} patterns)`,
    );
  },
});

Deno.test({
  name: nmapText === undefined
    ? `fuzz: probe nmap plugins on the installed database ${NMAP_SKIPPED}`
    : `fuzz: probe nmap plugins never throw, hang or return a malformed match (${
      fuzzBudget(NMAP_PROBE_CASES, SEED).numRuns
    } cases each)`,
  ignore: nmapText === undefined,
  async fn(): Promise<void> {
    const plugins = await nmapProbePlugins({ text: nmapText as string, active: true });
    const db = parseNmapServiceProbes(nmapText as string);
    const sketches = db.probes.flatMap((probe) => probe.matches.map((m) => sketch(m.pattern)));
    const near = fc.oneof(
      { weight: 4, arbitrary: nearMatch(sketches).map(bytes) },
      { weight: 2, arbitrary: anyNearValid },
      { weight: 1, arbitrary: randomBytes },
      { weight: 1, arbitrary: fc.constant(EMPTY) },
    );
    const passive = plugins.filter((plugin) => plugin.passive);
    const active = plugins.filter((plugin) => !plugin.passive);
    const expect = (_: ProbePlugin, trace: Trace): Expect => ({
      names: undefined,
      seen: undefined,
      tls: trace.tls,
      builtInCpe: false,
    });
    for (
      const [label, group] of [["nmap-NULL", passive], [
        `nmap active (${active.length} probes)`,
        active,
      ]] as const
    ) {
      const scripts = fc.tuple(
        fc.nat(group.length - 1),
        scriptOf(group[0] as ProbePlugin, { greeting: near, answer: near }),
      );
      const tally = await fuzzProbe(group, scripts, { runs: NMAP_PROBE_CASES, expect });
      console.log(
        `fuzz: probe ${label} ${NMAP_PROBE_CASES} cases, 0 crashes (${tally.matched} matched, ` +
          `slowest call ${tally.slowestMs.toFixed(1)} ms; the matcher got ${CASES} above)`,
      );
    }
  },
});
