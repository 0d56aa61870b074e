//! `$XDG_CONFIG_HOME/portolan/config.toml`: defaults for how this user scans. Options on the
//! command line win over it; `portolan config show` prints the settings in force and where
//! each comes from.
//!
//! ```toml
//! save = true                          # keep every scan in the history (--save)
//! output_dir = "/var/lib/portolan"     # where -oN/-oX/-oG/-oJ/-oA files with relative names go
//! timing = 4                           # -T4 unless -T is given
//! datadir = "/usr/share/nmap"          # Nmap's data files (--datadir)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::args::ScanOptions;
use crate::error::RunError;

/// The settings a config file may hold; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    save: Option<bool>,
    output_dir: Option<PathBuf>,
    timing: Option<u8>,
    datadir: Option<PathBuf>,
}

/// The config file read, and where from (`None`: there is none).
pub(crate) struct Loaded {
    config: Config,
    path: Option<PathBuf>,
}

/// The config file's place: `$XDG_CONFIG_HOME/portolan/config.toml`, else under
/// `~/.config`.
fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("portolan").join("config.toml"))
}

/// Reads the config file, if there is one; a file that cannot be read or parsed is one
/// error naming its line.
pub(crate) fn load() -> Result<Loaded, RunError> {
    let Some(path) = path().filter(|path| path.exists()) else {
        return Ok(Loaded { config: Config::default(), path: None });
    };
    let text =
        std::fs::read_to_string(&path).map_err(|e| RunError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let config = parse(&text).map_err(|problem| RunError::Usage(format!("{}: {problem}", path.display())))?;
    if config.timing.is_some_and(|timing| timing > 5) {
        return Err(RunError::Usage(format!("{}: timing must be 0 to 5", path.display())));
    }
    Ok(Loaded { config, path: Some(path) })
}

/// The settings of a config file's text, or what is wrong with it, naming the line.
fn parse(text: &str) -> Result<Config, String> {
    toml::from_str(text).map_err(|error: toml::de::Error| {
        let line = error.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let message = error.message().to_string();
        match line {
            Some(line) => format!("line {line}: {message}"),
            None => message,
        }
    })
}

impl Loaded {
    /// Lays the config under `options`: what the command line left unsaid.
    pub(crate) fn apply(&self, options: &mut ScanOptions) {
        let config = &self.config;
        if options.timing.template.is_none() {
            options.timing.template =
                config.timing.and_then(|level| crate::args::timing_template(&level.to_string()).ok());
        }
        if options.datadir.is_none() {
            options.datadir = config.datadir.clone();
        }
        options.save |= config.save.unwrap_or(false);
        if let Some(dir) = &config.output_dir {
            for (_, file) in &mut options.outputs {
                if file.is_relative() && file != Path::new("-") {
                    *file = dir.join(&*file);
                }
            }
        }
    }

    /// `portolan config show`: each setting in force, and where it comes from.
    pub(crate) fn show(&self) -> String {
        let source = |set: bool| match (&self.path, set) {
            (Some(path), true) => format!("({})", path.display()),
            _ => "(default)".to_string(),
        };
        let config = &self.config;
        let shown = |value: Option<String>, default: &str| value.unwrap_or_else(|| default.to_string());
        let rows = [
            ("save", shown(config.save.map(|v| v.to_string()), "false"), source(config.save.is_some())),
            (
                "output_dir",
                shown(config.output_dir.as_ref().map(|d| d.display().to_string()), "the working directory"),
                source(config.output_dir.is_some()),
            ),
            (
                "timing",
                shown(config.timing.map(|t| format!("{t} (-T{t})")), "3 (-T3)"),
                source(config.timing.is_some()),
            ),
            (
                "datadir",
                shown(config.datadir.as_ref().map(|d| d.display().to_string()), "$NMAPDIR, ~/.nmap, /usr/share/nmap"),
                source(config.datadir.is_some()),
            ),
        ];
        let file = match &self.path {
            Some(path) => format!("config file: {}\n", path.display()),
            None => match path() {
                Some(path) => format!("config file: none ({} does not exist)\n", path.display()),
                None => "config file: none (neither XDG_CONFIG_HOME nor HOME is set)\n".to_string(),
            },
        };
        let width = rows.iter().map(|(_, value, _)| value.len()).max().unwrap_or(0);
        file + &rows
            .iter()
            .map(|(key, value, from)| format!("{key:<10} = {value:<width$} {from}\n"))
            .collect::<String>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_sets_what_the_command_line_leaves_unsaid() {
        let config = parse("save = true\noutput_dir = \"/srv/scans\"\ntiming = 4\n").unwrap();
        let loaded = Loaded { config, path: Some(PathBuf::from("/home/u/.config/portolan/config.toml")) };
        let mut options = ScanOptions {
            outputs: vec![(crate::args::OutputFormat::Xml, PathBuf::from("scan.xml"))],
            ..ScanOptions::default()
        };
        options.timing.template = Some(crate::args::timing_template("2").unwrap());
        loaded.apply(&mut options);
        assert!(options.save);
        assert_eq!(options.outputs[0].1, PathBuf::from("/srv/scans/scan.xml"));
        assert_eq!(options.timing.template, Some(crate::args::timing_template("2").unwrap()), "the command line wins");
    }

    #[test]
    fn a_bad_config_is_one_error_naming_its_line() {
        assert_eq!(parse("save = true\ntimng = 4\n").unwrap_err().split(':').next(), Some("line 2"));
        assert!(parse("save = true\ntimng = 4\n").unwrap_err().contains("timng"));
        assert_eq!(parse("timing = \"fast\"\n").unwrap_err().split(':').next(), Some("line 1"));
    }
}
