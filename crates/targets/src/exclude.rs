use std::net::IpAddr;

use crate::resolve::Resolve;
use crate::{Network, OctetRanges, TargetSpec};

/// Addresses never to scan (`--exclude`, `--excludefile`). Checked per address, so excluding a
/// large block costs nothing.
#[derive(Debug, Clone, Default)]
pub struct ExcludeList {
    networks: Vec<Network>,
    ranges: Vec<OctetRanges>,
    addrs: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve excluded host \"{0}\"")]
pub struct UnresolvedExclude(pub String);

impl ExcludeList {
    /// Builds the list, resolving names now: an exclusion that silently failed to resolve would
    /// let the scan hit a host the user meant to spare.
    pub fn new(specs: Vec<TargetSpec>, resolver: &dyn Resolve) -> Result<ExcludeList, UnresolvedExclude> {
        let mut list = ExcludeList::default();
        for spec in specs {
            match spec {
                TargetSpec::Network(net) => list.networks.push(net),
                TargetSpec::Octets(ranges) => list.ranges.push(ranges),
                TargetSpec::Name { name, prefix } => {
                    let addrs = resolver.resolve(&name).map_err(|_| UnresolvedExclude(name.clone()))?;
                    for addr in addrs {
                        match prefix.and_then(|p| Network::new(addr, p)) {
                            Some(net) => list.networks.push(net),
                            None => list.addrs.push(addr),
                        }
                    }
                }
            }
        }
        Ok(list)
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        self.addrs.contains(&addr)
            || self.networks.iter().any(|n| n.contains(addr))
            || self.ranges.iter().any(|r| r.contains(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::fake::FakeResolver;

    fn specs(list: &[&str]) -> Vec<TargetSpec> {
        list.iter().map(|s| TargetSpec::parse(s).unwrap()).collect()
    }

    #[test]
    fn excludes_addresses_blocks_ranges_and_names() {
        let resolver = FakeResolver::with(&[("gateway.lab", &["198.18.0.1"])]);
        let list =
            ExcludeList::new(specs(&["198.18.1.0/24", "198.18.2.1-5", "gateway.lab", "2001:2::1"]), &resolver).unwrap();
        for excluded in ["198.18.1.77", "198.18.2.3", "198.18.0.1", "2001:2::1"] {
            assert!(list.contains(excluded.parse().unwrap()), "{excluded}");
        }
        for kept in ["198.18.0.2", "198.18.2.6", "2001:2::2"] {
            assert!(!list.contains(kept.parse().unwrap()), "{kept}");
        }
    }

    #[test]
    fn an_unresolvable_exclusion_is_an_error() {
        let err = ExcludeList::new(specs(&["nowhere.lab"]), &FakeResolver::default()).unwrap_err();
        assert_eq!(err.to_string(), "cannot resolve excluded host \"nowhere.lab\"");
    }
}
