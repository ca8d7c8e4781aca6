/**
 * A valid resume state, the plan its command line makes, and ways to damage
 * it: shared by the unit, command-line and fuzz tests of the resume reader.
 *
 * @module
 */

import {
  checkResumePlan,
  RESUME_VERSION,
  type ResumePlan,
  type ResumeState,
  validateResumeState,
} from "./resume.ts";

/** A valid state: a -p 20-29 scan of two hosts, interrupted in its first phase. */
export function validState(): ResumeState {
  return {
    format: "portolan-resume",
    version: RESUME_VERSION,
    written: new Date(0).toISOString(),
    args: ["-p", "20-29", "198.51.100.2-3"],
    seed: "12345678901234567890",
    upHosts: ["198.51.100.2", "198.51.100.3"],
    point: { next: 5, done: [7, 9] },
    report: {
      scanner: "portolan",
      version: "0.1.0",
      args: ["portolan", "-p", "20-29", "198.51.100.2-3"],
      start: "2030-01-01T00:00:00.000Z",
      end: "2030-01-01T00:00:03.000Z",
      scaninfo: [{ type: "connect", protocol: "tcp", numServices: 10, services: "20-29" }],
      hosts: [{
        address: "198.51.100.2",
        hostnames: ["a.example"],
        state: "up",
        reason: "syn-ack",
        ports: [{
          address: "198.51.100.2",
          protocol: "tcp",
          port: 22,
          state: "open",
          reason: "syn-ack",
          rtt: 0.5,
          service: { name: "ssh", banner: "SSH-2.0-x", cpe: ["cpe:/a:x"] },
        }],
        extraports: [{
          state: "closed",
          count: 3,
          reasons: [{ reason: "conn-refused", count: 3 }],
        }],
      }],
      stats: { probes: 7, retries: 0, seconds: 3, hostsUp: 2, hostsDown: 0, hostsTotal: 2 },
    },
  };
}

/** The plan `validState()`'s own command line makes. */
export const PLAN: ResumePlan = {
  phasePorts: [10],
  targets: {
    size: 2n,
    hosts: () => [{ address: "198.51.100.2" }, { address: "198.51.100.3" }],
  },
  discovery: true,
};

/** A state as loose JSON, for damaging. */
// deno-lint-ignore no-explicit-any
export type Loose = any;

/** A named way to damage a state. */
export type Mutation = [string, (state: Loose) => void];

/** 40+ ways a state can be damaged: wrong types, out-of-range values, a plan of its own it contradicts. */
export const DAMAGED: Mutation[] = [
  ["report.start garbage", (s) => (s.report.start = "garbage")],
  ["report.start a number", (s) => (s.report.start = 5)],
  ["report.end garbage", (s) => (s.report.end = "yesterday")],
  ["written missing", (s) => delete s.written],
  ["args a string", (s) => (s.args = "-p 22")],
  ["args holding a number", (s) => (s.args = ["-p", 22])],
  ["seed not digits", (s) => (s.seed = "abc")],
  ["seed over 64 bits", (s) => (s.seed = "99999999999999999999")],
  ["seed a number", (s) => (s.seed = 42)],
  ["point missing", (s) => delete s.point],
  ["point.next negative", (s) => (s.point.next = -1)],
  ["point.next fractional", (s) => (s.point.next = 1.5)],
  ["point.next a string", (s) => (s.point.next = "5")],
  ["point.next huge", (s) => (s.point.next = 1e300)],
  ["point.done not a list", (s) => (s.point.done = 7)],
  ["point.done holding null", (s) => (s.point.done = [null])],
  ["point.done repeating", (s) => (s.point.done = [7, 7])],
  ["point.done before next", (s) => (s.point.done = [3])],
  ["point.done listing every index", (s) => (s.point = { next: 0, done: [...Array(20).keys()] })],
  ["phase negative", (s) => (s.phase = -1)],
  ["phase 7", (s) => (s.phase = 7)],
  ["phase a string", (s) => (s.phase = "1")],
  ["upHosts null", (s) => (s.upHosts = null)],
  ["upHosts not addresses", (s) => (s.upHosts = ["not an address"])],
  ["upHosts repeating", (s) => (s.upHosts = ["198.51.100.2", "198.51.100.2"])],
  ["report missing", (s) => delete s.report],
  ["report.scanner foreign", (s) => (s.report.scanner = "nmap")],
  ["report.hosts a string", (s) => (s.report.hosts = "x")],
  ["report.hosts[0] null", (s) => (s.report.hosts = [null])],
  ["host address garbage", (s) => (s.report.hosts[0].address = "999.1.1.1")],
  ["hostnames null", (s) => (s.report.hosts[0].hostnames = null)],
  ["host state unknown word", (s) => (s.report.hosts[0].state = "sideways")],
  ["ports malformed", (s) => (s.report.hosts[0].ports = [{ port: "x" }])],
  ["port number 70000", (s) => (s.report.hosts[0].ports[0].port = 70000)],
  ["port protocol sctp", (s) => (s.report.hosts[0].ports[0].protocol = "sctp")],
  ["port state wrong", (s) => (s.report.hosts[0].ports[0].state = "ajar")],
  ["port scripts a string", (s) => (s.report.hosts[0].ports[0].scripts = "x")],
  ["port script output missing", (s) => (s.report.hosts[0].ports[0].scripts = [{ id: "a" }])],
  ["port address missing", (s) => delete s.report.hosts[0].ports[0].address],
  ["port rtt negative", (s) => (s.report.hosts[0].ports[0].rtt = -1)],
  ["service a string", (s) => (s.report.hosts[0].ports[0].service = "ssh")],
  ["service field a function-like object", (s) => (s.report.hosts[0].ports[0].service.x = [{}])],
  ["extraports count 1e300", (s) => (s.report.hosts[0].extraports[0].count = 1e300)],
  ["extraports reasons null", (s) => (s.report.hosts[0].extraports[0].reasons = null)],
  ["scaninfo numServices 1e300", (s) => (s.report.scaninfo[0].numServices = 1e300)],
  ["stats missing", (s) => delete s.report.stats],
  ["stats.probes 1e300", (s) => (s.report.stats.probes = 1e300)],
  ["stats.hostsUp over total", (s) => (s.report.stats.hostsUp = 5)],
  ["stats.seconds NaN-like", (s) => (s.report.stats.seconds = "NaN")],
  // Consistent with itself, not with the scan its command line plans:
  ["point.next past the end", (s) => (s.point = { next: 21, done: [] })],
  ["point.done past the end", (s) => (s.point.done = [7, 20])],
  ["a phase the command line lacks", (s) => (s.phase = 1)],
  ["upHosts outside the targets", (s) => (s.upHosts = ["198.51.100.2", "203.0.113.9"])],
  [
    "more upHosts than targets",
    (s) => (s.upHosts = ["198.51.100.2", "198.51.100.3", "198.51.100.4"]),
  ],
  ["progress without the hosts found", (s) => delete s.upHosts],
];

/** Validate `value` whole: schema, then the plan its command line makes. */
export function check(value: unknown): ResumeState {
  const state = validateResumeState(value, "r.json");
  checkResumePlan(state, "r.json", PLAN);
  return state;
}
