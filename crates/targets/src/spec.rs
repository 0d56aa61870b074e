use std::net::IpAddr;

use crate::{Network, OctetRanges};

/// Which address family a scan covers: IPv4 unless `-6`, as in Nmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// One target specification as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// An address or CIDR block (a bare address is a full-length prefix).
    Network(Network),
    /// IPv4 octet ranges.
    Octets(OctetRanges),
    /// A host name, optionally with a prefix length applied to its address (`host/24`).
    Name { name: String, prefix: Option<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target specification \"{spec}\": {problem}")]
pub struct TargetSpecError {
    pub spec: String,
    pub problem: &'static str,
}

impl TargetSpec {
    pub fn parse(text: &str) -> Result<TargetSpec, TargetSpecError> {
        let error = |problem| TargetSpecError { spec: text.to_string(), problem };
        let (host, prefix) = match text.split_once('/') {
            Some((host, prefix)) => (host, Some(parse_prefix(prefix).map_err(error)?)),
            None => (text, None),
        };
        if host.is_empty() {
            return Err(error("empty host"));
        }
        // An IPv6 literal's zone (`fe80::1%eth0`) names the interface to reach it through,
        // which the caller takes from [`zone`]; the address stands without it.
        let host = match zone(host) {
            Some("") => return Err(error("empty interface name after '%'")),
            Some(zone) => &host[..host.len() - zone.len() - 1],
            None => host,
        };
        if let Ok(addr) = host.parse::<IpAddr>() {
            let full = if addr.is_ipv4() { 32 } else { 128 };
            let network = Network::new(addr, prefix.unwrap_or(full)).ok_or_else(|| error("prefix length too long"))?;
            return Ok(TargetSpec::Network(network));
        }
        if host.contains(':') {
            return Err(error("not a valid IPv6 address"));
        }
        if looks_like_ipv4_range(host) {
            if prefix.is_some() {
                return Err(error("a prefix length cannot follow an octet range"));
            }
            return OctetRanges::parse(host).map(TargetSpec::Octets).map_err(error);
        }
        if !is_host_name(host) {
            return Err(error("not an address, range or host name"));
        }
        Ok(TargetSpec::Name { name: host.to_string(), prefix })
    }
}

/// The zone (interface name) of an IPv6 literal written `addr%zone`, as in `fe80::1%eth0`.
pub fn zone(spec: &str) -> Option<&str> {
    let host = spec.split('/').next().unwrap_or(spec);
    let (addr, zone) = host.split_once('%')?;
    addr.contains(':').then_some(zone)
}

fn parse_prefix(text: &str) -> Result<u8, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 3 {
        return Err("prefix length must be a number");
    }
    text.parse().map_err(|_| "prefix length must be a number")
}

/// Digits, dots, dashes, commas and stars only: meant as an address, so never taken for a name.
fn looks_like_ipv4_range(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b',' | b'*'))
}

