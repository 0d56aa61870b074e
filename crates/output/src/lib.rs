//! Output sinks: each format renders the same result model.

mod normal;
mod table;

pub use normal::{NormalOptions, NormalSink};

use model::{HostResult, ScanSummary};

/// What every sink needs to know before the first host.
#[derive(Debug, Clone)]
pub struct ScanStart {
    pub version: String,
    /// Local start time, already formatted as Nmap prints it ("2026-11-25 12:48 UTC").
    pub started_at: String,
}

/// A consumer of scan results, fed in scan order.
pub trait Sink {
    fn start(&mut self, start: &ScanStart) -> std::io::Result<()>;
    fn host(&mut self, host: &HostResult) -> std::io::Result<()>;
    fn finish(&mut self, summary: &ScanSummary) -> std::io::Result<()>;
}
