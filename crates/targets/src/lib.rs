//! Target and port specifications with Nmap's grammar.
//!
//! Target specs never expand into memory: a `/0` is four billion addresses produced one at a
//! time. Port specs are bitsets, since a protocol has only 65,536 ports.

#![forbid(unsafe_code)]

mod exclude;
mod network;
mod octets;
mod ports;
mod random;
mod resolve;
mod shard;
mod spec;
mod walk;

pub use exclude::{ExcludeList, UnresolvedExclude};
pub use network::Network;
pub use octets::{OctetAddrs, OctetRanges};
pub use ports::{parse_port_list, select_ports, PortSelection, PortSet, PortSpec, PortSpecError};
pub use random::{is_routable, RandomTargets};
pub use resolve::{Resolve, SystemResolver};
pub use shard::{Shard, ShardError};
pub use spec::{parse_target_list, zone, Family, TargetSpec, TargetSpecError};
pub use walk::{PrefixTooLarge, TargetWalk, WalkProblem, DEFAULT_IPV6_PREFIX_LIMIT};
