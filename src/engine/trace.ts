/**
 * What `--packet-trace` and `-d` see of a scan: one event per try sent and
 * per answer received, and the path's timing when a phase ends. The
 * scheduler emits them once for every transport (connect and raw alike);
 * the CLI words them.
 *
 * @module
 */

/** One event of the scheduler. */
export type TraceEvent =
  | {
    type: "sent";
    /** Which scan sent it. */
    kind: "syn" | "udp" | "discovery" | "connect";
    /** Milliseconds on the transport's clock. */
    at: number;
    address: string;
    /** Port of the try; undefined for host discovery. */
    port: number | undefined;
    /** Which try, from 0. */
    attempt: number;
  }
  | {
    type: "received";
    kind: "syn" | "udp" | "discovery" | "connect";
    at: number;
    address: string;
    port: number | undefined;
    /** Which try it answered, from 0. */
    attempt: number;
    /** What it says ("open", "closed", "up", …) and why; undefined when it settles nothing. */
    state: string | undefined;
    reason: string | undefined;
    /** TTL or hop limit; 0 when unknown. */
    ttl: number;
  }
  | {
    type: "times";
    kind: "syn" | "udp" | "discovery" | "connect";
    /** Smoothed round trip, its variation and the probe timeout at the end, ms. */
    srtt: number;
    rttvar: number;
    timeout: number;
  };

/** Where trace events go. */
export type TraceSink = (event: TraceEvent) => void;
