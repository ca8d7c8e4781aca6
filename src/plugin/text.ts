/**
 * Small helpers for probe plugins: decoding what a service sent, building
 * CPE names, capping untrusted text.
 *
 * @module
 */

/** Longest banner kept on a port, in characters. */
export const BANNER_CHARS = 2048;
/** Longest product, version, extra info or host name kept, in characters. */
export const FIELD_CHARS = 256;

/**
 * Bytes as Latin-1: one character per byte, so nothing is lost and regular
 * expressions see the raw protocol.
 *
 * @example
 * ```ts
 * import { latin1 } from "./text.ts";
 * latin1(new Uint8Array([0x53, 0x53, 0x48, 0xff])); // "SSH\xff"
 * ```
 */
export function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/** `a` then `b` in one array (`b` itself when `a` is empty: no copy). */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Text as Latin-1 bytes (characters above U+00FF become "?"). */
export function latin1Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    bytes[i] = code > 0xff ? 0x3f : code;
  }
  return bytes;
}

/** Cut `text` to at most `max` characters. */
export function clip(text: string, max: number = FIELD_CHARS): string {
  return text.length > max ? text.slice(0, max) : text;
}

/**
 * A banner as stored on a port: decoded as UTF-8 (invalid bytes become
 * U+FFFD), trailing line breaks dropped, cut to {@link BANNER_CHARS}. Control
 * characters stay: every output escapes them its own way.
 */
export function bannerText(bytes: Uint8Array, max: number = BANNER_CHARS): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(
    bytes.subarray(0, Math.max(0, max * 4)),
  );
  return clip(text.replace(/[\r\n]+$/, ""), max);
}

/** The first line of `text`, without its line break. */
export function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

/**
 * A CPE 2.2 name; the version is appended when known. Characters outside
 * CPE's set are dropped from the version.
 *
 * @example
 * ```ts
 * import { cpe } from "./text.ts";
 * cpe("a:openbsd:openssh", "9.2p1"); // "cpe:/a:openbsd:openssh:9.2p1"
 * cpe("a:igor_sysoev:nginx"); // "cpe:/a:igor_sysoev:nginx"
 * ```
 */
export function cpe(part: string, version?: string): string {
  const clean = (version ?? "").toLowerCase().replace(/[^a-z0-9._~+-]/g, "");
  return clean === "" ? `cpe:/${part}` : `cpe:/${part}:${clean}`;
}
