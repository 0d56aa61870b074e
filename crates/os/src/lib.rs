//! OS detection (`-O`): Nmap's reference fingerprints (`nmap-os-db`, read at run time when Nmap
//! is installed, never copied into this repository) and the scoring of an observed fingerprint
//! against them, and the attributes a reply gives. The probes that draw the replies come with the
//! scan engine's OS technique.

#![forbid(unsafe_code)]

pub mod assemble;
pub mod db;
mod expr;
pub mod ipid;
mod matcher;
mod printed;
pub mod reply;
pub mod seq;

pub use db::{parse, LineError, OsClass, OsDb, Reference, Test, Tests};
pub use expr::matches;
pub use matcher::{accuracy, best_matches, Match, MAX_MATCHES};
pub use printed::parse_printed;
