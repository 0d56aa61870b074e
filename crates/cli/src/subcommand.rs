//! What the subcommands that write one file share (`portolan merge`, `portolan report`): the
//! words `[-o FILE] OPERAND...`, and the result written to FILE or standard output.

use std::path::{Path, PathBuf};

use crate::args::UsageError;

/// The operands and the `-o`/`--output` file of the words after `portolan <command>`.
pub fn operands_and_output(command: &str, words: &[String]) -> Result<(Vec<String>, Option<PathBuf>), UsageError> {
    let (mut operands, mut output) = (Vec::new(), None);
    let mut words = words.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "-o" | "--output" => {
                let path = words.next().ok_or_else(|| UsageError(format!("{word} needs a file name")))?;
                output = Some(PathBuf::from(path));
            }
            option if option.starts_with('-') => {
                return Err(UsageError(format!("unrecognized option '{option}' for 'portolan {command}'")));
            }
            operand => operands.push(operand.to_string()),
        }
    }
    Ok((operands, output))
}

/// Writes `text` to `output`, or to standard output without one.
pub fn write_or_print(output: Option<&Path>, text: &str) -> Result<(), String> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