/// RFC 1123 host names (letters, digits, hyphens and dots), plus '_' which real DNS data holds.
fn is_host_name(text: &str) -> bool {
    text.len() <= 253
        && text.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Splits the text of an `-iL` file (or `--excludefile`) into specs: whitespace-separated,
/// with `#` starting a comment that runs to the end of the line.
pub fn parse_target_list(text: &str) -> Result<Vec<TargetSpec>, TargetSpecError> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .map(TargetSpec::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> TargetSpec {
        TargetSpec::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn count(text: &str) -> u128 {
        match parse(text) {
            TargetSpec::Network(net) => net.len(),
            TargetSpec::Octets(ranges) => ranges.len(),
            TargetSpec::Name { .. } => panic!("{text} is a name"),
        }
    }

    #[test]
    fn an_ipv6_literals_zone_names_its_interface_and_the_address_stands_without_it() {
        let TargetSpec::Network(net) = TargetSpec::parse("fe80::1%scan0").unwrap() else { panic!("not an address") };
        assert_eq!(net.to_string(), "fe80::1/128");
        assert_eq!(zone("fe80::1%scan0"), Some("scan0"));
        assert_eq!((zone("198.18.0.1"), zone("2001:2::1"), zone("host%x")), (None, None, None));
    }

    #[test]
    fn addresses_blocks_ranges_and_names() {
        assert_eq!(count("10.0.0.1"), 1);
        assert_eq!(count("10.0.0.0/8"), 1 << 24);
        assert_eq!(count("0.0.0.0/0"), 1 << 32);
        assert_eq!(count("10.0.0-1.*"), 512);
        assert_eq!(parse("::1"), TargetSpec::Network(Network::single("::1".parse().unwrap())));
        assert_eq!(count("2001:2::/120"), 256);
        assert_eq!(parse("localhost"), TargetSpec::Name { name: "localhost".into(), prefix: None });
        assert_eq!(
            parse("lab-host.example/30"),
            TargetSpec::Name { name: "lab-host.example".into(), prefix: Some(30) }
        );
    }

    #[test]
    fn bad_specs_name_the_token_and_the_problem() {
        let cases = [
            ("10.0.0.1/33", "prefix length too long"),
            ("10.0.0.1/", "prefix length must be a number"),
            ("10.0.0.1/x", "prefix length must be a number"),
            ("10.0.0.1-5/24", "a prefix length cannot follow an octet range"),
            ("10.0.0", "an IPv4 range needs four octets"),
            ("10.0.0.300", "octets are numbers from 0 to 255"),
            ("2001:2::zz", "not a valid IPv6 address"),
            ("fe80::1%", "empty interface name after '%'"),
            ("fe80::zz%eth0", "not a valid IPv6 address"),
            ("::1/200", "prefix length too long"),
            ("bad_host!", "not an address, range or host name"),
            ("-host", "not an address, range or host name"),
            ("/24", "empty host"),
        ];
        for (spec, problem) in cases {
            let err = TargetSpec::parse(spec).unwrap_err();
            assert_eq!(err.problem, problem, "{spec}");
            assert_eq!(err.to_string(), format!("invalid target specification \"{spec}\": {problem}"));
        }
    }

    #[test]
    fn target_lists_skip_comments_and_blank_lines() {
        let specs = parse_target_list("# lab\n198.18.0.1 198.18.0.2\n\n198.18.1.0/30 # edge\n").unwrap();
        assert_eq!(specs.len(), 3);
        assert_eq!(specs[2], parse("198.18.1.0/30"));
        assert!(parse_target_list("198.18.0.1\n10.0.0.999\n").is_err());
    }

    proptest! {
        #[test]
        fn cidr_text_round_trips(a: u32, prefix in 0u8..=32) {
            let addr = std::net::Ipv4Addr::from(a);
            let spec = parse(&format!("{addr}/{prefix}"));
            let TargetSpec::Network(net) = spec else { panic!("not a network") };
            let first = net.addrs().next().unwrap();
            let reparsed = parse(&format!("{first}/{prefix}"));
            prop_assert_eq!(reparsed, TargetSpec::Network(net));
            prop_assert!(net.contains(IpAddr::V4(addr)));
            prop_assert_eq!(net.len(), 1u128 << (32 - prefix));
        }

        #[test]
        fn octet_range_text_round_trips(lows in proptest::array::uniform4(0u8..=255), spans in proptest::array::uniform4(0u8..4)) {
            let parts: Vec<String> = lows.iter().zip(spans).map(|(&low, span)| {
                format!("{low}-{}", low.saturating_add(span))
            }).collect();
            let text = parts.join(".");
            let TargetSpec::Octets(ranges) = parse(&text) else { panic!("not octets") };
            let addrs: Vec<IpAddr> = ranges.addrs().collect();
            prop_assert_eq!(addrs.len() as u128, ranges.len());
            prop_assert!(addrs.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(addrs.iter().all(|&a| ranges.contains(a)));
            // The first and last addresses spell out the range's ends.
            let IpAddr::V4(first) = addrs[0] else { unreachable!() };
            prop_assert_eq!(first.octets(), lows);
        }

        #[test]
        fn parser_never_panics(text in "\\PC{0,40}") {
            let _ = TargetSpec::parse(&text);
        }
    }
}
