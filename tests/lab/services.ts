/**
 * Real daemons and greeters in the lab's target namespace, for service
 * detection: vsftpd (twice: as installed on 21, and on 2121 with a
 * customised greeting that hides its name), OpenSSH, dnsmasq, nginx (80, 443 with a self-signed
 * certificate, 8080), redis and memcached from Debian's packages, each run in
 * the foreground with a config written to a temporary directory and bound to
 * the target's IPv4 address only; plus the hand-written greeters of
 * `greeters.ts` (Exim-like SMTP, Dovecot-like IMAP and POP3, Dropbear-like
 * SSH, tarpit, silent, hostile banner, reset at once, slow drip).
 *
 * `startLab({ services: true })` starts them; see {@link LabServices}.
 *
 * @module
 */

import type { GreeterKind } from "./greeters.ts";

/** A service of the lab, by the port it listens on. */
export interface LabService {
  port: number;
  /** "daemon" (a Debian package) or "greeter" (greeters.ts). */
  kind: "daemon" | "greeter";
  /** Program (daemon) or greeter kind. */
  program: string;
  /** What detection should find; undefined for the unidentifiable ones. */
  expect?: { name: string; product?: string; tunnel?: "ssl" };
}

/** The lab's services, by port. */
export const LAB_SERVICES: readonly LabService[] = Object.freeze([
  { port: 21, kind: "daemon", program: "vsftpd", expect: { name: "ftp", product: "vsftpd" } },
  { port: 22, kind: "daemon", program: "sshd", expect: { name: "ssh", product: "OpenSSH" } },
  // A common hardening step: ftpd_banner hides the product. Named by how it answers.
  {
    port: 2121,
    kind: "daemon",
    program: "vsftpd-custom",
    expect: { name: "ftp", product: "vsftpd" },
  },
  {
    port: 25,
    kind: "greeter",
    program: "smtp",
    expect: { name: "smtp", product: "Exim smtpd" },
  },
  { port: 53, kind: "daemon", program: "dnsmasq", expect: { name: "domain", product: "dnsmasq" } },
  { port: 80, kind: "daemon", program: "nginx", expect: { name: "http", product: "nginx" } },
  {
    port: 110,
    kind: "greeter",
    program: "pop3",
    expect: { name: "pop3", product: "Dovecot pop3d" },
  },
  {
    port: 143,
    kind: "greeter",
    program: "imap",
    expect: { name: "imap", product: "Dovecot imapd" },
  },
  {
    port: 443,
    kind: "daemon",
    program: "nginx",
    expect: { name: "http", product: "nginx", tunnel: "ssl" },
  },
  {
    port: 2222,
    kind: "greeter",
    program: "ssh",
    expect: { name: "ssh", product: "Dropbear sshd" },
  },
  {
    port: 6379,
    kind: "daemon",
    program: "redis-server",
    expect: { name: "redis", product: "Redis key-value store" },
  },
  { port: 7000, kind: "greeter", program: "tarpit" },
  { port: 7001, kind: "greeter", program: "silent" },
  { port: 7002, kind: "greeter", program: "hostile" },
  { port: 7003, kind: "greeter", program: "reset" },
  { port: 7004, kind: "greeter", program: "slowdrip" },
  { port: 8080, kind: "daemon", program: "nginx", expect: { name: "http", product: "nginx" } },
  {
    port: 11211,
    kind: "daemon",
    program: "memcached",
    expect: { name: "memcached", product: "Memcached" },
  },
]);

/** Ports of the lab's services, ascending. */
export const SERVICE_PORTS: readonly number[] = Object.freeze(
  LAB_SERVICES.map((service) => service.port).sort((a, b) => a - b),
);

/** Where each daemon's program is on Debian. */
export const DAEMON_PATHS: Readonly<Record<string, string>> = Object.freeze({
  vsftpd: "/usr/sbin/vsftpd",
  sshd: "/usr/sbin/sshd",
  dnsmasq: "/usr/sbin/dnsmasq",
  nginx: "/usr/sbin/nginx",
  "redis-server": "/usr/bin/redis-server",
  memcached: "/usr/bin/memcached",
  "ssh-keygen": "/usr/bin/ssh-keygen",
  openssl: "/usr/bin/openssl",
});

/** Debian packages that bring the daemons. */
export const DAEMON_PACKAGES: readonly string[] = Object.freeze([
  "vsftpd",
  "openssh-server",
  "dnsmasq-base",
  "nginx-light",
  "redis-server",
  "memcached",
  "openssl",
]);

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Programs of {@link DAEMON_PATHS} that are not installed. */
export function missingDaemons(): string[] {
  return Object.entries(DAEMON_PATHS).filter(([, path]) => !exists(path)).map(([name]) => name);
}

