//! `portolan --resume FILE`: an interrupted scan goes on from where it stopped. FILE is any
//! of its outputs (-oN, -oG, -oX, -oJ; or Nmap's -oN/-oG of a scan portolan can run); the
//! scan runs again with its own command line, skipping the targets it completed; normal and
//! grepable files are appended to, as Nmap does, and the XML and JSON documents are rewritten
//! whole, the hosts of both runs in one valid document.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use history::{join_resumed, resume_point, Completed, ShardFile};

use crate::args::{Command, OutputFormat, Resumed, ScanOptions};
use crate::error::RunError;
use crate::inputs::target_walk;

/// The options of the scan that `path` records, set to go on from where it stopped.
pub(crate) fn options(path: &Path) -> Result<ScanOptions, RunError> {
    let unreadable = |e: String| RunError::Failed(format!("cannot resume from {}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let point = resume_point(&text).map_err(|e| unreadable(e.to_string()))?;
    let Ok(Command::Scan(mut options)) = crate::args::parse(point.arguments) else {
        return Err(unreadable("its command line is not a scan portolan can run".into()));
    };
    if options.randomize_hosts && options.seed.is_none() {
        return Err(unreadable("it shuffled its hosts without --seed, so their order cannot be walked again".into()));
    }
    let documents = documents(&options)
        .map(|path| std::fs::read_to_string(&path).map(|text| (path, text)))
        .collect::<Result<_, _>>()
        .map_err(|e| unreadable(format!("its documents cannot be read: {e}")))?;
    let Completed { through, then } = point.completed;
    let before = match through {
        None => 0,
        Some(addr) => targets_through(&options, addr)?
            .ok_or_else(|| unreadable(format!("its last host, {addr}, is not among its targets")))?,
    };
    let completed = before + then;
    options.append_output = true;
    options.resumed = Some(Resumed { completed, documents });
    Ok(*options)
}

/// How many targets the scan walks up to `addr`, the last host a file reports, included.
fn targets_through(options: &ScanOptions, addr: IpAddr) -> Result<Option<u64>, RunError> {
    let mut walk = target_walk(options)?.filter_map(Result::ok);
    Ok(walk.position(|target| target.addr == addr).map(|index| index as u64 + 1))
}

/// The XML and JSON documents a scan writes to files.
fn documents(options: &ScanOptions) -> impl Iterator<Item = PathBuf> + '_ {
    (options.outputs.iter())
        .filter(|(format, path)| is_document(*format) && path != Path::new("-"))
        .map(|(_, path)| path.clone())
}

/// Whether a format is one document for the whole scan, which appending would break.
pub(crate) fn is_document(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Xml | OutputFormat::Json)
}

/// After the resumed run: each document holds the hosts of every run and their totals.
pub(crate) fn join_documents(resumed: &Resumed) -> Result<(), RunError> {
    for (path, before) in &resumed.documents {
        let name = path.display().to_string();
        let failed = |e: String| RunError::Failed(format!("cannot join {name} with the run before: {e}"));
        let after = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        let parts =
            [ShardFile { name: name.clone(), text: before.clone() }, ShardFile { name: name.clone(), text: after }];
        let joined = join_resumed(&parts).map_err(|e| failed(e.to_string()))?;
        std::fs::write(path, joined).map_err(|e| failed(e.to_string()))?;
    }
    Ok(())
}
