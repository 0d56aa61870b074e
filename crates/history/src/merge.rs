//! One report from several files of one scan: the shards of `portolan merge` (`--shards
//! I/N`), or the parts of a scan interrupted and resumed (`--resume`). The parts scanned
//! disjoint hosts, so joining lists every host of every file and adds up the totals; the
//! scan's start (command line, scan types) is the first file's.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::time::Duration;

use model::ScanSummary;
use quick_xml::events::Event;
use serde_json::{json, Value};

use crate::read::attribute;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: name the shards' files")]
    NoFiles,
    #[error("{0}: not XML: {1}")]
    Xml(String, quick_xml::Error),
    #[error("{0}: not JSON: {1}")]
    Json(String, serde_json::Error),
    #[error("{0}: neither Nmap XML nor a portolan JSON document (merge -oX or -oJ files)")]
    UnknownFormat(String),
    #[error("{0}: {1}")]
    Malformed(String, &'static str),
    #[error("{0} and {1} are not shards of one scan: {2}")]
    NotShards(String, String, &'static str),
}

/// A shard's output file: its name (for errors) and its text.
pub struct ShardFile {
    pub name: String,
    pub text: String,
}

/// How the parts of a scan came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parts {
    /// Side by side: hosts ordered by address, the longest duration, interrupted if any was.
    Shards,
    /// One after another: hosts in the order scanned, the durations added, interrupted if the
    /// last was.
    Resumed,
}

/// Merges shards' files, all Nmap-format XML or all portolan JSON documents, into one of the
/// same format.
pub fn merge(files: &[ShardFile]) -> Result<String, MergeError> {
    join(files, Parts::Shards)
}

/// Joins the documents of an interrupted scan and of its resumptions (`--resume`), in the
/// order they ran.
pub fn join_resumed(parts: &[ShardFile]) -> Result<String, MergeError> {
    join(parts, Parts::Resumed)
}

fn join(files: &[ShardFile], parts: Parts) -> Result<String, MergeError> {
    let first = files.first().ok_or(MergeError::NoFiles)?;
    match first.text.trim_start().chars().next() {
        Some('<') => merge_xml(files, parts),
        Some('{') => merge_json(files, parts),
        _ => Err(MergeError::UnknownFormat(first.name.clone())),
    }
}