/** The lab's running services. */
export interface LabServices {
  /** Every service started, by port, ascending. */
  services: LabService[];
  /** Daemons not started because their program is missing. */
  missing: string[];
  /** The temporary directory of configs, keys and logs. */
  dir: string;
  /** Last lines of a daemon's log, for failure messages. */
  log(program: string): Promise<string>;
}

/** What {@link startServices} needs from the lab. */
export interface ServiceHost {
  targetNs: string;
  /** Address the daemons bind. */
  address: string;
  /** Spawn a command in the target namespace; the lab kills it on stop. */
  spawn(cmd: string[], options: { stdout: "piped" | "null" }): Deno.ChildProcess;
}

const decoder = new TextDecoder();

async function mustRun(cmd: string[]): Promise<void> {
  const [program, ...args] = cmd;
  const output = await new Deno.Command(program as string, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (output.code !== 0) {
    throw new Error(
      `Cannot start lab services: "${cmd.join(" ")}" exited ${output.code}: ${
        decoder.decode(output.stderr).trim()
      }`,
    );
  }
}

/** The greeting of the vsftpd on 2121: nothing in it names the server. */
export const CUSTOM_FTP_BANNER = "Welcome to the Portolan lab file service.";

function vsftpdConfig(dir: string, address: string, port: number, banner?: string): string {
  return [
    "listen=YES",
    "listen_ipv6=NO",
    `listen_address=${address}`,
    `listen_port=${port}`,
    "background=NO",
    "anonymous_enable=YES",
    `anon_root=${dir}/empty`,
    "no_anon_password=YES",
    "ftp_username=nobody",
    "local_enable=NO",
    `secure_chroot_dir=${dir}/empty`,
    "xferlog_enable=NO",
    `vsftpd_log_file=${dir}/vsftpd-${port}.log`,
    "seccomp_sandbox=NO",
    ...(banner === undefined ? [] : [`ftpd_banner=${banner}`]),
    "",
  ].join("\n");
}

function configs(dir: string, address: string): Record<string, string> {
  return {
    "vsftpd.conf": vsftpdConfig(dir, address, 21),
    "vsftpd-custom.conf": vsftpdConfig(dir, address, 2121, CUSTOM_FTP_BANNER),
    "sshd_config": [
      `ListenAddress ${address}:22`,
      `HostKey ${dir}/ssh_host_ed25519_key`,
      "PidFile none",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UseDNS no",
      "",
    ].join("\n"),
    "nginx.conf": `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-tmp/body;
  proxy_temp_path ${dir}/nginx-tmp/proxy;
  fastcgi_temp_path ${dir}/nginx-tmp/fastcgi;
  uwsgi_temp_path ${dir}/nginx-tmp/uwsgi;
  scgi_temp_path ${dir}/nginx-tmp/scgi;
  server {
    listen ${address}:80;
    listen ${address}:8080;
    listen ${address}:443 ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    root ${dir}/www;
  }
}
`,
  };
}

function daemonCommands(dir: string, address: string): Record<string, string[]> {
  return {
    vsftpd: [DAEMON_PATHS.vsftpd as string, `${dir}/vsftpd.conf`],
    "vsftpd-custom": [DAEMON_PATHS.vsftpd as string, `${dir}/vsftpd-custom.conf`],
    sshd: [DAEMON_PATHS.sshd as string, "-D", "-e", "-f", `${dir}/sshd_config`],
    dnsmasq: [
      DAEMON_PATHS.dnsmasq as string,
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      `--listen-address=${address}`,
      "--bind-interfaces",
      "--port=53",
      "--no-resolv",
      "--no-hosts",
      "--pid-file=",
      "--user=root",
      "--group=root",
    ],
    nginx: [DAEMON_PATHS.nginx as string, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
    "redis-server": [
      DAEMON_PATHS["redis-server"] as string,
      "--bind",
      address,
      "--port",
      "6379",
      "--daemonize",
      "no",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--protected-mode",
      "no",
      "--logfile",
      "",
    ],
    memcached: [
      DAEMON_PATHS.memcached as string,
      "-u",
      "nobody",
      "-l",
      address,
      "-p",
      "11211",
      "-U",
      "0",
    ],
  };
}

async function listening(targetNs: string): Promise<Set<number>> {
  const output = await new Deno.Command("ip", {
    args: ["netns", "exec", targetNs, "cat", "/proc/net/tcp", "/proc/net/tcp6"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const ports = new Set<number>();
  for (const line of decoder.decode(output.stdout).split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[3] !== "0A") continue;
    const port = parseInt(fields[1]?.split(":").at(-1) ?? "", 16);
    if (Number.isInteger(port)) ports.add(port);
  }
  return ports;
}

function greeterPath(): string {
  return decodeURIComponent(new URL("./greeters.ts", import.meta.url).pathname);
}

/**
 * Starts the daemons and greeters in the target namespace and waits until
 * every port listens. Daemons whose program is missing are left out and
 * named in `missing`.
 *
 * @throws {Error} naming the daemon and its log when one does not come up.
 */
export async function startServices(
  host: ServiceHost,
  options: { readyTimeout?: number } = {},
): Promise<LabServices> {
  const dir = await Deno.makeTempDir({ prefix: "portolan-lab-" });
  try {
    return await startIn(dir, host, options.readyTimeout ?? 30_000);
  } catch (error) {
    // The lab kills what was spawned; the directory is ours to remove.
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

async function startIn(dir: string, host: ServiceHost, timeout: number): Promise<LabServices> {
  // nginx's workers and memcached run as nobody and must reach their files.
  await Deno.chmod(dir, 0o755);
  const missing = missingDaemons();
  const have = (program: string): boolean => !missing.includes(program);
  await Deno.mkdir(`${dir}/empty`, { mode: 0o755 });
  await Deno.mkdir(`${dir}/www`, { mode: 0o755 });
  await Deno.mkdir(`${dir}/nginx-tmp`, { mode: 0o755 });
  await Deno.writeTextFile(
    `${dir}/www/index.html`,
    "<!doctype html><html><head><title>Portolan lab</title></head><body>lab</body></html>\n",
  );
  for (const [name, text] of Object.entries(configs(dir, host.address))) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  if (have("openssl")) {
    await mustRun([
      DAEMON_PATHS.openssl as string,
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "90",
      "-subj",
      "/CN=lab.example/O=Portolan Lab",
      "-addext",
      `subjectAltName=DNS:lab.example,DNS:www.lab.example,IP:${host.address}`,
    ]);
  }
  if (have("ssh-keygen")) {
    await mustRun([
      DAEMON_PATHS["ssh-keygen"] as string,
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-f",
      `${dir}/ssh_host_ed25519_key`,
    ]);
  }
  // sshd insists on its privilege separation directory.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });

  const commands = daemonCommands(dir, host.address);
  const started: LabService[] = [];
  const children = new Map<string, Deno.ChildProcess>();
  const needs: Record<string, string[]> = {
    nginx: ["openssl"],
    sshd: ["ssh-keygen"],
    "vsftpd-custom": ["vsftpd"],
  };
  for (const [program, cmd] of Object.entries(commands)) {
    if (!have(program) || (needs[program] ?? []).some((need) => !have(need))) {
      if (!missing.includes(program)) missing.push(program);
      continue;
    }
    const log = `${dir}/${program}.out`;
    children.set(
      program,
      host.spawn(["sh", "-c", `exec "$@" >>'${log}' 2>&1`, "sh", ...cmd], { stdout: "null" }),
    );
    started.push(...LAB_SERVICES.filter((service) => service.program === program));
  }

  const greeters = LAB_SERVICES.filter((service) => service.kind === "greeter");
  const greeter = host.spawn([
    "sh",
    "-c",
    `exec "$@" 2>>'${dir}/greeters.out'`,
    "sh",
    Deno.execPath(),
    "run",
    "--no-lock",
    "--allow-net",
    greeterPath(),
    "--host",
    "::",
    ...greeters.map((service) => `${service.program as GreeterKind}=${service.port}`),
  ], { stdout: "piped" });
  started.push(...greeters);
  // The greeters print "ready"; nothing else needs reading.
  greeter.stdout.pipeTo(new WritableStream()).catch(() => {});

  const services = started.sort((a, b) => a.port - b.port);
  const log = async (program: string): Promise<string> => {
    try {
      const text = await Deno.readTextFile(`${dir}/${program}.out`);
      return text.trim().split("\n").slice(-5).join(" | ");
    } catch {
      return "";
    }
  };
  const wanted = new Set(services.map((service) => service.port));
  const end = Date.now() + timeout;
  while (true) {
    const up = await listening(host.targetNs);
    const waiting = [...wanted].filter((port) => !up.has(port));
    if (waiting.length === 0) break;
    for (const [program, child] of [...children, ["greeters", greeter] as const]) {
      const status = await Promise.race([child.status, Promise.resolve(undefined)]);
      if (status !== undefined) {
        throw new Error(
          `Cannot start lab services: ${program} exited ${status.code}: ${await log(program)}`,
        );
      }
    }
    if (Date.now() > end) {
      const programs = services.filter((service) => waiting.includes(service.port))
        .map((service) => `${service.program} (${service.port})`);
      throw new Error(
        `Cannot start lab services: not listening after ${timeout} ms: ${programs.join(", ")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { services, missing, dir, log };
}
