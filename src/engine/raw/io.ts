/**
 * The raw engine's I/O: raw sockets that send probes in `sendmmsg` batches
 * (IPv4 with our own IP header; IPv6 as bare TCP/UDP/ICMPv6 with our
 * checksum from a socket bound to our source address; ARP and neighbour
 * solicitations as Ethernet frames), and the receive Worker.
 *
 * @module
 */

import {
  addressFromHost,
  BROADCAST_MAC,
  buildScanFilter,
  type CookieOptions,
  DEFAULT_PORT_RANGE,
  echoIdentity,
  encodeBpfProgram,
  ETHERNET_HEADER_LENGTH,
  EtherType,
  ICMP_HEADER_LENGTH,
  IcmpType,
  Icmpv6Type,
  type IpAddress,
  IpProtocol,
  ipv6MulticastMac,
  type MacAddress,
  mssOption,
  probeIdentity,
  solicitedNodeAddress,
  TcpFlag,
  writeEthernetHeader,
  writeIcmpMessage,
  writeIpHeader,
  writeTcpSegment,
  writeUdpDatagram,
  writeUdpPacket,
} from "../../packet/mod.ts";
import type { Host } from "../../targets/types.ts";
import { openRawLibc, RawConst, RawErrno, type RawLibc, setIntOption } from "./libc.ts";
import { type LocalLink, writeRawSockaddr } from "./net.ts";
import type { Route, RouteCache } from "./route.ts";
import type { Probe } from "../transport.ts";
import { type Tcp4ProbeFields, Tcp4ProbeWriter } from "./probe.ts";
import { BatchSender } from "./sender.ts";
import { type SendOffload, startSendOffload } from "./send_offload.ts";
import { type DiscoveryProbe, type ReceiverConfig, type ReplyRecord, ReplyRing } from "./types.ts";
import { udpPayload } from "./udp_payloads.ts";

/** Out of kernel memory: transient, like ENOBUFS. */
const ENOMEM = 12;

/** Options of {@link openRawIo}. */
export interface RawIoOptions {
  /** What the probes are. */
  mode: "syn" | "udp" | "discovery";
  /** The plan's ports (syn, udp). */
  ports: readonly number[];
  /**
   * Discovery probes (-PE, -PS, -PA, -PR); when omitted, per target as nmap
   * does: ARP / neighbour solicitation on a local Ethernet link, else ICMP
   * echo, SYN to 443 and ACK to 80.
   */
  discovery?: DiscoveryProbe[];
  /** The route (source address, link) of each target. */
  routes: RouteCache;
  /** Every address of ours replies may come to (the receive filter's). */
  localAddresses: IpAddress[];
  key: Uint8Array;
  /** Tries a probe may have (source-port slots). */
  attempts: number;
}

/**
 * Raw packets on real sockets: a transport whose answers are the receive
 * worker's validated replies, still keyed by address and port (the engine
 * maps them to units). {@link RawIoHandle.close} releases everything.
 */
export interface RawIoHandle {
  /** Queue the packets of one try; false when its target has no route (nothing is sent). */
  send(probe: Probe): boolean;
  /** Send what is queued; returns the slots of tries the kernel refused. */
  flush(): number[];
  /** Replies received since the last call. */
  receive(): ReplyRecord[];
  /** Resolve after `ms`, or sooner when replies arrive. */
  wait(ms: number): Promise<void>;
  /** The receive socket's counters so far. */
  receiverStats(): { packets: number; drops: number };
  /** Every reply that arrived before this time has been received. */
  caughtUp(): number;
  /** Milliseconds since the epoch, on the clock of {@link ReplyRecord.at}. */
  now(): number;
  close(): Promise<void>;
}

const SEND_BUFFER = 4 * 1024 * 1024;

function openSocket(libc: RawLibc, family: number, protocol: number, what: string): number {
  const fd = libc.symbols.socket(family, RawConst.SOCK_RAW | RawConst.SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    throw new Error(
      `Cannot open ${what} raw socket (errno ${libc.errno()}): raw scans need root or CAP_NET_RAW`,
    );
  }
  if (setIntOption(libc, fd, RawConst.SOL_SOCKET, RawConst.SO_SNDBUFFORCE, SEND_BUFFER) !== 0) {
    setIntOption(libc, fd, RawConst.SOL_SOCKET, RawConst.SO_SNDBUF, SEND_BUFFER);
  }
  return fd;
}

