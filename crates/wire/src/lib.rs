//! Packet views and builders.
//!
//! A view (`Ipv4Packet`, `TcpPacket`, `IcmpPacket`) wraps a byte slice after `new_checked` has
//! verified that every field its accessors read is present, so accessors never panic and never
//! allocate. Builders write into a caller's buffer. Any byte string can be handed to the
//! parsers: they return an error, never panic (property-tested and fuzzed).

#![forbid(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod describe;
pub mod ethernet;
pub mod icmp;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod sctp;
pub mod shape;
pub mod tcp;
pub mod udp;

/// Why bytes could not be read as a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the header or than the length the header claims.
    Truncated,
    /// A field holds a value the format does not allow (version, header length).
    Malformed,
}

pub type Result<T> = core::result::Result<T, Error>;
