//! What the engine decided, for `-d`: the timing decisions Nmap's debugging output tells of,
//! in our own words, queued for the driver to hand on.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::*;

/// A decision of the engine worth telling at a debugging level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugEvent {
    /// Losses cut the congestion window (`-d`).
    WindowCut { allowed: usize },
    /// The scan delay between probes grew for losses, or relaxed after a clean stretch (`-d`).
    DelayChanged { from: Duration, to: Duration },
    /// A probe went unanswered and is sent again (`-dd`).
    Retransmit { addr: IpAddr, port: u16, try_number: u8 },
}

impl DebugEvent {
    /// The `-d` level from which the event is told.
    pub fn level(&self) -> u8 {
        match self {
            DebugEvent::WindowCut { .. } | DebugEvent::DelayChanged { .. } => 1,
            DebugEvent::Retransmit { .. } => 2,
        }
    }
}

impl fmt::Display for DebugEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DebugEvent::WindowCut { allowed } => write!(f, "Losses: congestion window cut to {allowed} probes"),
            DebugEvent::DelayChanged { from, to } if to > from => {
                write!(f, "Increasing send delay from {} to {} ms after drops", from.as_millis(), to.as_millis())
            }
            DebugEvent::DelayChanged { from, to } => {
                write!(
                    f,
                    "Decreasing send delay from {} to {} ms after a clean stretch",
                    from.as_millis(),
                    to.as_millis()
                )
            }
            DebugEvent::Retransmit { addr, port, try_number } => {
                write!(f, "Retransmitting probe to {addr}:{port} (try {})", u16::from(*try_number) + 1)
            }
        }
    }
}

impl<T: Technique> ProbeEngine<T> {
    /// Queues `event` if the debugging level asks for it.
    pub(super) fn tell(&mut self, event: DebugEvent) {
        if self.config.debug_level >= event.level() {
            self.debug_events.push(event);
        }
    }

    /// The decisions made since the last call, for the driver to hand on.
    pub fn drain_debug_events(&mut self) -> Vec<DebugEvent> {
        std::mem::take(&mut self.debug_events)
    }
}
