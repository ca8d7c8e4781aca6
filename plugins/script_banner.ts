/**
 * Script `banner`: what a service sends unasked once connected, as nmap's
 * banner script shows it (line breaks and other bytes outside printable
 * ASCII as `\xHH`).
 *
 * @module
 */

import type { ScriptPlugin } from "../src/plugin/mod.ts";

/** Bytes kept of a banner. */
const BANNER_BYTES = 2048;

/** A greeting as one line: printable ASCII kept, trailing line breaks dropped, the rest `\xHH`. */
export function bannerLine(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  let text = "";
  for (const byte of bytes.subarray(0, end)) {
    text += byte >= 0x20 && byte < 0x7f
      ? String.fromCharCode(byte)
      : `\\x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return text;
}

/** The `banner` script: every open TCP port; nothing for a service that waits to be spoken to. */
export function bannerScript(): ScriptPlugin {
  return {
    name: "banner",
    description: "What the service sends unasked on connect",
    categories: ["discovery", "safe"],
    ports: [],
    services: [],
    allPorts: true,
    async run(conn): Promise<string | undefined> {
      const bytes = await conn.read({ maxBytes: BANNER_BYTES, timeoutMs: 5000, idleMs: 500 });
      const line = bannerLine(bytes);
      return line === "" ? undefined : line;
    },
  };
}
