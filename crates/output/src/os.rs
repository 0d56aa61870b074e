//! OS detection in the normal output and in XML, as Nmap prints them: "Device type",
//! "Running", "OS CPE", then "OS details" for perfect matches, or the guesses and "No exact OS
//! matches" with the fingerprint; then the hop count and, with -v, the uptime and the
//! sequence classes. In XML: `<os>` with `<portused>`, `<osmatch>` and `<osclass>`, then
//! `<uptime>`, `<distance>`, `<tcpsequence>`, `<ipidsequence>` and `<tcptssequence>`.

use model::{percent, OsClassMatch, OsDatabase, OsMatch, OsReport};

use crate::xml::escape;

/// Classes are listed while within this much of the best.
const SPREAD: f64 = 0.10;
/// Classes listed at most among imperfect ones.
const MAX_CLASSES: usize = 10;
/// Perfect matches beyond this many say nothing specific.
const MAX_PERFECT: usize = 8;
/// Device types, CPE names or families beyond this many are too many to print any.
const MAX_CLASS_MEMBERS: usize = 8;

/// The normal output's OS lines.
pub(crate) fn normal_block(report: &OsReport, verbosity: u8) -> String {
    let mut text = String::new();
    if report.ports_used.open_tcp.is_none() || report.ports_used.closed_tcp.is_none() {
        text +=
            "Warning: OSScan results may be unreliable because we could not find at least 1 open and 1 closed port\n";
    }
    if report.database == OsDatabase::Coarse {
        text += "OS family guess from portolan's own coarse database (install Nmap for its full OS database)\n";
    }
    let too_many = report.exact && report.matches.len() > MAX_PERFECT;
    if !too_many {
        text += &classification(report);
    }
    if too_many {
        text += "Too many fingerprints match this host to give specific OS details\n";
    } else if report.exact {
        let names: Vec<&str> = report.matches.iter().map(|found| found.name.as_str()).collect();
        text += &format!("OS details: {}\n", names.join(", "));
    } else if report.matches.is_empty() {
        text += no_match_lines(report, "No OS matches for host").as_str();
    } else {
        if report.guessing {
            let guesses: Vec<String> =
                report.matches.iter().map(|found| format!("{} ({}%)", found.name, percent(found.accuracy))).collect();
            text += &format!("Aggressive OS guesses: {}\n", guesses.join(", "));
        }
        text += no_match_lines(report, "No exact OS matches for host").as_str();
    }
    if let Some(uptime) = report.uptime.as_ref().filter(|_| verbosity > 0) {
        text += &format!("Uptime guess: {:.3} days (since {})\n", uptime.seconds as f64 / 86_400.0, uptime.lastboot);
    }
    if let Some(hops) = report.distance {
        text += &format!("Network Distance: {hops} hop{}\n", if hops == 1 { "" } else { "s" });
    }
    if verbosity > 0 {
        if let Some(sequence) = &report.tcp_sequence {
            text += &format!("TCP Sequence Prediction: Difficulty={} ({})\n", sequence.index, sequence.difficulty);
        }
        if let Some(sequence) = &report.ip_id_sequence {
            text += &format!("IP ID Sequence Generation: {}\n", sequence.class);
        }
    }
    text
}

/// "No exact OS matches for host" and the fingerprint to submit; a fingerprint unfit for
/// submission is only named unfit.
fn no_match_lines(report: &OsReport, verdict: &str) -> String {
    match &report.unfit {
        None => format!(
            "{verdict} (If you know what OS is running on it, see https://nmap.org/submit/ ).\nTCP/IP fingerprint:\n{}\n",
            report.fingerprint
        ),
        Some(reason) if report.matches.is_empty() => format!("OS fingerprint not ideal because: {reason}\n{verdict}\n"),
        Some(_) => format!("{verdict} (test conditions non-ideal).\n"),
    }
}

