/**
 * A tolerant reader of nmap's (and portolan's) `-oX` XML into a
 * {@link ScanReport}. It reads the elements a diff needs (nmaprun, scaninfo,
 * host, status, address, hostnames, ports, extraports, port, state, service,
 * cpe, the ssl-cert script, runstats) and ignores everything else. A file cut
 * short by an interrupted scan still reads: open elements are closed at the end.
 *
 * @module
 */

import {
  type CertificateInfo,
  comparePorts,
  type ExtraPorts,
  type HostReport,
  isHostState,
  isPortState,
  isProtocol,
  type PortResult,
  type ScanInfo,
  type ScanReport,
  type ServiceMatch,
} from "../model/mod.ts";

/** An XML element, as far as this reader cares. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data, concatenated. */
  text: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body.startsWith("#x") || body.startsWith("#")) {
      const code = body.startsWith("#x")
        ? parseInt(body.slice(2), 16)
        : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[body] ?? whole;
  });
}

/**
 * Deepest element nesting kept as a tree. nmap's XML is a few levels deep;
 * deeper elements are kept as leaves, so hostile nesting costs linear time.
 */
const MAX_DEPTH = 256;

const ATTRIBUTE = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

/**
 * Parse XML into a tree under a synthetic "#document" element. Never throws:
 * comments, processing instructions and DOCTYPEs are skipped, a stray end
 * tag is ignored, a missing one is implied.
 */
export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  const top = (): XmlElement => stack[stack.length - 1] ?? root;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    if (lt === -1) {
      top().text += decode(text.slice(i));
      break;
    }
    if (lt > i) top().text += decode(text.slice(i, lt));
    if (text.startsWith("<!--", lt)) {
      const end = text.indexOf("-->", lt + 4);
      i = end === -1 ? text.length : end + 3;
    } else if (text.startsWith("<![CDATA[", lt)) {
      const end = text.indexOf("]]>", lt + 9);
      top().text += text.slice(lt + 9, end === -1 ? text.length : end);
      i = end === -1 ? text.length : end + 3;
    } else if (text.startsWith("<?", lt)) {
      const end = text.indexOf("?>", lt + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (text.startsWith("<!", lt)) {
      i = skipDeclaration(text, lt);
    } else {
      // Find the tag's end, skipping '>' inside quoted attribute values.
      let j = lt + 1;
      let quote = "";
      while (j < text.length) {
        const c = text[j];
        if (quote !== "") {
          if (c === quote) quote = "";
        } else if (c === '"' || c === "'") quote = c;
        else if (c === ">") break;
        j++;
      }
      const body = text.slice(lt + 1, j);
      i = j + 1;
      if (body.startsWith("/")) {
        const name = body.slice(1).trim();
        // From the top: a well-formed end tag matches at once; the stack is at most MAX_DEPTH.
        for (let at = stack.length - 1; at > 0; at--) {
          if (stack[at]!.name === name) {
            stack.length = at;
            break;
          }
        }
        continue;
      }
      const selfClosing = body.endsWith("/");
      const inner = selfClosing ? body.slice(0, -1) : body;
      const nameMatch = /^[^\s/>]+/.exec(inner);
      if (nameMatch === null) continue;
      const element: XmlElement = { name: nameMatch[0], attrs: {}, children: [], text: "" };
      for (const m of inner.slice(nameMatch[0].length).matchAll(ATTRIBUTE)) {
        const key = m[1];
        if (key === undefined) continue;
        element.attrs[key] = decode(m[2] ?? m[3] ?? m[4] ?? "");
      }
      top().children.push(element);
      if (!selfClosing && stack.length <= MAX_DEPTH) stack.push(element);
    }
  }
  return root;
}

function skipDeclaration(text: string, from: number): number {
  let depth = 0;
  for (let j = from + 2; j < text.length; j++) {
    const c = text[j];
    if (c === "[") depth++;
    else if (c === "]") depth = Math.max(0, depth - 1);
    else if (c === ">" && depth === 0) return j + 1;
  }
  return text.length;
}

function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element === undefined ? [] : element.children.filter((c) => c.name === name);
}

/** Depth-first search, iterative so hostile nesting cannot overflow the stack. */
function findFirst(root: XmlElement, name: string): XmlElement | undefined {
  const todo = [root];
  while (todo.length > 0) {
    const e = todo.pop() as XmlElement;
    if (e.name === name) return e;
    for (let i = e.children.length - 1; i >= 0; i--) todo.push(e.children[i] as XmlElement);
  }
  return undefined;
}

