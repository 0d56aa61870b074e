//! `portolan report [-o FILE] [SCAN...]`: the HTML report of saved scans (every one when none
//! is named) or scan files, written to FILE or standard output.

use std::path::{Path, PathBuf};

use history::Store;

use crate::args::UsageError;
use crate::history::{database_path, load};
use crate::subcommand::{operands_and_output, write_or_print};

#[derive(Debug, PartialEq, Eq)]
pub struct ReportCommand {
    /// Saved scans' numbers or files; empty for every saved scan.
    pub scans: Vec<String>,
    pub output: Option<PathBuf>,
}

/// Parses the words after `portolan report`.
pub fn parse(words: &[String]) -> Result<ReportCommand, UsageError> {
    let (scans, output) = operands_and_output("report", words)?;
    Ok(ReportCommand { scans, output })
}

/// Reads the scans, renders the page and writes it.
pub fn run(command: ReportCommand) -> Result<(), String> {
    let names = match command.scans.is_empty() {
        true => every_saved_scan()?,
        false => command.scans,
    };
    let scans = names
        .iter()
        .map(|name| load(name).map(|record| report::Scan { label: label(name), record }))
        .collect::<Result<Vec<_>, _>>()?;
    let page = report::render(scans).map_err(|e| e.to_string())?;
    write_or_print(command.output.as_deref(), &page)
}

fn every_saved_scan() -> Result<Vec<String>, String> {
    let store = Store::open(&database_path()?).map_err(|e| e.to_string())?;
    let scans = store.list().map_err(|e| e.to_string())?;
    Ok(scans.iter().map(|scan| scan.id.to_string()).collect())
}

/// How the page names a scan: "#3" for a saved scan, the file's name for a file.
fn label(name: &str) -> String {
    match name.parse::<i64>() {
        Ok(id) => format!("#{id}"),
        Err(_) => Path::new(name).file_name().map_or(name.to_string(), |file| file.to_string_lossy().into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn reads_scans_and_an_output() {
        let command = parse(&words(&["3", "-o", "report.html", "scans/monday.xml"])).unwrap();
        assert_eq!(command.scans, ["3", "scans/monday.xml"]);
        assert_eq!(command.output, Some(PathBuf::from("report.html")));
        assert_eq!(parse(&[]).unwrap(), ReportCommand { scans: vec![], output: None });
    }

    #[test]
    fn bad_words_name_themselves() {
        assert_eq!(parse(&words(&["-x"])).unwrap_err().0, "unrecognized option '-x' for 'portolan report'");
        assert_eq!(parse(&words(&["1", "--output"])).unwrap_err().0, "--output needs a file name");
    }

    #[test]
    fn saved_scans_and_files_are_labelled() {
        assert_eq!(label("12"), "#12");
        assert_eq!(label("scans/monday.xml"), "monday.xml");
    }
}
