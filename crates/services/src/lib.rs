//! Service names for ports and the "top ports" ranking behind the default scan, `-F` and
//! `--top-ports`.
//!
//! Two sources, one shape: portolan's own embedded table (IANA names, our own ranking), or Nmap's
//! `nmap-services` when it is installed, loaded at run time and never copied into the repository.

#![forbid(unsafe_code)]

mod embedded;
mod locate;
mod nmap_services;
mod table;

pub use locate::{find_nmap_services, DataDirs};
pub use nmap_services::LoadError;
pub use table::{ServicesTable, TableSource};
