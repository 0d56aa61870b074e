//! OS detection (`-O`): Nmap's reference fingerprints (`nmap-os-db`, read at run time when Nmap
//! is installed, never copied into this repository) and the scoring of an observed fingerprint
//! against them, and the attributes a reply gives; the probes that draw the replies, and a round
//! of them over many hosts at once, sans IO (a runner in the scan engine sends them).

#![forbid(unsafe_code)]

pub mod assemble;
pub mod coarse;
pub mod db;
mod expr;
mod fingerprint;
pub mod ipid;
mod matcher;
mod printed;
pub mod probe;
mod record;
pub mod reply;
mod report;
mod round;
pub mod seq;
pub mod trace;

pub use db::{parse, LineError, OsClass, OsDb, Reference, Test, Tests};
pub use expr::{matches, satisfying};
pub use fingerprint::{observe, Observation, Sequence};
pub use matcher::{accuracy, best_matches, Match, MAX_MATCHES};
pub use printed::parse_printed;
pub use report::{report, tests_text, too_many, Conditions, DistanceMethod, GUESS_THRESHOLD};
pub use round::{HostAnswers, Round, RoundConfig};
