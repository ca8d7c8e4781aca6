/**
 * Address forms used on the wire: an IPv4 address is a 32-bit unsigned
 * number, an IPv6 address a 16-byte array, a MAC address a 6-byte array.
 * Conversions to and from the bigint form that `Host.value` holds.
 *
 * @module
 */

/** IPv4 address as an unsigned 32-bit number. */
export type Ipv4Address = number;

/** IPv6 address as 16 bytes in network order. */
export type Ipv6Address = Uint8Array;

/** Either family; a number is IPv4, a byte array IPv6. */
export type IpAddress = Ipv4Address | Ipv6Address;

/** Ethernet address as 6 bytes. */
export type MacAddress = Uint8Array;

/** The Ethernet broadcast address. */
export const BROADCAST_MAC: MacAddress = new Uint8Array([255, 255, 255, 255, 255, 255]);

/** An IPv6 address from its 128-bit value. */
export function ipv6FromBigInt(value: bigint): Ipv6Address {
  if (value < 0n || value >= 1n << 128n) {
    throw new RangeError(`Cannot encode IPv6 address ${value}: value is out of range`);
  }
  const bytes = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/** The 128-bit value of an IPv6 address. */
export function ipv6ToBigInt(bytes: Ipv6Address): bigint {
  if (bytes.length !== 16) {
    throw new RangeError(`Cannot read IPv6 address: length ${bytes.length} is not 16`);
  }
  let value = 0n;
  for (let i = 0; i < 16; i += 4) {
    const word = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) |
      bytes[i + 3]!) >>> 0;
    value = (value << 32n) | BigInt(word);
  }
  return value;
}

/** The wire form of a host address (`family` 4 or 6, value as in `Host.value`). */
export function addressFromHost(host: { family: 4 | 6; value: bigint }): IpAddress {
  return host.family === 4 ? Number(host.value) >>> 0 : ipv6FromBigInt(host.value);
}

/** The bigint value of a wire address, as `Host.value` holds it. */
export function addressToBigInt(address: IpAddress): bigint {
  return typeof address === "number" ? BigInt(address >>> 0) : ipv6ToBigInt(address);
}

/** Whether two wire addresses are the same (of the same family). */
export function addressEquals(a: IpAddress, b: IpAddress): boolean {
  if (typeof a === "number") return typeof b === "number" && (a >>> 0) === (b >>> 0);
  if (typeof b === "number" || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Read a big-endian 32-bit unsigned value. The caller checks bounds. */
export function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) |
    bytes[offset + 3]!) >>> 0;
}

/** Read a big-endian 16-bit value. The caller checks bounds. */
export function readUint16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** Write a big-endian 32-bit value. */
export function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}

/** Write a big-endian 16-bit value. */
export function writeUint16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value;
}

/** Format a MAC address as six lower-case hex pairs joined by colons. */
export function formatMac(mac: MacAddress): string {
  let text = "";
  for (let i = 0; i < mac.length; i++) {
    if (i > 0) text += ":";
    text += mac[i]!.toString(16).padStart(2, "0");
  }
  return text;
}

/** Parse "aa:bb:cc:dd:ee:ff" (or with dashes) into 6 bytes. */
export function parseMac(text: string): MacAddress {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((part) => !/^[0-9a-fA-F]{1,2}$/.test(part))) {
    throw new SyntaxError(`Cannot parse MAC address "${text}": expected six hex pairs`);
  }
  return new Uint8Array(parts.map((part) => parseInt(part, 16)));
}
