//! Nmap's `-p` grammar: `22`, `1-1024`, `-100`, `60000-`, `-`, `http`, `http*`, `[1-1024]`
//! (only ports the services table lists), and `T:`/`U:`/`S:` prefixes that hold until the next one.

use model::Protocol;
use services::ServicesTable;

/// A set of port numbers of one protocol, ascending.
#[derive(Clone, PartialEq, Eq)]
pub struct PortSet {
    bits: Box<[u64; 1024]>,
}

impl Default for PortSet {
    fn default() -> Self {
        PortSet { bits: Box::new([0; 1024]) }
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl PortSet {
    pub fn insert(&mut self, port: u16) {
        self.bits[usize::from(port / 64)] |= 1 << (port % 64);
    }

    /// Inserts every port of `low..=high`, a word of the bitmap at a time: `-p-` on three
    /// protocols, or a list of many full ranges, is a few thousand words, not 200,000 ports.
    pub fn insert_range(&mut self, low: u16, high: u16) {
        self.insert_range_telling(low, high, |_| {});
    }

    /// [`Self::insert_range`], calling `added` with each port not in the set before, in
    /// ascending order.
    pub fn insert_range_telling(&mut self, low: u16, high: u16, mut added: impl FnMut(u16)) {
        for word in usize::from(low / 64)..=usize::from(high / 64) {
            let word_low = (word * 64) as u32;
            let from = u32::from(low).max(word_low) - word_low;
            let to = u32::from(high).min(word_low + 63) - word_low;
            // Bits `from..=to` of the word.
            let mask = (u64::MAX >> (63 - to)) & (u64::MAX << from);
            let mut new = mask & !self.bits[word];
            self.bits[word] |= mask;
            while new != 0 {
                added((word_low + new.trailing_zeros()) as u16);
                new &= new - 1;
            }
        }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.bits[usize::from(port / 64)] & (1 << (port % 64)) != 0
    }

    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..=u16::MAX).filter(|&p| self.contains(p))
    }
}

impl FromIterator<u16> for PortSet {
    fn from_iter<I: IntoIterator<Item = u16>>(ports: I) -> Self {
        let mut set = PortSet::default();
        ports.into_iter().for_each(|p| set.insert(p));
        set
    }
}

/// The ports to scan for each protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSpec {
    pub tcp: PortSet,
    pub udp: PortSet,
    pub sctp: PortSet,
    /// IP protocol numbers, for the IP protocol scan (-sO): `P:` items and unprefixed ones.
    pub ip: PortSet,
    /// Protocols the text named with a `T:`/`U:`/`S:` prefix, so that the CLI can warn when
    /// the user asked for ports of a protocol no requested scan covers.
    pub prefixed: Vec<Protocol>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid port specification \"{token}\": {problem}")]
pub struct PortSpecError {
    pub token: String,
    pub problem: String,
}

impl PortSpec {
    pub fn get(&self, proto: Protocol) -> &PortSet {
        match proto {
            Protocol::Tcp => &self.tcp,
            Protocol::Udp => &self.udp,
            Protocol::Sctp => &self.sctp,
            Protocol::Ip => &self.ip,
        }
    }

    fn get_mut(&mut self, proto: Protocol) -> &mut PortSet {
        match proto {
            Protocol::Tcp => &mut self.tcp,
            Protocol::Udp => &mut self.udp,
            Protocol::Sctp => &mut self.sctp,
            Protocol::Ip => &mut self.ip,
        }
    }

    /// Parses a `-p` argument. Items without a protocol prefix apply to every protocol.
    pub fn parse(text: &str, services: &ServicesTable) -> Result<PortSpec, PortSpecError> {
        let mut spec = PortSpec::default();
        let mut protos: &[Protocol] = &Protocol::ALL;
        for raw in split_items(text) {
            let error = |problem: &str| PortSpecError { token: raw.to_string(), problem: problem.to_string() };
            let (prefix, item) = split_prefix(raw);
            if let Some(prefix) = prefix {
                protos =
                    prefix_protocols(prefix).ok_or_else(|| error("unknown protocol prefix (use T:, U:, S: or P:)"))?;
                for &proto in protos {
                    if !spec.prefixed.contains(&proto) {
                        spec.prefixed.push(proto);
                    }
                }
            }
            if item.is_empty() {
                return Err(error("empty port item"));
            }
            spec.add_item(item, protos, services).map_err(|problem| error(&problem))?;
        }
        Ok(spec)
    }

    fn add_item(&mut self, item: &str, protos: &[Protocol], services: &ServicesTable) -> Result<(), String> {
        if let Some(inner) = item.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or("'[' without a closing ']'")?;
            let (low, high) = parse_range(inner)?;
            for &proto in protos {
                let listed = (low..=high).filter(|&p| services.is_listed(proto, p));
                listed.for_each(|p| self.get_mut(proto).insert(p));
            }
            return Ok(());
        }
        if item.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            let (low, high) = parse_range(item)?;
            for &proto in protos {
                self.get_mut(proto).insert_range(low, high);
            }
            return Ok(());
        }
        let mut found = false;
        for &proto in protos {
            for port in services.ports_named(proto, item) {
                self.get_mut(proto).insert(port);
                found = true;
            }
        }
        if found {
            Ok(())
        } else {
            Err(format!("no service named \"{item}\" in the services table"))
        }
    }
}

