//! Scanning without being detected: the budgets detectors allow one source before they alert
//! ([`Budget`], presets written from psad's, Zeek's, Snort sfPortscan's and the ET rules'
//! documented defaults, or a file of the same format), and the schedule that stays under
//! every budget at once ([`plan`]): caps on the probes per host, the new hosts per port and
//! the probes in all, at most one try again, the time it will take, and every rule it
//! cannot stay under, told before anything is sent.

#![forbid(unsafe_code)]

mod budget;
mod plan;

pub use budget::{parse_budgets, presets, Budget, BudgetError, Rule};
pub use plan::{plan, Plan, ScanShape};
