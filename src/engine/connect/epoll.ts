/**
 * Connect attempts on non-blocking sockets driven by epoll, through FFI: a
 * transport of the one scheduler. Needs no privilege, only `--allow-ffi`.
 * Several times faster than `Deno.connect`: a refused socket is reset with
 * `connect(AF_UNSPEC)` and reused, and completions are collected a thousand
 * at a time. The scheduler keeps the time: a try it times out is retried on
 * a new socket while the older one stays open for a late answer, so the
 * kernel's own SYN retransmits (1 s, 3 s, …) never set the pace.
 *
 * @module
 */

import type { Answer, Probe } from "../transport.ts";
import type { Host } from "../../targets/types.ts";
import {
  AF_INET,
  AF_INET6,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_CTL_DEL,
  EPOLLERR,
  EPOLLHUP,
  EPOLLOUT,
  Errno,
  IP_RECVERR,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_RECVERR,
  type Libc,
  MSG_DONTWAIT,
  MSG_ERRQUEUE,
  raiseFileLimit,
  SO_ERROR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../libc.ts";
import { writeSockaddr } from "./sockaddr.ts";
import { icmpReason } from "../../packet/icmp_types.ts";
import { connectAnswer, type ConnectOutcome, type ConnectTransport } from "./outcome.ts";

const MAX_EVENTS = 1024;
const SO_LINGER = 13;

/** Name an ICMP error from the socket error queue: `origin` 2 is ICMP, 3 ICMPv6. */
export function icmpReasonOf(origin: number, type: number, code: number): string {
  if (origin !== 2 && origin !== 3) return "host-unreach";
  return icmpReason(origin === 2 ? 4 : 6, type, code);
}

function errnoReason(errno: number): string {
  switch (errno) {
    case Errno.ENETUNREACH:
      return "net-unreach";
    case Errno.EACCES:
    case Errno.EPERM:
      return "admin-prohibited";
    default:
      return "host-unreach";
  }
}

/** Options of {@link createEpollTransport}. */
export interface EpollTransportOptions {
  /** The plan's ports: a probe's unit indexes them. */
  ports: readonly number[];
  /** Upper bound on units in flight (default: what the descriptor limit allows, at most 32768). */
  capacity?: number;
}

const EPOLLET = 1 << 31;

const REFUSED_AT_ONCE: ConnectOutcome = Object.freeze({ kind: "refused" });

/** Refused sockets kept per family for reuse. */
const MAX_SPARES = 256;

/** Descriptors left for Deno itself, output files and the history. */
const RESERVED_FDS = 256;
/** Units in flight at most: far more than any path needs at the rates a connect scan reaches. */
const MAX_CAPACITY = 32_768;

/** What one socket is trying. */
interface Try {
  slot: number;
  hostIndex: bigint;
  host: Host;
  unit: number;
  port: number;
  attempt: number;
}

/**
 * Units a connect scan can have in flight in this process: every descriptor
 * the hard limit allows (raised to it), two a unit (its latest try and the
 * one before), at most `wanted`.
 */
export function epollCapacity(libc: Libc, wanted = MAX_CAPACITY): number {
  const limit = raiseFileLimit(libc, 1 << 20);
  return Math.max(16, Math.min(wanted, Math.floor((limit - RESERVED_FDS - 2 * MAX_SPARES) / 2)));
}

/** The epoll transport, with what a thread driving it by hand needs. */
export interface EpollTransport extends ConnectTransport {
  caughtUp(): number;
  release(slot: number): void;
  /** Tries whose sockets still wait for an answer. */
  inFlight(): number;
  /** Whether answers are waiting for {@link Transport.receive}. */
  hasAnswers(): boolean;
  /** {@link Transport.wait}, blocking the thread (a worker's loop). */
  waitSync(ms: number): void;
}

/** The sockets of an epoll transport: each try's, the spares, errors read early. */
class SocketBook {
  readonly byFd: (Try | undefined)[] = [];
  /** Per slot: the socket of its latest try, and of the one before (-1: none). */
  readonly latestFd: number[] = [];
  readonly previousFd: number[] = [];
  /** Refused sockets, disconnected-but-unreset, ready for another attempt. */
  readonly spare4: number[] = [];
  readonly spare6: number[] = [];
  readonly open = new Set<number>();
  /** Errors read from SO_ERROR (which clears them) before epoll reported the socket. */
  readonly pendingError: (number | undefined)[] = [];
  /** Tries whose sockets wait for an answer. */
  waiting = 0;
  #libc: Libc;
  #epfd: number;
  #one: Uint8Array;
  #oneView: DataView;
  #dataOffset: number;
  #onFlag = new Uint8Array(new Int32Array([1]).buffer);

  constructor(libc: Libc, epfd: number) {
    this.#libc = libc;
    this.#epfd = epfd;
    this.#one = new Uint8Array(libc.epollEventSize);
    this.#oneView = new DataView(this.#one.buffer);
    this.#dataOffset = libc.epollDataOffset;
  }

  /** A new non-blocking socket watched by epoll, or -errno. */
  newSocket(family: 4 | 6): number {
    const s = this.#libc.symbols;
    const fd = s.socket(
      family === 4 ? AF_INET : AF_INET6,
      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
      0,
    );
    if (fd < 0) return -this.#libc.errno();
    if (family === 4) s.setsockopt(fd, IPPROTO_IP, IP_RECVERR, this.#onFlag, 4);
    else s.setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, this.#onFlag, 4);
    // Edge-triggered: a spare socket's closed state would otherwise be reported on every wait.
    this.#oneView.setUint32(0, (EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLET) >>> 0, true);
    this.#oneView.setUint32(this.#dataOffset, fd, true);
    if (s.epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, this.#one) !== 0) {
      const errno = this.#libc.errno();
      s.close(fd);
      return -errno;
    }
    this.open.add(fd);
    return fd;
  }

  /** Stop a descriptor that is not ours any more from waking epoll. */
  unwatch(fd: number): void {
    if (!this.open.has(fd)) {
      this.#libc.symbols.epoll_ctl(this.#epfd, EPOLL_CTL_DEL, fd, this.#one);
    }
  }

  /** Forget the try on `fd` (its slot no longer points at it). */
  detach(fd: number): void {
    const entry = this.byFd[fd];
    if (entry === undefined) return;
    this.byFd[fd] = undefined;
    this.waiting--;
    if (this.latestFd[entry.slot] === fd) this.latestFd[entry.slot] = -1;
    if (this.previousFd[entry.slot] === fd) this.previousFd[entry.slot] = -1;
  }

  release(fd: number): void {
    this.detach(fd);
    this.pendingError[fd] = undefined;
    if (this.open.delete(fd)) this.#libc.symbols.close(fd);
  }

  /** Keep a refused socket for the next try of its family, up to a pool's worth. */
  spare(fd: number, family: 4 | 6): void {
    const spares = family === 4 ? this.spare4 : this.spare6;
    if (spares.length < MAX_SPARES) spares.push(fd);
    else this.release(fd);
  }

  /** The socket's try `entry` is in flight. */
  track(fd: number, entry: Try): void {
    // The try before the latest stays open for a late answer; older ones go.
    const older = this.previousFd[entry.slot] ?? -1;
    if (older >= 0) this.release(older);
    this.previousFd[entry.slot] = this.latestFd[entry.slot] ?? -1;
    this.latestFd[entry.slot] = fd;
    this.byFd[fd] = entry;
    this.waiting++;
  }

  close(): void {
    for (const fd of this.open) this.#libc.symbols.close(fd);
    this.open.clear();
    this.spare4.length = 0;
    this.spare6.length = 0;
  }
}

/**
 * The ICMP error behind a socket's error, read from its error queue
 * (recvmsg with MSG_ERRQUEUE). The kernel follows pointers stored inside
 * msghdr and iovec, so every piece lives in one explicitly allocated
 * ArrayBuffer: its backing store is off the V8 heap and never moves (a
 * small `new Uint8Array(n)` may live on the heap and be moved by the
 * garbage collector under the kernel's feet).
 */
class ErrorQueue {
  #libc: Libc;
  #arena = new Uint8Array(new ArrayBuffer(2048));
  #address: bigint;
  #message: Uint8Array;
  #messageView: DataView;

  constructor(libc: Libc) {
    this.#libc = libc;
    this.#address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#arena)));
    this.#message = this.#arena.subarray(0, 64);
    this.#messageView = new DataView(this.#arena.buffer, 0, 64);
    const iovView = new DataView(this.#arena.buffer, 64, 16);
    iovView.setBigUint64(0, this.#address + 1024n, true);
    iovView.setBigUint64(8, 512n, true);
  }

  /** The reason an ICMP error on the queue of `fd` gives, if one is there. */
  reason(fd: number): string | undefined {
    const view = this.#messageView;
    view.setBigUint64(0, this.#address + 128n, true);
    view.setUint32(8, 128, true);
    view.setBigUint64(16, this.#address + 64n, true);
    view.setBigUint64(24, 1n, true);
    view.setBigUint64(32, this.#address + 256n, true);
    view.setBigUint64(40, 512n, true);
    view.setInt32(48, 0, true);
    const n = this.#libc.symbols.recvmsg(fd, this.#message, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) return undefined;
    const controlLength = Number(view.getBigUint64(40, true));
    const control = new DataView(this.#arena.buffer, 256, 512);
    const bytes = this.#arena.subarray(256, 768);
    let offset = 0;
    while (offset + 16 <= controlLength) {
      const length = Number(control.getBigUint64(offset, true));
      const level = control.getInt32(offset + 8, true);
      const type = control.getInt32(offset + 12, true);
      if (length < 16) break;
      if (
        (level === IPPROTO_IP && type === IP_RECVERR) ||
        (level === IPPROTO_IPV6 && type === IPV6_RECVERR)
      ) {
        const origin = bytes[offset + 16 + 4] ?? 0;
        const icmpType = bytes[offset + 16 + 5] ?? 0;
        const icmpCode = bytes[offset + 16 + 6] ?? 0;
        return icmpReasonOf(origin, icmpType, icmpCode);
      }
      offset += (length + 7) & ~7;
    }
    return undefined;
  }
}

/** Reading what became of a try from its socket: SO_ERROR, the error queue, a self-connect. */
class Settler {
  #libc: Libc;
  #book: SocketBook;
  #errors: ErrorQueue;
  #intBuffer = new Uint8Array(4);
  #intView = new DataView(this.#intBuffer.buffer);
  #lengthBuffer = new Uint8Array(4);
  #lengthView = new DataView(this.#lengthBuffer.buffer);
  #local = new Uint8Array(28);
  #address = new Uint8Array(28);
  #lingerZero = new Uint8Array(new Int32Array([1, 0]).buffer);

  constructor(libc: Libc, book: SocketBook) {
    this.#libc = libc;
    this.#book = book;
    this.#errors = new ErrorQueue(libc);
  }

  #soError(fd: number): number {
    this.#lengthView.setUint32(0, 4, true);
    this.#intView.setInt32(0, 0, true);
    this.#libc.symbols.getsockopt(fd, SOL_SOCKET, SO_ERROR, this.#intBuffer, this.#lengthBuffer);
    return this.#intView.getInt32(0, true);
  }

  /** Whether a just-started connect was refused already (SO_ERROR read and cleared). */
  refusedAtOnce(fd: number): boolean {
    const error = this.#soError(fd);
    if (error === 0) return false;
    if (error === Errno.ECONNREFUSED) return true;
    // Another error: put it back for epoll's report (it is read from SO_ERROR there).
    this.#book.pendingError[fd] = error;
    return false;
  }

  /** Whether a connected socket is connected to itself (loopback self-connect). */
  #isSelfConnect(fd: number, entry: Try): boolean {
    const local = this.#local;
    this.#lengthView.setUint32(0, local.length, true);
    if (this.#libc.symbols.getsockname(fd, local, this.#lengthBuffer) !== 0) return false;
    const port = (local[2]! << 8) | local[3]!;
    if (port !== entry.port) return false;
    writeSockaddr(this.#address, entry.host, entry.port);
    const length = entry.host.family === 4 ? 8 : 24;
    for (let i = 4; i < length; i++) if (local[i] !== this.#address[i]) return false;
    return true;
  }

  /** What the socket's state says, or null while it says nothing yet. */
  settle(fd: number, entry: Try, mask: number): ConnectOutcome | undefined | null {
    const book = this.#book;
    let error = this.#soError(fd);
    if (error === 0 && book.pendingError[fd] !== undefined) error = book.pendingError[fd]!;
    book.pendingError[fd] = undefined;
    if (error === 0 && (mask & EPOLLOUT) === 0) {
      // Not connected, no hard error: an ICMP error that arrived while connect()
      // still held the socket is only queued (the kernel would act on the next
      // one, a retransmission later). The queued one is answer enough.
      const reason = this.#errors.reason(fd);
      if (reason === undefined) return null;
      book.release(fd);
      return { kind: "unreachable", reason };
    }
    if (error === 0) {
      const self = this.#isSelfConnect(fd, entry);
      // A reset instead of a FIN: no TIME_WAIT left behind, nothing for the service to read.
      this.#libc.symbols.setsockopt(fd, SOL_SOCKET, SO_LINGER, this.#lingerZero, 8);
      book.release(fd);
      return self ? { kind: "self" } : { kind: "open" };
    }
    if (error === Errno.ECONNREFUSED) {
      book.detach(fd);
      book.spare(fd, entry.host.family);
      return { kind: "refused" };
    }
    // The ICMP error behind a hard error, read before the socket goes.
    const unreachable = error === Errno.EHOSTUNREACH || error === Errno.ENETUNREACH ||
      error === Errno.EACCES || error === Errno.EPERM;
    const reason = unreachable ? this.#errors.reason(fd) ?? errnoReason(error) : `error-${error}`;
    book.release(fd);
    // A reset (or FIN) after the handshake completed: the port accepted the
    // connection and dropped it at once (TCP wrappers, a full server). Open.
    if (error === Errno.ECONNRESET || error === Errno.EPIPE) return { kind: "open" };
    // The kernel gave up before we did; the scheduler's deadline decides.
    if (error === Errno.ETIMEDOUT) return undefined;
    return { kind: "unreachable", reason };
  }
}

/** A transport on epoll; `libc` from `openLibc()`. */
export function createEpollTransport(
  libc: Libc,
  options: EpollTransportOptions,
): EpollTransport {
  const s = libc.symbols;
  const capacity = epollCapacity(libc, options.capacity);
  const epfd = s.epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) throw new Error(`epoll_create1 failed (errno ${libc.errno()})`);
  const ports = options.ports;
  const eventSize = libc.epollEventSize;
  const dataOffset = libc.epollDataOffset;
  const events = new Uint8Array(MAX_EVENTS * eventSize);
  const eventsView = new DataView(events.buffer);
  const address = new Uint8Array(28);
  let addressHost: Host | undefined;
  let addressLength = 0;
  const unspec = new Uint8Array(16);
  const book = new SocketBook(libc, epfd);
  const settler = new Settler(libc, book);
  const { byFd, latestFd, previousFd, spare4, spare6 } = book;
  let ready: Answer[] = [];
  const failed: number[] = [];
  let caughtUpAt = performance.now();

  /** Collect what epoll reports, waiting up to `ms` for the first event. */
  function drain(ms: number): void {
    let timeout = Math.max(0, Math.floor(ms));
    for (let round = 0; round < 64; round++) {
      const calledAt = performance.now();
      const n = s.epoll_wait(epfd, events, MAX_EVENTS, timeout);
      const at = performance.now();
      for (let i = 0; i < n; i++) {
        const fd = eventsView.getUint32(i * eventSize + dataOffset, true);
        const entry = byFd[fd];
        if (entry === undefined) {
          book.unwatch(fd); // a spare or a stale descriptor
          continue;
        }
        const outcome = settler.settle(fd, entry, eventsView.getUint32(i * eventSize, true));
        // null: nothing decided yet, the try keeps its socket.
        if (outcome === null) continue;
        if (outcome !== undefined) ready.push(connectAnswer(entry, outcome, at));
      }
      // Everything that had arrived when this call was made has been read.
      if (n < MAX_EVENTS) {
        caughtUpAt = n === 0 ? at : calledAt;
        break;
      }
      timeout = 0;
    }
  }

  return {
    name: "epoll",
    capacity,
    send(probe: Probe): void {
      const family = probe.host.family;
      let fd = (family === 4 ? spare4 : spare6).pop();
      if (fd !== undefined) {
        // Reset the refused socket (clears its shutdown state) so it can connect again.
        s.connect(fd, unspec, unspec.length);
      } else {
        fd = book.newSocket(family);
        if (fd < 0) {
          failed.push(probe.slot);
          return;
        }
      }
      const port = ports[probe.unit]!;
      // Probes to one host come in runs: only its port changes in the sockaddr.
      if (probe.host !== addressHost) {
        addressLength = writeSockaddr(address, probe.host, port);
        addressHost = probe.host;
      }
      address[2] = port >> 8;
      address[3] = port & 0xff;
      const result = s.connect(fd, address, addressLength);
      const errno = result === 0 ? 0 : libc.errno();
      if (result !== 0 && errno === Errno.EINPROGRESS && settler.refusedAtOnce(fd)) {
        // A near host's reset came back within connect() itself (loopback, a
        // veth): answered now, and the socket is ready for the next try.
        book.spare(fd, family);
        ready.push(connectAnswer(probe, REFUSED_AT_ONCE, performance.now()));
        return;
      }
      if (result === 0 || errno === Errno.EINPROGRESS) {
        const { slot, hostIndex, host, unit, attempt } = probe;
        book.track(fd, { slot, hostIndex, host, unit, port, attempt });
        return;
      }
      book.release(fd);
      const outcome = connectFailure(errno);
      if (outcome === undefined) failed.push(probe.slot);
      else ready.push(connectAnswer(probe, outcome, performance.now()));
    },
    flush(): number[] {
      return failed.splice(0);
    },
    receive(): Answer[] {
      drain(0);
      const out = ready;
      ready = [];
      return out;
    },
    wait(ms: number): Promise<void> {
      if (ready.length === 0 && ms > 0) drain(ms);
      return Promise.resolve();
    },
    waitSync(ms: number): void {
      if (ready.length === 0 && ms > 0) drain(ms);
    },
    inFlight: () => book.waiting,
    hasAnswers: () => ready.length > 0,
    now: () => performance.now(),
    caughtUp: () => caughtUpAt,
    release(slot: number): void {
      const latest = latestFd[slot] ?? -1;
      const previous = previousFd[slot] ?? -1;
      if (latest >= 0) book.release(latest);
      if (previous >= 0) book.release(previous);
    },
    close(): void {
      book.close();
      s.close(epfd);
    },
  };
}

/**
 * What a connect() that failed at once says: refused, unreachable, or
 * (undefined) a local shortage (no port, no buffer, no descriptor) that
 * says nothing of the target: the try is sent again.
 */
function connectFailure(errno: number): ConnectOutcome | undefined {
  switch (errno) {
    case Errno.ECONNREFUSED:
      return { kind: "refused" };
    case Errno.EADDRNOTAVAIL:
    case Errno.EAGAIN:
    case Errno.ENOBUFS:
    case Errno.EMFILE:
    case Errno.ENFILE:
    case Errno.EINTR:
      return undefined;
    case Errno.ENETUNREACH:
      // Refused by our own routing table before anything was sent.
      return { kind: "unreachable", reason: "no-route" };
    default:
      return { kind: "unreachable", reason: errnoReason(errno) };
  }
}
