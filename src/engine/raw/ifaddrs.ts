/**
 * Which directly attached Ethernet link a target sits on, answered through
 * libc `getifaddrs` over FFI. Unlike reading /proc/net/route and
 * /sys/class/net, this needs only `--allow-ffi`: Deno refuses /proc and
 * /sys reads to anything short of `--allow-all`.
 *
 * The answer comes from interface addresses and their prefixes, not from
 * the routing table: a target inside a subnet assigned to an up, non-
 * loopback Ethernet interface counts as on that link.
 *
 * @module
 */

import type { IpAddress, MacAddress } from "../../packet/mod.ts";
import { dlopenLibc } from "../libc.ts";
import type { LocalLink } from "./net.ts";

const SYMBOLS = {
  getifaddrs: { parameters: ["buffer"], result: "i32" },
  freeifaddrs: { parameters: ["pointer"], result: "void" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;
const ARPHRD_ETHER = 1;
const IFF_UP = 0x1;

/** `struct ifaddrs` on LP64 Linux (x86_64 and aarch64): pointers are 8 bytes, flags 4 then padding. */
const IFA_NEXT = 0;
const IFA_NAME = 8;
const IFA_FLAGS = 16;
const IFA_ADDR = 24;
const IFA_NETMASK = 32;

/** `struct sockaddr_ll`: family 0, protocol 2, ifindex 4, hatype 8, pkttype 10, halen 11, addr 12. */
const SLL_IFINDEX = 4;
const SLL_HATYPE = 8;
const SLL_HALEN = 11;
const SLL_ADDR = 12;

/** Guard against a corrupt (cyclic) list: far more entries than any host has. */
const MAX_ENTRIES = 100_000;

/** One IP address assigned to an up Ethernet interface, with that interface's identity. */
export interface LinkAddress extends LocalLink {
  family: 4 | 6;
  /** IPv4 as an unsigned number (198.51.100.1 is 0xc6336401), IPv6 as 16 bytes. */
  address: IpAddress;
  prefixLength: number;
}

interface PacketEntry {
  index: number;
  mac: MacAddress;
}

interface AddressEntry {
  name: string;
  family: 4 | 6;
  address: IpAddress;
  prefixLength: number;
}

/**
 * Every IPv4 and IPv6 address on up, non-loopback Ethernet interfaces,
 * from one `getifaddrs` call, in the order libc lists them.
 *
 * @throws {Error} when FFI is not allowed or `getifaddrs` fails.
 */
export function listEthernetLinks(): LinkAddress[] {
  return readInterfaces().links;
}

/**
 * Every IPv4 and IPv6 address on up interfaces, loopback included: the
 * addresses replies to our probes may be sent to.
 *
 * @throws {Error} when FFI is not allowed or `getifaddrs` fails.
 */
export function listLocalAddresses(): IpAddress[] {
  return readInterfaces().addresses.map((entry) => entry.address);
}

function readInterfaces(): { links: LinkAddress[]; addresses: AddressEntry[] } {
  const libc = dlopenLibc(SYMBOLS);
  if (libc === undefined) throw new Error("Cannot list interfaces: FFI is not allowed");
  try {
    const head = new BigUint64Array(1);
    if (libc.symbols.getifaddrs(head) !== 0) {
      throw new Error(`Cannot list interfaces: getifaddrs failed (errno ${libc.errno()})`);
    }
    const first = Deno.UnsafePointer.create(head[0]!);
    try {
      return walk(first);
    } finally {
      libc.symbols.freeifaddrs(first);
    }
  } finally {
    libc.close();
  }
}

function walk(first: Deno.PointerValue): { links: LinkAddress[]; addresses: AddressEntry[] } {
  const packets = new Map<string, PacketEntry>();
  const addresses: AddressEntry[] = [];
  let count = 0;
  for (let entry = first; entry !== null;) {
    if (++count > MAX_ENTRIES) throw new Error("Cannot list interfaces: getifaddrs list too long");
    const view = new Deno.UnsafePointerView(entry);
    const namePointer = view.getPointer(IFA_NAME);
    const addrPointer = view.getPointer(IFA_ADDR);
    const flags = view.getUint32(IFA_FLAGS);
    entry = view.getPointer(IFA_NEXT);
    if (namePointer === null || addrPointer === null) continue;
    // Loopback has no Ethernet entry, so its addresses never make a link.
    if ((flags & IFF_UP) === 0) continue;
    const name = Deno.UnsafePointerView.getCString(namePointer);
    const addr = new Deno.UnsafePointerView(addrPointer);
    const family = addr.getUint16(0);
    if (family === AF_PACKET) {
      if (addr.getUint16(SLL_HATYPE) !== ARPHRD_ETHER || addr.getUint8(SLL_HALEN) !== 6) continue;
      const mac = new Uint8Array(6);
      addr.copyInto(mac, SLL_ADDR);
      packets.set(name, { index: addr.getInt32(SLL_IFINDEX), mac });
    } else if (family === AF_INET || family === AF_INET6) {
      const v4 = family === AF_INET;
      const bytes = readInAddress(addr, v4);
      const maskPointer = view.getPointer(IFA_NETMASK);
      const prefixLength = maskPointer === null
        ? bytes.length * 8
        : maskLength(readInAddress(new Deno.UnsafePointerView(maskPointer), v4));
      // IPv4 alias labels read "eth0:1"; device names cannot hold ':'.
      addresses.push({
        name: v4 ? name.split(":")[0]! : name,
        family: v4 ? 4 : 6,
        address: v4 ? bytesToIpv4(bytes) : bytes,
        prefixLength,
      });
    }
  }
  const links: LinkAddress[] = [];
  for (const entry of addresses) {
    const packet = packets.get(entry.name);
    if (packet === undefined) continue; // not Ethernet, or down
    links.push({ ...entry, index: packet.index, mac: packet.mac.slice() });
  }
  return { links, addresses };
}

/** The address bytes of a sockaddr_in (offset 4) or sockaddr_in6 (offset 8). */
function readInAddress(view: Deno.UnsafePointerView, v4: boolean): Uint8Array {
  const bytes = new Uint8Array(v4 ? 4 : 16);
  view.copyInto(bytes, v4 ? 4 : 8);
  return bytes;
}

function bytesToIpv4(bytes: Uint8Array): number {
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/** Leading one bits of a netmask. */
function maskLength(mask: Uint8Array): number {
  let length = 0;
  for (const byte of mask) {
    if (byte === 0xff) {
      length += 8;
      continue;
    }
    for (let bit = 0x80; (byte & bit) !== 0; bit >>= 1) length++;
    break;
  }
  return length;
}

/** Whether the first `prefixLength` bits of `a` and `b` agree. */
function samePrefix(a: Uint8Array, b: Uint8Array, prefixLength: number): boolean {
  const whole = prefixLength >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefixLength & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & mask) === 0;
}

function contains(link: LinkAddress, dst: IpAddress): boolean {
  if (typeof dst === "number") {
    if (typeof link.address !== "number") return false;
    const length = Math.min(Math.max(link.prefixLength, 0), 32);
    if (length === 0) return true;
    const mask = (0xffffffff << (32 - length)) >>> 0;
    return ((dst & mask) >>> 0) === ((link.address & mask) >>> 0);
  }
  if (typeof link.address === "number" || dst.length !== 16 || link.address.length !== 16) {
    return false;
  }
  return samePrefix(dst, link.address, Math.min(Math.max(link.prefixLength, 0), 128));
}

/**
 * The link whose subnet holds `dst`, the longest prefix winning; undefined
 * when none does, or when equally long prefixes on different interfaces
 * tie (IPv6 link-local is the usual case: without a scope it is ambiguous).
 * Pure, for testing.
 */
export function localLinkVia(
  dst: IpAddress,
  links: readonly LinkAddress[],
): LocalLink | undefined {
  let best: LinkAddress | undefined;
  let tied = false;
  for (const link of links) {
    if (!contains(link, dst)) continue;
    if (best === undefined || link.prefixLength > best.prefixLength) {
      best = link;
      tied = false;
    } else if (link.prefixLength === best.prefixLength && link.index !== best.index) {
      tied = true;
    }
  }
  if (best === undefined || tied) return undefined;
  return { name: best.name, index: best.index, mac: best.mac.slice() };
}

/**
 * The Ethernet link `dst` is directly attached to, from `getifaddrs`;
 * undefined when it is on none, or when FFI is not allowed or the call
 * fails. Never throws.
 */
export function localLinkForFfi(dst: IpAddress): LocalLink | undefined {
  try {
    return localLinkVia(dst, listEthernetLinks());
  } catch {
    return undefined;
  }
}
