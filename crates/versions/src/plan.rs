//! Which probe a port gets next, by Nmap's rule: the NULL probe first (TCP); then, in the
//! database's order, the probes whose `ports` name this port, whatever their rarity; then the
//! others as rare as `--version-intensity` allows. Once a soft match names the service, only
//! probes with a rule for that service are worth sending, whatever their rarity (unless the
//! intensity is 9, `--version-all`).

use model::Protocol;

use crate::db::{Probe, ProbeDb};

/// `--version-intensity` without the option; `--version-light` is 2, `--version-all` 9.
pub const DEFAULT_INTENSITY: u8 = 7;
pub const ALL_INTENSITY: u8 = 9;

/// Where a port is in its walk through the database.
#[derive(Debug, Clone)]
pub struct Plan {
    protocol: Protocol,
    port: u16,
    intensity: u8,
    /// Through TLS: the `sslports` lines count instead of `ports`.
    tunnelled: bool,
    stage: Stage,
    /// The service a soft match named.
    soft_service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Start,
    /// Walking the probes that name the port, from this index.
    PortProbes(usize),
    /// Walking the rest, from this index.
    OtherProbes(usize),
    Done,
}

impl Plan {
    pub fn new(protocol: Protocol, port: u16, intensity: u8, tunnelled: bool) -> Plan {
        Plan { protocol, port, intensity, tunnelled, stage: Stage::Start, soft_service: None }
    }

    /// A soft match named the service: later probes must be able to name it too.
    pub fn soft_matched(&mut self, service: &str) {
        self.soft_service.get_or_insert_with(|| service.to_string());
    }

    /// The next probe to send, or `None` when the walk is over.
    pub fn next<'db>(&mut self, db: &'db ProbeDb) -> Option<&'db Probe> {
        loop {
            match self.stage {
                Stage::Start => {
                    self.stage = Stage::PortProbes(0);
                    if self.protocol == Protocol::Tcp {
                        if let Some(null) = db.null_probe() {
                            return Some(null);
                        }
                    }
                }
                Stage::PortProbes(from) => match self.find(db, from, true) {
                    Some(index) => {
                        self.stage = Stage::PortProbes(index + 1);
                        return Some(&db.probes[index]);
                    }
                    None => self.stage = Stage::OtherProbes(0),
                },
                Stage::OtherProbes(from) => match self.find(db, from, false) {
                    Some(index) => {
                        self.stage = Stage::OtherProbes(index + 1);
                        return Some(&db.probes[index]);
                    }
                    None => self.stage = Stage::Done,
                },
                Stage::Done => return None,
            }
        }
    }

    /// The first probe from `from` on of the wanted kind (naming the port or not) worth sending.
    fn find(&self, db: &ProbeDb, from: usize, names_port: bool) -> Option<usize> {
        (from..db.probes.len()).find(|&index| {
            let probe = &db.probes[index];
            probe.protocol == self.protocol
                && !probe.is_null()
                && self.names_port(probe) == names_port
                && self.worth_sending(probe, names_port)
        })
    }

    fn names_port(&self, probe: &Probe) -> bool {
        let ports = if self.tunnelled { &probe.ssl_ports } else { &probe.ports };
        ports.contains(self.port)
    }

    fn worth_sending(&self, probe: &Probe, names_port: bool) -> bool {
        match &self.soft_service {
            Some(_) if self.intensity >= ALL_INTENSITY => true,
            Some(service) => probe.can_name(service),
            None => names_port || probe.rarity <= self.intensity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmap_probes::parse;

    const DB: &str = r#"
Probe TCP NULL q||
Probe TCP Common q|a|
rarity 1
match http m|^HTTP|
Probe TCP Rare q|b|
rarity 8
ports 6379
match redis m|^-ERR|
Probe TCP Middling q|c|
rarity 5
match ftp m|^220|
Probe UDP Dns q|d|
rarity 1
"#;

    fn walk(plan: &mut Plan, db: &ProbeDb) -> Vec<String> {
        std::iter::from_fn(|| plan.next(db).map(|probe| probe.name.clone())).collect()
    }

    #[test]
    fn null_first_then_the_ports_probes_whatever_their_rarity_then_the_rest_by_intensity() {
        let db = parse(DB.as_bytes()).db;
        assert_eq!(walk(&mut Plan::new(Protocol::Tcp, 6379, 7, false), &db), ["NULL", "Rare", "Common", "Middling"]);
        assert_eq!(walk(&mut Plan::new(Protocol::Tcp, 80, 7, false), &db), ["NULL", "Common", "Middling"]);
        assert_eq!(walk(&mut Plan::new(Protocol::Tcp, 80, 2, false), &db), ["NULL", "Common"]);
        assert_eq!(walk(&mut Plan::new(Protocol::Tcp, 80, 9, false), &db), ["NULL", "Common", "Rare", "Middling"]);
        assert_eq!(walk(&mut Plan::new(Protocol::Udp, 53, 7, false), &db), ["Dns"]);
    }

    #[test]
    fn after_a_soft_match_only_probes_that_can_name_the_service_are_sent() {
        let db = parse(DB.as_bytes()).db;
        let mut plan = Plan::new(Protocol::Tcp, 80, 0, false);
        assert_eq!(plan.next(&db).unwrap().name, "NULL");
        plan.soft_matched("redis");
        assert_eq!(walk(&mut plan, &db), ["Rare"], "rarity 8 is sent at intensity 0: it can name redis");
    }
}