function int(value: string | undefined, fallback = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}

function isoFromUnix(value: string | undefined): string {
  if (value === undefined || !/^\d+$/.test(value)) return "";
  const date = new Date(Number(value) * 1000);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

/** Split nmap's `args` attribute into words, honouring simple quotes. */
function splitArgs(text: string): string[] {
  const words: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
    words.push(m[1] ?? m[2] ?? m[3] ?? "");
  }
  return words;
}

/** Values of `<elem key=…>` and nested `<table key=…>` of an NSE script, flattened "a.b". */
function scriptValues(script: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  const todo: [XmlElement, string][] = [[script, ""]];
  while (todo.length > 0) {
    const [e, prefix] = todo.pop() as [XmlElement, string];
    for (const c of e.children) {
      const key = c.attrs.key === undefined
        ? prefix
        : prefix === ""
        ? c.attrs.key
        : `${prefix}.${c.attrs.key}`;
      if (c.name === "elem") out.set(key, c.text.trim());
      else if (c.name === "table") todo.push([c, key]);
    }
  }
  return out;
}

/** nmap's `ssl-cert` script as the one certificate shape. */
function certificateFromScript(script: XmlElement): CertificateInfo | undefined {
  const v = scriptValues(script);
  const fingerprint = v.get("sha256") ?? v.get("sha1");
  const cn = v.get("subject.commonName");
  const notAfter = v.get("validity.notAfter");
  const cert: CertificateInfo = {};
  if (fingerprint !== undefined && fingerprint !== "") cert.fingerprint = fingerprint;
  if (cn !== undefined && cn !== "") cert.subject = `CN=${cn}`;
  if (notAfter !== undefined && notAfter !== "") cert.notAfter = notAfter;
  return Object.keys(cert).length > 0 ? cert : undefined;
}

/** `<service>`'s attributes that hold text, by the model's field names. */
const SERVICE_ATTRIBUTES = [
  ["name", "name"],
  ["product", "product"],
  ["version", "version"],
  ["extrainfo", "extraInfo"],
  ["hostname", "hostname"],
  ["ostype", "ostype"],
  ["devicetype", "devicetype"],
] as const;

function serviceOf(port: XmlElement): ServiceMatch | undefined {
  const s = child(port, "service");
  const service: ServiceMatch = {};
  if (s !== undefined) {
    for (const [attr, key] of SERVICE_ATTRIBUTES) {
      const value = s.attrs[attr];
      if (value !== undefined && value !== "") service[key] = value;
    }
    // Other words than nmap's are dropped, as any attribute that does not fit.
    if (s.attrs.tunnel === "ssl") service.tunnel = "ssl";
    const method = s.attrs.method;
    if (method === "probed" || method === "table") service.method = method;
    const cpe = childrenNamed(s, "cpe").map((c) => c.text.trim()).filter((c) => c !== "");
    if (cpe.length > 0) service.cpe = cpe;
  }
  for (const script of childrenNamed(port, "script")) {
    if (script.attrs.id !== "ssl-cert") continue;
    const cert = certificateFromScript(script);
    if (cert !== undefined) service.certificate = cert;
  }
  return Object.keys(service).length > 0 ? service : undefined;
}

