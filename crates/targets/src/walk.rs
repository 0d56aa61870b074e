use std::net::IpAddr;

use model::Target;

use crate::resolve::Resolve;
use crate::{ExcludeList, Family, Network, TargetSpec};

/// Something the walk had to pass over; the CLI reports it and the scan goes on, as in Nmap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkProblem {
    #[error("Failed to resolve \"{0}\".")]
    ResolveFailed(String),
    #[error("Skipping \"{spec}\": it has no {wanted} address (use -6 for IPv6 targets)")]
    WrongFamily { spec: String, wanted: &'static str },
    #[error("Skipping {0}")]
    PrefixTooLarge(PrefixTooLarge),
}

/// The most addresses an IPv6 prefix may hold unless the user raises the limit: a /112. A /64
/// holds 2^64, which no scan can walk; its hosts are found from a list, not by enumeration.
pub const DEFAULT_IPV6_PREFIX_LIMIT: u128 = 1 << 16;

/// An IPv6 prefix too large to enumerate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{spec}\": its {addrs} IPv6 addresses are more than the {limit} a prefix may hold; scan a \
     longer prefix (a /112 holds 65536), list the hosts with -iL, or raise --ipv6-prefix-limit"
)]
pub struct PrefixTooLarge {
    pub spec: String,
    pub addrs: u128,
    pub limit: u128,
}

impl PrefixTooLarge {
    /// Whether `net`, written as `spec`, is an IPv6 prefix of more than `limit` addresses.
    pub fn check(spec: &str, net: Network, limit: u128) -> Result<(), PrefixTooLarge> {
        match net {
            Network::V6 { .. } if net.len() > limit => {
                Err(PrefixTooLarge { spec: spec.to_string(), addrs: net.len(), limit })
            }
            _ => Ok(()),
        }
    }
}

/// Every target of a list of specs, in order, one at a time: names are resolved when reached,
/// blocks are walked without being expanded, and excluded addresses are skipped.
pub struct TargetWalk<'r, S> {
    specs: S,
    current: Box<dyn Iterator<Item = IpAddr>>,
    family: Family,
    exclude: ExcludeList,
    resolver: &'r dyn Resolve,
    ipv6_prefix_limit: u128,
    /// `--resolve-all`: every address of a name, of either family, is a target; these are the
    /// ones still to come.
    resolve_all: bool,
    pending: std::collections::VecDeque<Target>,
}

impl<'r, S: Iterator<Item = TargetSpec>> TargetWalk<'r, S> {
    pub fn new(specs: S, family: Family, exclude: ExcludeList, resolver: &'r dyn Resolve) -> Self {
        TargetWalk {
            specs,
            current: Box::new(std::iter::empty()),
            family,
            exclude,
            resolver,
            ipv6_prefix_limit: DEFAULT_IPV6_PREFIX_LIMIT,
            resolve_all: false,
            pending: Default::default(),
        }
    }

    /// Makes every address a name resolves to a target of its own, IPv4 and IPv6 alike,
    /// instead of the first of the walk's family alone (Nmap's `--resolve-all` keeps to one
    /// family).
    pub fn resolving_all(self) -> Self {
        TargetWalk { resolve_all: true, ..self }
    }

    /// Lets IPv6 prefixes hold up to `limit` addresses (larger ones are skipped, reported).
    pub fn with_ipv6_prefix_limit(self, limit: u128) -> Self {
        TargetWalk { ipv6_prefix_limit: limit, ..self }
    }

    /// Starts walking one spec; returns a target directly when the spec is a plain name.
    fn start(&mut self, spec: TargetSpec) -> Option<Result<Target, WalkProblem>> {
        match spec {
            TargetSpec::Network(net) => self.walk_network(net, || net.to_string()),
            TargetSpec::Octets(ranges) => self.walk_addrs(Box::new(ranges.addrs()), Family::V4, || "range".into()),
            TargetSpec::Name { name, prefix } => self.start_name(name, prefix),
        }
    }

    fn walk_network(&mut self, net: Network, text: impl FnOnce() -> String) -> Option<Result<Target, WalkProblem>> {
        let family = match net {
            Network::V4 { .. } => Family::V4,
            Network::V6 { .. } => Family::V6,
        };
        if family == Family::V6 && self.family == Family::V6 && net.len() > self.ipv6_prefix_limit {
            let problem = PrefixTooLarge { spec: text(), addrs: net.len(), limit: self.ipv6_prefix_limit };
            return Some(Err(WalkProblem::PrefixTooLarge(problem)));
        }
        self.walk_addrs(Box::new(net.addrs()), family, text)
    }

