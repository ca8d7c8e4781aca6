/**
 * Service detection (`-sV`): the engine that runs probe plugins against
 * open TCP ports. Probe plugins are described in `src/plugin/probe_types.ts`;
 * the built-ins are `probePlugins` in `plugins/mod.ts`.
 *
 * @module
 */

export {
  createServiceDetector,
  DEFAULT_INTENSITY,
  detectServices,
  intensityTimings,
  parseVersionIntensity,
} from "./detect.ts";
export type { DetectOptions, DetectTimings, ServiceDetector } from "./detect.ts";
export {
  BANNER_CHARS,
  bannerText,
  clip,
  cpe,
  FIELD_CHARS,
  firstLine,
  latin1,
  latin1Bytes,
} from "../plugin/text.ts";
export { formatName, isoDate, parseSans } from "./tls.ts";
