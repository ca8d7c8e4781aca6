/**
 * Reference packets built by an independent implementation (scapy 2.5.0,
 * Debian's python3-scapy), to cross-check our builders byte for byte.
 * Addresses: 198.51.100.1 → 203.0.113.5 and 2001:db8::1 → 2001:db8::5.
 *
 * Generated with, e.g.:
 * `bytes(IP(src=s4,dst=d4,ttl=64,id=0x1234,flags=0)/TCP(sport=40000,dport=443,
 * seq=0x12345678,flags='S',window=1024,options=[('MSS',1460)])).hex()`
 *
 * @module
 */

/** Bytes of a hex string. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const SRC4 = 0xc6336401; // 198.51.100.1
export const DST4 = 0xcb007105; // 203.0.113.5
export const SRC6: Uint8Array = fromHex("20010db8000000000000000000000001");
export const DST6: Uint8Array = fromHex("20010db8000000000000000000000005");
export const MAC1: Uint8Array = fromHex("020000000001");

/** SYN 40000 → 443, seq 0x12345678, window 1024, MSS 1460, TTL 64, IP id 0x1234. */
export const SYN4 =
  "4500002c123400004006025ec6336401cb0071059c4001bb12345678000000006002040027440000020405b4";
/** The same SYN over IPv6, hop limit 64. */
export const SYN6 =
  "600000000018064020010db800000000000000000000000120010db8000000000000000000000005" +
  "9c4001bb12345678000000006002040032070000020405b4";
/** ACK 33000 → 80, ack 0xcafebabe, window 1024, TTL 52, IP id 7. */
export const ACK4 =
  "45000028000700003406208fc6336401cb00710580e8005000000000cafebabe501004003ea40000";
/** RST 40000 → 443, seq 0x12345679, window 0. */
export const RST4 =
  "450000280000000040061496c6336401cb0071059c4001bb12345679000000005004000042fd0000";
/** UDP 50000 → 53 with payload 00 01 "hello". */
export const UDP4 = "450000230000000040111490c6336401cb007105c3500035000f923c000168656c6c6f";
export const UDP6 =
  "60000000000f114020010db800000000000000000000000120010db8000000000000000000000005" +
  "c3500035000f9cff000168656c6c6f";
/** UDP 50000 → 53 with payload d6 19, whose checksum computes to 0 and is sent as ffff. */
export const UDP4_ZERO_SUM = "4500001e0000000040111495c6336401cb007105c3500035000affffd619";
/** ICMP echo request id 0xbeef seq 7 payload "ping". */
export const ECHO4 = "4500002000000000400114a3c6336401cb00710508005a38beef000770696e67";
export const ECHO6 =
  "60000000000c3a4020010db800000000000000000000000120010db8000000000000000000000005" +
  "80008679beef000770696e67";
/** Neighbour solicitation for 2001:db8::5 from 2001:db8::1 / 02:00:00:00:00:01, as a frame. */
export const NS = "3333ff00000502000000000186dd6000000000203aff20010db8000000000000000000000001" +
  "ff0200000000000000000001ff00000587001c210000000020010db8000000000000000000000005" +
  "0101020000000001";
/** ARP who-has 198.51.100.7 tell 198.51.100.1 (02:00:00:00:00:01), broadcast. */
export const ARP =
  "ffffffffffff02000000000108060001080006040001020000000001c6336401000000000000c6336407";