    fn walk_addrs(
        &mut self,
        addrs: Box<dyn Iterator<Item = IpAddr>>,
        family: Family,
        text: impl FnOnce() -> String,
    ) -> Option<Result<Target, WalkProblem>> {
        if family != self.family {
            return Some(Err(self.wrong_family(text())));
        }
        self.current = addrs;
        None
    }

    fn start_name(&mut self, name: String, prefix: Option<u8>) -> Option<Result<Target, WalkProblem>> {
        let Ok(addrs) = self.resolver.resolve(&name) else {
            return Some(Err(WalkProblem::ResolveFailed(name)));
        };
        if self.resolve_all && prefix.is_none() {
            let wanted = addrs.into_iter().filter(|&a| !self.exclude.contains(a));
            let named = |addr| Target { name: Some(name.clone()), ..Target::from_addr(addr) };
            self.pending.extend(wanted.map(named));
            return self.pending.pop_front().map(Ok);
        }
        let Some(chosen) = addrs.iter().copied().find(|&a| Family::of(a) == self.family) else {
            return Some(Err(self.wrong_family(name)));
        };
        if let Some(net) = prefix.and_then(|p| Network::new(chosen, p)) {
            return self.walk_network(net, || name);
        }
        if self.exclude.contains(chosen) {
            return None;
        }
        let other_addrs = addrs.into_iter().filter(|&a| a != chosen).collect();
        Some(Ok(Target { name: Some(name), other_addrs, ..Target::from_addr(chosen) }))
    }

    fn wrong_family(&self, spec: String) -> WalkProblem {
        let wanted = match self.family {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        };
        WalkProblem::WrongFamily { spec, wanted }
    }
}