function writeLinkSockaddr(
  name: Uint8Array,
  link: LocalLink,
  etherType: number,
  mac: MacAddress,
): number {
  const view = new DataView(name.buffer, name.byteOffset, name.byteLength);
  name.fill(0, 0, 20);
  view.setUint16(0, RawConst.AF_PACKET, true);
  view.setUint16(2, etherType, false);
  view.setInt32(4, link.index, true);
  name[11] = 6;
  name.set(mac, 12);
  return 20;
}

/** nmap's default discovery probes for a target on a local link or not. */
export function defaultDiscoveryProbes(onLink: boolean): DiscoveryProbe[] {
  return onLink
    ? [{ kind: "arp" }]
    : [{ kind: "echo" }, { kind: "syn", port: 443 }, { kind: "ack", port: 80 }];
}

/** An ARP who-has for `dst` from `src` on `link`, as an Ethernet frame; its length. */
function writeArpRequest(frame: Uint8Array, link: LocalLink, src: number, dst: number): number {
  writeEthernetHeader(frame, { dst: BROADCAST_MAC, src: link.mac, etherType: EtherType.Arp });
  const at = ETHERNET_HEADER_LENGTH;
  frame.set([0, 1, 8, 0, 6, 4, 0, 1], at);
  frame.set(link.mac, at + 8);
  const view = new DataView(frame.buffer, frame.byteOffset);
  view.setUint32(at + 14, src, false);
  frame.fill(0, at + 18, at + 24);
  view.setUint32(at + 24, dst, false);
  return at + 28;
}

/** A neighbour solicitation for `dst` to its solicited-node group; its length and the group's MAC. */
function writeSolicitation(
  frame: Uint8Array,
  link: LocalLink,
  src: Uint8Array,
  dst: Uint8Array,
): { length: number; mac: MacAddress } {
  const group = solicitedNodeAddress(dst);
  const mac = ipv6MulticastMac(group);
  writeEthernetHeader(frame, { dst: mac, src: link.mac, etherType: EtherType.Ipv6 });
  const body = new Uint8Array(24);
  body.set(dst, 0);
  body[16] = 1;
  body[17] = 1;
  body.set(link.mac, 18);
  const message = { src, dst: group, type: Icmpv6Type.NeighborSolicitation, body };
  const ip = writeIpHeader(frame, {
    src,
    dst: group,
    protocol: IpProtocol.Icmpv6,
    payloadLength: ICMP_HEADER_LENGTH + body.length,
    ttl: 255,
  }, ETHERNET_HEADER_LENGTH);
  const length = writeIcmpMessage(frame, message, ETHERNET_HEADER_LENGTH + ip);
  return { length: ETHERNET_HEADER_LENGTH + ip + length, mac };
}

/**
 * Start the receive worker on `ring`: its BPF filter takes the scan's
 * replies to our addresses. `ready` settles once it reads; a failure after
 * that is handed to `onError`.
 */
function startReceiver(
  options: RawIoOptions,
  ring: ReplyRing,
  onError: (message: string) => void,
): { worker: Worker; ready: Promise<void> } {
  const addresses = options.localAddresses;
  const filter = encodeBpfProgram(buildScanFilter({
    linkType: "ethernet",
    ports: DEFAULT_PORT_RANGE,
    addresses,
    tcp: options.mode !== "udp",
    udp: options.mode === "udp",
    icmp: true,
    arp: options.mode === "discovery",
    snapLength: 2048,
  }));
  const config: ReceiverConfig = {
    key: options.key,
    ports: DEFAULT_PORT_RANGE,
    attempts: options.attempts,
    filter,
    addresses,
    shared: ring.shared,
    // Short: the scanner judges silence only up to the worker's last read.
    pollMs: 5,
  };
  const worker = new Worker(new URL("./receiver.ts", import.meta.url).href, { type: "module" });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("The receive worker did not start in 10 s")),
      10_000,
    );
    worker.onmessage = (event: MessageEvent<{ type: string; message?: string }>): void => {
      const data = event.data;
      if (data.type === "ready") {
        clearTimeout(timer);
        resolve();
      } else if (data.type === "error") {
        clearTimeout(timer);
        const message = data.message ?? "unknown error";
        onError(message);
        reject(new Error(`Cannot start the receiver: ${message}`));
      }
    };
    worker.onerror = (event: ErrorEvent): void => {
      event.preventDefault();
      clearTimeout(timer);
      onError(event.message);
      reject(new Error(`Cannot start the receiver: ${event.message}`));
    };
  });
  worker.postMessage({ type: "start", config });
  return { worker, ready };
}

/** Which raw socket a packet leaves by. */
type SenderKind = "ip4" | "tcp6" | "udp6" | "icmp6" | "link4" | "link6";