/// A plain list of ports and ranges, as the `-PS`, `-PA` and `-PU` probes take it
/// (`22,80,8000-8010`), in the order given, each port once. Unlike `-p`, it names no
/// protocols and no services.
pub fn parse_port_list(text: &str) -> Result<Vec<u16>, PortSpecError> {
    let mut ports = Vec::new();
    let mut seen = PortSet::default();
    for item in split_items(text) {
        let (low, high) = parse_range(item).map_err(|problem| PortSpecError { token: item.to_string(), problem })?;
        seen.insert_range_telling(low, high, |port| ports.push(port));
    }
    Ok(ports)
}

/// Items are separated by commas (a bracketed range such as `[1-1024]` holds none).
fn split_items(text: &str) -> impl Iterator<Item = &str> {
    text.split(',')
}

fn split_prefix(item: &str) -> (Option<&str>, &str) {
    match item.split_once(':') {
        Some((prefix, rest)) => (Some(prefix), rest),
        None => (None, item),
    }
}

fn prefix_protocols(prefix: &str) -> Option<&'static [Protocol]> {
    match prefix {
        "T" | "t" => Some(&[Protocol::Tcp]),
        "U" | "u" => Some(&[Protocol::Udp]),
        "S" | "s" => Some(&[Protocol::Sctp]),
        "P" | "p" => Some(&[Protocol::Ip]),
        _ => None,
    }
}

/// `a`, `a-b`, `-b` (from 1), `a-` (to 65535) or `-` (1-65535). Port 0 only when written.
fn parse_range(text: &str) -> Result<(u16, u16), String> {
    let (low, high) = match text.split_once('-') {
        Some((low, high)) => (parse_port(low, 1)?, parse_port(high, u16::MAX)?),
        None if text.is_empty() => return Err("empty port range".into()),
        None => {
            let port = parse_port(text, 0)?;
            (port, port)
        }
    };
    if low > high {
        return Err(format!("range {low}-{high} runs backwards"));
    }
    Ok((low, high))
}

fn parse_port(text: &str, open_value: u16) -> Result<u16, String> {
    if text.is_empty() {
        return Ok(open_value);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("\"{text}\" is not a port number"));
    }
    text.parse().map_err(|_| format!("port {text} is above 65535"))
}

/// How the user chose ports: `-p`, `--top-ports`, `-F`, or nothing (the top 1000).
#[derive(Debug, Clone, Default)]
pub struct PortSelection {
    pub explicit: Option<PortSpec>,
    pub top: Option<usize>,
    pub fast: bool,
}

/// Nmap's default port count, and `-F`'s.
const DEFAULT_TOP: usize = 1000;
const FAST_TOP: usize = 100;