impl<S: Iterator<Item = TargetSpec>> Iterator for TargetWalk<'_, S> {
    type Item = Result<Target, WalkProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(target) = self.pending.pop_front() {
                return Some(Ok(target));
            }
            if let Some(addr) = self.current.by_ref().find(|&a| !self.exclude.contains(a)) {
                return Some(Ok(Target::from_addr(addr)));
            }
            let spec = self.specs.next()?;
            if let Some(item) = self.start(spec) {
                return Some(item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::fake::FakeResolver;

    fn walk(
        specs: &[&str],
        family: Family,
        exclude: &[&str],
        resolver: &FakeResolver,
    ) -> Vec<Result<Target, WalkProblem>> {
        let parse = |list: &[&str]| list.iter().map(|s| TargetSpec::parse(s).unwrap()).collect::<Vec<_>>();
        let exclude = ExcludeList::new(parse(exclude), resolver).unwrap();
        TargetWalk::new(parse(specs).into_iter(), family, exclude, resolver).collect()
    }

    fn addrs(results: &[Result<Target, WalkProblem>]) -> Vec<String> {
        results.iter().map(|r| r.as_ref().unwrap().addr.to_string()).collect()
    }

    #[test]
    fn walks_specs_in_order_and_skips_exclusions() {
        let results = walk(&["198.18.0.0/30", "198.18.1.1-2"], Family::V4, &["198.18.0.2"], &FakeResolver::default());
        assert_eq!(addrs(&results), ["198.18.0.0", "198.18.0.1", "198.18.0.3", "198.18.1.1", "198.18.1.2"]);
    }

    #[test]
    fn names_keep_their_other_addresses() {
        let resolver = FakeResolver::with(&[("dual.lab", &["2001:2::5", "198.18.0.5", "198.18.0.6"])]);
        let results = walk(&["dual.lab"], Family::V4, &[], &resolver);
        let target = results[0].as_ref().unwrap();
        assert_eq!(target.addr.to_string(), "198.18.0.5");
        assert_eq!(target.name.as_deref(), Some("dual.lab"));
        assert_eq!(target.other_addrs, vec!["2001:2::5".parse::<IpAddr>().unwrap(), "198.18.0.6".parse().unwrap()]);
        let v6 = walk(&["dual.lab"], Family::V6, &[], &resolver);
        assert_eq!(v6[0].as_ref().unwrap().addr.to_string(), "2001:2::5");
    }

    #[test]
    fn resolve_all_makes_each_address_of_both_families_a_named_target() {
        let resolver = FakeResolver::with(&[("multi.lab", &["198.18.0.5", "2001:2::5", "198.18.0.6", "198.18.0.7"])]);
        let specs = ["multi.lab", "198.18.0.1"].map(|s| TargetSpec::parse(s).unwrap());
        let exclude = ExcludeList::new(vec![TargetSpec::parse("198.18.0.6").unwrap()], &resolver).unwrap();
        let walk = TargetWalk::new(specs.into_iter(), Family::V4, exclude, &resolver).resolving_all();
        let targets: Vec<Target> = walk.map(Result::unwrap).collect();
        let listed: Vec<(String, Option<&str>)> =
            targets.iter().map(|t| (t.addr.to_string(), t.name.as_deref())).collect();
        assert_eq!(
            listed,
            [
                ("198.18.0.5".into(), Some("multi.lab")),
                ("2001:2::5".into(), Some("multi.lab")),
                ("198.18.0.7".into(), Some("multi.lab")),
                ("198.18.0.1".into(), None)
            ]
        );
        assert!(targets[0].other_addrs.is_empty(), "each address is scanned, none merely listed");
    }

    #[test]
    fn a_name_with_a_prefix_walks_its_block() {
        let resolver = FakeResolver::with(&[("edge.lab", &["198.18.3.9"])]);
        let results = walk(&["edge.lab/31"], Family::V4, &[], &resolver);
        assert_eq!(addrs(&results), ["198.18.3.8", "198.18.3.9"]);
    }

    #[test]
    fn an_ipv6_prefix_beyond_the_limit_is_reported_and_the_walk_goes_on() {
        let resolver = FakeResolver::with(&[("net.lab", &["2001:2::9"])]);
        let results = walk(&["2001:2::/120", "net.lab/64", "2001:2::/111", "2001:2::1"], Family::V6, &[], &resolver);
        assert_eq!(results.len(), 256 + 1 + 1 + 1);
        let Err(WalkProblem::PrefixTooLarge(problem)) = &results[256] else { panic!("{:?}", results[256]) };
        assert_eq!((problem.spec.as_str(), problem.addrs, problem.limit), ("net.lab", 1 << 64, 1 << 16));
        assert_eq!(
            results[257].as_ref().unwrap_err().to_string(),
            "Skipping \"2001:2::/111\": its 131072 IPv6 addresses are more than the 65536 a prefix may hold; \
             scan a longer prefix (a /112 holds 65536), list the hosts with -iL, or raise --ipv6-prefix-limit"
        );
        assert_eq!(results[258].as_ref().unwrap().addr.to_string(), "2001:2::1");
        let specs = ["2001:2::/111"].map(|s| TargetSpec::parse(s).unwrap());
        let raised = TargetWalk::new(specs.into_iter(), Family::V6, ExcludeList::default(), &resolver)
            .with_ipv6_prefix_limit(1 << 17);
        assert_eq!(raised.count(), 1 << 17);
    }

    #[test]
    fn unresolvable_names_and_wrong_families_are_reported_and_the_walk_goes_on() {
        let resolver = FakeResolver::with(&[("v6only.lab", &["2001:2::9"])]);
        let results = walk(&["nowhere.lab", "2001:2::1", "v6only.lab", "198.18.0.1"], Family::V4, &[], &resolver);
        assert_eq!(results[0], Err(WalkProblem::ResolveFailed("nowhere.lab".into())));
        assert_eq!(results[1], Err(WalkProblem::WrongFamily { spec: "2001:2::1/128".into(), wanted: "IPv4" }));
        assert_eq!(results[2], Err(WalkProblem::WrongFamily { spec: "v6only.lab".into(), wanted: "IPv4" }));
        assert_eq!(results[3].as_ref().unwrap().addr.to_string(), "198.18.0.1");
        assert_eq!(results[0].as_ref().unwrap_err().to_string(), "Failed to resolve \"nowhere.lab\".");
    }

    #[test]
    fn a_huge_block_is_walked_lazily() {
        let specs = vec![TargetSpec::parse("0.0.0.0/0").unwrap()];
        let resolver = FakeResolver::default();
        let mut walk = TargetWalk::new(specs.into_iter(), Family::V4, ExcludeList::default(), &resolver);
        let third = walk.nth(2).unwrap().unwrap();
        assert_eq!(third.addr.to_string(), "0.0.0.2");
    }
}
