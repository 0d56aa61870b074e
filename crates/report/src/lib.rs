//! `portolan report`: one self-contained HTML page from a series of scans — the latest scan's
//! open ports with service and version (filtered and sorted in the page), what opened and
//! closed between scans, each port's timeline, and a plot of exposure over time.

#![forbid(unsafe_code)]

mod html;
mod model;
mod plot;

pub use model::Scan;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("nothing to report: name saved scans or scan files, or save scans with --save")]
    NoScans,
}

/// The HTML page of `scans` (any order: they are put in the order they ran when every one
/// says when it started).
pub fn render(scans: Vec<Scan>) -> Result<String, ReportError> {
    if scans.is_empty() {
        return Err(ReportError::NoScans);
    }
    Ok(html::page(&model::Report::new(scans)))
}
