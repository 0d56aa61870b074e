//! Where an interrupted scan stopped, read from any of its output files (`--resume`): its
//! command line, and how many of its targets it completed. Targets complete in the order
//! they are walked (raw scans report whole host groups, connect scans hosts in order), so
//! that count is the place to go on from. A normal or grepable file whose last run wrote no
//! end line (a scan killed outright, or Nmap's own interrupted files) says instead which host
//! it reported last, and the scan goes on after it, as Nmap's `--resume` does.

use quick_xml::events::Event;

use crate::read::attribute;
use crate::ReadError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumePoint {
    /// The scan's arguments, without the program's name.
    pub arguments: Vec<String>,
    pub completed: Completed,
}

/// How far the scan got, in the order the command line walks the targets: every target up
/// to `through` (the last host reported by a run that never wrote its end), if any, then
/// `then` more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub through: Option<std::net::IpAddr>,
    pub then: u64,
}

impl Completed {
    fn targets(count: u64) -> Completed {
        Completed { through: None, then: count }
    }
}

/// Reads a normal (`-oN`), grepable (`-oG`), XML (`-oX`) or JSON (`-oJ`) output of portolan.
pub fn resume_point(text: &str) -> Result<ResumePoint, ReadError> {
    let (command_line, completed) = match text.trim_start().chars().next() {
        Some('{') => from_json(text)?,
        Some('<') => from_xml(text)?,
        Some('#') => from_comments(text)?,
        _ => return Err(ReadError::UnknownFormat),
    };
    let mut words = split_words(&command_line).into_iter();
    words.next().ok_or(ReadError::Malformed("an empty command line"))?;
    Ok(ResumePoint { arguments: words.collect(), completed })
}

fn from_json(text: &str) -> Result<(String, Completed), ReadError> {
    let document: serde_json::Value = serde_json::from_str(text)?;
    let command_line = document["command_line"].as_str().ok_or(ReadError::Malformed("no command line"))?;
    let completed = document["summary"]["hosts_scanned"].as_u64().ok_or(ReadError::Malformed("no summary"))?;
    Ok((command_line.to_string(), Completed::targets(completed)))
}

fn from_xml(text: &str) -> Result<(String, Completed), ReadError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut command_line, mut completed) = (None, None);
    loop {
        match reader.read_event()? {
            Event::Eof => break,
            Event::Start(element) | Event::Empty(element) => match element.name().into_inner() {
                "nmaprun" => command_line = attribute(&element, "args"),
                "hosts" => completed = attribute(&element, "total").and_then(|t| t.parse().ok()),
                _ => {}
            },
            _ => {}
        }
    }
    let command_line = command_line.ok_or(ReadError::Malformed("no command line"))?;
    let completed = completed.ok_or(ReadError::Malformed("no run statistics: the scan's end was not written"))?;
    Ok((command_line, Completed::targets(completed)))
}

/// Normal and grepable output (portolan's or Nmap's): the first line says "… as: COMMAND
/// LINE"; each run that ended wrote "# portolan done at … -- N IP addresses …" (a resumed
/// scan appends a run of its own). When the last run wrote no end line, the last host it
/// reported marks where it stopped.
fn from_comments(text: &str) -> Result<(String, Completed), ReadError> {
    let first = text.lines().next().unwrap_or_default();
    let command_line = first.split_once(" as: ").ok_or(ReadError::Malformed("no command line"))?.1;
    let mut completed = Completed::targets(0);
    // The last host the current run reported; none once it wrote its end.
    let mut last_host = None;
    let mut seen_an_end_or_host = false;
    for line in text.lines() {
        if line.starts_with("# ") && line.contains(" scan initiated ") {
            if let Some(addr) = last_host.take() {
                completed = Completed { through: Some(addr), then: 0 };
            }
        } else if let Some(totals) = line.strip_prefix("# portolan done at ").or(line.strip_prefix("# Nmap done at ")) {
            let count = totals.split_once(" -- ").and_then(|(_, totals)| totals.split_whitespace().next());
            completed.then +=
                count.and_then(|n| n.parse::<u64>().ok()).ok_or(ReadError::Malformed("a bad end line"))?;
            last_host = None;
            seen_an_end_or_host = true;
        } else if let Some(addr) = reported_host(line) {
            last_host = Some(addr);
            seen_an_end_or_host = true;
        }
    }
    if let Some(addr) = last_host {
        completed = Completed { through: Some(addr), then: 0 };
    }
    if !seen_an_end_or_host {
        return Err(ReadError::Malformed("no end line and no host: nothing to go on from"));
    }
    Ok((command_line.to_string(), completed))
}

/// The address of a host report's first line: "portolan scan report for NAME (ADDRESS)",
/// Nmap's the same, or grepable "Host: ADDRESS (NAME)\t…".
fn reported_host(line: &str) -> Option<std::net::IpAddr> {
    if let Some(rest) = line.strip_prefix("Host: ") {
        return rest.split_whitespace().next()?.parse().ok();
    }
    let rest = line.strip_prefix("portolan scan report for ").or(line.strip_prefix("Nmap scan report for "))?;
    let addr = rest.rsplit_once(" (").map_or(rest, |(_, addr)| addr.trim_end_matches(')'));
    addr.parse().ok()
}

