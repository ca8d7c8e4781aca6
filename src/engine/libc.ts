/**
 * The few libc calls the fast engines need, through Deno's FFI. Opened
 * lazily and only when the process holds the `ffi` permission, so a run
 * without `--allow-ffi` never asks for it.
 *
 * @module
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The opened library. */
export type LibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Linux constants (x86_64 and aarch64 agree on these). */
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IP_RECVERR = 11;
export const IPV6_RECVERR = 25;
export const MSG_ERRQUEUE = 0x2000;
export const MSG_DONTWAIT = 0x40;
export const EPOLL_CLOEXEC = 0o2000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLLOUT = 0x4;
export const EPOLLERR = 0x8;
export const EPOLLHUP = 0x10;
export const RLIMIT_NOFILE = 7;

/** errno values the engines act on. */
export const Errno = {
  EINTR: 4,
  EAGAIN: 11,
  EMFILE: 24,
  ENFILE: 23,
  ENOBUFS: 105,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNRESET: 104,
  EPIPE: 32,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EINPROGRESS: 115,
  EPERM: 1,
  EACCES: 13,
} as const;

/** A bound libc with an errno reader. */
export interface Libc {
  readonly symbols: LibcSymbols;
  /** errno of the last failed call on this thread. */
  errno(): number;
  /** Bytes of `struct epoll_event` on this architecture (packed on x86_64). */
  readonly epollEventSize: number;
  /** Offset of `data` in `struct epoll_event`. */
  readonly epollDataOffset: number;
  close(): void;
}

/** Whether this process may use FFI (never prompts). */
export function ffiAllowed(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/** Symbols every libc binding needs: errno is read through `__errno_location`. */
type WithErrno = {
  readonly __errno_location: { readonly parameters: readonly []; readonly result: "pointer" };
};

/**
 * Open libc with `symbols`, or return undefined where FFI is not allowed or
 * fails; the result reads errno and closes the library.
 */
export function dlopenLibc<const S extends Deno.ForeignLibraryInterface & WithErrno>(
  symbols: S,
):
  | { symbols: Deno.DynamicLibrary<S>["symbols"]; errno(): number; close(): void }
  | undefined {
  if (!ffiAllowed()) return undefined;
  let lib: Deno.DynamicLibrary<S>;
  try {
    lib = Deno.dlopen("libc.so.6", symbols);
  } catch {
    return undefined;
  }
  const bound = lib.symbols;
  // errno's address is fixed for the thread that opened the library (each
  // worker opens its own): look it up once, not once per failed call.
  const location = (bound.__errno_location as () => Deno.PointerValue)();
  const view = location === null ? undefined : new Deno.UnsafePointerView(location);
  return {
    symbols: bound,
    errno(): number {
      return view === undefined ? 0 : view.getInt32(0);
    },
    close(): void {
      lib.close();
    },
  };
}

/** Open libc, or return undefined where FFI is not allowed or fails. */
export function openLibc(): Libc | undefined {
  const opened = dlopenLibc(SYMBOLS);
  if (opened === undefined) return undefined;
  const packed = Deno.build.arch === "x86_64";
  return {
    ...opened,
    epollEventSize: packed ? 12 : 16,
    epollDataOffset: packed ? 4 : 8,
  };
}

/** Raise the soft descriptor limit towards the hard one; returns the soft limit now in force. */
export function raiseFileLimit(libc: Libc, wanted: number): number {
  const buffer = new Uint8Array(16);
  const view = new DataView(buffer.buffer);
  if (libc.symbols.getrlimit(RLIMIT_NOFILE, buffer) !== 0) return 1024;
  const soft = view.getBigUint64(0, true);
  const hard = view.getBigUint64(8, true);
  const target = BigInt(wanted) < hard ? BigInt(wanted) : hard;
  if (target > soft) {
    view.setBigUint64(0, target, true);
    if (libc.symbols.setrlimit(RLIMIT_NOFILE, buffer) === 0) return Number(target);
  }
  return Number(soft > 1_000_000n ? 1_000_000n : soft);
}
