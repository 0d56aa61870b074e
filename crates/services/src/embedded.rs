//! portolan's own table, compiled into the binary so every scan works without Nmap installed.

use std::collections::HashMap;

use model::Protocol;

use crate::{ServicesTable, TableSource};

const NAMES: &str = include_str!("../../../data/service-names.tsv");
const TOP_TCP: &str = include_str!("../../../data/top-ports-tcp.txt");
const TOP_UDP: &str = include_str!("../../../data/top-ports-udp.txt");
const TOP_SCTP: &str = include_str!("../../../data/top-ports-sctp.txt");

/// The last port of the well-known range, all of which the ranking includes.
const LAST_WELL_KNOWN: u16 = 1023;

impl ServicesTable {
    /// The table shipped inside portolan.
    pub fn embedded() -> ServicesTable {
        let names = parse_names(NAMES);
        let ranked = [(Protocol::Tcp, TOP_TCP), (Protocol::Udp, TOP_UDP), (Protocol::Sctp, TOP_SCTP)]
            .into_iter()
            .map(|(proto, head)| (proto, full_ranking(proto, head, &names)))
            .collect();
        ServicesTable::new(names, ranked, TableSource::Embedded)
    }
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The data files are ours and checked by the tests below, so a malformed line is a build defect.
fn parse_names(text: &str) -> HashMap<(Protocol, u16), String> {
    data_lines(text)
        .map(|line| {
            let mut fields = line.split('\t');
            let (Some(port), Some(proto), Some(name)) = (fields.next(), fields.next(), fields.next()) else {
                panic!("data/service-names.tsv: malformed line {line:?}");
            };
            let port = port.parse().expect("data/service-names.tsv: port");
            let proto = Protocol::from_name(proto).expect("data/service-names.tsv: protocol");
            ((proto, port), name.to_string())
        })
        .collect()
}

/// Our hand-ranked head, then the remaining well-known ports in order, then every other named
/// port in order: a ranking of more than 1000 ports for TCP and UDP. SCTP, which few services
/// use, ranks only the ports assigned to it, as Nmap's table does.
fn full_ranking(proto: Protocol, head: &str, names: &HashMap<(Protocol, u16), String>) -> Vec<u16> {
    let head =
        data_lines(head).flat_map(str::split_whitespace).map(|p| p.parse::<u16>().expect("data/top-ports-*.txt: port"));
    let last_well_known = if proto == Protocol::Sctp { 0 } else { LAST_WELL_KNOWN };
    let well_known = 1..=last_well_known;
    let mut named: Vec<u16> = names.keys().filter(|(p, _)| *p == proto).map(|(_, port)| *port).collect();
    named.sort_unstable();
    head.chain(well_known).chain(named).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_ranks_at_least_1000_ports_per_protocol() {
        let table = ServicesTable::embedded();
        assert!(table.ranked(Protocol::Tcp).len() >= 1000, "{}", table.ranked(Protocol::Tcp).len());
        assert!(table.ranked(Protocol::Udp).len() >= 1000, "{}", table.ranked(Protocol::Udp).len());
    }

    #[test]
    fn embedded_table_names_common_ports() {
        let table = ServicesTable::embedded();
        assert_eq!(table.name(Protocol::Tcp, 22), Some("ssh"));
        assert_eq!(table.name(Protocol::Tcp, 80), Some("http"));
        assert_eq!(table.name(Protocol::Udp, 53), Some("domain"));
        assert_eq!(table.name(Protocol::Tcp, 3389), Some("ms-wbt-server"));
        assert_eq!(table.name(Protocol::Tcp, 4), None);
    }

    #[test]
    fn embedded_ranking_starts_with_our_hand_ranked_head() {
        let table = ServicesTable::embedded();
        assert_eq!(&table.ranked(Protocol::Tcp)[..3], &[80, 443, 22]);
        assert_eq!(&table.ranked(Protocol::Udp)[..2], &[53, 123]);
    }

    #[test]
    fn sctp_ranks_only_the_ports_assigned_to_it() {
        let table = ServicesTable::embedded();
        let sctp = table.ranked(Protocol::Sctp);
        assert_eq!(&sctp[..3], &[80, 443, 22]);
        assert!(sctp.iter().all(|&port| table.is_listed(Protocol::Sctp, port)), "{sctp:?}");
        assert_eq!(table.name(Protocol::Sctp, 3868), Some("diameter"));
        assert_eq!(table.name(Protocol::Sctp, 38412), Some("ng-control"));
    }

    #[test]
    fn ranking_never_includes_port_zero() {
        let table = ServicesTable::embedded();
        assert!(!table.ranked(Protocol::Tcp).contains(&0));
        assert!(!table.ranked(Protocol::Udp).contains(&0));
    }
}
