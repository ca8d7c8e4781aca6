/**
 * `--help` text. The README's flag reference is this text, verbatim (a test
 * holds them together).
 *
 * @module
 */

/** The help screen. */
export const HELP = `Usage: portolan [options] TARGET...
       portolan --resume FILE
       portolan history [--db FILE] [--limit N] [--json]
       portolan diff [A] [B] [--db FILE | --no-db] [--json]
       portolan merge FILE... [-oJ|-oX|-oN|-oG|-oH FILE] [--output NAME:FILE] [--db FILE]

TARGETS
  198.51.100.7  2001:db8::7  host.example    addresses and hostnames
  198.51.100.0/24  2001:db8::/120            CIDR blocks
  10.0.0-3.1-254  192.168.1.*                nmap octet ranges
  10.0.0.1-10.0.0.50  2001:db8::1-2001:db8::ff  address ranges
  -iL FILE               read targets from FILE (one or more a line, # comments, - = stdin)
  --exclude LIST         leave out these targets (comma-separated specs)
  --excludefile FILE     leave out the targets in FILE
  -4, -6                 resolve hostnames to IPv4 / IPv6 only
  --no-default-exclude   also scan 0.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4, 255.255.255.255
                         and ff00::/8, which are left out by default
  --yes                  scan more than 2^20 hosts or 2^30 probes without asking

PORTS
  -p LIST                ports: 22,80,1000-2000  -p- (all)  -1024  60000-  T:80,U:53
  --top-ports N          the N most often open ports
  -F                     fast: the top 100 ports
  --exclude-ports LIST   leave out these ports
                         (default: the top 1000 TCP ports)

SCAN
  -sS                    TCP SYN scan over raw sockets (default where they open: root or
                         CAP_NET_RAW, and --allow-ffi)
  -sT                    TCP connect scan (default otherwise; needs no privileges)
  -sU                    UDP scan, with protocol payloads for common services (raw sockets)
  -sn                    host discovery only: no port scan
  -sL                    list the targets, one address a line, and exit (sends nothing)
  -sV                    detect services and versions on open ports (probe plugins)
  -sSV, -sTU, -sSUV …    several scan types in one flag, as nmap reads them
  -O                     OS detection: not available; said once, and the scan goes on
  --version-intensity N  0 (likely probes only, short waits) ... 9 (all probes); default 7
  --version-light        --version-intensity 2
  --version-all          --version-intensity 9
  -sC                    run the default scripts: http-title, ssh-hostkey, ssl-cert
  --script NAMES         scripts or categories, comma-separated: banner, http-title,
                         http-headers, http-server-header, ssl-cert, ssh-hostkey, default, …
  --script-timeout TIME  time one script may take on one port (default 10s)
  -A                     -sV and -sC (nmap's -O and --traceroute are not available)

HOST DISCOVERY (default with raw sockets: ARP / neighbour discovery on a local link,
  else ICMP echo, SYN to 443 and ACK to 80; without them: connect to 80 and 443)
  -Pn                    skip host discovery: treat every host as up
  -PE                    ICMP echo (raw sockets)
  -PS[PORTS]             TCP SYN to PORTS (default 80); connect() without raw sockets
  -PA[PORTS]             TCP ACK to PORTS (default 80); connect() without raw sockets
  -PR                    ARP / IPv6 neighbour discovery on a local link (raw sockets)
  -n                     never resolve names (numeric targets only, no reverse DNS)
  -R                     reverse DNS of every target (default: of the hosts found up;
                         the hosts file first, then PTR queries, about a second at most)
  --dns-servers LIST     ask these DNS servers for reverse names (198.51.100.53,[::1]:53)
  -r                     probe in order instead of a random permutation
  --seed N               seed of the probe-order permutation (repeatable scans)
  --shard I/N            scan shard I (1..N) of N: processes started with the same --seed
                         and other shards cover the whole space exactly once between them
  --connect-engine E     auto (epoll through FFI when allowed), epoll, or deno

HISTORY AND RESUME
  --db FILE              record the scan in this SQLite history
                         (default: $XDG_DATA_HOME/portolan/history.db)
  --no-db                record nothing
  --resume-file FILE     where an interrupted scan (SIGINT/SIGTERM) leaves its state
                         (default: $XDG_STATE_HOME/portolan/resume.json)
  --resume FILE          go on with an interrupted scan, to the result of an uninterrupted one
  history                list the recorded scans
  diff [A] [B]           what changed: the last two scans of the same targets, or scan ids,
                         or two -oJ / -oX files
  merge FILE...          the -oJ / -oX / JSONL outputs of a scan's shards (--shard I/N) as one
                         report, written to any output; with --db FILE, recorded there

TIMING
  -T0 ... -T5            timing template: paranoid sneaky polite normal aggressive insane
  --min-rate N           send at least N probes per second
  --max-rate N           send at most N probes per second
  --max-retries N        retransmissions of an unanswered probe (default: adaptive, at most 10)
  --host-timeout TIME    give up on a host after TIME (500ms, 30s, 5m, 1h)
  --min-rtt-timeout TIME, --max-rtt-timeout TIME, --initial-rtt-timeout TIME
                         bounds of the per-probe timeout, which follows measured round trips
  --scan-delay TIME      wait TIME between probes
  --max-parallelism N    at most N probes in flight

OUTPUT
  -oN FILE               normal (nmap-like) text to FILE
  -oX FILE               nmap XML to FILE (valid against nmap.dtd; ndiff and nmap.xsl read it)
  -oG FILE               nmap's grepable format to FILE
  -oJ FILE               JSON to FILE ("-" = stdout, which then carries JSON only)
  -oH FILE               a self-contained HTML report (charts, sortable table) to FILE
  -oA BASE               all of BASE.nmap, BASE.xml, BASE.gnmap and BASE.json
  --output NAME:FILE     output plugin NAME to FILE (repeatable): normal, json, xml, grepable,
                         jsonl (one line per result, as found), csv, html, or a loaded one;
                         NAME:FILE?key=value&key2=value2 sets the plugin's options
                         (URL-encoded; unknown keys and bad values are refused)
  --plugin PATH          load output plugins from a TypeScript/JavaScript module (PLUGINS.md)
  --open                 show only open ports
  --reason               say why each port has its state
  -v, -vv                more detail: phases and "Discovered open port" as found, down
                         hosts, engine figures; -vv adds the REASON column
  -d, -dd                debugging: -v plus the timing report and the path's final times
  --packet-trace         a line per probe sent and per answer received, to stderr
  --stats-every TIME     nmap's stats lines (done, ETC) every TIME (1s, 30s, 5m)
  -h, --help             this help
  -V, --version          the version

EXIT CODES
  0 done   1 runtime failure   2 bad command line (nothing scanned)   130 interrupted

Scan only hosts you are allowed to scan.
`;