/**
 * Bytes a probe may take in a send arena: the largest is a UDP probe with its
 * payload (188 bytes, udp_payloads.ts) behind an IPv4 header; a larger one
 * would fail to be written, not overflow. Small slots keep the arenas small
 * enough to have sixteen of each.
 */
const PACKET_SLOT = 512;

/** The raw sockets of a scan, opened as first needed, each with its batch sender. */
class SenderPool {
  readonly fds: number[] = [];
  #libc: RawLibc;
  #senders = new Map<SenderKind, BatchSender>();
  #failed: number[] = [];
  #offload: SendOffload;

  constructor(libc: RawLibc) {
    this.#libc = libc;
    // Batches go out from a sender worker once it has started (inline before).
    this.#offload = startSendOffload((refusal) => {
      for (const send of this.#senders.values()) {
        if (send.refused(refusal.arena, refusal.index, refusal.errno)) break;
      }
    });
  }

  /** The sender of `kind`, opening its socket the first time. */
  sender(kind: SenderKind): BatchSender {
    let found = this.#senders.get(kind);
    if (found !== undefined) return found;
    const libc = this.#libc;
    let fd: number;
    switch (kind) {
      case "ip4":
        fd = openSocket(libc, RawConst.AF_INET, RawConst.IPPROTO_RAW, "IPv4");
        break;
      case "link4":
      case "link6":
        fd = openSocket(libc, RawConst.AF_PACKET, 0, "AF_PACKET");
        break;
      default: {
        const protocol = kind === "tcp6"
          ? RawConst.IPPROTO_TCP
          : kind === "udp6"
          ? RawConst.IPPROTO_UDP
          : RawConst.IPPROTO_ICMPV6;
        // Unbound: the kernel picks the source its route gives, the one the
        // route cache asked it for and our checksums use.
        fd = openSocket(libc, RawConst.AF_INET6, protocol, "IPv6");
      }
    }
    this.fds.push(fd);
    found = new BatchSender(libc, fd, { slotSize: PACKET_SLOT, offload: this.#offload });
    this.#senders.set(kind, found);
    return found;
  }

  /** The sender of `kind`, with room for one more packet. */
  take(kind: SenderKind): BatchSender {
    const send = this.sender(kind);
    if (send.full) this.#queueFailures(send.flush());
    return send;
  }

  /** Send everything queued; the tags of tries refused for want of room. */
  flush(): number[] {
    for (const send of this.#senders.values()) this.#queueFailures(send.flush());
    return this.#failed.splice(0);
  }

  /** Every batch handed to the sender worker goes out (before the sockets close). */
  drained(): Promise<void> {
    return this.#offload.close();
  }

  /**
   * Only a full queue (ENOBUFS, EAGAIN, ENOMEM) is worth sending again at
   * no cost; a refusal that will not change (no route, not permitted) is
   * left as a probe lost on the way, so its tries run out and it ends silent
   * instead of being resent for ever.
   */
  #queueFailures(result: { failed: { tag: number; errno: number }[] }): void {
    for (const { tag, errno } of result.failed) {
      if (errno === RawErrno.ENOBUFS || errno === RawErrno.EAGAIN || errno === ENOMEM) {
        this.#failed.push(tag);
      }
    }
  }
}

/**
 * The packets of one try, written straight into a sender's batch: every
 * probe's fields are set on objects made once (a packet allocates nothing
 * of its own), IPv4 SYNs and ACKs from per-source templates.
 */
class ProbePackets {
  #key: Uint8Array;
  #pool: SenderPool;
  #cookie: CookieOptions;
  #cookies: CookieOptions[];
  #mss = mssOption();
  #noOptions = new Uint8Array(0);
  #target = { src: 0 as IpAddress, dst: 0 as IpAddress, dstPort: 0, protocol: 0 };
  #tcp = {
    src: 0 as IpAddress,
    dst: 0 as IpAddress,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    options: new Uint8Array(0) as Uint8Array,
    id: 0,
  };
  #probe4: Tcp4ProbeFields = { dst: 0, srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, id: 0 };
  #synWriters = new Map<number, Tcp4ProbeWriter>();
  #ackWriters = new Map<number, Tcp4ProbeWriter>();

  constructor(key: Uint8Array, options: { attempts: number; pool: SenderPool }) {
    this.#key = key;
    this.#pool = options.pool;
    this.#cookie = { ports: DEFAULT_PORT_RANGE, attempts: options.attempts };
    this.#cookies = Array.from(
      { length: options.attempts },
      (_, attempt) => ({ ...this.#cookie, attempt }),
    );
  }

  #writerFor(src: number, syn: boolean): Tcp4ProbeWriter {
    const writers = syn ? this.#synWriters : this.#ackWriters;
    let writer = writers.get(src);
    if (writer === undefined) {
      writer = new Tcp4ProbeWriter(src, syn ? this.#mss : this.#noOptions);
      writers.set(src, writer);
    }
    return writer;
  }

  #identityOf(
    src: IpAddress,
    dst: IpAddress,
    port: number,
    protocol: number,
    attempt: number,
  ): { srcPort: number; seq: number } {
    const target = this.#target;
    target.src = src;
    target.dst = dst;
    target.dstPort = port;
    target.protocol = protocol;
    return probeIdentity(
      this.#key,
      target,
      this.#cookies[attempt] ?? { ...this.#cookie, attempt },
    );
  }

  tcp(probe: Probe, src: IpAddress, dst: IpAddress, port: number, flags: number): void {
    const identity = this.#identityOf(src, dst, port, IpProtocol.Tcp, probe.attempt);
    const syn = (flags & TcpFlag.Syn) !== 0;
    // An ACK probe carries the cookie as its acknowledgment: the RST answers with it as seq.
    const seq = syn ? identity.seq : 0;
    const ack = syn ? 0 : identity.seq;
    const id = (Math.random() * 0x10000) | 0;
    const v4 = typeof dst === "number";
    const send = this.#pool.take(v4 ? "ip4" : "tcp6");
    const slot = send.next();
    let length: number;
    if (typeof src === "number" && typeof dst === "number") {
      const probe4 = this.#probe4;
      probe4.dst = dst;
      probe4.srcPort = identity.srcPort;
      probe4.dstPort = port;
      probe4.seq = seq;
      probe4.ack = ack;
      probe4.flags = flags;
      probe4.id = id;
      length = this.#writerFor(src, syn).write(slot.packet, probe4);
    } else {
      const tcp = this.#tcp;
      tcp.src = src;
      tcp.dst = dst;
      tcp.srcPort = identity.srcPort;
      tcp.dstPort = port;
      tcp.seq = seq;
      tcp.ack = ack;
      tcp.flags = flags;
      tcp.options = syn ? this.#mss : this.#noOptions;
      tcp.id = id;
      length = writeTcpSegment(slot.packet, tcp);
    }
    send.commit(length, writeRawSockaddr(slot.name, dst), probe.slot);
  }

  udp(probe: Probe, src: IpAddress, dst: IpAddress, port: number): void {
    const v4 = typeof dst === "number";
    const identity = this.#identityOf(src, dst, port, IpProtocol.Udp, probe.attempt);
    const fields = {
      src,
      dst,
      srcPort: identity.srcPort,
      dstPort: port,
      payload: udpPayload(port),
    };
    const send = this.#pool.take(v4 ? "ip4" : "udp6");
    const slot = send.next();
    const length = v4
      ? writeUdpPacket(slot.packet, { ...fields, id: (Math.random() * 0x10000) | 0 })
      : writeUdpDatagram(slot.packet, fields);
    send.commit(length, writeRawSockaddr(slot.name, dst), probe.slot);
  }

  echo(probe: Probe, src: IpAddress, dst: IpAddress): void {
    const v4 = typeof dst === "number";
    const { id, seq } = echoIdentity(this.#key, { src, dst }, { attempt: probe.attempt });
    const message = {
      src,
      dst,
      type: v4 ? IcmpType.EchoRequest : Icmpv6Type.EchoRequest,
      rest: ((id << 16) | seq) >>> 0,
    };
    const send = this.#pool.take(v4 ? "ip4" : "icmp6");
    const slot = send.next();
    let length: number;
    if (v4) {
      const ip = writeIpHeader(slot.packet, {
        src,
        dst,
        protocol: IpProtocol.Icmp,
        payloadLength: ICMP_HEADER_LENGTH,
        id: (Math.random() * 0x10000) | 0,
      });
      length = ip + writeIcmpMessage(slot.packet, message, ip);
    } else {
      length = writeIcmpMessage(slot.packet, message);
    }
    send.commit(length, writeRawSockaddr(slot.name, dst), probe.slot);
  }

  /** ARP or a neighbour solicitation to a target on one of our Ethernet links. */
  neighbor(probe: Probe, route: Route, dst: IpAddress): void {
    const link = route.link;
    if (link === undefined) return;
    const src = route.source;
    if (typeof dst === "number") {
      if (typeof src !== "number") return;
      const send = this.#pool.take("link4");
      const slot = send.next();
      const length = writeArpRequest(slot.packet, link, src, dst);
      send.commit(
        length,
        writeLinkSockaddr(slot.name, link, EtherType.Arp, BROADCAST_MAC),
        probe.slot,
      );
      return;
    }
    if (typeof src === "number") return;
    const send = this.#pool.take("link6");
    const slot = send.next();
    const { length, mac } = writeSolicitation(slot.packet, link, src, dst);
    send.commit(length, writeLinkSockaddr(slot.name, link, EtherType.Ipv6, mac), probe.slot);
  }
}

/** Open the sockets and start the receive worker. */
export async function openRawIo(options: RawIoOptions): Promise<RawIoHandle> {
  const libc = openRawLibc();
  if (libc === undefined) {
    throw new Error("Cannot run a raw scan: FFI is not allowed (--allow-ffi)");
  }
  const pool = new SenderPool(libc);
  const routes = options.routes;
  let worker: Worker | undefined;
  // 32,768 replies (3.4 MB): a third of a second of a sweep's answers at
  // 100,000 a second while the scan's thread is busy elsewhere; a full
  // ring is counted as receiver drops and slows the scan.
  const ring = ReplyRing.create(1 << 15);
  let closed: Promise<void> | undefined;
  let workerError: string | undefined;

  // The last host's address and route: probes to one host come in runs (and
  // bigint conversions cost more than the rest of a packet).
  let lastHost: Host | undefined;
  let lastAddress: IpAddress = 0;
  let lastRoute: Route | undefined;
  function hostAddress(host: Host): IpAddress {
    if (host !== lastHost) {
      lastHost = host;
      lastAddress = addressFromHost(host);
      lastRoute = routes.routeFor(host, lastAddress);
    }
    return lastAddress;
  }

  const packets = new ProbePackets(options.key, { attempts: options.attempts, pool });

  const io: RawIoHandle = {
    send(probe: Probe): boolean {
      const dst = hostAddress(probe.host);
      const route = lastRoute;
      if (route === undefined) return false;
      const src = route.source;
      switch (options.mode) {
        case "syn":
          packets.tcp(probe, src, dst, options.ports[probe.unit]!, TcpFlag.Syn);
          return true;
        case "udp":
          packets.udp(probe, src, dst, options.ports[probe.unit]!);
          return true;
        case "discovery":
          for (
            const item of options.discovery ?? defaultDiscoveryProbes(route.link !== undefined)
          ) {
            if (item.kind === "echo") packets.echo(probe, src, dst);
            else if (item.kind === "syn") packets.tcp(probe, src, dst, item.port, TcpFlag.Syn);
            else if (item.kind === "ack") packets.tcp(probe, src, dst, item.port, TcpFlag.Ack);
            else packets.neighbor(probe, route, dst);
          }
      }
      return true;
    },
    flush(): number[] {
      return pool.flush();
    },
    receive(): ReplyRecord[] {
      if (workerError !== undefined) throw new Error(`The receive worker failed: ${workerError}`);
      return ring.drain();
    },
    wait(ms: number): Promise<void> {
      if (ring.pending || ms <= 0) return Promise.resolve();
      // Short naps: the ring has no way to wake this thread.
      return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 2)));
    },
    caughtUp(): number {
      return ring.caughtUp;
    },
    receiverStats(): { packets: number; drops: number } {
      const { packets, drops, overflows } = ring.counters;
      return { packets, drops: drops + overflows };
    },
    now(): number {
      return performance.timeOrigin + performance.now();
    },
    close(): Promise<void> {
      closed ??= (async () => {
        // Every batch handed to the sender worker goes out before its socket closes.
        await pool.drained();
        ring.stop();
        if (worker !== undefined) {
          const current = worker;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 2000);
            current.addEventListener("message", (event: MessageEvent<{ type: string }>) => {
              if (event.data.type === "closed" || event.data.type === "error") {
                clearTimeout(timer);
                resolve();
              }
            });
          });
          current.terminate();
        }
        for (const fd of pool.fds) libc.symbols.close(fd);
        libc.close();
      })();
      return closed;
    },
  };

  try {
    const started = startReceiver(options, ring, (message) => {
      workerError = message;
    });
    worker = started.worker;
    await started.ready;
    // Open a send socket now, so a missing privilege fails before the scan starts.
    pool.sender(options.discovery?.every((p) => p.kind === "arp") ? "link4" : "ip4");
  } catch (error) {
    await io.close();
    throw error;
  }
  return io;
}