/// Orders hosts by address, numerically (a CIDR block's scan order); what does not parse as
/// an address goes last, by text.
fn by_address(a: &str, b: &str) -> Ordering {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

fn merge_json(files: &[ShardFile], parts: Parts) -> Result<String, MergeError> {
    let documents: Vec<Value> = files
        .iter()
        .map(|file| serde_json::from_str(&file.text).map_err(|e| MergeError::Json(file.name.clone(), e)))
        .collect::<Result<_, _>>()?;
    let first = &documents[0];
    let mut hosts = Vec::new();
    let mut totals = RunTotals::default();
    for (file, document) in files.iter().zip(&documents) {
        let malformed = |what| MergeError::Malformed(file.name.clone(), what);
        for field in ["scan_type", "protocol", "ports", "scans"] {
            if document[field] != first[field] {
                return Err(MergeError::NotShards(
                    files[0].name.clone(),
                    file.name.clone(),
                    "their scan types or ports differ",
                ));
            }
        }
        hosts.extend(document["hosts"].as_array().ok_or(malformed("no hosts array"))?.iter().cloned());
        let summary = &document["summary"];
        let count = |field| summary[field].as_u64().ok_or(malformed("a summary without its totals"));
        let finished = summary["finished"].as_str().ok_or(malformed("a summary without its end"))?;
        totals.add(
            parts,
            &RunTotals {
                scanned: count("hosts_scanned")?,
                up: count("hosts_up")?,
                down: 0,
                elapsed: summary["elapsed_seconds"].as_f64().ok_or(malformed("a summary without its duration"))?,
                interrupted: summary["interrupted"].as_bool().unwrap_or(false),
                // RFC 3339 in UTC, as every portolan document writes it: text order is time order.
                finished: (0, finished.to_string()),
            },
        );
    }
    if parts == Parts::Shards {
        hosts.sort_by(|a, b| by_address(a["address"].as_str().unwrap_or(""), b["address"].as_str().unwrap_or("")));
    }
    let mut merged = first.clone();
    merged["hosts"] = Value::Array(hosts);
    if parts == Parts::Shards {
        merged["shards"] = json!(files.len());
    }
    merged["summary"] = json!({
        "finished": totals.finished.1,
        "elapsed_seconds": totals.elapsed,
        "hosts_scanned": totals.scanned,
        "hosts_up": totals.up,
        "interrupted": totals.interrupted,
    });
    Ok(format!("{merged}\n"))
}

/// One file's totals, or their sum over the parts: the hosts added up, the latest end, and
/// the duration and interruption as the parts ran (see [`Parts`]).
#[derive(Default)]
struct RunTotals {
    scanned: u64,
    up: u64,
    down: u64,
    elapsed: f64,
    interrupted: bool,
    /// When it ended: a sort key (seconds since the epoch in XML, zero in JSON) and the text.
    finished: (i64, String),
}

impl RunTotals {
    fn add(&mut self, parts: Parts, shard: &RunTotals) {
        self.scanned += shard.scanned;
        self.up += shard.up;
        self.down += shard.down;
        match parts {
            Parts::Shards => {
                self.elapsed = self.elapsed.max(shard.elapsed);
                self.interrupted |= shard.interrupted;
            }
            Parts::Resumed => {
                self.elapsed += shard.elapsed;
                self.interrupted = shard.interrupted;
            }
        }
        if shard.finished >= self.finished {
            self.finished = shard.finished.clone();
        }
    }
}

/// What a merge keeps of one XML file.
struct XmlShard<'a> {
    /// Everything before the first host (or the run's statistics): the document's start.
    head: &'a str,
    /// The text of each `<scaninfo>`: the scan types and ports, which shards share.
    scan_info: Vec<&'a str>,
    /// Each `<host>` element's text, with its address.
    hosts: Vec<(String, &'a str)>,
    totals: RunTotals,
}

fn merge_xml(files: &[ShardFile], parts: Parts) -> Result<String, MergeError> {
    let shards: Vec<XmlShard> = files.iter().map(read_xml_shard).collect::<Result<_, _>>()?;
    let first = &shards[0];
    let mut hosts = Vec::new();
    let mut totals = RunTotals::default();
    for (file, shard) in files.iter().zip(shards.iter()) {
        if shard.scan_info != first.scan_info {
            return Err(MergeError::NotShards(
                files[0].name.clone(),
                file.name.clone(),
                "their scan types or ports differ",
            ));
        }
        hosts.extend(shard.hosts.iter().cloned());
        totals.add(parts, &shard.totals);
    }
    if parts == Parts::Shards {
        hosts.sort_by(|a, b| by_address(&a.0, &b.0));
    }
    let mut merged = String::from(first.head);
    for (_, host) in hosts {
        merged.push_str(host);
        merged.push('\n');
    }
    merged.push_str(&run_stats(&totals));
    Ok(merged)
}

/// The `<runstats>` of the merged run, as portolan's XML writes them.
fn run_stats(totals: &RunTotals) -> String {
    let summary = ScanSummary {
        hosts_scanned: totals.scanned,
        hosts_up: totals.up,
        elapsed: Duration::try_from_secs_f64(totals.elapsed).unwrap_or_default(),
        interrupted: totals.interrupted,
    };
    let (time, timestr) = &totals.finished;
    let exit = if totals.interrupted { "exit=\"error\" errormsg=\"interrupted\"" } else { "exit=\"success\"" };
    format!(
        "<runstats><finished time=\"{time}\" timestr=\"{timestr}\" summary=\"portolan done at {timestr}; {}\" elapsed=\"{:.2}\" {exit}/><hosts up=\"{}\" down=\"{}\" total=\"{}\"/>\n</runstats>\n</nmaprun>\n",
        output::totals(&summary),
        totals.elapsed,
        totals.up,
        totals.down,
        totals.scanned,
    )
}

/// Reads the parts of one XML file a merge keeps, by their place in the text, so that hosts
/// are copied as written (whatever elements Nmap or portolan put in them).
fn read_xml_shard(file: &ShardFile) -> Result<XmlShard<'_>, MergeError> {
    let text = file.text.as_str();
    let malformed = |what| MergeError::Malformed(file.name.clone(), what);
    // The reader's positions fall between characters in well-formed text, but not always
    // in text that is not.
    let slice = |range: std::ops::Range<usize>| text.get(range).ok_or(malformed("broken characters"));
    let mut reader = quick_xml::Reader::from_str(text);
    let mut shard = XmlShard { head: "", scan_info: Vec::new(), hosts: Vec::new(), totals: RunTotals::default() };
    let mut head_end = None;
    let mut depth = 0usize;
    // The host being read: where it starts and its address.
    let mut host: Option<(usize, Option<String>)> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| MergeError::Xml(file.name.clone(), e))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Eof => break,
            Event::Start(ref element) | Event::Empty(ref element) => {
                let name = element.name().into_inner();
                if depth == 1 && matches!(name, "host" | "runstats") {
                    head_end.get_or_insert(before);
                }
                match name {
                    "host" if depth == 1 => host = Some((before, None)),
                    "address" if attribute(element, "addrtype").as_deref() != Some("mac") => {
                        if let Some((_, addr @ None)) = host.as_mut() {
                            *addr = attribute(element, "addr");
                        }
                    }
                    "scaninfo" => shard.scan_info.push(slice(before..after)?),
                    "finished" => {
                        let time = attribute(element, "time").and_then(|t| t.parse().ok());
                        let elapsed = attribute(element, "elapsed").and_then(|e| e.parse().ok());
                        shard.totals.finished = (
                            time.ok_or(malformed("a run without its end"))?,
                            attribute(element, "timestr").unwrap_or_default(),
                        );
                        shard.totals.elapsed = elapsed.ok_or(malformed("a run without its duration"))?;
                        shard.totals.interrupted = attribute(element, "exit").as_deref() == Some("error");
                    }
                    "hosts" => {
                        let count = |name| {
                            attribute(element, name).and_then(|n| n.parse().ok()).ok_or(malformed("bad host totals"))
                        };
                        (shard.totals.up, shard.totals.down, shard.totals.scanned) =
                            (count("up")?, count("down")?, count("total")?);
                    }
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(element) => {
                depth = depth.saturating_sub(1);
                if depth == 1 && element.name().into_inner() == "host" {
                    let (start, addr) = host.take().ok_or(malformed("a host ends that did not begin"))?;
                    shard.hosts.push((addr.unwrap_or_default(), slice(start..after)?));
                }
            }
            _ => {}
        }
    }
    shard.head = slice(0..head_end.ok_or(malformed("no hosts and no run statistics: an unfinished file?"))?)?;
    Ok(shard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> ShardFile {
        ShardFile { name: name.into(), text: text.into() }
    }

    fn xml(hosts: &[(&str, &str)], up: u64, total: u64, time: i64, elapsed: f64) -> String {
        let mut text = String::from("<?xml version=\"1.0\"?>\n<nmaprun scanner=\"nmap\">\n<scaninfo type=\"syn\" protocol=\"tcp\" numservices=\"1\" services=\"80\"/>\n<verbose level=\"0\"/>\n");
        for (addr, state) in hosts {
            text.push_str(&format!("<host><status state=\"up\"/><address addr=\"{addr}\" addrtype=\"ipv4\"/><ports><port protocol=\"tcp\" portid=\"80\"><state state=\"{state}\"/></port></ports></host>\n"));
        }
        text.push_str(&format!("<runstats><finished time=\"{time}\" timestr=\"T{time}\" elapsed=\"{elapsed}\" exit=\"success\"/><hosts up=\"{up}\" down=\"{}\" total=\"{total}\"/></runstats>\n</nmaprun>\n", total - up));
        text
    }

    #[test]
    fn xml_shards_merge_into_one_run_ordered_by_address() {
        let a = xml(&[("198.18.0.10", "open"), ("198.18.0.2", "closed")], 2, 3, 100, 1.5);
        let b = xml(&[("198.18.0.3", "open")], 1, 2, 105, 0.5);
        let merged = merge(&[file("a.xml", &a), file("b.xml", &b)]).unwrap();
        let record = crate::read_scan(&merged).unwrap();
        assert_eq!(record.hosts.len(), 3);
        let order: Vec<usize> =
            ["198.18.0.2", "198.18.0.3", "198.18.0.10"].iter().map(|a| merged.find(a).unwrap()).collect();
        assert!(order.is_sorted(), "hosts by address:\n{merged}");
        assert!(merged.contains("<verbose level=\"0\"/>"), "the first file's head is kept");
        assert!(merged.contains("<finished time=\"105\" timestr=\"T105\""), "{merged}");
        assert!(merged.contains("elapsed=\"1.50\""), "{merged}");
        assert!(merged.contains("<hosts up=\"3\" down=\"2\" total=\"5\"/>"), "{merged}");
        assert!(merged.contains("5 IP addresses (3 hosts up) scanned in 1.50 seconds"), "{merged}");
        assert!(merged.trim_end().ends_with("</nmaprun>"));
    }

    #[test]
    fn json_shards_merge_hosts_and_totals() {
        let document = |hosts: &str, scanned: u64, up: u64, finished: &str, elapsed: f64| {
            format!(
                r#"{{"scan_type":"syn","protocol":"tcp","ports":1,"hosts":[{hosts}],"summary":{{"finished":"{finished}","elapsed_seconds":{elapsed},"hosts_scanned":{scanned},"hosts_up":{up},"interrupted":false}}}}"#
            )
        };
        let a = document(r#"{"address":"198.18.0.9","ports":[]}"#, 2, 1, "2026-12-03T10:00:02Z", 2.0);
        let b = document(r#"{"address":"198.18.0.1","ports":[]}"#, 2, 1, "2026-12-03T10:00:03Z", 1.0);
        let merged: Value = serde_json::from_str(&merge(&[file("a", &a), file("b", &b)]).unwrap()).unwrap();
        let addresses: Vec<&str> =
            merged["hosts"].as_array().unwrap().iter().map(|h| h["address"].as_str().unwrap()).collect();
        assert_eq!(addresses, ["198.18.0.1", "198.18.0.9"]);
        assert_eq!(merged["summary"]["hosts_scanned"], 4);
        assert_eq!(merged["summary"]["hosts_up"], 2);
        assert_eq!(merged["summary"]["elapsed_seconds"], 2.0);
        assert_eq!(merged["summary"]["finished"], "2026-12-03T10:00:03Z");
        assert_eq!(merged["shards"], 2);
    }

    #[test]
    fn a_reader_position_inside_a_character_is_refused_not_sliced() {
        // Found by the scan_files fuzz target: slicing there panicked.
        let bytes = include_bytes!("../../../fuzz/regressions/scan_files/xml-position-inside-a-character");
        let text = String::from_utf8_lossy(bytes);
        let (first, second) = text.split_once('\0').unwrap_or((&text, &text));
        assert!(merge(&[file("a", first), file("b", second)]).is_err());
    }

    #[test]
    fn files_of_different_scans_or_formats_are_refused() {
        let syn = xml(&[], 0, 1, 1, 0.1);
        let udp = syn.replace("type=\"syn\" protocol=\"tcp\"", "type=\"udp\" protocol=\"udp\"");
        let error = merge(&[file("a.xml", &syn), file("b.xml", &udp)]).unwrap_err();
        assert_eq!(error.to_string(), "a.xml and b.xml are not shards of one scan: their scan types or ports differ");
        assert!(matches!(merge(&[]), Err(MergeError::NoFiles)));
        assert!(matches!(merge(&[file("x", "Host: 1")]), Err(MergeError::UnknownFormat(_))));
        let cut = &syn[..syn.find("<runstats").unwrap() - 30];
        assert!(merge(&[file("cut.xml", cut)]).is_err(), "an unfinished file is refused");
        assert!(merge(&[file("a.xml", &syn), file("b.json", "{}")]).is_err());
    }
}