function hostOf(h: XmlElement): HostReport | undefined {
  const addresses = childrenNamed(h, "address");
  const ip = addresses.find((a) => a.attrs.addrtype === "ipv4" || a.attrs.addrtype === "ipv6") ??
    addresses.find((a) => a.attrs.addrtype !== "mac") ?? addresses[0];
  const address = ip?.attrs.addr;
  if (address === undefined || address === "") return undefined;
  const status = child(h, "status");
  const statusState = status?.attrs.state;
  const state = isHostState(statusState) ? statusState : "unknown";
  const hostnames = [
    ...new Set(
      childrenNamed(child(h, "hostnames"), "hostname")
        .map((n) => n.attrs.name ?? "")
        .filter((n) => n !== ""),
    ),
  ];
  const portsElement = child(h, "ports");
  const ports: PortResult[] = [];
  for (const p of childrenNamed(portsElement, "port")) {
    const stateElement = child(p, "state");
    const portState = stateElement?.attrs.state ?? "";
    const number = int(p.attrs.portid, -1);
    const protocol = p.attrs.protocol;
    if (!isPortState(portState) || !Number.isInteger(number) || number < 0 || number > 65535) {
      continue;
    }
    if (!isProtocol(protocol)) continue;
    const result: PortResult = {
      address,
      protocol,
      port: number,
      state: portState,
      reason: stateElement?.attrs.reason ?? "",
    };
    const ttl = stateElement?.attrs.reason_ttl;
    if (ttl !== undefined && /^\d+$/.test(ttl)) result.reasonTtl = Number(ttl);
    const service = serviceOf(p);
    if (service !== undefined) result.service = service;
    // Script output (nmap's NSE, portolan's -sC), kept as the report had it.
    const scripts = childrenNamed(p, "script").flatMap((script) =>
      script.attrs.id !== undefined && script.attrs.output !== undefined
        ? [{ id: script.attrs.id, output: script.attrs.output }]
        : []
    );
    if (scripts.length > 0) result.scripts = scripts;
    ports.push(result);
  }
  ports.sort(comparePorts);
  const extraports: ExtraPorts[] = [];
  for (const e of childrenNamed(portsElement, "extraports")) {
    const extraState = e.attrs.state ?? "";
    if (!isPortState(extraState)) continue;
    const reasons = [...childrenNamed(e, "extrareasons"), ...childrenNamed(e, "extrareason")]
      .map((r) => ({ reason: r.attrs.reason ?? "", count: int(r.attrs.count) }))
      .filter((r) => r.reason !== "" && r.count > 0);
    extraports.push({ state: extraState, count: int(e.attrs.count), reasons });
  }
  return { address, hostnames, state, reason: status?.attrs.reason ?? "", ports, extraports };
}

/**
 * Read nmap or portolan XML (`-oX`) into a report.
 *
 * @example
 * ```ts
 * import { parseNmapXml } from "./nmap_xml.ts";
 * const report = parseNmapXml(`<nmaprun args="nmap 127.0.0.1" start="0"><host>
 *   <status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/>
 *   <ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port></ports>
 * </host></nmaprun>`, "scan.xml");
 * report.hosts[0]?.ports[0]?.port; // 22
 * ```
 */
export function parseNmapXml(text: string, name: string): ScanReport {
  const doc = parseXml(text);
  const run = findFirst(doc, "nmaprun");
  if (run === undefined) {
    throw new SyntaxError(
      `Cannot parse report "${name}": not an nmap XML file (no <nmaprun> element)`,
    );
  }
  // nmap and portolan always say when the run started; a bare <nmaprun> is not a report.
  if (run.attrs.scanner === undefined && run.attrs.start === undefined) {
    throw new SyntaxError(
      `Cannot parse report "${name}": not an nmap XML report (<nmaprun> has no scanner or start)`,
    );
  }
  const scaninfo: ScanInfo[] = childrenNamed(run, "scaninfo").flatMap((s) => {
    const protocol = s.attrs.protocol;
    return isProtocol(protocol)
      ? [{
        type: s.attrs.type ?? "",
        protocol,
        numServices: int(s.attrs.numservices),
        services: s.attrs.services ?? "",
      }]
      : [];
  });
  const hosts = childrenNamed(run, "host").map(hostOf).filter((h): h is HostReport =>
    h !== undefined
  );
  const runstats = child(run, "runstats");
  const finished = child(runstats, "finished");
  const hostCounts = child(runstats, "hosts");
  const up = hosts.filter((h) => h.state === "up").length;
  const down = hosts.filter((h) => h.state === "down").length;
  return {
    scanner: "portolan",
    version: run.attrs.version ?? "",
    args: splitArgs(run.attrs.args ?? ""),
    start: isoFromUnix(run.attrs.start),
    // An error exit (or none at all) leaves the scan unfinished.
    end: finished !== undefined && finished.attrs.exit !== "error"
      ? isoFromUnix(finished.attrs.time)
      : "",
    scaninfo,
    hosts,
    stats: {
      probes: 0,
      retries: 0,
      seconds: int(finished?.attrs.elapsed),
      hostsUp: int(hostCounts?.attrs.up, up),
      hostsDown: int(hostCounts?.attrs.down, down),
      hostsTotal: int(hostCounts?.attrs.total, hosts.length),
    },
  };
}
