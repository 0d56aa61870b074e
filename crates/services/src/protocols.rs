//! Names of IP protocol numbers: the SERVICE column of the IP protocol scan (-sO). Nmap's
//! `nmap-protocols` when installed, else our own table from IANA's registry.

use model::Protocol;

use crate::{DataDirs, ServicesTable};

const EMBEDDED: &str = include_str!("../../../data/ip-protocols.txt");

/// Reads "keyword number" lines, as both our table and Nmap's `nmap-protocols` have them
/// (Nmap's may add a comment); lines of any other shape are skipped.
fn parse(text: &str) -> impl Iterator<Item = (u8, String)> + '_ {
    text.lines().filter(|line| !line.starts_with('#')).filter_map(|line| {
        let mut fields = line.split_whitespace();
        let (first, second) = (fields.next()?, fields.next()?);
        // Ours is "number keyword", Nmap's "keyword number".
        match (first.parse::<u8>(), second.parse::<u8>()) {
            (Ok(number), _) => Some((number, second.to_string())),
            (_, Ok(number)) => Some((number, first.to_string())),
            _ => None,
        }
    })
}

impl ServicesTable {
    /// The table with names for IP protocol numbers, from Nmap's `nmap-protocols` in the
    /// first data directory holding it, else from ours.
    pub fn with_protocol_names(self, dirs: &DataDirs) -> ServicesTable {
        let installed = dirs.find("nmap-protocols").and_then(|path| std::fs::read_to_string(path).ok());
        let text = installed.as_deref().unwrap_or(EMBEDDED);
        self.with_names(Protocol::Ip, parse(text).map(|(number, name)| (u16::from(number), name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_table_names_the_common_protocols() {
        let table = ServicesTable::embedded().with_protocol_names(&DataDirs::default());
        let name = |number| table.name(Protocol::Ip, number);
        assert_eq!(
            (name(1), name(6), name(17), name(47), name(132)),
            (Some("icmp"), Some("tcp"), Some("udp"), Some("gre"), Some("sctp"))
        );
        assert_eq!(name(39), Some("tp++"));
        assert_eq!(name(255), None, "reserved: no name");
        assert_eq!(parse(EMBEDDED).count(), 141, "every assigned number IANA names up to 145");
    }

    #[test]
    fn reads_nmaps_layout_with_comments() {
        let names: Vec<(u8, String)> =
            parse("# header\nicmp 1 # Internet Control Message\ngre\t47\nbad line\n").collect();
        assert_eq!(names, [(1, "icmp".to_string()), (47, "gre".to_string())]);
    }
}
