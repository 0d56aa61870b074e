//! Where an interrupted scan stopped, read from any of its output files (`--resume`): its
//! command line, and how many of its targets it completed. Targets complete in the order
//! they are walked (raw scans report whole host groups, connect scans hosts in order), so
//! that count is the place to go on from.

use quick_xml::events::Event;

use crate::read::attribute;
use crate::ReadError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumePoint {
    /// The scan's arguments, without the program's name.
    pub arguments: Vec<String>,
    /// Targets completed, in the order the command line walks them.
    pub completed: u64,
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

fn from_json(text: &str) -> Result<(String, u64), ReadError> {
    let document: serde_json::Value = serde_json::from_str(text)?;
    let command_line = document["command_line"].as_str().ok_or(ReadError::Malformed("no command line"))?;
    let completed = document["summary"]["hosts_scanned"].as_u64().ok_or(ReadError::Malformed("no summary"))?;
    Ok((command_line.to_string(), completed))
}

fn from_xml(text: &str) -> Result<(String, u64), ReadError> {
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
    Ok((command_line, completed.ok_or(ReadError::Malformed("no run statistics: the scan's end was not written"))?))
}

/// Normal and grepable output: the first line says "… as: COMMAND LINE"; each run's last
/// line "# portolan done at …; N IP addresses …" (a resumed scan appends its own).
fn from_comments(text: &str) -> Result<(String, u64), ReadError> {
    let first = text.lines().next().unwrap_or_default();
    let command_line = first.split_once(" as: ").ok_or(ReadError::Malformed("no command line"))?.1;
    let mut completed = None;
    for line in text.lines().filter(|line| line.starts_with("# portolan done at ")) {
        let count = line.split_once(" -- ").and_then(|(_, totals)| totals.split_whitespace().next());
        let count: u64 = count.and_then(|n| n.parse().ok()).ok_or(ReadError::Malformed("a bad end line"))?;
        completed = Some(completed.unwrap_or(0) + count);
    }
    let completed = completed.ok_or(ReadError::Malformed("no end line: the scan's end was not written"))?;
    Ok((command_line.to_string(), completed))
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
        assert_eq!((&from_json.arguments[..3], from_json.completed), (&arguments[..], 64));
        let from_normal = resume_point(normal).unwrap();
        assert_eq!(&from_normal.arguments[..3], &arguments[..], "the first run's command line");
        assert_eq!(from_normal.completed, 164, "every run's completed targets add up");
        assert_eq!(resume_point(xml).unwrap().completed, 64);
    }

    #[test]
    fn a_file_without_its_end_is_refused() {
        let cut = "# portolan 0.1.0 scan initiated Thu Dec  3 10:00:00 2026 as: portolan -sS 198.18.0.1\n";
        assert!(matches!(resume_point(cut), Err(ReadError::Malformed(_))));
        assert!(resume_point("<nmaprun args=\"portolan 198.18.0.1\">").is_err());
        assert!(matches!(resume_point("Host: 1"), Err(ReadError::UnknownFormat)));
    }
}
