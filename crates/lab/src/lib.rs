//! Network-namespace labs: a scanner namespace and a target namespace joined by one veth pair,
//! addressed from the benchmarking ranges (198.18.0.0/15, 2001:2::/48).
//!
//! The scanner namespace has no default route and no link but the one to the target, so a
//! wrong address in a test goes nowhere. Namespaces are removed when the [`Lab`] drops (also
//! on panic); labs left behind by a killed test process are swept when the next lab starts.

#![forbid(unsafe_code)]

mod browser;
mod capture;
mod daemons;
mod detectors;
mod listener;
mod netns;
mod personality;
mod proxy;
mod psad;
mod raw;
mod sctp;
mod tcp_host;
mod udp_service;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub use browser::{file_url, Browser};
pub use capture::Capture;
pub use daemons::{service_columns, Daemon, Daemons, MAIL_NAME, TLS_NAME, TLS_PORT};
pub use detectors::{alerts, per_host, Arrival, Counting, SynCapture};
pub use listener::Listeners;
pub use personality::{nmap_os_db, Personality, SYSTEMS};
pub use proxy::ProxyKind;
pub use psad::{PsadDaemon, PsadLog, PsadReport};
pub use raw::PERSONALITY_MARK;
pub use sctp::SctpHost;
pub use tcp_host::TcpHost;
pub use udp_service::{lab_name, UdpService, HOSTILE_LABEL, HOSTILE_V4};

/// The scanner's and the target's addresses on the lab link.
pub const SCANNER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const TARGET_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// An address on the lab link that no host answers for.
pub const ABSENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);
/// The host behind the target (see [`Lab::add_routed_host`]), and the target's address on
/// the link to it.
pub const ROUTED_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
const ROUTER_INSIDE_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 1);
/// A next hop on the lab link nobody answers for (see [`Lab::route_to_nowhere`]), and the
/// hardware address its neighbour entry names, which no interface has.
pub const NOWHERE_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 77);
pub const NOWHERE_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x77];
/// The scanner's device and address on its discarding link (see [`Lab::route_to_sink`]), and
/// the next hop there, whose neighbour entry names [`NOWHERE_MAC`].
pub const SINK_DEVICE: &str = "sink0";
pub const SINK_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 254, 1);
const SINK_NEXT_HOP_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 254, 77);
pub const SCANNER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1);
pub const TARGET_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2);
/// An address in the lab link's IPv6 prefix that no host answers for.
pub const ABSENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 9);

/// Every lab namespace name starts with this, then the creating process id.
const PREFIX: &str = "pl";

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Whether lab tests can run here: they need root. Outside CI a test without root is skipped
/// with a note; under CI (`CI` set) a missing lab is a failure, never a silent skip.
pub fn available() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "lab tests must run as root under CI");
    eprintln!("skipping lab test: needs root to create network namespaces");
    false
}

/// One scanner namespace and one target namespace.
pub struct Lab {
    scanner: String,
    target: String,
    /// Further target hosts, each its own namespace (and so its own kernel state, such as
    /// its ICMP rate limit), bridged onto the lab link by `add_hosts`.
    hosts: std::sync::Mutex<Vec<String>>,
}

impl Lab {
    /// Builds the two namespaces and the link between them.
    pub fn new() -> io::Result<Lab> {
        netns::sweep_abandoned(PREFIX)?;
        let id = format!("{}-{}", std::process::id(), NEXT_LAB.fetch_add(1, Ordering::Relaxed));
        let lab =
            Lab { scanner: format!("{PREFIX}-s-{id}"), target: format!("{PREFIX}-t-{id}"), hosts: Default::default() };
        netns::add(&lab.scanner)?;
        netns::add(&lab.target)?;
        lab.link()?;
        // Linux rate-limits the ICMP errors a host sends; the lab's ground truth must not
        // depend on timing, so a test that wants the limit sets it back with `sysctl`.
        lab.sysctl("net.ipv4.icmp_ratelimit", "0")?;
        lab.sysctl("net.ipv6.icmp.ratelimit", "0")?;
        // Name lookups from the scanner go to the lab, never to the host's name servers.
        lab.resolv_conf(&[TARGET_V4.into()])?;
        Ok(lab)
    }

