/**
 * The names a scan reports its hosts under: nmap's reverse DNS of the hosts
 * found up (of every target with -R, none with -n), bounded in count and
 * time so that a silent resolver costs the scan about a second at most.
 *
 * @module
 */

import type { ScanOptions } from "./options.ts";
import { REVERSE_DNS_LIMIT, reverseNames } from "../targets/reverse.ts";
import type { Host, TargetSet } from "../targets/types.ts";

/** Names by address; a host that came with a name (the user's) keeps it. */
export interface HostNames {
  /** `host`, carrying its reverse name when it has one and no name of its own. */
  named(host: Host): Host;
  /** How many addresses got a name. */
  readonly size: number;
}

const NONE: HostNames = { named: (host) => host, size: 0 };

/** No names at all (-n, or nothing to resolve). */
export function noNames(): HostNames {
  return NONE;
}

/** Whether reverse DNS runs for this scan. */
export function wantsNames(options: ScanOptions): boolean {
  return !options.noResolve;
}

/**
 * Up to {@link REVERSE_DNS_LIMIT} hosts of `targets` (all of them with -R,
 * or when every host counts as up), for {@link lookUpNames}.
 */
export function targetHosts(targets: TargetSet): Host[] {
  const hosts: Host[] = [];
  for (const host of targets.hosts()) {
    if (hosts.length >= REVERSE_DNS_LIMIT) break;
    hosts.push(host);
  }
  return hosts;
}

/** Reverse names of `hosts` (hosts file, then PTR over DNS). */
export async function lookUpNames(
  options: ScanOptions,
  hosts: readonly Host[],
  context: { signal?: AbortSignal; hostsFile?: string | null } = {},
): Promise<HostNames> {
  if (!wantsNames(options) || hosts.length === 0) return NONE;
  const found = await reverseNames(hosts.map((host) => host.address), {
    ...(options.dnsServers.length > 0 ? { nameServers: options.dnsServers } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
    ...(context.hostsFile !== undefined ? { hostsFile: context.hostsFile } : {}),
  });
  if (found.size === 0) return NONE;
  return {
    named(host: Host): Host {
      if (host.hostname !== undefined) return host;
      const name = found.get(host.address);
      return name === undefined ? host : { ...host, hostname: name };
    },
    size: found.size,
  };
}
