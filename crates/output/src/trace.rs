//! `--traceroute` as Nmap prints it: "TRACEROUTE (using port 22/tcp)", then a HOP RTT ADDRESS
//! table whose hops shared with a host reported before are one line ("Hops 1-2 are the same
//! as for …") and whose runs of silent TTLs are one line ("... 4"); in XML, `<trace>` with a
//! `<hop>` per answered TTL.

use model::Trace;

use crate::xml::escape;

/// The normal output's lines: a blank line, the title, the table.
pub(crate) fn normal_block(trace: &Trace) -> String {
    let title = match (trace.port, &trace.protocol) {
        (Some(port), Some(protocol)) => format!("TRACEROUTE (using port {port}/{protocol})"),
        (None, Some(protocol)) => format!("TRACEROUTE (using proto 1/{protocol})"),
        _ => "TRACEROUTE".to_string(),
    };
    let mut rows = vec![vec!["HOP".to_string(), "RTT".into(), "ADDRESS".into()]];
    let skip = trace.shared_with.map_or(0, |(last, _)| usize::from(last));
    let mut hops = trace.hops.iter().skip(skip).peekable();
    while let Some(hop) = hops.next() {
        match (hop.addr, hop.rtt_ms) {
            (Some(addr), rtt) => {
                let rtt = rtt.map_or("--".to_string(), |rtt| format!("{rtt:.2} ms"));
                rows.push(vec![hop.ttl.to_string(), rtt, addr.to_string()]);
            }
            (None, _) => {
                let mut last = hop.ttl;
                while let Some(next) = hops.next_if(|next| next.addr.is_none()) {
                    last = next.ttl;
                }
                let silent = if last == hop.ttl { "...".to_string() } else { format!("... {last}") };
                rows.push(vec![hop.ttl.to_string(), silent]);
            }
        }
    }
    let table = crate::table::render(&rows);
    let shared = trace.shared_with.map(|(last, with)| {
        let hops = if last == 1 { "Hop 1 is".to_string() } else { format!("Hops 1-{last} are") };
        format!("{:<4}{hops} the same as for {with}\n", "-")
    });
    match shared {
        Some(line) => {
            let (header, body) = table.split_once('\n').unwrap_or((&table, ""));
            format!("\n{title}\n{header}\n{line}{body}")
        }
        None => format!("\n{title}\n{table}"),
    }
}

/// The `<trace>` element.
pub(crate) fn xml_element(trace: &Trace) -> String {
    let mut attributes = String::new();
    if let Some(port) = trace.port {
        attributes += &format!(" port=\"{port}\"");
    }
    if let Some(protocol) = &trace.protocol {
        attributes += &format!(" proto=\"{}\"", escape(protocol));
    }
    let mut xml = format!("<trace{attributes}>\n");
    for hop in &trace.hops {
        let Some(addr) = hop.addr else { continue };
        let rtt = hop.rtt_ms.map_or("--".to_string(), |rtt| format!("{rtt:.2}"));
        xml += &format!("<hop ttl=\"{}\" ipaddr=\"{addr}\" rtt=\"{rtt}\"/>\n", hop.ttl);
    }
    xml + "</trace>\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::TraceHop;

    fn hop(ttl: u8, addr: Option<&str>, rtt_ms: Option<f64>) -> TraceHop {
        TraceHop { ttl, addr: addr.map(|a| a.parse().unwrap()), rtt_ms }
    }

    #[test]
    fn hops_print_as_nmaps_table_with_silent_runs_folded() {
        let trace = Trace {
            port: Some(22),
            protocol: Some("tcp".into()),
            hops: vec![
                hop(1, Some("198.18.0.2"), Some(0.25)),
                hop(2, None, None),
                hop(3, None, None),
                hop(4, Some("198.18.2.2"), Some(10.5)),
            ],
            shared_with: None,
        };
        assert_eq!(
            normal_block(&trace),
            "\nTRACEROUTE (using port 22/tcp)\nHOP RTT      ADDRESS\n1   0.25 ms  198.18.0.2\n2   ... 3\n4   10.50 ms 198.18.2.2\n"
        );
        let xml = xml_element(&trace);
        assert_eq!(xml.matches("<hop ").count(), 2, "{xml}");
    }

    #[test]
    fn hops_shared_with_a_host_reported_before_are_one_line() {
        let trace = Trace {
            port: Some(80),
            protocol: Some("tcp".into()),
            hops: vec![hop(1, Some("198.18.0.2"), Some(0.2)), hop(2, Some("198.18.2.3"), Some(0.4))],
            shared_with: Some((1, "198.18.2.2".parse().unwrap())),
        };
        assert_eq!(
            normal_block(&trace),
            "\nTRACEROUTE (using port 80/tcp)\nHOP RTT     ADDRESS\n-   Hop 1 is the same as for 198.18.2.2\n2   0.40 ms 198.18.2.3\n"
        );
    }
}
