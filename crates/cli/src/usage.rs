pub const HELP: &str = "\
portolan: a network port scanner with Nmap's command line
Usage: portolan [Scan Type(s)] [Options] {target specification}
TARGET SPECIFICATION:
  Addresses, CIDR blocks, octet ranges and host names, e.g.
  127.0.0.1, 198.18.0.0/24, 198.18.0-3.1-254, localhost
  -iL <file>: read targets from a file ('-' for standard input)
  -iR <count>: scan random routable IPv4 addresses (0 = without end)
  --exclude <host1[,host2]...>: never scan these
  --excludefile <file>: never scan the targets listed in a file
  --shards <I/N>: scan slice I (from 0) of N disjoint slices of the targets; 'portolan
      merge' joins the slices' XML or JSON files (docs/shards.md)
  --seed <number>: the same random choices each run (-iR's targets, the probe order)
  --randomize-hosts: shuffle each group of 16384 targets before scanning it
  --resolve-all: scan every address a host name resolves to, of both families, not the
      first alone
  --ipv6-prefix-limit <number>: the most addresses an IPv6 prefix may hold (default 65536,
      a /112); a /64 is found from a list (-iL), not walked
HOST DISCOVERY:
  -sL: list the targets only, sending nothing
  -sn: find which hosts are up (ping scan), scan no ports
  -Pn: treat every target as up (otherwise a host is up when a port answers)
  -PS/-PA/-PU/-PY [portlist]: TCP SYN, TCP ACK, UDP or SCTP INIT discovery probes to these
      ports
  -PE/-PP/-PM: ICMP echo, timestamp or address mask requests
  -PR: ARP (IPv6: neighbour discovery), which our own links are always asked with
SCAN TECHNIQUES:
  -sS: TCP SYN scan (the default when raw sockets are permitted)
  -sT: TCP connect() scan (the default otherwise; needs no privileges)
  -sA/-sW/-sM: TCP ACK, Window and Maimon scans
  -sN/-sF/-sX: TCP NULL, FIN and Xmas scans
  -sU: UDP scan
  -sI <zombie>[:<port>]: idle scan: the target's open ports read from an idle zombie's IP
      identification, never sending the target a packet from our own address
  -sY/-sZ: SCTP INIT and COOKIE ECHO scans (IPv4)
  -sO: IP protocol scan: which IP protocols (ICMP, TCP, GRE, ...) hosts support; -p
      names protocol numbers (0-255, all by default; P: prefixes them); IPv4
  --scanflags <flags>: custom TCP flags (e.g. SYNFIN, or a number), read as -sS unless
      another technique is given
  Every technique but -sT needs CAP_NET_RAW (root).
PORT SPECIFICATION AND SCAN ORDER:
  -p <ranges>: e.g. -p22; -p1-65535; -p-; -p U:53,T:21-25,80,P:47; -p http,ssh; -p [1-1024]
  -F: fast mode, the top 100 ports
  -r: scan ports in order instead of at random
  --top-ports <number>: the <number> most common ports
SERVICE/VERSION DETECTION:
  -sV: probe open ports to name their service and its version
  --version-intensity <0-9>: try rarer probes too (default 7)
  --version-light: intensity 2; --version-all: intensity 9
  --version-trace: show every version probe and its answer
  --versiondb <file>: Nmap's probe database from this file (portolan's own is always used)
OS DETECTION:
  -O: name the operating system from its TCP/IP stack (Nmap's nmap-os-db where Nmap is
      installed, else portolan's own coarse families); needs CAP_NET_RAW
  --osscan-limit: only hosts with an open and a closed TCP port
  --osscan-guess, --fuzzy: print the closest guesses when nothing matches exactly
  --max-os-tries <tries>: rounds of probes at most for a host without a perfect match
TIMING AND PERFORMANCE:
  -T<0-5>, --timing <0-5>: timing template (higher is faster)
  --min-rtt-timeout/--max-rtt-timeout/--initial-rtt-timeout <time>: probe timeouts
  --max-retries <tries>: cap retransmissions of a silent port
  --host-timeout <time>: give up on a host after this long
  --scan-delay <time>: wait at least this long between probes to a host
  --max-scan-delay <time>: cap the delay raw scans add when a host keeps losing probes
  --min-parallelism/--max-parallelism <count>: probes in flight at least/at most
  --min-hostgroup/--max-hostgroup <size>: hosts scanned at once at least/at most
  --min-rate <number>: send at least <number> probes per second (raw scans)
  --max-rate <number>: send no more than <number> probes per second
  --max-host-rate <number>: send any one host no more than <number> probes per second
      (raw scans; tries again included; -v reports the highest reached)
  --max-sweep-rate <number>: try any one port on no more than <number> new hosts per
      second (raw scans; -v reports the highest reached)
STEALTH:
  --evade-detectors <list>: stay under these detectors' alert thresholds (psad, zeek,
      sfportscan-low/-medium/-high, et, or all): caps per host, per port and in all,
      one try again, no host discovery; prints the ETA and what it cannot avoid
  --detector-budgets <file>: more budgets, in the presets' format (docs/stealth.md)
  --dry-run: print the stealth schedule and send nothing
  <time> is in seconds, or append 'ms', 's', 'm' or 'h' (e.g. 500ms, 30m)
