/**
 * VNC: the RFB protocol version a VNC server sends first ("RFB 003.008\n",
 * RFC 6143 §7.1.1).
 *
 * @module
 */

import { latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse an RFB greeting.
 *
 * @example
 * ```ts
 * import { parseRfbGreeting } from "./probe_vnc.ts";
 * parseRfbGreeting("RFB 003.008\n")?.extraInfo; // "protocol 3.8"
 * ```
 */
export function parseRfbGreeting(text: string): ServiceMatch | undefined {
  const found = /^RFB (\d{3})\.(\d{3})\n/.exec(text);
  if (found === null) return undefined;
  const major = Number(found[1]);
  const minor = Number(found[2]);
  // Apple Remote Desktop announces 3.889.
  if (major === 3 && minor === 889) {
    return { name: "vnc", product: "Apple remote desktop vnc", ostype: "Mac OS X" };
  }
  return { name: "vnc", product: "VNC", extraInfo: `protocol ${major}.${minor}` };
}

/** The VNC probe plugin (passive: VNC servers speak first). */
export function vncProbe(): ProbePlugin {
  return {
    name: "vnc",
    description: "VNC: RFB protocol version",
    protocols: ["tcp"],
    ports: [5900, 5901, 5902, 5903, 5800],
    rarity: 1,
    passive: true,
    probe(conn): Promise<ServiceMatch | undefined> {
      return Promise.resolve(parseRfbGreeting(latin1(conn.greeting)));
    },
  };
}
