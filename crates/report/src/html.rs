//! The page: the model written out as HTML with the stylesheet and script inline, so the file
//! is the whole report — it opens from disk and fetches nothing.

use std::borrow::Cow;
use std::fmt::Write;

use history::PortLine;

use crate::model::{OpenPort, PortKey, Presence, Report, Step};
use crate::plot::exposure_svg;

const STYLE: &str = include_str!("../assets/report.css");
const SCRIPT: &str = include_str!("../assets/report.js");

/// `text` with the characters HTML gives a meaning replaced by references.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

pub fn page(report: &Report) -> String {
    let latest = report.scans.last().expect("a report has at least one scan");
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>portolan report: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>portolan report</h1>\n<p class=\"summary\">{}</p>\n",
        escape(&latest.label),
        summary(report)
    );
    html.push_str("<h2>Exposure over time</h2>\n");
    html.push_str(&exposure_svg(&report.exposure, &labels(report)));
    html.push_str(
        "<p class=\"legend\"><span class=\"swatch open-ports\"></span>open ports \
         <span class=\"swatch exposed-hosts\"></span>hosts with an open port</p>\n",
    );
    html.push_str(
        "<label class=\"filter\">Filter <input id=\"filter\" type=\"search\" \
         placeholder=\"address, port, service, version\"></label>\n",
    );
    open_ports_table(&mut html, report);
    changes(&mut html, report);
    timeline_table(&mut html, report);
    scans_list(&mut html, report);
    let _ = write!(html, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
    html
}

/// Each scan's label and start, as the plot and the timeline name it.
fn labels(report: &Report) -> Vec<String> {
    report.scans.iter().map(|scan| scan.label.clone()).collect()
}

fn started(report: &Report, index: usize) -> String {
    report.scans[index].record.started.map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()
}

fn summary(report: &Report) -> String {
    let latest = report.exposure.last().expect("a report has at least one scan");
    let scans = match report.scans.len() {
        1 => "one scan".to_string(),
        n => format!("{n} scans"),
    };
    format!(
        "{scans}; in the latest ({}, {}): {} up, {} open on {}.",
        escape(&report.scans.last().expect("one scan").label),
        started(report, report.scans.len() - 1),
        count(latest.hosts_up, "host"),
        count(latest.open_ports, "port"),
        count(latest.exposed_hosts, "host")
    )
}

/// "1 host", "2 hosts".
fn count(number: usize, noun: &str) -> String {
    match number {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

fn host_cell(key: &PortKey, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("{} <span class=\"name\">({})</span>", escape(&key.address.to_string()), escape(name)),
        None => escape(&key.address.to_string()).into_owned(),
    }
}

fn optional(text: Option<&str>) -> Cow<'_, str> {
    escape(text.unwrap_or(""))
}

/// The latest scan's open ports. Each cell may carry `data-key`, what the script sorts the
/// column by when it differs from the text (addresses in address order, ports by number).
fn open_ports_table(html: &mut String, report: &Report) {
    html.push_str(
        "<h2>Open ports in the latest scan</h2>\n<table id=\"open-ports\" class=\"filterable sortable\">\n<thead><tr>\
         <th>Host</th><th>Port</th><th>Service</th><th>Version</th><th>Open since</th></tr></thead>\n<tbody>\n",
    );
    for (rank, port) in report.latest_open.iter().enumerate() {
        let OpenPort { key, host_name, service, version, open_since } = port;
        let _ = writeln!(
            html,
            "<tr><td data-key=\"{rank:08}\">{}</td><td data-key=\"{:05}\">{}/{}</td><td>{}</td><td>{}</td>\
             <td data-key=\"{open_since:06}\">{}</td></tr>",
            host_cell(key, host_name.as_deref()),
            key.port,
            key.port,
            escape(&key.protocol),
            optional(service.as_deref()),
            optional(version.as_deref()),
            escape(&report.scans[*open_since].label),
        );
    }
    html.push_str("</tbody>\n</table>\n");
    if report.latest_open.is_empty() {
        html.push_str("<p>No open ports.</p>\n");
    }
}

fn port_item(key: &PortKey, line: &PortLine) -> String {
    let what: Vec<&str> = [line.service.as_deref(), line.version.as_deref()].into_iter().flatten().collect();
    format!("{} {}/{} {}", escape(&key.address.to_string()), key.port, escape(&key.protocol), escape(&what.join(" ")))
}