/// A command line as one line: words joined by spaces, those with spaces, quotes or nothing
/// in them single-quoted as a shell would take them.
pub fn join_words(words: &[String]) -> String {
    let quote = |word: &String| {
        let plain = !word.is_empty() && !word.chars().any(|c| c.is_whitespace() || c == '\'' || c == '"' || c == '\\');
        if plain {
            word.clone()
        } else {
            format!("'{}'", word.replace('\'', "'\\''"))
        }
    };
    words.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// The words of a line [`join_words`] wrote.
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                current.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_with_spaces_and_quotes_survive_the_line() {
        let words: Vec<String> =
            ["portolan", "--data-string", "it's a b", "", "-p", "22", "a\\b"].iter().map(|w| w.to_string()).collect();
        let line = join_words(&words);
        assert_eq!(line, r#"portolan --data-string 'it'\''s a b' '' -p 22 'a\b'"#);
        assert_eq!(split_words(&line), words);
    }

    #[test]
    fn reads_each_format_of_an_interrupted_scan() {
        let json = r#"{"command_line":"portolan -sS -p 22 -oJ s.json 198.18.0.0/24","hosts":[],"summary":{"hosts_scanned":64,"interrupted":true}}"#;
        let normal = "# portolan 0.1.0 scan initiated Thu Dec  3 10:00:00 2026 as: portolan -sS -p 22 198.18.0.0/24\n\
            portolan scan report for 198.18.0.1\n\
            # portolan done at Thu Dec  3 10:00:01 2026 -- 64 IP addresses (3 hosts up) scanned in 1.00 seconds\n\
            # portolan 0.1.0 scan initiated Thu Dec  3 10:05:00 2026 as: portolan --resume s.nmap\n\
            # portolan done at Thu Dec  3 10:05:01 2026 -- 100 IP addresses (1 host up) scanned in 1.00 seconds\n";
        let xml = r#"<?xml version="1.0"?><nmaprun scanner="nmap" args="portolan -sS -p 22 198.18.0.0/24"><runstats><finished time="1"/><hosts up="1" down="63" total="64"/></runstats></nmaprun>"#;
        let arguments: Vec<String> = ["-sS", "-p", "22"].iter().map(|w| w.to_string()).collect();
        let from_json = resume_point(json).unwrap();
        assert_eq!((&from_json.arguments[..3], from_json.completed), (&arguments[..], Completed::targets(64)));
        let from_normal = resume_point(normal).unwrap();
        assert_eq!(&from_normal.arguments[..3], &arguments[..], "the first run's command line");
        assert_eq!(from_normal.completed, Completed::targets(164), "every run's completed targets add up");
        assert_eq!(resume_point(xml).unwrap().completed, Completed::targets(64));
    }

    #[test]
    fn a_run_without_its_end_goes_on_after_the_last_host_it_reported() {
        // Nmap's own file of a scan interrupted with Ctrl-C: no end line.
        let nmap = "# Nmap 7.93 scan initiated Thu Dec  3 10:00:00 2026 as: nmap -sS -p 22 198.18.75.0/28\n\
            Nmap scan report for 198.18.75.1\nHost is up.\n\
            Nmap scan report for lab5 (198.18.75.5)\nHost is up.\n";
        let point = resume_point(nmap).unwrap();
        assert_eq!(point.arguments, ["-sS", "-p", "22", "198.18.75.0/28"]);
        let through_5 = Completed { through: Some("198.18.75.5".parse().unwrap()), then: 0 };
        assert_eq!(point.completed, through_5);
        // Resumed by portolan, which ended: ten more after that host.
        let resumed = format!(
            "{nmap}# portolan 0.1.0 scan initiated Thu Dec  3 10:05:00 2026 as: portolan --resume s.nmap\n\
             portolan scan report for 198.18.75.15\n\
             # portolan done at Thu Dec  3 10:05:01 2026 -- 10 IP addresses (10 hosts up) scanned in 1.00 seconds\n"
        );
        assert_eq!(resume_point(&resumed).unwrap().completed, Completed { then: 10, ..through_5 });
        // Grepable, and a resumed run of ours killed after a first run that ended.
        let grepable = "# portolan 0.1.0 scan initiated Thu Dec  3 10:00:00 2026 as: portolan -sS 198.18.75.0/28\n\
            Host: 198.18.75.1 ()\tStatus: Up\n\
            # portolan done at Thu Dec  3 10:00:01 2026 -- 4 IP addresses (1 host up) scanned in 1.00 seconds\n\
            # portolan 0.1.0 scan initiated Thu Dec  3 10:05:00 2026 as: portolan --resume s.gnmap\n\
            Host: 198.18.75.9 ()\tStatus: Up\n";
        let through_9 = Completed { through: Some("198.18.75.9".parse().unwrap()), then: 0 };
        assert_eq!(resume_point(grepable).unwrap().completed, through_9);
    }

    #[test]
    fn a_file_without_its_end_is_refused() {
        let cut = "# portolan 0.1.0 scan initiated Thu Dec  3 10:00:00 2026 as: portolan -sS 198.18.0.1\n";
        assert!(matches!(resume_point(cut), Err(ReadError::Malformed(_))));
        assert!(resume_point("<nmaprun args=\"portolan 198.18.0.1\">").is_err());
        assert!(matches!(resume_point("Host: 1"), Err(ReadError::UnknownFormat)));
    }
}
