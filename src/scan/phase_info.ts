/**
 * The phases of a scan as nmap names them in its verbose output
 * ("Initiating Connect Scan at 12:24", "Scanning 2 services on 1 host"),
 * made where the scan knows its sizes; the CLI words and times them.
 *
 * @module
 */

import type { Host } from "../targets/types.ts";

/** A phase of the scan, as -v announces it. */
export interface PhaseInfo {
  /** nmap's name: "Ping Scan", "Connect Scan", "SYN Stealth Scan", "UDP Scan", "Service scan", … */
  name: string;
  /** What it covers, for nmap's "Scanning …" line; absent where nmap prints none. */
  scanning?: string;
  /** Its size for the "Completed …" line ("5 total ports"); absent where nmap prints none. */
  total?: string;
  /** Hosts it covers. */
  hosts: number;
}

const SCAN_NAMES: Record<"connect" | "syn" | "udp", string> = {
  connect: "Connect Scan",
  syn: "SYN Stealth Scan",
  udp: "UDP Scan",
};

/** "localhost (127.0.0.1)", or the bare address of a host without a name. */
function title(host: Host): string {
  return host.hostname === undefined ? host.address : `${host.hostname} (${host.address})`;
}

function plural(count: number | bigint, one: string, many: string): string {
  return `${count} ${count === 1 || count === 1n ? one : many}`;
}

/** The phases' descriptions. */
export const phaseInfo = {
  /** Host discovery of `hosts` targets. */
  discovery(hosts: bigint): PhaseInfo {
    return {
      name: "Ping Scan",
      scanning: plural(hosts, "host", "hosts"),
      total: `${hosts} total hosts`,
      hosts: Number(hosts),
    };
  },
  /** Reverse DNS of `hosts` addresses. */
  dns(hosts: number): PhaseInfo {
    return { name: `Parallel DNS resolution of ${plural(hosts, "host.", "hosts.")}`, hosts };
  },
  /** A port scan of `ports` ports on each of `hosts` hosts. */
  portScan(
    type: "connect" | "syn" | "udp",
    size: { hosts: bigint; ports: number; one?: Host },
  ): PhaseInfo {
    const { hosts, ports } = size;
    return {
      name: SCAN_NAMES[type],
      scanning: hosts === 1n && size.one !== undefined
        ? `${title(size.one)} [${plural(ports, "port", "ports")}]`
        : `${hosts} hosts [${plural(ports, "port", "ports")}/host]`,
      total: `${BigInt(ports) * hosts} total ports`,
      hosts: Number(hosts),
    };
  },
  /** Service detection of `services` open ports on `hosts` hosts. */
  services(services: number, hosts: number, one?: Host): PhaseInfo {
    const count = plural(services, "service", "services");
    const on = `${count} on ${plural(hosts, "host", "hosts")}`;
    const scanning = hosts === 1 && one !== undefined ? `${count} on ${title(one)}` : on;
    return { name: "Service scan", scanning, total: on, hosts };
  },
};
