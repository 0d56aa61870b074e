//! What a scan reads before it starts: the services table, the ports to probe, the targets
//! (command line, `-iL`, `-iR`) and the exclusions.

use std::io::Read;
use std::path::Path;

use model::{HostResult, Protocol, Target};
use services::{DataDirs, ServicesTable};
use targets::{
    parse_target_list, select_ports, ExcludeList, Family, PortSelection, PortSpec, PrefixTooLarge, RandomTargets,
    Shard, SystemResolver, TargetSpec, TargetWalk,
};

use crate::args::ScanOptions;
use crate::error::RunError;

/// The services table, with names of IP protocol numbers when the IP protocol scan asks.
pub(crate) fn load_services(options: &ScanOptions) -> Result<ServicesTable, RunError> {
    let dirs = DataDirs::from_env(options.datadir.clone());
    let table = match services::find_nmap_services(&dirs) {
        Some(path) => ServicesTable::load_nmap_services(&path).map_err(|e| RunError::Failed(e.to_string()))?,
        None => ServicesTable::embedded(),
    };
    Ok(if options.ip_protocols { table.with_protocol_names(&dirs) } else { table })
}

pub(crate) fn name_services(mut host: HostResult, services: &ServicesTable) -> HostResult {
    // A name version detection found stands.
    for port in host.ports.iter_mut().filter(|port| port.service.is_none()) {
        port.service = services.name(port.protocol, port.port).map(str::to_string);
    }
    host
}

/// The ports each protocol's scan probes (empty for a protocol not scanned).
pub(crate) struct Ports {
    pub tcp: Vec<u16>,
    pub udp: Vec<u16>,
    pub sctp: Vec<u16>,
    /// The IP protocol scan's protocol numbers.
    pub protocols: Vec<u16>,
}

/// The highest IP protocol number.
const LAST_PROTOCOL: u16 = 255;

/// The ports each protocol's scan probes: `-p`, `--top-ports` or `-F`, else the most common
/// thousand; none for `-sn` and `-sL`.
pub(crate) fn scan_ports(options: &ScanOptions, services: &ServicesTable, scans_tcp: bool) -> Result<Ports, RunError> {
    if options.hosts_only || options.list_only {
        return Ok(Ports { tcp: Vec::new(), udp: Vec::new(), sctp: Vec::new(), protocols: Vec::new() });
    }
    let explicit = options
        .ports
        .as_deref()
        .map(|text| PortSpec::parse(text, services))
        .transpose()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let prefixed: Vec<Protocol> = explicit.as_ref().map(|spec| spec.prefixed.clone()).unwrap_or_default();
    let selection = PortSelection { explicit, top: options.top_ports, fast: options.fast };
    let spec = select_ports(&selection, services).map_err(|e| RunError::Usage(e.to_string()))?;
    let chosen = |scanned: bool, set: &targets::PortSet, name: &str| -> Result<Vec<u16>, RunError> {
        let ports: Vec<u16> = if scanned { set.iter().collect() } else { Vec::new() };
        if scanned && ports.is_empty() {
            return Err(RunError::Usage(format!("the port specification names no {name} ports to scan")));
        }
        Ok(ports)
    };
    let protocols: Vec<u16> = match options.ports {
        // -p names protocol numbers too: those up to 255 are scanned.
        Some(_) => spec.ip.iter().filter(|&number| number <= LAST_PROTOCOL).collect(),
        None => (0..=LAST_PROTOCOL).collect(),
    };
    if options.ip_protocols && protocols.is_empty() {
        return Err(RunError::Usage("the port specification names no IP protocol numbers (0-255) to scan".into()));
    }
    let ports = Ports {
        tcp: chosen(scans_tcp, &spec.tcp, "TCP")?,
        udp: chosen(options.udp, &spec.udp, "UDP")?,
        sctp: chosen(options.sctp.is_some(), &spec.sctp, "SCTP")?,
        protocols: if options.ip_protocols { protocols } else { Vec::new() },
    };
    if prefixed.contains(&Protocol::Udp) && !options.udp || prefixed.contains(&Protocol::Sctp) && options.sctp.is_none()
    {
        eprintln!("WARNING: Your ports include \"U:\" or \"S:\" but you haven't specified a UDP or SCTP scan; those ports are ignored.");
    }
    if prefixed.contains(&Protocol::Ip) && !options.ip_protocols {
        eprintln!(
            "WARNING: Your ports include \"P:\" but you haven't specified -sO; those protocol numbers are ignored."
        );
    }
    if prefixed.contains(&Protocol::Tcp) && !scans_tcp {
        eprintln!(
            "WARNING: Your ports include \"T:\" but you haven't specified any TCP scan type; those ports are ignored."
        );
    }
    Ok(ports)
}

/// Command-line targets, then `-iL`, then `-iR`, as one lazy sequence of specs.
pub(crate) fn target_specs(options: &ScanOptions) -> Result<Box<dyn Iterator<Item = TargetSpec>>, RunError> {
    let usage = |e: targets::TargetSpecError| RunError::Usage(e.to_string());
    let mut specs: Vec<TargetSpec> =
        options.targets.iter().map(|t| TargetSpec::parse(t)).collect::<Result<_, _>>().map_err(usage)?;
    if let Some(path) = &options.input_list {
        specs.extend(parse_target_list(&read_list(path)?).map_err(usage)?);
    }
    if options.ipv6 {
        refuse_large_prefixes(&specs, ipv6_prefix_limit(options))?;
    }
    let random = options.random_targets.map(|count| RandomTargets::new(count, engine::order_rng(options.seed)));
    Ok(Box::new(specs.into_iter().chain(random.into_iter().flatten())))
}