/// "Device type", "Running" and "OS CPE" from the classes shown: the perfect ones, or with
/// guessing, those within ten points of the best; nothing when they hold more than eight
/// device types, CPE names or families, as in Nmap.
fn classification(report: &OsReport) -> String {
    let shown: Vec<&OsClassMatch> = report
        .classes
        .iter()
        .enumerate()
        .take_while(|(index, class)| {
            let best = report.classes[0].accuracy;
            let perfect = class.accuracy >= 1.0;
            (perfect || report.guessing) && class.accuracy > best - SPREAD && (perfect || *index < MAX_CLASSES)
        })
        .map(|(_, class)| class)
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let mut types: Vec<&str> = Vec::new();
    let mut cpes: Vec<&str> = Vec::new();
    // Families in order of appearance: "vendor family", its generations, its best accuracy.
    let mut families: Vec<(String, Vec<&str>, f64)> = Vec::new();
    for found in &shown {
        let class = &found.class;
        push_new(&mut types, class.device_type.as_str());
        for cpe in &class.cpe {
            push_new(&mut cpes, cpe.as_str());
        }
        let family = if class.vendor == class.family {
            class.family.clone()
        } else {
            format!("{} {}", class.vendor, class.family)
        };
        match families.iter_mut().find(|(name, _, _)| *name == family) {
            Some((_, generations, _)) => {
                if let Some(generation) = &class.generation {
                    push_new(generations, generation.as_str());
                }
            }
            None => families.push((family, class.generation.iter().map(String::as_str).collect(), found.accuracy)),
        }
    }
    if [types.len(), cpes.len(), families.len()].iter().any(|&count| count > MAX_CLASS_MEMBERS) {
        return String::new();
    }
    let guessing = !report.exact;
    let running: Vec<String> = families
        .iter()
        .map(|(family, generations, accuracy)| {
            let mut text = family.clone();
            if !generations.is_empty() {
                text += &format!(" {}", generations.join("|"));
            }
            if guessing {
                text += &format!(" ({}%)", percent(*accuracy));
            }
            text
        })
        .collect();
    let mut text = format!("Device type: {}\n", types.join("|"));
    text += &format!("Running{}: {}\n", if guessing { " (JUST GUESSING)" } else { "" }, running.join(", "));
    if !cpes.is_empty() {
        text += &format!("OS CPE: {}\n", cpes.join(" "));
    }
    text
}

fn push_new<'a>(list: &mut Vec<&'a str>, item: &'a str) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// The XML elements of a host's OS detection.
pub(crate) fn xml_elements(report: &OsReport) -> String {
    let mut xml = String::from("<os>");
    let used = [
        ("open", "tcp", report.ports_used.open_tcp),
        ("closed", "tcp", report.ports_used.closed_tcp),
        ("closed", "udp", report.ports_used.closed_udp),
    ];
    for (state, proto, port) in used {
        if let Some(port) = port {
            xml += &format!("<portused state=\"{state}\" proto=\"{proto}\" portid=\"{port}\"/>");
        }
    }
    if !(report.exact && report.matches.len() > MAX_PERFECT) {
        for found in &report.matches {
            xml += &osmatch(found);
        }
    }
    if !report.exact && report.unfit.is_none() {
        xml += &format!("<osfingerprint fingerprint=\"{}\"/>", escape(&report.fingerprint));
    }
    xml += "</os>\n";
    if let Some(uptime) = &report.uptime {
        xml += &format!("<uptime seconds=\"{}\" lastboot=\"{}\"/>\n", uptime.seconds, escape(&uptime.lastboot));
    }
    if let Some(hops) = report.distance {
        xml += &format!("<distance value=\"{hops}\"/>\n");
    }
    if let Some(sequence) = &report.tcp_sequence {
        xml += &format!(
            "<tcpsequence index=\"{}\" difficulty=\"{}\" values=\"{}\"/>\n",
            sequence.index,
            escape(&sequence.difficulty),
            sequence.values
        );
    }
    if let Some(sequence) = &report.ip_id_sequence {
        let values = sequence.values.as_deref().unwrap_or_default();
        xml += &format!("<ipidsequence class=\"{}\" values=\"{values}\"/>\n", escape(&sequence.class));
    }
    if let Some(sequence) = &report.tcp_ts_sequence {
        let values = sequence.values.as_ref().map(|values| format!(" values=\"{values}\"")).unwrap_or_default();
        xml += &format!("<tcptssequence class=\"{}\"{values}/>\n", escape(&sequence.class));
    }
    xml
}