OUTPUT:
  -oN/-oX/-oG <file>: normal, XML (Nmap's DTD) or grepable output to a file ('-': stdout);
      -oM is -oG's old name
  -oJ <file>: one JSON document for the scan ('-': one JSON object per line on stdout)
  --ndjson <file>: one JSON object per line, written as results come (see docs/json.md)
  --append-output: add to output files instead of replacing them
  --resume <file>: go on with an interrupted scan from any of its output files, or Nmap's
      -oN/-oG (alone: portolan --resume scan.nmap); XML and JSON end up as one document
  --stylesheet <path/URL>, --webxml, --no-stylesheet: the XSL the XML output names
  'portolan merge [-o <file>] <file>...': one report from the XML or JSON files of shards
  --save: keep the scan in the history ('portolan history' lists them; 'portolan diff A B'
      shows what changed between two saved scans or XML/JSON files, ours or Nmap's)
  'portolan report [-o <file>] [<scan>...]': one HTML page of open ports, what opened and
      closed between scans, and exposure over time, from saved scans (all when none is
      named) or XML/JSON files
  -oA <basename>: normal, XML, grepable and JSON, as <basename>.nmap, .xml, .gnmap, .json
  -v, --verbose: more verbose (-vv or -v<level> for more)
  --stats-every <time>: print the scan's progress this often
  -d: debugging output: timing decisions and final round-trip times (-dd or -d<level>: and
      every retransmission)
  --reason: show why each port and host has its state
  --packet-trace: show every packet raw scans send and receive
  --open: show only open (or possibly open) ports
SOURCE:
  -S <address>[,<address>...]: send from this address; with several (addresses of ours),
      raw port scans deal each host's ports among them, each with its own ICMP error budget
      at the target and its own budget under --evade-detectors
  -e <interface>: send through this interface
  --send-eth/--send-ip: send Ethernet frames, or raw IP packets the kernel routes
  --disable-arp-ping: no ARP or neighbour discovery on our own links
  -g/--source-port <port>: send from this port
FIREWALL/IDS EVASION (raw scans):
  -f; --mtu <size>: send probes in fragments of 8 bytes (-ff: 16) or <size> (a multiple
      of 8); IPv6 fragments under 24 bytes split the TCP header, which Linux hosts drop
  --mimic <linux|windows|macos>: probes copy that client system's SYN (options and their
      order, window, TTL), so that passive fingerprinting (p0f) names it, not a scanner
  --ttl <value>: the IP time-to-live (IPv6: hop limit) of every probe
  --ip-options <R|T|U|L addr...|S addr...|\\xHH...>: IPv4 options in every probe (record
      route, timestamps, loose or strict source route, or bytes)
  --badsum: a wrong TCP/UDP checksum: hosts drop such probes; what answers did not check
  --data <hex>; --data-string <text>; --data-length <n>: this payload in every raw probe
      (UDP: instead of the protocol payloads)
  --spoof-mac <mac address/prefix/vendor name>: send frames from this hardware address (0:
      a random one; a prefix or vendor is completed at random); implies --send-eth
  --proxies <url1,[url2],...>: relay -sT's connections through a chain of proxies
      (socks4://, socks5:// or http:// with an address:port)
  -D <decoy1,decoy2[,ME],...>: send each probe from these addresses too, ours at ME (else
      at random); RND:<n> adds n random addresses
MISC:
  -A: OS and version detection and traceroute (-O -sV --traceroute)
  --traceroute: trace the hop path to each host (needs CAP_NET_RAW)
  --privileged/--unprivileged: assume raw sockets are permitted, or that they are not
      (also NMAP_PRIVILEGED / NMAP_UNPRIVILEGED in the environment, as in Nmap)
  -6: scan IPv6 targets (link-local ones as fe80::1%eth0); -4: IPv4 ones (the default)
  --iflist: list this host's interfaces and routes
  -n/-R: never, or always, do reverse DNS resolution (by default: of the hosts up)
  --dns-servers <serv1[,serv2],...>: ask these name servers
  --system-dns: ask the C library's resolver instead
  --datadir <dir>: look for Nmap's data files (nmap-services, nmap-service-probes,
      nmap-os-db) here first
  portolan config show: the defaults in force from $XDG_CONFIG_HOME/portolan/config.toml
      (save, output_dir, timing, datadir), and where each comes from
  portolan manpage, portolan completions bash|zsh|fish: this summary as portolan(1), and
      completion scripts for the shells
  -V, --version: print the version
  -h, --help: print this summary
";
