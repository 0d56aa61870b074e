//! `portolan merge [-o FILE] FILE...`: one report from the XML or JSON files of a scan's
//! shards (`--shards I/N`), written to FILE or standard output.

use std::path::PathBuf;

use history::{merge, ShardFile};

use crate::args::UsageError;
use crate::subcommand::{operands_and_output, write_or_print};

#[derive(Debug, PartialEq, Eq)]
pub struct MergeCommand {
    pub files: Vec<PathBuf>,
    pub output: Option<PathBuf>,
}

/// Parses the words after `portolan merge`.
pub fn parse(words: &[String]) -> Result<MergeCommand, UsageError> {
    let (files, output) = operands_and_output("merge", words)?;
    if files.is_empty() {
        return Err(UsageError("portolan merge needs the shards' files: portolan merge [-o FILE] FILE...".into()));
    }
    Ok(MergeCommand { files: files.into_iter().map(PathBuf::from).collect(), output })
}

/// Reads the files, merges them and writes the report.
pub fn run(command: MergeCommand) -> Result<(), String> {
    let files = (command.files.iter())
        .map(|path| {
            let name = path.display().to_string();
            std::fs::read_to_string(path)
                .map(|text| ShardFile { name: name.clone(), text })
                .map_err(|e| format!("cannot read {name}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let merged = merge(&files).map_err(|e| e.to_string())?;
    write_or_print(command.output.as_deref(), &merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn reads_files_and_an_output() {
        let command = parse(&words(&["a.xml", "-o", "all.xml", "b.xml"])).unwrap();
        assert_eq!(command.files, [PathBuf::from("a.xml"), PathBuf::from("b.xml")]);
        assert_eq!(command.output, Some(PathBuf::from("all.xml")));
    }

    #[test]
    fn bad_words_name_themselves() {
        assert_eq!(parse(&words(&["-x", "a"])).unwrap_err().0, "unrecognized option '-x' for 'portolan merge'");
        assert_eq!(parse(&words(&["a", "-o"])).unwrap_err().0, "-o needs a file name");
        assert!(parse(&words(&[])).unwrap_err().0.starts_with("portolan merge needs the shards' files"));
    }
}