    fn link(&self) -> io::Result<()> {
        let (s, t) = (self.scanner.as_str(), self.target.as_str());
        run("ip", &["link", "add", "scan0", "netns", s, "type", "veth", "peer", "name", "tgt0", "netns", t])?;
        for (ns, dev, v4, v6) in [(s, "scan0", SCANNER_V4, SCANNER_V6), (t, "tgt0", TARGET_V4, TARGET_V6)] {
            // The link-local address is usable at once, as the global ones are (nodad).
            run("ip", &["netns", "exec", ns, "sysctl", "-qw", &format!("net.ipv6.conf.{dev}.accept_dad=0")])?;
            run("ip", &["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev])?;
            run("ip", &["-n", ns, "addr", "add", &format!("{v6}/64"), "dev", dev, "nodad"])?;
            run("ip", &["-n", ns, "link", "set", dev, "up"])?;
            run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        }
        wait_for_ipv6(t, "tgt0")
    }

    /// Adds `count` hosts at 198.18.0.10 onwards, each a namespace of its own with Linux's
    /// default sysctls, on a bridge in the target namespace (which keeps its own address).
    /// Returns their addresses.
    pub fn add_hosts(&self, count: u8) -> io::Result<Vec<Ipv4Addr>> {
        const FIRST: u8 = 10;
        assert!(count <= 255 - FIRST, "the hosts must fit in 198.18.0.0/24");
        let t = self.target.as_str();
        if self.hosts.lock().expect("hosts lock").is_empty() {
            run("ip", &["-n", t, "link", "add", "br0", "type", "bridge"])?;
            run("ip", &["-n", t, "addr", "del", &format!("{TARGET_V4}/24"), "dev", "tgt0"])?;
            run("ip", &["-n", t, "addr", "add", &format!("{TARGET_V4}/24"), "dev", "br0"])?;
            run("ip", &["-n", t, "link", "set", "tgt0", "master", "br0"])?;
            run("ip", &["-n", t, "link", "set", "br0", "up"])?;
        }
        let id = self.target.trim_start_matches(&format!("{PREFIX}-t-"));
        (FIRST..FIRST + count)
            .map(|last| {
                let name = format!("{PREFIX}-h-{id}-{last}");
                netns::add(&name)?;
                self.hosts.lock().expect("hosts lock").push(name.clone());
                let port = format!("h{last}");
                run("ip", &["link", "add", "eth0", "netns", &name, "type", "veth", "peer", "name", &port, "netns", t])?;
                run("ip", &["-n", t, "link", "set", &port, "master", "br0", "up"])?;
                let addr = Ipv4Addr::new(198, 18, 0, last);
                run("ip", &["-n", &name, "addr", "add", &format!("{addr}/24"), "dev", "eth0"])?;
                run("ip", &["-n", &name, "link", "set", "eth0", "up"])?;
                run("ip", &["-n", &name, "link", "set", "lo", "up"])?;
                Ok(addr)
            })
            .collect()
    }

    /// Adds a host behind the target, which routes to it: a namespace of its own on a link
    /// of its own (198.18.2.0/24, the host at .2), its only route back through the target.
    /// The target then answers for it as a router does, and `forward_rule` filters its
    /// traffic there. Returns the host's address.
    pub fn add_routed_host(&self) -> io::Result<Ipv4Addr> {
        let t = self.target.as_str();
        let id = t.trim_start_matches(&format!("{PREFIX}-t-"));
        let name = format!("{PREFIX}-h-{id}-routed");
        netns::add(&name)?;
        self.hosts.lock().expect("hosts lock").push(name.clone());
        run("ip", &["link", "add", "eth0", "netns", &name, "type", "veth", "peer", "name", "routed0", "netns", t])?;
        run("ip", &["-n", t, "addr", "add", &format!("{ROUTER_INSIDE_V4}/24"), "dev", "routed0"])?;
        run("ip", &["-n", t, "link", "set", "routed0", "up"])?;
        run("ip", &["-n", &name, "addr", "add", &format!("{ROUTED_V4}/24"), "dev", "eth0"])?;
        run("ip", &["-n", &name, "link", "set", "eth0", "up"])?;
        run("ip", &["-n", &name, "link", "set", "lo", "up"])?;
        run("ip", &["-n", &name, "route", "add", "198.18.0.0/24", "via", &ROUTER_INSIDE_V4.to_string()])?;
        run("ip", &["netns", "exec", t, "sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        run("ip", &["-n", &self.scanner, "route", "add", "198.18.2.0/24", "via", &TARGET_V4.to_string()])?;
        Ok(ROUTED_V4)
    }

    /// Makes the routed host (see [`Lab::add_routed_host`], called first) answer for every
    /// address of `block` too, reached through the target: hosts two hops away that share
    /// their first hop.
    pub fn any_ip_behind_router(&self, block: &str) -> io::Result<()> {
        let id = self.target.trim_start_matches(&format!("{PREFIX}-t-"));
        let routed = format!("{PREFIX}-h-{id}-routed");
        run("ip", &["-n", &routed, "route", "add", "local", block, "dev", "lo"])?;
        run("ip", &["-n", &self.target, "route", "add", block, "via", &ROUTED_V4.to_string()])?;
        run("ip", &["-n", &self.scanner, "route", "add", block, "via", &TARGET_V4.to_string()])
    }

    /// Adds one nftables rule on the target's forward path: for traffic to the routed host.
    pub fn forward_rule(&self, rule: &str) -> io::Result<()> {
        self.nft(&format!(
            "table inet router {{\n  chain forward {{\n    type filter hook forward priority 0; policy accept;\n    {rule}\n  }}\n}}\n"
        ))
    }

    pub fn target_namespace(&self) -> &str {
        &self.target
    }

    pub fn scanner_namespace(&self) -> &str {
        &self.scanner
    }

    /// Adds one nftables rule on the target's input path, ahead of `filter_tcp`'s rules.
    pub fn input_rule(&self, rule: &str) -> io::Result<()> {
        self.nft(&format!(
            "table inet first {{\n  chain input {{\n    type filter hook input priority -5; policy accept;\n    {rule}\n  }}\n}}\n"
        ))
    }

    /// Gives the scanner a further address on the lab link (for `-S`).
    pub fn add_scanner_address(&self, addr: Ipv4Addr) -> io::Result<()> {
        run("ip", &["-n", &self.scanner, "addr", "add", &format!("{addr}/24"), "dev", "scan0"])
    }

    /// Gives the target a further address on the lab link: a second host in the same kernel.
    pub fn add_target_address(&self, addr: impl Into<IpAddr>) -> io::Result<()> {
        let device = if self.hosts.lock().expect("hosts lock").is_empty() { "tgt0" } else { "br0" };
        match addr.into() {
            IpAddr::V4(addr) => run("ip", &["-n", &self.target, "addr", "add", &format!("{addr}/24"), "dev", device]),
            // Without duplicate address detection the address is usable at once.
            IpAddr::V6(addr) => {
                run("ip", &["-n", &self.target, "addr", "add", &format!("{addr}/64"), "dev", device, "nodad"])?;
                Ok(())
            }
        }
    }

    /// Puts each personality on its address of the target (see [`Personality`]): the kernel's
    /// own answers from those addresses are dropped, the personalities answer instead, until
    /// the returned handle drops.
    pub fn personalities(&self, personalities: Vec<Personality>) -> io::Result<Listeners> {
        let addrs: Vec<String> = personalities.iter().map(|p| p.addr.to_string()).collect();
        for addr in &personalities {
            self.add_target_address(addr.addr)?;
        }
        self.nft(&format!(
            "table ip personalities {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n    \
             ip saddr {{ {} }} meta mark != {PERSONALITY_MARK:#x} drop\n  }}\n}}\n",
            addrs.join(", ")
        ))?;
        Listeners::personalities(&self.target, personalities)
    }

    /// Adds an idle zombie (see [`TcpHost::zombie`]) as a host of its own on the lab link (as
    /// [`Lab::add_hosts`] adds one), answering until the returned handle drops. Returns its
    /// address.
    pub fn zombie(&self) -> io::Result<(Ipv4Addr, Listeners)> {
        self.add_tcp_host(|addr| TcpHost::zombie(addr, 1000))
    }

    /// Adds a host whose `ports` answer a SYN with a bare SYN (see
    /// [`TcpHost::split_handshake`]), every other port closed, as [`Lab::zombie`] adds one.
    pub fn split_handshake_host(&self, ports: &[u16]) -> io::Result<(Ipv4Addr, Listeners)> {
        self.add_tcp_host(|addr| TcpHost::split_handshake(addr, ports))
    }

    /// Adds a host of its own on the lab link whose TCP `host` plays: its kernel's own TCP
    /// answers are dropped, the host answers instead, until the returned handle drops.
    fn add_tcp_host(&self, host: impl FnOnce(Ipv4Addr) -> TcpHost) -> io::Result<(Ipv4Addr, Listeners)> {
        let addr = *self.add_hosts(1)?.first().expect("one host added");
        let namespace = self.hosts.lock().expect("hosts lock").last().expect("the host just added").clone();
        run_with_input(
            "ip",
            &["netns", "exec", &namespace, "nft", "-f", "-"],
            &format!(
                "table ip user_space_tcp {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n    \
                 meta l4proto tcp meta mark != {PERSONALITY_MARK:#x} drop\n  }}\n}}\n"
            ),
        )?;
        let listeners = Listeners::tcp_host(&namespace, host(addr))?;
        Ok((addr, listeners))
    }

    /// Makes the target an SCTP host (see [`SctpHost`]) with `open` ports, every other port
    /// closed, until the returned handle drops; `filter_sctp` then drops or rejects ports.
    pub fn serve_sctp(&self, open: &[u16]) -> io::Result<Listeners> {
        Listeners::sctp(&self.target, SctpHost::new(TARGET_V4, open))
    }

    /// Makes the target's firewall drop the `dropped` SCTP ports (silence) and reject the
    /// `rejected` ones with an ICMP administratively prohibited.
    pub fn filter_sctp(&self, dropped: &[u16], rejected: &[u16]) -> io::Result<()> {
        let list = |ports: &[u16]| ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        self.nft(&format!(
            "table ip sctp_filter {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    \
             meta l4proto sctp th dport {{ {} }} drop\n    \
             meta l4proto sctp th dport {{ {} }} reject with icmp type admin-prohibited\n  }}\n}}\n",
            list(dropped),
            list(rejected)
        ))
    }

    /// Sets a sysctl inside the target namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        run("ip", &["netns", "exec", &self.target, "sysctl", "-qw", &format!("{key}={value}")])
    }

    /// Loads an nftables ruleset into the target namespace (e.g. drops and rejects on ports).
    pub fn nft(&self, ruleset: &str) -> io::Result<()> {
        run_with_input("ip", &["netns", "exec", &self.target, "nft", "-f", "-"], ruleset)
    }

    /// Makes the target's firewall drop the `dropped` TCP ports (silence) and reject the
    /// `rejected` ones with ICMP admin-prohibited, over IPv4 and IPv6.
    pub fn filter_tcp(&self, dropped: &[u16], rejected: &[u16]) -> io::Result<()> {
        self.filter_ports("tcp", dropped, rejected)
    }

    /// The same for UDP ports.
    pub fn filter_udp(&self, dropped: &[u16], rejected: &[u16]) -> io::Result<()> {
        self.filter_ports("udp", dropped, rejected)
    }

    fn filter_ports(&self, protocol: &str, dropped: &[u16], rejected: &[u16]) -> io::Result<()> {
        let set = |ports: &[u16]| ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        let mut rules = String::new();
        if !dropped.is_empty() {
            rules += &format!("    {protocol} dport {{ {} }} drop\n", set(dropped));
        }
        if !rejected.is_empty() {
            rules += &format!("    {protocol} dport {{ {} }} reject with icmpx type admin-prohibited\n", set(rejected));
        }
        self.nft(&format!(
            "table inet lab_{protocol} {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n{rules}  }}\n}}\n"
        ))
    }

    /// Rewrites the window of every RST the target sends from `port` to `window`: Linux sends
    /// RSTs with window 0, and a Window scan (-sW) needs a system that does not.
    pub fn rst_window(&self, port: u16, window: u16) -> io::Result<()> {
        // The TCP window is the 16 bits at bit offset 112 of the transport header; nftables
        // fixes the checksum after rewriting it.
        self.nft(&format!(
            "table inet mangle {{\n\
               chain output {{ type filter hook output priority 0; policy accept;\n\
                 tcp sport {port} tcp flags & rst == rst @th,112,16 set {window}\n\
               }}\n\
             }}\n"
        ))
    }

    /// Makes the target answer for every address of `block` (an IPv4 CIDR inside the lab
    /// ranges), and routes the block from the scanner through the target. A whole simulated
    /// network in one namespace: Linux's AnyIP, a local route on the loopback device.
    pub fn any_ip(&self, block: &str) -> io::Result<()> {
        run("ip", &["-n", &self.target, "route", "add", "local", block, "dev", "lo"])?;
        run("ip", &["-n", &self.scanner, "route", "add", block, "via", &TARGET_V4.to_string()])
    }

    /// The same for an IPv6 `block` (inside 2001:2::/48, off the lab link's /64), routed from
    /// the scanner through the target's IPv6 address.
    pub fn any_ip_v6(&self, block: &str) -> io::Result<()> {
        run("ip", &["-n", &self.target, "-6", "route", "add", "local", block, "dev", "lo"])?;
        run("ip", &["-n", &self.scanner, "-6", "route", "add", block, "via", &TARGET_V6.to_string()])
    }

    /// Makes the host at `host` (one of `add_hosts`) answer for every address of `block`,
    /// routed from the scanner through it: a second gateway, with a hardware address of its
    /// own.
    pub fn any_ip_behind(&self, host: Ipv4Addr, block: &str) -> io::Result<()> {
        let id = self.target.trim_start_matches(&format!("{PREFIX}-t-"));
        let namespace = format!("{PREFIX}-h-{id}-{}", host.octets()[3]);
        run("ip", &["-n", &namespace, "route", "add", "local", block, "dev", "lo"])?;
        run("ip", &["-n", &self.scanner, "route", "add", block, "via", &host.to_string()])
    }

    /// Routes `block` from the scanner through [`NOWHERE_V4`], whose neighbour entry is fixed
    /// to [`NOWHERE_MAC`]: every frame to the block leaves the scanner whole and the target's
    /// kernel drops it on arrival (not its address): little work for the receiving side, but
    /// some, on the sender's core (for none, see [`Lab::route_to_sink`]).
    pub fn route_to_nowhere(&self, block: &str) -> io::Result<()> {
        let mac = NOWHERE_MAC.map(|byte| format!("{byte:02x}")).join(":");
        let next_hop = NOWHERE_V4.to_string();
        let neighbour = ["neigh", "replace", &next_hop, "lladdr", &mac, "nud", "permanent", "dev", "scan0"];
        run("ip", &[&["-n", &self.scanner][..], &neighbour].concat())?;
        run("ip", &["-n", &self.scanner, "route", "add", block, "via", &next_hop])
    }

    /// Routes `block` from the scanner into [`SINK_DEVICE`], a link of its own whose far end
    /// discards every frame: an ifb device, whose kernel driver frees each frame handed to it
    /// (counting it as received) unless tc redirected it there. No receiving side does less,
    /// so what a sender reaches into it is the sender's own pace, the kernel's part of sending
    /// included. The scanner's address on it is [`SINK_V4`].
    pub fn route_to_sink(&self, block: &str) -> io::Result<()> {
        let (device, scanner) = (SINK_DEVICE, &self.scanner);
        let mac = NOWHERE_MAC.map(|byte| format!("{byte:02x}")).join(":");
        let next_hop = SINK_NEXT_HOP_V4.to_string();
        run("ip", &["-n", scanner, "link", "add", device, "type", "ifb"])?;
        run("ip", &["-n", scanner, "addr", "add", &format!("{SINK_V4}/24"), "dev", device])?;
        run("ip", &["-n", scanner, "link", "set", device, "up"])?;
        run("ip", &["-n", scanner, "neigh", "replace", &next_hop, "lladdr", &mac, "nud", "permanent", "dev", device])?;
        run("ip", &["-n", scanner, "route", "add", block, "via", &next_hop])
    }

    /// The scanner's link-layer address on [`SINK_DEVICE`].
    pub fn sink_mac(&self) -> io::Result<String> {
        link_address(&self.scanner, SINK_DEVICE)
    }

    /// Takes the target's end of the lab link down, as a cable pulled out: the scanner's end
    /// loses its carrier, and the kernel refuses what is sent on it.
    pub fn cut_link(&self) -> io::Result<()> {
        run("ip", &["-n", &self.target, "link", "set", "tgt0", "down"])
    }

    /// Adds one nftables rule on the scanner's own output path (a local firewall).
    pub fn scanner_output_rule(&self, rule: &str) -> io::Result<()> {
        let ruleset = format!(
            "table inet local {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n    {rule}\n  }}\n}}\n"
        );
        run_with_input("ip", &["netns", "exec", &self.scanner, "nft", "-f", "-"], &ruleset)
    }

    /// The target's link-layer address, for peers that write Ethernet frames themselves.
    pub fn target_mac(&self) -> io::Result<String> {
        link_address(&self.target, "tgt0")
    }

    /// The target's link-local IPv6 address on the lab link.
    pub fn target_link_local(&self) -> io::Result<Ipv6Addr> {
        let output = Command::new("ip")
            .args(["-n", &self.target, "-6", "addr", "show", "dev", "tgt0", "scope", "link"])
            .output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let addr = text.split_whitespace().skip_while(|word| *word != "inet6").nth(1);
        addr.and_then(|cidr| cidr.split('/').next()?.parse().ok())
            .ok_or_else(|| io::Error::other(format!("no link-local address on tgt0: {text}")))
    }

    /// The scanner's link-layer address.
    pub fn scanner_mac(&self) -> io::Result<String> {
        link_address(&self.scanner, "scan0")
    }

    /// Drops `percent` % of the target's packets at random, in both directions (nftables'
    /// `numgen`, since tc netem is not available on every machine).
    pub fn lose_packets(&self, percent: u8) -> io::Result<()> {
        self.nft(&format!(
            "table inet loss {{\n\
               chain input {{ type filter hook input priority -10; policy accept; numgen random mod 100 < {percent} drop; }}\n\
               chain output {{ type filter hook output priority -10; policy accept; numgen random mod 100 < {percent} drop; }}\n\
             }}\n"
        ))
    }

    /// Listens on these TCP ports of every target address, accepting and closing connections
    /// until the returned handle drops.
    pub fn listen_tcp(&self, ports: &[u16]) -> io::Result<Listeners> {
        Listeners::tcp(&self.target, ports)
    }

    /// Runs proxies in the target namespace, one of each kind on its port, until the returned
    /// handle drops.
    pub fn proxies(&self, proxies: &[(u16, ProxyKind)]) -> io::Result<Listeners> {
        Listeners::proxies(&self.target, proxies)
    }

    /// Serves these UDP ports of every target address, each as its fixture service answers,
    /// until the returned handle drops.
    pub fn serve_udp(&self, services: &[(u16, UdpService)]) -> io::Result<Listeners> {
        Listeners::udp(&self.target, services)
    }

    /// Gives the scanner namespace an /etc/hosts of its own (`ip netns exec` mounts it).
    pub fn hosts_file(&self, entries: &[(IpAddr, &str)]) -> io::Result<()> {
        let dir = PathBuf::from("/etc/netns").join(&self.scanner);
        std::fs::create_dir_all(&dir)?;
        let text: String = entries.iter().map(|(addr, name)| format!("{addr} {name}\n")).collect();
        std::fs::write(dir.join("hosts"), text)
    }

    /// Gives the scanner namespace a resolv.conf of its own naming these name servers.
    pub fn resolv_conf(&self, servers: &[IpAddr]) -> io::Result<()> {
        let dir = PathBuf::from("/etc/netns").join(&self.scanner);
        std::fs::create_dir_all(&dir)?;
        let text: String = servers.iter().map(|server| format!("nameserver {server}\n")).collect();
        std::fs::write(dir.join("resolv.conf"), text)
    }

    /// A command that runs `program` inside the target namespace.
    pub fn in_target(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.target]).arg(program);
        command
    }

    /// A command that runs `program` inside the scanner namespace.
    pub fn in_scanner(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.scanner]).arg(program);
        command
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(&self.scanner));
        let _ = netns::delete(&self.scanner);
        let _ = netns::delete(&self.target);
        for host in self.hosts.lock().expect("hosts lock").iter() {
            let _ = netns::delete(host);
        }
    }
}

