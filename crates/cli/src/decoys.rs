//! `-D`: the decoys each raw probe is also sent from, as the engine takes them.

use rand::Rng;
use targets::{RandomTargets, TargetSpec};

use crate::args::{Decoy, ScanOptions, TcpScan};
use crate::error::RunError;

/// Refusals before anything runs: decoys need raw probes, and addresses of the scan's family.
pub(crate) fn check(options: &ScanOptions, tcp: Option<TcpScan>) -> Result<(), RunError> {
    let Some(decoys) = &options.decoys else { return Ok(()) };
    if tcp == Some(TcpScan::Connect) {
        return Err(RunError::Usage("-D sends raw probes from its decoys: use -sS, not -sT".into()));
    }
    let family = if options.ipv6 { "IPv6" } else { "IPv4" };
    let wrong = decoys.iter().find(|decoy| match decoy {
        Decoy::Addr(addr) => addr.is_ipv6() != options.ipv6,
        Decoy::Random(_) => options.ipv6,
        Decoy::Me => false,
    });
    match wrong {
        Some(Decoy::Addr(addr)) => {
            Err(RunError::Usage(format!("-D {addr}: decoys of this scan are {family} addresses")))
        }
        Some(_) => Err(RunError::Usage("-D RND: random decoys are IPv4 addresses".into())),
        None => Ok(()),
    }
}

/// The decoys with random ones drawn (from `--seed`'s generator when given), and our own
/// place among them: where `ME` is, else a random place, as Nmap does.
pub(crate) fn resolve(options: &ScanOptions) -> engine::Decoys {
    let Some(decoys) = &options.decoys else { return engine::Decoys::default() };
    let mut rng = engine::order_rng(options.seed.map(|seed| seed ^ 0xdec0));
    let mut addrs = Vec::new();
    let mut me_at = None;
    for decoy in decoys {
        match *decoy {
            Decoy::Addr(addr) => addrs.push(addr),
            Decoy::Me => me_at = Some(addrs.len()),
            Decoy::Random(count) => {
                let random = RandomTargets::new(u64::from(count), engine::order_rng(Some(rng.random())));
                addrs.extend(random.filter_map(|spec| match spec {
                    TargetSpec::Network(net) => net.addrs().next(),
                    _ => None,
                }));
            }
        }
    }
    let me_at = me_at.unwrap_or_else(|| rng.random_range(0..=addrs.len()));
    engine::Decoys { addrs, me_at }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn options(decoys: Vec<Decoy>) -> ScanOptions {
        ScanOptions { decoys: Some(decoys), seed: Some(7), ..ScanOptions::default() }
    }

    #[test]
    fn me_keeps_its_place_and_random_decoys_are_drawn_routable() {
        let first: IpAddr = "198.18.0.50".parse().unwrap();
        let resolved = resolve(&options(vec![Decoy::Addr(first), Decoy::Me, Decoy::Random(3)]));
        assert_eq!((resolved.me_at, resolved.addrs.len(), resolved.addrs[0]), (1, 4, first));
        assert!(resolved.addrs[1..].iter().all(|addr| matches!(addr, IpAddr::V4(v4) if targets::is_routable(*v4))));
        let without_me = resolve(&options(vec![Decoy::Addr(first), Decoy::Addr(first)]));
        assert!(without_me.me_at <= 2);
    }

    #[test]
    fn decoys_of_the_other_family_and_the_connect_scan_are_refused() {
        let v6 = options(vec![Decoy::Addr("2001:2::9".parse().unwrap())]);
        let Err(RunError::Usage(message)) = check(&v6, Some(TcpScan::Syn)) else { panic!("accepted") };
        assert_eq!(message, "-D 2001:2::9: decoys of this scan are IPv4 addresses");
        let Err(RunError::Usage(message)) = check(&options(vec![Decoy::Me]), Some(TcpScan::Connect)) else {
            panic!("accepted")
        };
        assert_eq!(message, "-D sends raw probes from its decoys: use -sS, not -sT");
    }
}