fn osmatch(found: &OsMatch) -> String {
    let mut xml = format!(
        "<osmatch name=\"{}\" accuracy=\"{}\" line=\"{}\">",
        escape(&found.name),
        percent(found.accuracy),
        found.line
    );
    for class in &found.classes {
        let generation = class.generation.as_ref().map(|g| format!(" osgen=\"{}\"", escape(g))).unwrap_or_default();
        xml += &format!(
            "<osclass type=\"{}\" vendor=\"{}\" osfamily=\"{}\"{generation} accuracy=\"{}\">",
            escape(&class.device_type),
            escape(&class.vendor),
            escape(&class.family),
            percent(found.accuracy)
        );
        for cpe in &class.cpe {
            xml += &format!("<cpe>{}</cpe>", escape(cpe));
        }
        xml += "</osclass>";
    }
    xml + "</osmatch>\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{OsClass, OsPortsUsed};

    fn class(vendor: &str, family: &str, generation: &str, device_type: &str, cpe: &str) -> OsClass {
        OsClass {
            vendor: vendor.into(),
            family: family.into(),
            generation: (!generation.is_empty()).then(|| generation.to_string()),
            device_type: device_type.into(),
            cpe: vec![cpe.into()],
        }
    }

    fn os_match(name: &str, accuracy: f64, classes: Vec<OsClass>) -> OsMatch {
        OsMatch { name: name.into(), accuracy, line: 1, classes }
    }

    fn report(exact: bool, guessing: bool, matches: Vec<OsMatch>) -> OsReport {
        let classes = matches
            .iter()
            .flat_map(|found| {
                found.classes.iter().map(|class| OsClassMatch { class: class.clone(), accuracy: found.accuracy })
            })
            .collect();
        OsReport {
            ports_used: OsPortsUsed { open_tcp: Some(22), closed_tcp: Some(23), closed_udp: Some(40000) },
            matches,
            exact,
            guessing,
            classes,
            fingerprint: "OS:SCAN(V=0.1.0)SEQ(TI=Z)\n".into(),
            unfit: None,
            database: OsDatabase::Nmap,
            distance: Some(1),
            uptime: None,
            tcp_sequence: None,
            ip_id_sequence: None,
            tcp_ts_sequence: None,
        }
    }

    #[test]
    fn an_exact_match_prints_its_class_and_details() {
        let linux = class("Linux", "Linux", "5.X", "general purpose", "cpe:/o:linux:linux_kernel:5");
        let text = normal_block(&report(true, false, vec![os_match("Linux 5.0 - 5.14", 1.0, vec![linux])]), 0);
        assert_eq!(
            text,
            "Device type: general purpose\nRunning: Linux 5.X\nOS CPE: cpe:/o:linux:linux_kernel:5\n\
             OS details: Linux 5.0 - 5.14\nNetwork Distance: 1 hop\n"
        );
    }

    #[test]
    fn guesses_print_only_when_asked_and_the_fingerprint_always() {
        let matches = || {
            vec![
                os_match(
                    "Linux 5.3 - 5.4",
                    0.969,
                    vec![class("Linux", "Linux", "5.X", "general purpose", "cpe:/o:linux:linux_kernel:5")],
                ),
                os_match(
                    "Linux 3.2",
                    0.957,
                    vec![class("Linux", "Linux", "3.X", "general purpose", "cpe:/o:linux:linux_kernel:3.2")],
                ),
            ]
        };
        let quiet = normal_block(&report(false, false, matches()), 0);
        assert!(!quiet.contains("Aggressive") && !quiet.contains("Running"), "{quiet}");
        assert!(quiet.contains("No exact OS matches for host (If you know what OS is running on it, see https://nmap.org/submit/ ).\nTCP/IP fingerprint:\nOS:SCAN(V=0.1.0)SEQ(TI=Z)\n\n"));
        let guessing = normal_block(&report(false, true, matches()), 0);
        assert!(guessing.contains("Running (JUST GUESSING): Linux 5.X|3.X (96%)\n"), "{guessing}");
        assert!(guessing.contains("Aggressive OS guesses: Linux 5.3 - 5.4 (96%), Linux 3.2 (95%)\n"), "{guessing}");
    }

    #[test]
    fn more_than_eight_device_types_print_no_classification() {
        let many: Vec<OsMatch> = (0..9)
            .map(|n| {
                os_match(
                    &format!("Thing {n}"),
                    0.9,
                    vec![class("V", &format!("F{n}"), "", &format!("type {n}"), "cpe:/h:v")],
                )
            })
            .collect();
        let text = normal_block(&report(false, true, many), 0);
        assert!(!text.contains("Device type") && text.contains("Aggressive OS guesses: Thing 0 (90%)"), "{text}");
    }

    #[test]
    fn more_than_eight_perfect_matches_are_too_many() {
        let many: Vec<OsMatch> = (0..9).map(|n| os_match(&format!("Thing {n}"), 1.0, Vec::new())).collect();
        let text = normal_block(&report(true, false, many), 0);
        assert!(text.contains("Too many fingerprints match this host to give specific OS details\n"), "{text}");
        assert!(!text.contains("OS details: "));
    }
}