fn changes(html: &mut String, report: &Report) {
    html.push_str("<h2>What changed</h2>\n");
    if report.steps.is_empty() {
        html.push_str("<p>One scan: nothing to compare. Save or name more scans to see changes.</p>\n");
    }
    for step in report.steps.iter().rev() {
        let _ = writeln!(
            html,
            "<section class=\"step\"><h3>{} → {}</h3>",
            escape(&report.scans[step.to - 1].label),
            escape(&report.scans[step.to].label)
        );
        step_lists(html, step);
        html.push_str("</section>\n");
    }
}

fn step_lists(html: &mut String, step: &Step) {
    let mut any = false;
    let mut list = |class: &str, title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        any = true;
        let _ = write!(html, "<h4>{title}</h4><ul class=\"{class}\">");
        items.iter().for_each(|item| {
            let _ = write!(html, "<li>{item}</li>");
        });
        html.push_str("</ul>\n");
    };
    list("opened", "Opened", step.opened.iter().map(|(key, line)| port_item(key, line)).collect());
    list("closed", "Closed", step.closed.iter().map(|(key, line)| port_item(key, line)).collect());
    list(
        "changed",
        "Changed",
        step.changed
            .iter()
            .map(|(key, was, now)| format!("{} → {}", port_item(key, was), port_item(key, now)))
            .collect(),
    );
    list("new-hosts", "New hosts", step.new_hosts.iter().map(|a| escape(a).into_owned()).collect());
    list("gone-hosts", "Hosts no longer up", step.gone_hosts.iter().map(|a| escape(a).into_owned()).collect());
    if !any {
        html.push_str("<p>No change.</p>\n");
    }
}

/// Every port ever open, one column per scan.
fn timeline_table(html: &mut String, report: &Report) {
    html.push_str("<h2>Timeline of open ports</h2>\n<table id=\"timeline\" class=\"filterable\">\n<thead><tr><th>Host</th><th>Port</th>");
    for (index, scan) in report.scans.iter().enumerate() {
        let _ = write!(html, "<th title=\"{}\">{}</th>", started(report, index), escape(&scan.label));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &report.timeline {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}/{} {}</td>",
            escape(&row.key.address.to_string()),
            row.key.port,
            escape(&row.key.protocol),
            optional(row.service.as_deref())
        );
        for presence in &row.presence {
            let (class, text) = match presence {
                Presence::Open => ("open", "open"),
                Presence::NotOpen => ("not-open", "–"),
                Presence::HostAbsent => ("absent", ""),
            };
            let _ = write!(html, "<td class=\"{class}\">{text}</td>");
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

fn scans_list(html: &mut String, report: &Report) {
    html.push_str("<h2>Scans</h2>\n<ol class=\"scans\">\n");
    for (index, scan) in report.scans.iter().enumerate() {
        let _ = writeln!(
            html,
            "<li><b>{}</b> {} <code>{}</code></li>",
            escape(&scan.label),
            started(report, index),
            optional(scan.record.command_line.as_deref())
        );
    }
    html.push_str("</ol>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::three_weeks;

    #[test]
    fn escapes_what_html_gives_a_meaning() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("<b a=\"1\">&'"), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn the_page_holds_every_section_and_fetches_nothing() {
        let page = page(&Report::new(three_weeks()));
        for id in ["id=\"exposure\"", "id=\"open-ports\"", "id=\"timeline\"", "id=\"filter\""] {
            assert!(page.contains(id), "{id} missing");
        }
        assert_eq!(page.matches("<tr><td data-key").count(), 4, "four open ports in the latest scan");
        assert!(page.contains("<h3>#2 → #3</h3>"));
        assert!(page.contains("in the latest (#3, 1970-01-01 00:50:00 UTC): 2 hosts up, 4 ports open on 2 hosts."));
        assert!(
            page.contains("<ul class=\"closed\"><li>198.18.0.2 23/tcp telnet</li><li>198.18.0.3 80/tcp http</li></ul>")
        );
        // Self-contained: no external script, stylesheet, image or font.
        for reference in ["src=", "href=", "@import", "url("] {
            assert!(!page.contains(reference), "{reference} in the page");
        }
    }

    #[test]
    fn text_from_scan_files_is_escaped() {
        let mut scans = three_weeks();
        scans[2].label = "<script>alert(1)</script>".into();
        scans[2].record.command_line = Some("portolan --data-string '<x>' 198.18.0.2".into());
        let page = page(&Report::new(scans));
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("--data-string &#39;&lt;x&gt;&#39;"));
    }
}
