//! Service names for ports and the "top ports" ranking behind the default scan, `-F` and
//! `--top-ports`; names of IP protocol numbers (-sO); and the vendors of hardware address
//! prefixes.
//!
//! Two sources, one shape: portolan's own embedded table (IANA names, our own ranking), or Nmap's
//! `nmap-services` when it is installed, loaded at run time and never copied into the repository.

#![forbid(unsafe_code)]

mod embedded;
mod locate;
mod mac_vendors;
mod nmap_services;
mod protocols;
mod table;

pub use locate::{find_nmap_services, DataDirs};
pub use mac_vendors::MacVendors;
pub use nmap_services::LoadError;
pub use table::{ServicesTable, TableSource};
