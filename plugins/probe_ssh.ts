/**
 * SSH: the identification line every SSH server sends first
 * ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5"). OpenSSH, Dropbear and others,
 * with versions.
 *
 * @module
 */

import { cpe, latin1, type ProbePlugin, type ServiceMatch } from "../src/plugin/mod.ts";

/**
 * Parse an SSH identification line (RFC 4253 §4.2). Lines before it are
 * allowed, as the RFC allows them.
 *
 * @example
 * ```ts
 * import { parseSshBanner } from "./probe_ssh.ts";
 * parseSshBanner("SSH-2.0-dropbear_2022.83\r\n")?.product; // "Dropbear sshd"
 * ```
 */
export function parseSshBanner(text: string): ServiceMatch | undefined {
  const found = /^SSH-(\d+\.\d+)-([!-~]+)(?: ([^\r\n]*))?\r?\n/m.exec(text);
  if (found === null) return undefined;
  const protocol = found[1] as string;
  const software = found[2] as string;
  const comment = found[3]?.trim() ?? "";
  const extra: string[] = [];
  const match: ServiceMatch = { name: "ssh" };
  const openssh = /^OpenSSH_([\w.]+)/.exec(software);
  const dropbear = /^dropbear(?:_([\w.]+))?/i.exec(software);
  if (openssh !== null) {
    const version = openssh[1] as string;
    match.product = "OpenSSH";
    match.version = version;
    match.cpe = [cpe("a:openbsd:openssh", version)];
    // "Debian-2+deb12u5" is the distribution's package revision; nmap shows
    // it as part of the version ("9.2p1 Debian 2+deb12u5"), and so do we.
    const distro = /^(Debian|Ubuntu|Raspbian)-(\S+)/.exec(comment);
    if (distro !== null) {
      match.version = `${version} ${distro[1]} ${distro[2]}`;
      match.ostype = "Linux";
      match.cpe.push("cpe:/o:linux:linux_kernel");
    } else if (comment !== "") {
      extra.push(comment);
    }
  } else if (dropbear !== null) {
    match.product = "Dropbear sshd";
    if (dropbear[1] !== undefined) match.version = dropbear[1];
    // Dropbear is the SSH server of embedded Linux (routers, OpenWrt): nmap says so too.
    match.ostype = "Linux";
    match.cpe = [
      cpe("a:matt_johnston:dropbear_ssh_server", dropbear[1]),
      "cpe:/o:linux:linux_kernel",
    ];
  } else {
    const [product, version] = software.split("_", 2) as [string, string | undefined];
    const libssh = /^libssh-?([\d.]+)?$/i.exec(software);
    if (libssh !== null) {
      match.product = "libssh";
      if (libssh[1] !== undefined) match.version = libssh[1];
    } else {
      match.product = product;
      if (version !== undefined && version !== "") match.version = version;
    }
    if (comment !== "") extra.push(comment);
  }
  extra.push(`protocol ${protocol === "1.99" ? "1.99" : protocol}`);
  match.extraInfo = extra.join("; ");
  return match;
}

/** The SSH probe plugin (passive: SSH servers speak first). */
export function sshProbe(): ProbePlugin {
  return {
    name: "ssh",
    description: "SSH identification line: OpenSSH, Dropbear, libssh, others",
    protocols: ["tcp"],
    ports: [22, 222, 2222, 22222],
    rarity: 1,
    passive: true,
    probe(conn): Promise<ServiceMatch | undefined> {
      return Promise.resolve(parseSshBanner(latin1(conn.greeting)));
    },
  };
}
