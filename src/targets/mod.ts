/**
 * Targets: parsing nmap-style target specs, resolving names, and the
 * range-based target set the engines iterate.
 *
 * @module
 */

export type { Family, Host, TargetSet } from "./types.ts";
export {
  formatIp,
  formatIpv4,
  formatIpv6,
  type ParseAddressOptions,
  parseIp,
  parseIpv4,
  parseIpv6,
} from "./ip.ts";
export {
  type AddressRange,
  isHostname,
  MAX_OCTET_RANGES,
  parseTargetSpec,
  type TargetSpec,
} from "./parse.ts";
export {
  HOSTS_FILE,
  type HostsTable,
  loadHostsFile,
  parseHostsFile,
  resolveHostname,
  type ResolveOptions,
} from "./resolve.ts";
export { type Ipv4Ranges, type NameSpec, SpecCollector } from "./collect.ts";
export {
  buildCollectedTargetSet,
  buildTargetSet,
  type BuildTargetSetOptions,
  createTargetSet,
  type CreateTargetSetOptions,
  normalizeRanges,
  RangeTargetSet,
  splitExcludeList,
  subtractRanges,
} from "./target_set.ts";
export { parseTargetList, ReadInterrupted, readTargetFile } from "./file.ts";
export { listTargets, type ListTargetsOptions } from "./list.ts";