/// Resolves a [`PortSelection`] into the ports of each protocol. With both `-p` and
/// `--top-ports`, the most likely ports among those `-p` names are kept, as in Nmap.
pub fn select_ports(selection: &PortSelection, services: &ServicesTable) -> Result<PortSpec, &'static str> {
    if selection.fast && selection.explicit.is_some() {
        return Err("You cannot use -F (fast scan) with -p (explicit port selection) but see --top-ports");
    }
    let top = selection.top.or(selection.fast.then_some(FAST_TOP));
    match (&selection.explicit, top) {
        (Some(explicit), None) => Ok(explicit.clone()),
        (explicit, top) => {
            let count = top.unwrap_or(DEFAULT_TOP);
            let mut spec = PortSpec::default();
            for proto in Protocol::ALL {
                let allowed = |p: &u16| explicit.as_ref().is_none_or(|e| e.get(proto).contains(*p));
                let chosen = services.ranked(proto).iter().copied().filter(allowed).take(count);
                *spec.get_mut(proto) = chosen.collect();
            }
            Ok(spec)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table() -> ServicesTable {
        ServicesTable::embedded()
    }

    proptest! {
        #[test]
        fn a_range_inserts_exactly_its_ports(low: u16, high: u16) {
            let (low, high) = (low.min(high), low.max(high));
            let mut set = PortSet::default();
            set.insert(low);
            let mut added = Vec::new();
            set.insert_range_telling(low, high, |port| added.push(port));
            prop_assert_eq!(added, (low..=high).skip(1).collect::<Vec<_>>(), "the new ports, ascending");
            prop_assert_eq!(set.len(), usize::from(high - low) + 1);
            prop_assert!(set.contains(low) && set.contains(high));
            prop_assert!(low == 0 || !set.contains(low - 1));
            prop_assert!(high == u16::MAX || !set.contains(high + 1));
        }
    }

    #[test]
    fn a_probe_port_list_keeps_its_order_and_names_each_port_once() {
        assert_eq!(parse_port_list("443,22-24,23,0").unwrap(), [443, 22, 23, 24, 0]);
        assert_eq!(parse_port_list("65534-").unwrap(), [65534, 65535]);
        let error = parse_port_list("22,ssh").unwrap_err();
        assert_eq!(error.to_string(), "invalid port specification \"ssh\": \"ssh\" is not a port number");
    }

    fn tcp(text: &str) -> Vec<u16> {
        PortSpec::parse(text, &table()).unwrap().tcp.iter().collect()
    }

    fn problem(text: &str) -> String {
        PortSpec::parse(text, &table()).unwrap_err().problem
    }

    #[test]
    fn numbers_ranges_and_open_ends() {
        assert_eq!(tcp("22,80"), [22, 80]);
        assert_eq!(tcp("1-3,2"), [1, 2, 3]);
        assert_eq!(tcp("-3"), [1, 2, 3]);
        assert_eq!(tcp("65533-"), [65533, 65534, 65535]);
        assert_eq!(tcp("-").len(), 65535);
        assert_eq!(tcp("0"), [0]);
    }

    #[test]
    fn protocol_prefixes_hold_until_the_next_one() {
        let spec = PortSpec::parse("U:53,111,T:21-22,80", &table()).unwrap();
        assert_eq!(spec.udp.iter().collect::<Vec<_>>(), [53, 111]);
        assert_eq!(spec.tcp.iter().collect::<Vec<_>>(), [21, 22, 80]);
        assert!(spec.sctp.is_empty());
        assert_eq!(spec.prefixed, [Protocol::Udp, Protocol::Tcp]);
        let unprefixed = PortSpec::parse("22", &table()).unwrap();
        assert!(unprefixed.tcp.contains(22) && unprefixed.udp.contains(22) && unprefixed.sctp.contains(22));
    }

    #[test]
    fn service_names_and_wildcards() {
        assert_eq!(tcp("ssh"), [22]);
        assert!(tcp("http,ssh").starts_with(&[22, 80]));
        let http_like = tcp("http*");
        assert!(http_like.contains(&80) && http_like.contains(&8080) && http_like.contains(&443), "{http_like:?}");
    }

    #[test]
    fn brackets_keep_only_listed_ports() {
        let listed = tcp("[1-30]");
        assert!(listed.contains(&22) && listed.contains(&25));
        assert!(!listed.contains(&4), "port 4 has no IANA name: {listed:?}");
        assert_eq!(tcp("T:[20-23]"), [20, 21, 22, 23]);
    }

    #[test]
    fn bad_port_specs_name_the_token() {
        assert_eq!(problem("70000"), "port 70000 is above 65535");
        assert_eq!(problem("10-5"), "range 10-5 runs backwards");
        assert_eq!(problem("22,,80"), "empty port item");
        assert_eq!(problem("X:22"), "unknown protocol prefix (use T:, U:, S: or P:)");
        assert_eq!(problem("[1-10"), "'[' without a closing ']'");
        assert_eq!(problem("nosuchservice"), "no service named \"nosuchservice\" in the services table");
        assert_eq!(problem("1-2x"), "\"2x\" is not a port number");
        let err = PortSpec::parse("22,abc", &table()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid port specification \"abc\": no service named \"abc\" in the services table"
        );
    }

    #[test]
    fn default_selection_is_the_top_1000_and_fast_the_top_100() {
        let services = table();
        let default = select_ports(&PortSelection::default(), &services).unwrap();
        assert_eq!(default.tcp.len(), 1000);
        assert_eq!(default.udp.len(), 1000);
        let fast = select_ports(&PortSelection { fast: true, ..Default::default() }, &services).unwrap();
        assert_eq!(fast.tcp.len(), 100);
        assert!(fast.tcp.contains(services.ranked(Protocol::Tcp)[0]));
    }

    #[test]
    fn top_ports_within_an_explicit_spec_keeps_the_best_ranked() {
        let services = table();
        let explicit = PortSpec::parse("1-100", &services).unwrap();
        let chosen =
            select_ports(&PortSelection { explicit: Some(explicit), top: Some(2), fast: false }, &services).unwrap();
        // 80 and 22 are the best-ranked ports of our table below 100.
        assert_eq!(chosen.tcp.iter().collect::<Vec<_>>(), [22, 80]);
    }

    #[test]
    fn fast_with_explicit_ports_is_refused() {
        let explicit = PortSpec::parse("22", &table()).unwrap();
        assert!(select_ports(&PortSelection { explicit: Some(explicit), top: None, fast: true }, &table()).is_err());
    }

    proptest! {
        #[test]
        fn range_text_round_trips(low: u16, span in 0u16..200) {
            let high = low.saturating_add(span);
            let ports = tcp(&format!("{low}-{high}"));
            prop_assert_eq!(ports.len(), usize::from(high - low) + 1);
            prop_assert_eq!(ports.first().copied(), Some(low));
            prop_assert_eq!(ports.last().copied(), Some(high));
        }

        #[test]
        fn parser_never_panics(text in "\\PC{0,30}") {
            let _ = PortSpec::parse(&text, &table());
        }
    }
}
