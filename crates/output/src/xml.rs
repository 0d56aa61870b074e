//! Nmap's XML output (`-oX`), valid against Nmap's DTD, so that tools which read Nmap's XML
//! (ndiff, python-libnmap, Metasploit's import) read portolan's. The DTD admits only
//! `scanner="nmap"`; the comment line and `args` say that portolan wrote it.

use std::io::Write;

use model::{HostResult, HostStatus, PortResult, Reason, ScanSummary, ServiceDetail, TlsDetail};

use crate::{ctime, finished_at, split_ignored, totals, NormalOptions, Progress, ScanStart, Sink};

/// The version of Nmap's XML layout this sink writes.
const XML_OUTPUT_VERSION: &str = "1.05";

pub struct XmlSink<W: Write> {
    out: W,
    options: NormalOptions,
    /// The XSL stylesheet to name, if any.
    stylesheet: Option<String>,
    start: Option<ScanStart>,
    progress: Progress,
}

impl<W: Write> XmlSink<W> {
    pub fn new(out: W, options: NormalOptions, stylesheet: Option<String>) -> Self {
        XmlSink { out, options, stylesheet, start: None, progress: Progress::default() }
    }

    /// A host's `<ports>`: summaries of the hidden ports by state, then the listed ones.
    fn ports(&mut self, shown: &[&PortResult], hidden: &[&PortResult]) -> std::io::Result<()> {
        write!(self.out, "<ports>")?;
        for (state, reasons) in extra_ports(hidden) {
            let count: usize = reasons.iter().map(|(_, n)| n).sum();
            writeln!(self.out, "<extraports state=\"{state}\" count=\"{count}\">")?;
            for (reason, n) in reasons {
                writeln!(self.out, "<extrareasons reason=\"{reason}\" count=\"{n}\"/>")?;
            }
            writeln!(self.out, "</extraports>")?;
        }
        for port in shown {
            writeln!(self.out, "{}", port_element(port))?;
        }
        writeln!(self.out, "</ports>")
    }
}