fn ipv6_prefix_limit(options: &ScanOptions) -> u128 {
    options.ipv6_prefix_limit.unwrap_or(targets::DEFAULT_IPV6_PREFIX_LIMIT)
}

/// An IPv6 prefix written out that is too large to walk is a usage error, before anything
/// runs (a name with a prefix is only known to be one when resolved: the walk skips it).
fn refuse_large_prefixes(specs: &[TargetSpec], limit: u128) -> Result<(), RunError> {
    for spec in specs {
        if let TargetSpec::Network(net) = spec {
            PrefixTooLarge::check(&net.to_string(), *net, limit)
                .map_err(|problem| RunError::Usage(problem.to_string()))?;
        }
    }
    Ok(())
}

/// Reads an `-iL` or `--excludefile` list; `-` is standard input.
fn read_list(path: &Path) -> Result<String, RunError> {
    let failed = |e: std::io::Error| RunError::Failed(format!("cannot read {}: {e}", path.display()));
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(failed)?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(failed)
}

pub(crate) fn exclusions(options: &ScanOptions) -> Result<ExcludeList, RunError> {
    let usage = |e: targets::TargetSpecError| RunError::Usage(e.to_string());
    let mut specs: Vec<TargetSpec> =
        options.exclude.iter().map(|t| TargetSpec::parse(t)).collect::<Result<_, _>>().map_err(usage)?;
    if let Some(path) = &options.exclude_file {
        specs.extend(parse_target_list(&read_list(path)?).map_err(usage)?);
    }
    ExcludeList::new(specs, &SystemResolver).map_err(|e| RunError::Usage(e.to_string()))
}

/// This run's targets in the order they are scanned: the whole walk, or this shard's slice
/// of it; a target that cannot be resolved keeps its place as an error.
pub(crate) fn target_walk(
    options: &ScanOptions,
) -> Result<impl Iterator<Item = Result<Target, targets::WalkProblem>>, RunError> {
    let family = if options.ipv6 { Family::V6 } else { Family::V4 };
    let walk = TargetWalk::new(target_specs(options)?, family, exclusions(options)?, &SystemResolver)
        .with_ipv6_prefix_limit(ipv6_prefix_limit(options));
    let walk = if options.resolve_all { walk.resolving_all() } else { walk };
    let walk = options.shard.unwrap_or(Shard::WHOLE).select(walk);
    Ok(ShuffledGroups::new(walk, options.randomize_hosts.then(|| engine::order_rng(options.seed))))
}

/// Nmap's `--randomize-hosts`: each run of 16384 targets shuffled before it is scanned.
const SHUFFLED_GROUP: usize = 16384;

/// The targets of `inner` in shuffled groups of [`SHUFFLED_GROUP`] when `rng` is given, else
/// in order.
struct ShuffledGroups<I: Iterator, R> {
    inner: I,
    rng: Option<R>,
    group: std::vec::IntoIter<I::Item>,
}

impl<I: Iterator, R: rand::Rng> ShuffledGroups<I, R> {
    fn new(inner: I, rng: Option<R>) -> Self {
        ShuffledGroups { inner, rng, group: Vec::new().into_iter() }
    }
}

impl<I: Iterator, R: rand::Rng> Iterator for ShuffledGroups<I, R> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let Some(rng) = self.rng.as_mut() else { return self.inner.next() };
        if let Some(item) = self.group.next() {
            return Some(item);
        }
        let mut group: Vec<I::Item> = self.inner.by_ref().take(SHUFFLED_GROUP).collect();
        rand::seq::SliceRandom::shuffle(group.as_mut_slice(), rng);
        self.group = group.into_iter();
        self.group.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn randomized_hosts_are_shuffled_within_groups_of_16384_and_none_is_lost() {
        let walk = 0..40_000u32;
        let shuffled: Vec<u32> = ShuffledGroups::new(walk.clone(), Some(engine::order_rng(Some(3)))).collect();
        assert_ne!(shuffled[..100], (0..100).collect::<Vec<_>>()[..]);
        let mut first_group = shuffled[..SHUFFLED_GROUP].to_vec();
        first_group.sort_unstable();
        assert_eq!(first_group, (0..SHUFFLED_GROUP as u32).collect::<Vec<_>>());
        let mut all = shuffled.clone();
        all.sort_unstable();
        assert_eq!(all, walk.clone().collect::<Vec<_>>());
        let again: Vec<u32> = ShuffledGroups::new(walk.clone(), Some(engine::order_rng(Some(3)))).collect();
        assert_eq!(shuffled, again, "a seed repeats the order");
        let in_order: Vec<u32> = ShuffledGroups::new(walk.clone(), None::<rand::rngs::StdRng>).collect();
        assert_eq!(in_order, walk.collect::<Vec<_>>());
    }
}
