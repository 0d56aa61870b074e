//! Reading a response: the rules of the probe that drew it, then of its fallbacks, then (over
//! TCP) of the NULL probe, since a banner may arrive after any probe was sent.

use model::{Protocol, ServiceDetail};

use crate::db::{Probe, ProbeDb};

/// Nmap's confidence for a rule's hard and soft matches.
pub const HARD_CONFIDENCE: u8 = 10;
pub const SOFT_CONFIDENCE: u8 = 8;

/// A rule matched a response: the service, and the version fields it filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub service: String,
    pub soft: bool,
    pub detail: ServiceDetail,
}

/// The first hard match among the rules that read `probe`'s responses, else the first soft one.
pub fn identify(db: &ProbeDb, probe: &Probe, response: &[u8]) -> Option<Identified> {
    let mut soft = None;
    for reader in readers(db, probe) {
        for rule in &reader.rules {
            // A PCRE error (a match limit hit on a hostile response) is no match, as in Nmap.
            let Ok(Some(captures)) = rule.pattern.captures(response) else { continue };
            if rule.soft {
                soft = soft.or_else(|| Some(found(&rule.service, true, rule.template.render(&captures))));
                continue;
            }
            return Some(found(&rule.service, false, rule.template.render(&captures)));
        }
    }
    soft
}

fn found(service: &str, soft: bool, mut detail: ServiceDetail) -> Identified {
    detail.confidence = if soft { SOFT_CONFIDENCE } else { HARD_CONFIDENCE };
    Identified { service: service.to_string(), soft, detail }
}

/// The probe itself, its named fallbacks, and the NULL probe for TCP, each once.
fn readers<'db>(db: &'db ProbeDb, probe: &'db Probe) -> Vec<&'db Probe> {
    let mut readers = vec![probe];
    let fallbacks = probe.fallback.iter().filter_map(|name| db.probe(probe.protocol, name));
    let null = db.null_probe().filter(|_| probe.protocol == Protocol::Tcp);
    for reader in fallbacks.chain(null) {
        if !readers.iter().any(|known| std::ptr::eq(*known, reader)) {
            readers.push(reader);
        }
    }
    readers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmap_probes::parse;

    const DB: &str = r#"
Probe TCP NULL q||
match ssh m|^SSH-2\.0-Banner_(\S+)| p/Banner SSH/ v/$1/
softmatch ftp m|^220 |
Probe TCP Get q|GET|
fallback Other
softmatch http m|^HTTP/1\.[01] |
match http m|^HTTP/1\.[01] \d+.*\r\nServer: Demo/(\S+)|s p/Demo httpd/ v/$1/
Probe TCP Other q|X|
match redis m|^-ERR unknown| p/Redis key-value store/
Probe UDP Dns q|x|
match dns m|^x| p/Demo DNS/
"#;

    fn db() -> ProbeDb {
        let loaded = parse(DB.as_bytes());
        assert!(loaded.failed.is_empty(), "{:?}", loaded.failed);
        loaded.db
    }

    #[test]
    fn a_hard_match_later_in_the_list_wins_over_an_earlier_soft_one() {
        let db = db();
        let get = db.probe(Protocol::Tcp, "Get").unwrap();
        let found = identify(&db, get, b"HTTP/1.1 200 OK\r\nServer: Demo/1.2\r\n\r\n").unwrap();
        assert_eq!((found.service.as_str(), found.soft), ("http", false));
        assert_eq!(found.detail.version.as_deref(), Some("1.2"));
        assert_eq!(found.detail.confidence, HARD_CONFIDENCE);
        let found = identify(&db, get, b"HTTP/1.0 404 Not Found\r\n\r\n").unwrap();
        assert!(found.soft, "no hard rule matches, so the soft one stands");
    }

    #[test]
    fn fallbacks_and_then_the_null_probe_read_a_tcp_response() {
        let db = db();
        let get = db.probe(Protocol::Tcp, "Get").unwrap();
        assert_eq!(identify(&db, get, b"-ERR unknown command").unwrap().service, "redis");
        let banner = identify(&db, get, b"SSH-2.0-Banner_7.4\r\n").unwrap();
        assert_eq!((banner.service.as_str(), banner.detail.version.as_deref()), ("ssh", Some("7.4")));
    }

    #[test]
    fn a_udp_response_is_not_read_by_the_tcp_null_probe() {
        let db = db();
        let dns = db.probe(Protocol::Udp, "Dns").unwrap();
        assert_eq!(identify(&db, dns, b"SSH-2.0-Banner_7.4"), None);
        assert_eq!(identify(&db, dns, b"xyz").unwrap().service, "dns");
    }
}
