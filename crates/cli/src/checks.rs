//! Refusals of option combinations that cannot run, before anything is printed or sent,
//! and the TCP technique the options come to.

use crate::args::{ScanOptions, SctpScanType, TcpScan, TimingOptions};
use crate::error::{not_permitted, RunError};

/// A minimum above its maximum cannot be honoured: refused before anything runs.
pub(crate) fn check_minimums(timing: &TimingOptions) -> Result<(), RunError> {
    let pairs = [
        ("--min-parallelism", timing.min_parallelism, "--max-parallelism", timing.max_parallelism),
        ("--min-hostgroup", timing.min_hostgroup, "--max-hostgroup", timing.max_hostgroup),
    ];
    for (min_name, min, max_name, max) in pairs {
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                return Err(RunError::Usage(format!("{min_name} ({min}) must not exceed {max_name} ({max})")));
            }
        }
    }
    Ok(())
}

/// The TCP technique, if TCP is scanned. Nmap's choice: SYN when raw sockets are permitted,
/// connect otherwise, none when only `-sU` is asked for; and refusals, before anything is
/// printed, for combinations that cannot run.
pub(crate) fn choose_technique(options: &ScanOptions) -> Result<Option<TcpScan>, RunError> {
    if options.hosts_only || options.list_only {
        return check_hosts_only(options).map(|()| None);
    }
    let privileged = options.raw_sockets();
    let technique = match options.technique {
        Some(chosen) => chosen,
        None if options.scan_flags.is_some() => TcpScan::Syn,
        None if options.udp || options.ip_protocols || options.sctp.is_some() => return Ok(None),
        None if privileged => TcpScan::Syn,
        None => TcpScan::Connect,
    };
    if technique == TcpScan::Connect {
        let direct =
            [("-sV", options.versions.is_some()), ("-O", options.os.enabled), ("--traceroute", options.traceroute)];
        if let Some((option, _)) = direct.iter().find(|(_, asked)| *asked && !options.source.proxies.is_empty()) {
            return Err(RunError::Usage(format!("{option} does not go through --proxies yet")));
        }
        if options.udp {
            return Err(RunError::Usage("-sU with -sT is not supported yet; use -sS -sU".into()));
        }
        if options.ip_protocols {
            return Err(RunError::Usage("-sO with -sT is not supported yet; use -sS -sO".into()));
        }
        if options.sctp.is_some() {
            return Err(RunError::Usage("-sY and -sZ with -sT are not supported yet; use -sS".into()));
        }
        if !options.source.more_addrs.is_empty() {
            return Err(RunError::Usage(
                "-S with several addresses works with raw-packet scans (e.g. -sS) only".into(),
            ));
        }
        if options.timing.max_scan_delay.is_some() {
            return Err(RunError::Usage("--max-scan-delay works with raw-packet scans (e.g. -sS) only so far".into()));
        }
        let raw_only = [
            ("--max-host-rate", options.timing.max_host_rate),
            ("--max-sweep-rate", options.timing.max_sweep_rate),
            ("--min-rate", options.timing.min_rate),
        ];
        if let Some((option, _)) = raw_only.iter().find(|(_, value)| value.is_some()) {
            return Err(RunError::Usage(format!("{option} works with raw-packet scans (e.g. -sS) only so far")));
        }
        if options.scan_flags.is_some() {
            return Err(RunError::Usage(
                "--scanflags needs a raw-packet scan type (e.g. -sS, -sF, -sA), not -sT".into(),
            ));
        }
        if options.shaping != engine::Shaping::default() || options.ip_options.is_some() {
            return Err(RunError::Usage(
                "--mimic, --ttl, --badsum, -f, --mtu and --ip-options change raw probes: use -sS, not -sT".into(),
            ));
        }
        return Ok(Some(technique));
    }
    if !options.source.proxies.is_empty() {
        return Err(RunError::Usage("--proxies relays connections: use -sT".into()));
    }
    // Usage first, privileges after: a combination that cannot run is refused as such.
    if technique == TcpScan::Idle && options.ipv6 {
        return Err(RunError::Usage("-sI scans IPv4 hosts only so far".into()));
    }
    if technique == TcpScan::Idle && options.scan_flags.is_some() {
        return Err(RunError::Usage("--scanflags changes probes' flags; the idle scan's SYNs are its own".into()));
    }
    if !privileged {
        return Err(not_permitted(technique.flag()));
    }
    if options.ip_options.is_some() && options.ipv6 {
        return Err(RunError::Usage("--ip-options are IPv4 header options: IPv6 has none of them".into()));
    }
    Ok(Some(technique))
}

/// `-sn` finds hosts and `-sL` lists them; neither scans ports, so options about ports have
/// nothing to act on, nor, for a listing, options about finding hosts.
fn check_hosts_only(options: &ScanOptions) -> Result<(), RunError> {
    let (flag, what) = if options.list_only { ("-sL", "probes no host") } else { ("-sn", "scans no ports") };
    let conflict = if options.list_only && options.hosts_only {
        Some("-sn")
    } else if options.list_only && (!options.pings.is_empty() || options.assume_up) {
        Some("-P options")
    } else if options.technique.is_some()
        || options.udp
        || options.ip_protocols
        || options.sctp.is_some()
        || options.scan_flags.is_some()
    {
        Some("a port scan type")
    } else if options.versions.is_some() {
        Some("-sV")
    } else if options.os.enabled {
        Some("-O")
    } else if options.ports.is_some() {
        Some("-p")
    } else if options.top_ports.is_some() || options.fast {
        Some("--top-ports and -F")
    } else {
        None
    };
    match conflict {
        Some(option) => Err(RunError::Usage(format!("{flag} {what}: it cannot go with {option}"))),
        None => Ok(()),
    }
}

/// Refusals for the UDP scan and the payload options, before anything is printed.
pub(crate) fn check_udp(options: &ScanOptions, tcp: Option<TcpScan>) -> Result<(), RunError> {
    if options.payload.is_some() && tcp == Some(TcpScan::Connect) {
        return Err(RunError::Usage(
            "--data, --data-string and --data-length go into raw probes: use -sS, not -sT".into(),
        ));
    }
    if !options.udp {
        return Ok(());
    }
    if !options.raw_sockets() {
        return Err(not_permitted("-sU"));
    }
    Ok(())
}

/// Refusals for the IP protocol and SCTP scans, before anything is printed.
pub(crate) fn check_ip_protocols_and_sctp(options: &ScanOptions) -> Result<(), RunError> {
    let sctp_flag = options.sctp.map(|kind| if kind == SctpScanType::Init { "-sY" } else { "-sZ" });
    for flag in [options.ip_protocols.then_some("-sO"), sctp_flag].into_iter().flatten() {
        if options.ipv6 {
            return Err(RunError::Usage(format!("{flag} scans IPv4 hosts only so far")));
        }
        if !options.raw_sockets() {
            return Err(not_permitted(flag));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimums_above_maximums_are_refused() {
        let timing = TimingOptions { min_parallelism: Some(10), max_parallelism: Some(5), ..TimingOptions::default() };
        let Err(RunError::Usage(message)) = check_minimums(&timing) else { panic!("accepted") };
        assert_eq!(message, "--min-parallelism (10) must not exceed --max-parallelism (5)");
        let timing = TimingOptions { min_hostgroup: Some(2), max_hostgroup: Some(2), ..TimingOptions::default() };
        assert!(check_minimums(&timing).is_ok());
    }
}