impl<W: Write> Sink for XmlSink<W> {
    fn start(&mut self, start: &ScanStart) -> std::io::Result<()> {
        let args = escape(&start.command_line);
        let started = ctime(&start.started);
        writeln!(self.out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
        writeln!(self.out, "<!DOCTYPE nmaprun>")?;
        if let Some(href) = &self.stylesheet {
            writeln!(self.out, "<?xml-stylesheet href=\"{}\" type=\"text/xsl\"?>", escape(href))?;
        }
        // "--" may not appear inside an XML comment.
        let comment = format!("portolan {} scan initiated {started} as: {}", start.version, start.command_line);
        writeln!(self.out, "<!-- {} -->", escape(&comment).replace("--", "-&#45;"))?;
        writeln!(
            self.out,
            "<nmaprun scanner=\"nmap\" args=\"{args}\" start=\"{}\" startstr=\"{started}\" version=\"{}\" xmloutputversion=\"{XML_OUTPUT_VERSION}\">",
            start.started.timestamp().as_second(),
            escape(&start.version),
        )?;
        // Nmap writes no scaninfo for an idle scan (its DTD has no type for one).
        for scan in start.scans.iter().filter(|scan| scan.scan_type != "idle") {
            writeln!(
                self.out,
                "<scaninfo type=\"{}\" protocol=\"{}\" numservices=\"{}\" services=\"{}\"/>",
                scan.scan_type,
                scan.protocol,
                scan.ports.len(),
                port_ranges(&scan.ports)
            )?;
        }
        writeln!(self.out, "<verbose level=\"{}\"/>\n<debugging level=\"0\"/>", start.verbosity)?;
        self.start = Some(start.clone());
        self.out.flush()
    }

    fn host(&mut self, host: &HostResult) -> std::io::Result<()> {
        self.progress.record(host);
        let (state, reason) = match host.status {
            HostStatus::Up { reason } => ("up", reason),
            HostStatus::Listed => ("unknown", Reason::UserSet),
            HostStatus::Down { .. } | HostStatus::TimedOut => return Ok(()),
        };
        let (shown, hidden) = split_ignored(&host.ports, &self.options);
        let listed_only = host.status == HostStatus::Listed || self.options.hosts_only;
        if self.options.open_only && shown.is_empty() && !listed_only {
            return Ok(());
        }
        let addrtype = if host.target.addr.is_ipv4() { "ipv4" } else { "ipv6" };
        writeln!(self.out, "<host><status state=\"{state}\" reason=\"{reason}\" reason_ttl=\"0\"/>")?;
        writeln!(self.out, "<address addr=\"{}\" addrtype=\"{addrtype}\"/>", host.target.addr)?;
        if let Some(mac) = host.target.mac_text() {
            match &host.target.mac_vendor {
                Some(vendor) => {
                    writeln!(self.out, "<address addr=\"{mac}\" addrtype=\"mac\" vendor=\"{}\"/>", escape(vendor))?
                }
                None => writeln!(self.out, "<address addr=\"{mac}\" addrtype=\"mac\"/>")?,
            }
        }
        writeln!(self.out, "<hostnames>")?;
        if let Some(name) = &host.target.name {
            writeln!(self.out, "<hostname name=\"{}\" type=\"user\"/>", escape(name))?;
        }
        if let Some(name) = &host.target.reverse_name {
            writeln!(self.out, "<hostname name=\"{}\" type=\"PTR\"/>", escape(name))?;
        }
        writeln!(self.out, "</hostnames>")?;
        if !listed_only {
            self.ports(&shown, &hidden)?;
        }
        if let Some(os) = &host.os {
            self.out.write_all(crate::os::xml_elements(os).as_bytes())?;
        }
        if let Some(trace) = &host.trace {
            self.out.write_all(crate::trace::xml_element(trace).as_bytes())?;
        }
        if let Some(times) = host.round_trip {
            let micros = |d: std::time::Duration| d.as_micros();
            writeln!(
                self.out,
                "<times srtt=\"{}\" rttvar=\"{}\" to=\"{}\"/>",
                micros(times.srtt),
                micros(times.rttvar),
                micros(times.timeout)
            )?;
        }
        writeln!(self.out, "</host>")
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()> {
        self.progress.finished = true;
        let Some(start) = &self.start else { return Ok(()) };
        let finished = finished_at(start, summary);
        let timestr = ctime(&finished);
        let exit = if summary.interrupted { "exit=\"error\" errormsg=\"interrupted\"" } else { "exit=\"success\"" };
        writeln!(
            self.out,
            "<runstats><finished time=\"{}\" timestr=\"{timestr}\" summary=\"portolan done at {timestr}; {}\" elapsed=\"{:.2}\" {exit}/><hosts up=\"{}\" down=\"{}\" total=\"{}\"/>\n</runstats>\n</nmaprun>",
            finished.timestamp().as_second(),
            totals(summary),
            summary.elapsed.as_secs_f64(),
            summary.hosts_up,
            self.progress.down,
            summary.hosts_scanned,
        )?;
        self.out.flush()
    }
}

impl<W: Write> Drop for XmlSink<W> {
    /// A scan that ended early (an error, a panic) still leaves a complete document.
    fn drop(&mut self) {
        if let (Some(start), false) = (&self.start, self.progress.finished) {
            let summary = self.progress.cut_short(start);
            let _ = self.finish(&summary);
        }
    }
}

fn port_element(port: &PortResult) -> String {
    let service = port.service.as_deref().map(|name| service_element(name, port.detail.as_deref())).unwrap_or_default();
    let reason_ip = port.reason_ip.map(|ip| format!(" reason_ip=\"{ip}\"")).unwrap_or_default();
    let tls = port.detail.as_deref().and_then(|detail| detail.tls.as_ref()).map(tls_script).unwrap_or_default();
    format!(
        "<port protocol=\"{}\" portid=\"{}\"><state state=\"{}\" reason=\"{}\" reason_ttl=\"{}\"{reason_ip}/>{service}{tls}</port>",
        port.protocol,
        port.port,
        port.state,
        port.reason,
        port.reason_ttl.unwrap_or(0)
    )
}

/// The summarised ports by state, each with its reasons and their counts, largest first.
fn extra_ports(hidden: &[&PortResult]) -> Vec<(String, Vec<(String, usize)>)> {
    let mut by_state: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>> =
        Default::default();
    for port in hidden {
        *by_state.entry(port.state.to_string()).or_default().entry(port.reason.to_string()).or_default() += 1;
    }
    let mut groups: Vec<(String, Vec<(String, usize)>)> =
        by_state.into_iter().map(|(state, reasons)| (state, reasons.into_iter().collect())).collect();
    groups.sort_by_key(|(_, reasons)| std::cmp::Reverse(reasons.iter().map(|(_, n)| n).sum::<usize>()));
    groups
}

/// `<service>`: the table's name (`method="table"`), or what version detection found, with its
/// CPE names as children.
fn service_element(name: &str, detail: Option<&ServiceDetail>) -> String {
    let Some(detail) = detail.filter(|detail| detail.fingerprint.is_none()) else {
        let fingerprint = detail.and_then(|detail| detail.fingerprint.as_deref());
        let servicefp = fingerprint.map(|fp| format!(" servicefp=\"{}\"", escape(fp))).unwrap_or_default();
        return format!("<service name=\"{}\"{servicefp} method=\"table\" conf=\"3\"/>", escape(name));
    };
    let attributes = [
        ("product", &detail.product),
        ("version", &detail.version),
        ("extrainfo", &detail.extra_info),
        ("tunnel", &detail.tunnel),
        ("hostname", &detail.hostname),
        ("ostype", &detail.os_type),
        ("devicetype", &detail.device_type),
    ];
    let attributes: String = attributes
        .iter()
        .filter_map(|(key, value)| value.as_deref().map(|value| format!(" {key}=\"{}\"", escape(value))))
        .collect();
    let cpes: String = detail.cpe.iter().map(|cpe| format!("<cpe>{}</cpe>", escape(cpe))).collect();
    let head =
        format!("<service name=\"{}\"{attributes} method=\"probed\" conf=\"{}\"", escape(name), detail.confidence);
    if cpes.is_empty() {
        format!("{head}/>")
    } else {
        format!("{head}>{cpes}</service>")
    }
}

/// The TLS session as a script element, the shape Nmap's parsers read script results in:
/// `output` the lines the normal output shows, and an `elem` per field.
fn tls_script(tls: &TlsDetail) -> String {
    let lines = crate::tls::tls_lines(tls);
    let output: Vec<String> = lines.iter().map(|(label, value)| format!("{label}: {value}")).collect();
    let elems: String = lines
        .iter()
        .map(|(label, value)| format!("<elem key=\"{}\">{}</elem>", escape(label), escape(value)))
        .collect();
    // A line break in an attribute must be a character reference, or parsers read a space.
    let output = escape(&output.join("\n")).replace('\n', "&#xa;");
    format!("<script id=\"tls\" output=\"{output}\">{elems}</script>")
}

/// Ascending ports as Nmap writes them in `services`: "1-1024,3306,8080".
fn port_ranges(ports: &[u16]) -> String {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for &port in ports {
        match ranges.last_mut() {
            Some((_, end)) if u32::from(*end) + 1 == u32::from(port) => *end = port,
            _ => ranges.push((port, port)),
        }
    }
    let text: Vec<String> =
        ranges.into_iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
    text.join(",")
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_dropped_unfinished_still_closes_its_document() {
        let start = ScanStart {
            version: "0.1.0".into(),
            command_line: "portolan 198.18.0.2".into(),
            started: jiff::Zoned::now(),
            scans: vec![crate::ScanInfo { scan_type: "syn", protocol: model::Protocol::Tcp, ports: vec![22] }],
            portless: None,
            verbosity: 0,
        };
        let mut out = Vec::new();
        {
            let mut sink = XmlSink::new(&mut out, NormalOptions::default(), None);
            sink.start(&start).unwrap();
            // The scan ends here by an error or a panic: no finish().
        }
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("exit=\"error\" errormsg=\"interrupted\""), "{text}");
        assert!(text.trim_end().ends_with("</nmaprun>"), "{text}");
    }

    #[test]
    fn port_ranges_compress_runs() {
        assert_eq!(port_ranges(&[1, 2, 3, 5, 7, 8, 65535]), "1-3,5,7-8,65535");
        assert_eq!(port_ranges(&[]), "");
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
