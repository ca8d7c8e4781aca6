/**
 * A route per target: the source address the kernel picks towards it, and
 * the Ethernet link it sits on when it is directly attached (for ARP and
 * neighbour discovery). One scan may then mix hosts on several links,
 * loopback, and IPv4 with IPv6, each probe carrying the source its own
 * route gives it, as nmap finds one per target.
 *
 * The kernel is asked (a UDP socket connected towards the target, which
 * sends nothing) once per /24 of IPv4 or /64 of IPv6, or per address where
 * a local subnet is narrower than that.
 *
 * @module
 */

import type { IpAddress } from "../../packet/mod.ts";
import type { Host } from "../../targets/types.ts";
import { type LinkAddress, listEthernetLinks, localLinkVia } from "./ifaddrs.ts";
import type { RawLibc } from "./libc.ts";
import { type LocalLink, sourceAddressFor } from "./net.ts";

/** How a target is reached. */
export interface Route {
  /** Our address on the way there. */
  source: IpAddress;
  /** The Ethernet link it is directly attached to, if it is. */
  link?: LocalLink;
}

/** Routes of a scan's targets, asked of the kernel once per block. */
export class RouteCache {
  #libc: RawLibc;
  #links: LinkAddress[];
  #routes = new Map<string, Route | null>();
  /** IPv4 routes by /24 (or by address where a local subnet is narrower). */
  #routes4 = new Map<number, Route | null>();
  #narrow4: boolean;
  #narrow6: boolean;

  constructor(libc: RawLibc) {
    this.#libc = libc;
    try {
      this.#links = listEthernetLinks();
    } catch {
      this.#links = []; // no interface list: no target is taken for on-link
    }
    this.#narrow4 = this.#links.some((l) => typeof l.address === "number" && l.prefixLength > 24);
    this.#narrow6 = this.#links.some((l) => typeof l.address !== "number" && l.prefixLength > 64);
  }

  /** The route to `host` (its wire address `dst`), or undefined when there is none. */
  routeFor(host: Host, dst: IpAddress): Route | undefined {
    if (typeof dst === "number") {
      // IPv4, the sweep's case: a numeric key, no string per probe.
      const key = this.#narrow4 ? dst : dst >>> 8;
      let route = this.#routes4.get(key);
      if (route === undefined) {
        route = this.#ask(dst);
        this.#routes4.set(key, route);
      }
      return route ?? undefined;
    }
    const key = this.#keyOf(host);
    let route = this.#routes.get(key);
    if (route === undefined) {
      route = this.#ask(dst);
      this.#routes.set(key, route);
    }
    return route ?? undefined;
  }

  /** Every source address handed out so far. */
  sources(): IpAddress[] {
    const seen = new Map<string, IpAddress>();
    for (const route of [...this.#routes4.values(), ...this.#routes.values()]) {
      if (route !== null) seen.set(String(route.source), route.source);
    }
    return [...seen.values()];
  }

  #keyOf(host: Host): string {
    if (host.family === 4) {
      return this.#narrow4 ? `4:${host.value}` : `4:${host.value >> 8n}`;
    }
    return this.#narrow6 ? `6:${host.value}` : `6:${host.value >> 64n}`;
  }

  #ask(dst: IpAddress): Route | null {
    let source: IpAddress;
    try {
      source = sourceAddressFor(this.#libc, dst);
    } catch {
      return null;
    }
    const link = localLinkVia(dst, this.#links);
    // On-link only where our source sits on that same link (else a route took it elsewhere).
    const own = link !== undefined &&
      this.#links.some((entry) => entry.index === link.index && sameAddress(entry.address, source));
    return own ? { source, link } : { source };
  }
}

function sameAddress(a: IpAddress, b: IpAddress): boolean {
  if (typeof a === "number" || typeof b === "number") return a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
