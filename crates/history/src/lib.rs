//! Scan history and what changed: a store of past scans, readers that turn a scan file (Nmap's
//! XML, portolan's XML or JSON) into one comparable record, and the difference of two records —
//! the administrator's "what opened since last week"; and the merge of a sharded scan's files
//! into one report.

#![forbid(unsafe_code)]

mod diff;
mod merge;
mod read;
mod resume;
mod store;

pub use diff::{diff, Change};
pub use merge::{join_resumed, merge, MergeError, ShardFile};
pub use read::{read_scan, HostPorts, PortLine, ReadError, ScanRecord};
pub use resume::{join_words, resume_point, split_words, Completed, ResumePoint};
pub use store::{Store, StoreError, StoredScan};
