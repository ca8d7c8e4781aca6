/**
 * What the raw engine needs to know about the local network: whether raw
 * sockets can be opened at all, which source address the kernel would use
 * towards a target, and whether a target sits on a directly attached
 * Ethernet link (for ARP and neighbour discovery).
 *
 * @module
 */

import type { IpAddress, MacAddress } from "../../packet/mod.ts";
import { ipv6ToBigInt } from "../../packet/address.ts";
import { formatIpv6 } from "../../targets/ip.ts";
import { allocateArena, openRawLibc, RawConst, type RawLibc } from "./libc.ts";

/** Whether this process can run raw scans, and why not. */
export type RawAvailability = { ok: true } | { ok: false; why: string };

/**
 * Can this process open raw sockets: FFI allowed, and `socket(AF_INET,
 * SOCK_RAW)` and `socket(AF_PACKET, SOCK_RAW)` succeed (root or CAP_NET_RAW).
 */
export function rawAvailable(): RawAvailability {
  if (Deno.build.os !== "linux") {
    return { ok: false, why: `raw scans need Linux, not ${Deno.build.os}` };
  }
  const libc = openRawLibc();
  if (libc === undefined) {
    return { ok: false, why: "raw scans need FFI: run with --allow-ffi" };
  }
  try {
    for (
      const [family, type, protocol, name] of [
        [RawConst.AF_INET, RawConst.SOCK_RAW, RawConst.IPPROTO_RAW, "AF_INET"],
        [RawConst.AF_PACKET, RawConst.SOCK_RAW, 0, "AF_PACKET"],
      ] as const
    ) {
      const fd = libc.symbols.socket(family, type | RawConst.SOCK_CLOEXEC, protocol);
      if (fd < 0) {
        const errno = libc.errno();
        return {
          ok: false,
          why:
            `raw scans need root or CAP_NET_RAW: socket(${name}, SOCK_RAW) failed (errno ${errno})`,
        };
      }
      libc.symbols.close(fd);
    }
    return { ok: true };
  } finally {
    libc.close();
  }
}

/** Write a sockaddr for `address` (IPv4 number or 16-byte IPv6) into `bytes`; returns its length. */
export function writeRawSockaddr(bytes: Uint8Array, address: IpAddress, port = 0): number {
  // Byte by byte: this runs once per probe, and a DataView per call costs more than the rest.
  bytes.fill(0, 0, 28);
  const family = typeof address === "number" ? RawConst.AF_INET : RawConst.AF_INET6;
  bytes[0] = family & 0xff; // sa_family is host order (little-endian here)
  bytes[1] = family >>> 8;
  bytes[2] = (port >>> 8) & 0xff;
  bytes[3] = port & 0xff;
  if (typeof address === "number") {
    bytes[4] = address >>> 24;
    bytes[5] = (address >>> 16) & 0xff;
    bytes[6] = (address >>> 8) & 0xff;
    bytes[7] = address & 0xff;
    return 16;
  }
  bytes.set(address, 8);
  return 28;
}

/**
 * The source address the kernel picks towards `dst`: connect() a UDP
 * socket, which sends nothing, and read its name.
 *
 * @throws {Error} when there is no route to `dst`.
 */
export function sourceAddressFor(libc: RawLibc, dst: IpAddress): IpAddress {
  const v4 = typeof dst === "number";
  const fd = libc.symbols.socket(
    v4 ? RawConst.AF_INET : RawConst.AF_INET6,
    RawConst.SOCK_DGRAM | RawConst.SOCK_CLOEXEC,
    0,
  );
  if (fd < 0) throw new Error(`Cannot open a UDP socket (errno ${libc.errno()})`);
  try {
    const arena = allocateArena(64);
    const address = arena.bytes.subarray(0, 28);
    const length = writeRawSockaddr(address, dst, 9);
    if (libc.symbols.connect(fd, address, length) !== 0) {
      throw new Error(`Cannot find a route to ${formatAddress(dst)} (errno ${libc.errno()})`);
    }
    const name = arena.bytes.subarray(32, 60);
    const nameLength = arena.bytes.subarray(60, 64);
    arena.view.setUint32(60, 28, true);
    if (libc.symbols.getsockname(fd, name, nameLength) !== 0) {
      throw new Error(`Cannot read the source address (errno ${libc.errno()})`);
    }
    if (v4) return arena.view.getUint32(36, false);
    return name.slice(8, 24);
  } finally {
    libc.symbols.close(fd);
  }
}

/** Text form of a wire address, for messages. */
export function formatAddress(address: IpAddress): string {
  if (typeof address === "number") {
    return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join(".");
  }
  return formatIpv6(ipv6ToBigInt(address));
}

/** A directly attached Ethernet link. */
export interface LocalLink {
  name: string;
  index: number;
  mac: MacAddress;
}
