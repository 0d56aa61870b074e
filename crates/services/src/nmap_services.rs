//! Reader for Nmap's `nmap-services` format, used only on a file installed on the user's machine.
//!
//! Each data line is `name<TAB>port/proto<TAB>open-frequency[<TAB># comment]`; the frequency
//! (a fraction from 0 to 1) gives the top-ports ranking.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use model::Protocol;

use crate::{ServicesTable, TableSource};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {problem}")]
    Malformed { path: PathBuf, line: usize, problem: String },
}

impl ServicesTable {
    /// Loads an `nmap-services` file.
    pub fn load_nmap_services(path: &Path) -> Result<ServicesTable, LoadError> {
        let io_error = |source| LoadError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io_error)?;
        Self::read_nmap_services(std::io::BufReader::new(file), path)
    }

    /// Parses `nmap-services` text; `path` names the source in errors and in [`TableSource`].
    pub fn read_nmap_services(reader: impl BufRead, path: &Path) -> Result<ServicesTable, LoadError> {
        let mut names = HashMap::new();
        let mut frequencies: HashMap<Protocol, Vec<(f64, u16)>> = HashMap::new();
        for (index, line) in reader.lines().enumerate() {
            let line = line.map_err(|source| LoadError::Io { path: path.to_path_buf(), source })?;
            let malformed = |problem: &str| LoadError::Malformed {
                path: path.to_path_buf(),
                line: index + 1,
                problem: problem.to_string(),
            };
            let Some(entry) = parse_line(&line).map_err(malformed)? else { continue };
            // Protocols portolan has no use for (e.g. "ddp", "divert") are skipped, not errors.
            let Some(proto) = entry.proto else { continue };
            frequencies.entry(proto).or_default().push((entry.frequency, entry.port));
            names.insert((proto, entry.port), entry.name.to_string());
        }
        let ranked = frequencies.into_iter().map(|(proto, ports)| (proto, rank_by_frequency(ports))).collect();
        Ok(ServicesTable::new(names, ranked, TableSource::NmapServices(path.to_path_buf())))
    }
}

struct Entry<'a> {
    name: &'a str,
    port: u16,
    proto: Option<Protocol>,
    frequency: f64,
}

fn parse_line(line: &str) -> Result<Option<Entry<'_>>, &'static str> {
    let data = line.split('#').next().unwrap_or("").trim();
    if data.is_empty() {
        return Ok(None);
    }
    let mut fields = data.split_whitespace();
    let name = fields.next().ok_or("missing service name")?;
    let port_proto = fields.next().ok_or("missing port/protocol")?;
    let (port, proto) = port_proto.split_once('/').ok_or("expected port/protocol")?;
    let port = port.parse().map_err(|_| "bad port number")?;
    // Older files have no frequency column; such entries rank last.
    let frequency = match fields.next() {
        Some(f) => f.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or("bad open-frequency")?,
        None => 0.0,
    };
    Ok(Some(Entry { name, port, proto: Protocol::from_name(proto), frequency }))
}

/// Most frequently open first; ties broken by port number so the ranking is deterministic.
fn rank_by_frequency(mut ports: Vec<(f64, u16)>) -> Vec<u16> {
    ports.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ports.into_iter().map(|(_, port)| port).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ServicesTable, LoadError> {
        ServicesTable::read_nmap_services(text.as_bytes(), Path::new("test-services"))
    }

    #[test]
    fn reads_names_and_ranks_by_open_frequency() {
        let table = read(
            "# a comment\n\
             ftp\t21/tcp\t0.197667\t# File Transfer\n\
             ssh\t22/tcp\t0.182286\n\
             http\t80/tcp\t0.484143\n\
             domain\t53/udp\t0.213496\n\
             \n\
             unknown-proto\t7/ddp\t0.5\n",
        )
        .unwrap();
        assert_eq!(table.name(Protocol::Tcp, 22), Some("ssh"));
        assert_eq!(table.ranked(Protocol::Tcp), &[80, 21, 22]);
        assert_eq!(table.ranked(Protocol::Udp), &[53]);
        assert_eq!(table.source(), &TableSource::NmapServices(PathBuf::from("test-services")));
    }

    #[test]
    fn equal_frequencies_rank_by_port_number() {
        let table = read("b\t9/tcp\t0.1\na\t3/tcp\t0.1\n").unwrap();
        assert_eq!(table.ranked(Protocol::Tcp), &[3, 9]);
    }

    #[test]
    fn malformed_line_is_an_error_naming_file_and_line() {
        let err = read("ssh\t22/tcp\t0.1\nhttp\t80-tcp\t0.4\n").unwrap_err();
        assert_eq!(err.to_string(), "test-services:2: expected port/protocol");
        let err = read("http\t99999/tcp\t0.4\n").unwrap_err();
        assert_eq!(err.to_string(), "test-services:1: bad port number");
        let err = read("http\t80/tcp\tNaN\n").unwrap_err();
        assert_eq!(err.to_string(), "test-services:1: bad open-frequency");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = ServicesTable::load_nmap_services(Path::new("/nonexistent/nmap-services")).unwrap_err();
        assert!(matches!(err, LoadError::Io { .. }), "{err}");
    }
}