fn run(program: &str, args: &[&str]) -> io::Result<()> {
    let output = Command::new(program).args(args).output()?;
    check(program, args, output)
}

/// Waits until IPv6 runs on `dev` in namespace `ns`: its link-local address is there. Linux
/// starts IPv6 on a link when it sees the carrier come up, which it learns up to a second
/// late; until then the host ignores neighbour solicitations, and a scan started at once
/// found a fresh lab's IPv6 target down.
fn wait_for_ipv6(ns: &str, dev: &str) -> io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let output = Command::new("ip").args(["-n", ns, "-6", "addr", "show", "dev", dev, "scope", "link"]).output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        if text.contains("inet6 fe80") && !text.contains("tentative") {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(io::Error::other(format!("IPv6 never started on {dev} in {ns}")));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn run_with_input(program: &str, args: &[&str], input: &str) -> io::Result<()> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().expect("piped stdin").write_all(input.as_bytes())?;
    check(program, args, child.wait_with_output()?)
}

fn check(program: &str, args: &[&str], output: std::process::Output) -> io::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(io::Error::other(format!("{program} {} failed: {}", args.join(" "), stderr.trim())))
}

/// The hardware address of `device` in namespace `namespace`, as `ip` prints it.
/// Frames the sink ([`Lab::route_to_sink`]) has been handed so far, from a `net/dev` table
/// read in the scanner's namespace (`/proc/PID/net/dev` of a process there, or
/// `/proc/thread-self/net/dev` of a thread); none if the table has no sink.
pub fn frames_into_sink(net_dev: &str) -> Option<u64> {
    let device = format!("{SINK_DEVICE}:");
    let (_, counters) = net_dev.lines().find_map(|line| line.trim_start().split_once(&device))?;
    // An ifb device counts what it discards as received: bytes, then packets.
    counters.split_whitespace().nth(1)?.parse().ok()
}

fn link_address(namespace: &str, device: &str) -> io::Result<String> {
    let output = Command::new("ip").args(["-n", namespace, "-br", "link", "show", device]).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().nth(2).map(str::to_string).ok_or_else(|| io::Error::other(format!("no MAC in {text:?}")))
}
