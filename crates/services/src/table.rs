use std::collections::HashMap;
use std::path::PathBuf;

use model::Protocol;

/// Where a [`ServicesTable`] came from; `-v` tells the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSource {
    Embedded,
    NmapServices(PathBuf),
}

/// Names of ports, and each protocol's ports ranked from most to least likely to be open.
#[derive(Debug, Clone)]
pub struct ServicesTable {
    names: HashMap<(Protocol, u16), String>,
    ranked: HashMap<Protocol, Vec<u16>>,
    source: TableSource,
}

impl ServicesTable {
    /// Builds a table from names and per-protocol rankings. Ranked ports are deduplicated,
    /// keeping each port's best rank.
    pub(crate) fn new(
        names: HashMap<(Protocol, u16), String>,
        ranked: HashMap<Protocol, Vec<u16>>,
        source: TableSource,
    ) -> ServicesTable {
        let ranked = ranked.into_iter().map(|(proto, ports)| (proto, dedup_keep_first(ports))).collect();
        ServicesTable { names, ranked, source }
    }

    pub fn source(&self) -> &TableSource {
        &self.source
    }

    /// The service name of a port, as printed in the SERVICE column.
    pub fn name(&self, proto: Protocol, port: u16) -> Option<&str> {
        self.names.get(&(proto, port)).map(String::as_str)
    }

    /// Whether the table names this port at all (Nmap's `-p [1-1024]` keeps only those).
    pub fn is_listed(&self, proto: Protocol, port: u16) -> bool {
        self.names.contains_key(&(proto, port))
    }

    /// The ports whose name matches `pattern`, where `*` matches any run of characters and `?`
    /// one character (Nmap's `-p http*`). Case-insensitive.
    pub fn ports_named<'a>(&'a self, proto: Protocol, pattern: &'a str) -> impl Iterator<Item = u16> + 'a {
        self.names
            .iter()
            .filter(move |((p, _), name)| *p == proto && wildcard_match(pattern, name))
            .map(|((_, port), _)| *port)
    }

    /// The table with `names` added for `proto`'s numbers.
    pub(crate) fn with_names(mut self, proto: Protocol, names: impl Iterator<Item = (u16, String)>) -> ServicesTable {
        self.names.extend(names.map(|(number, name)| ((proto, number), name)));
        self
    }

    /// All ports of `proto` in rank order, most likely open first.
    pub fn ranked(&self, proto: Protocol) -> &[u16] {
        self.ranked.get(&proto).map(Vec::as_slice).unwrap_or(&[])
    }
}

fn dedup_keep_first(ports: Vec<u16>) -> Vec<u16> {
    let mut seen = vec![false; 65536];
    ports.into_iter().filter(|&p| !std::mem::replace(&mut seen[usize::from(p)], true)).collect()
}

/// Glob match with `*` and `?`, ASCII case-insensitive. Iterative with one backtrack point, so
/// it is linear in practice and never recurses on hostile patterns.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches_like_nmap_port_names() {
        assert!(wildcard_match("http*", "http"));
        assert!(wildcard_match("http*", "http-alt"));
        assert!(wildcard_match("HTTP", "http"));
        assert!(wildcard_match("?tp", "ftp"));
        assert!(wildcard_match("*sql*", "postgresql"));
        assert!(!wildcard_match("http", "https"));
        assert!(!wildcard_match("?tp", "tftp"));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn ranking_keeps_the_best_rank_of_a_repeated_port() {
        assert_eq!(dedup_keep_first(vec![80, 22, 80, 443, 22]), vec![80, 22, 443]);
    }
}
