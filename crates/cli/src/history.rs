//! `portolan history` and `portolan diff`, and saving scans (`--save`).

use std::path::PathBuf;

use history::{diff, read_scan, Store};

use crate::args::UsageError;

/// The scan history database: `$XDG_DATA_HOME/portolan/history.sqlite`, or under
/// `~/.local/share` when that is unset.
pub fn database_path() -> Result<PathBuf, String> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .ok_or("cannot find a data directory for the scan history: set XDG_DATA_HOME or HOME")?;
    Ok(data.join("portolan").join("history.sqlite"))
}

/// Saves a scan's JSON document; returns its number.
pub fn save(document: &str) -> Result<i64, String> {
    let store = Store::open(&database_path()?).map_err(|e| e.to_string())?;
    store.save(document).map_err(|e| e.to_string())
}

/// What a history command asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum HistoryCommand {
    List { json: bool },
    Diff { before: String, after: String, json: bool },
}

/// Parses the words after `portolan history` or `portolan diff`.
pub fn parse(command: &str, words: &[String]) -> Result<HistoryCommand, UsageError> {
    let json = words.iter().any(|w| w == "--json");
    let operands: Vec<&String> = words.iter().filter(|w| *w != "--json").collect();
    if let Some(option) = operands.iter().find(|w| w.starts_with('-')) {
        return Err(UsageError(format!("unrecognized option '{option}' for 'portolan {command}'")));
    }
    match (command, operands.as_slice()) {
        ("history", []) => Ok(HistoryCommand::List { json }),
        ("diff", [before, after]) => {
            Ok(HistoryCommand::Diff { before: before.to_string(), after: after.to_string(), json })
        }
        ("history", _) => Err(UsageError("'portolan history' takes no operands (only --json)".into())),
        _ => Err(UsageError("'portolan diff' takes two scans: saved scan numbers or XML/JSON files".into())),
    }
}

/// Runs a history command; returns whether a diff found changes.
pub fn run(command: HistoryCommand) -> Result<bool, String> {
    match command {
        HistoryCommand::List { json } => list(json).map(|()| false),
        HistoryCommand::Diff { before, after, json } => {
            let changes = diff(&load(&before)?, &load(&after)?);
            if json {
                println!("{}", serde_json::to_string_pretty(&changes).map_err(|e| e.to_string())?);
            } else {
                changes.iter().for_each(|change| println!("{change}"));
            }
            Ok(!changes.is_empty())
        }
    }
}

fn list(json: bool) -> Result<(), String> {
    let store = Store::open(&database_path()?).map_err(|e| e.to_string())?;
    let scans = store.list().map_err(|e| e.to_string())?;
    for scan in scans {
        if json {
            let line = serde_json::json!({"id": scan.id, "started": scan.started, "hosts_up": scan.hosts_up, "command_line": scan.command_line});
            println!("{line}");
        } else {
            println!("{:>5}  {}  {:>5} up  {}", scan.id, scan.started, scan.hosts_up, scan.command_line);
        }
    }
    Ok(())
}

/// A saved scan's number, or a file of Nmap-format XML or portolan JSON.
pub fn load(scan: &str) -> Result<history::ScanRecord, String> {
    let text = match scan.parse::<i64>() {
        Ok(id) => Store::open(&database_path()?).and_then(|store| store.document(id)).map_err(|e| e.to_string())?,
        Err(_) => std::fs::read_to_string(scan).map_err(|e| format!("cannot read {scan}: {e}"))?,
    };
    read_scan(&text).map_err(|e| format!("{scan}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn history_and_diff_operands() {
        assert_eq!(parse("history", &[]).unwrap(), HistoryCommand::List { json: false });
        assert_eq!(parse("history", &words(&["--json"])).unwrap(), HistoryCommand::List { json: true });
        assert_eq!(
            parse("diff", &words(&["3", "scan.xml"])).unwrap(),
            HistoryCommand::Diff { before: "3".into(), after: "scan.xml".into(), json: false }
        );
        assert!(parse("diff", &words(&["3"])).is_err());
        assert!(parse("history", &words(&["4"])).is_err());
        assert_eq!(
            parse("diff", &words(&["-x", "1", "2"])).unwrap_err().0,
            "unrecognized option '-x' for 'portolan diff'"
        );
    }
}
