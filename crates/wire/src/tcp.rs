//! TCP headers (RFC 9293) and the SYN portolan sends.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{checksum, ipv4, ipv6, Error, Result};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const ACK: Range<usize> = 8..12;
    pub const OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
}

pub const HEADER_LEN: usize = 20;

/// TCP flag bits, in header order.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

/// A checked view of a TCP segment. Only the first 8 bytes are needed to read ports and the
/// sequence number, which is all an ICMP error quotes; `new_checked` wants the full header.
#[derive(Debug, Clone, Copy)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn be16(bytes: &[u8], at: core::ops::Range<usize>) -> u16 {
    u16::from_be_bytes([bytes[at.start], bytes[at.start + 1]])
}

fn be32(bytes: &[u8], at: core::ops::Range<usize>) -> u32 {
    u32::from_be_bytes([bytes[at.start], bytes[at.start + 1], bytes[at.start + 2], bytes[at.start + 3]])
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    pub fn new_checked(buffer: T) -> Result<Self> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let packet = TcpPacket { buffer };
        if packet.header_len() < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if packet.header_len() > len {
            return Err(Error::Truncated);
        }
        Ok(packet)
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn src_port(&self) -> u16 {
        be16(self.data(), field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        be16(self.data(), field::DST_PORT)
    }

    pub fn seq(&self) -> u32 {
        be32(self.data(), field::SEQ)
    }

    pub fn ack(&self) -> u32 {
        be32(self.data(), field::ACK)
    }

    pub fn header_len(&self) -> usize {
        usize::from(self.data()[field::OFFSET] >> 4) * 4
    }

    pub fn flags(&self) -> u8 {
        self.data()[field::FLAGS]
    }

    pub fn window(&self) -> u16 {
        be16(self.data(), field::WINDOW)
    }

    pub fn options(&self) -> &[u8] {
        &self.data()[HEADER_LEN..self.header_len()]
    }

    /// The four bits between the data offset and the flags, which senders leave zero.
    pub fn reserved(&self) -> u8 {
        self.data()[field::OFFSET] & 0x0f
    }

    pub fn urgent_pointer(&self) -> u16 {
        be16(self.data(), field::URGENT)
    }

    /// What follows the header.
    pub fn payload(&self) -> &[u8] {
        &self.data()[self.header_len()..]
    }
}

/// Any TCP segment without data, every header field chosen by the caller: the OS-detection
/// probes set reserved bits, urgent pointers without URG, and options of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// The four reserved bits after the data offset.
    pub reserved: u8,
    pub flags: u8,
    pub window: u16,
    pub urgent: u16,
    /// Options, already laid out; padded with zeros (end of list) to a multiple of four.
    pub options: &'a [u8],
}

impl SegmentRepr<'_> {
    /// The header's length: 20 bytes and the padded options.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len().next_multiple_of(4)
    }

    /// Writes the header and options, with the checksum over the pseudo-header of `src`'s family.
    pub fn emit(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>, buf: &mut [u8]) -> Result<usize> {
        let len = self.header_len();
        if len > 60 {
            return Err(Error::Malformed);
        }
        let buf = buf.get_mut(..len).ok_or(Error::Truncated)?;
        buf[field::SRC_PORT].copy_from_slice(&self.src_port.to_be_bytes());
        buf[field::DST_PORT].copy_from_slice(&self.dst_port.to_be_bytes());
        buf[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        buf[field::ACK].copy_from_slice(&self.ack.to_be_bytes());
        buf[field::OFFSET] = ((len / 4) as u8) << 4 | (self.reserved & 0x0f);
        buf[field::FLAGS] = self.flags;
        buf[field::WINDOW].copy_from_slice(&self.window.to_be_bytes());
        buf[field::CHECKSUM].copy_from_slice(&[0, 0]);
        buf[field::URGENT].copy_from_slice(&self.urgent.to_be_bytes());
        let options = &mut buf[HEADER_LEN..];
        options.fill(0);
        options[..self.options.len()].copy_from_slice(self.options);
        let sum = checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_TCP, len) + checksum::sum(buf);
        buf[field::CHECKSUM].copy_from_slice(&checksum::finish(sum).to_be_bytes());
        Ok(len)
    }
}

/// The start of a TCP header as quoted inside an ICMP error: RFC 792 promises 8 bytes, enough
/// for the ports and the sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedTcp {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
}

impl QuotedTcp {
    pub fn parse(bytes: &[u8]) -> Result<QuotedTcp> {
        if bytes.len() < 8 {
            return Err(Error::Truncated);
        }
        Ok(QuotedTcp {
            src_port: be16(bytes, field::SRC_PORT),
            dst_port: be16(bytes, field::DST_PORT),
            seq: be32(bytes, field::SEQ),
        })
    }
}

/// A probe segment. With SYN set it carries the options of an ordinary client SYN.
///
/// Scanners are recognised by SYNs no operating system sends (Nmap's window 1024 without
/// options, masscan's fixed fields). This one carries what a Linux client's first SYN carries,
/// in Linux's order: MSS, SACK permitted, timestamps, NOP, window scale; a window of 64240;
/// and it travels with DF set and a varying IP ID. Other probes (FIN, ACK, …) carry no options,
/// as segments outside a handshake need none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub timestamp: u32,
}

/// A Linux client SYN's options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
const OPTIONS_LEN: usize = 20;
/// Those options with a TSval of zero, which goes at [`TSVAL`] of them.
const SYN_OPTIONS: [u8; OPTIONS_LEN] = [
    2, 4, 0x05, 0xb4, // MSS 1460
    4, 2, // SACK permitted
    8, 10, 0, 0, 0, 0, 0, 0, 0, 0, // timestamps: TSval, TSecr 0
    1, // NOP
    3, 3, 7, // window scale 7
];
const TSVAL: std::ops::Range<usize> = 8..12;
pub const LINUX_SYN_WINDOW: u16 = 64240;

/// IPv4 + TCP + options: the length of the longest IPv4 probe.
pub const PROBE_LEN: usize = ipv4::HEADER_LEN + HEADER_LEN + OPTIONS_LEN;
/// IPv6 + TCP + options: the length of the longest IPv6 probe.
pub const PROBE_LEN_V6: usize = ipv6::HEADER_LEN + HEADER_LEN + OPTIONS_LEN;

impl ProbeRepr {
    /// Writes the TCP header and options, with the checksum over the pseudo-header of `src`'s
    /// family.
    pub fn emit(&self, src: impl Into<IpAddr>, dst: impl Into<IpAddr>, buf: &mut [u8]) -> Result<usize> {
        let options_len = if self.flags & flags::SYN != 0 { OPTIONS_LEN } else { 0 };
        let len = HEADER_LEN + options_len;
        let buf = buf.get_mut(..len).ok_or(Error::Truncated)?;
        buf[field::SRC_PORT].copy_from_slice(&self.src_port.to_be_bytes());
        buf[field::DST_PORT].copy_from_slice(&self.dst_port.to_be_bytes());
        buf[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        buf[field::ACK].copy_from_slice(&self.ack.to_be_bytes());
        let offset = ((len / 4) as u8) << 4;
        buf[field::OFFSET] = offset;
        buf[field::FLAGS] = self.flags;
        buf[field::WINDOW].copy_from_slice(&self.window.to_be_bytes());
        buf[field::URGENT].copy_from_slice(&[0, 0]);
        if options_len == OPTIONS_LEN {
            // A copy of a length known when compiling is a few moves; one of a length known only
            // when running called memcpy, a tenth of a probe's cost at line rate.
            let options = &mut buf[HEADER_LEN..];
            options.copy_from_slice(&SYN_OPTIONS);
            options[TSVAL].copy_from_slice(&self.timestamp.to_be_bytes());
        }
        let sum = checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_TCP, len) + self.sum(offset);
        buf[field::CHECKSUM].copy_from_slice(&checksum::finish(sum).to_be_bytes());
        Ok(len)
    }

    /// The checksum's sum over the header and options as [`Self::emit`] writes them, with the
    /// data offset byte `offset`, from the fields themselves: summing the bytes just written
    /// read them back in wider words than they were stored in, which the processor cannot
    /// forward from its store buffer, and that stall cost a tenth of a probe at line rate.
    fn sum(&self, offset: u8) -> u32 {
        let header = u32::from(self.src_port)
            + u32::from(self.dst_port)
            + checksum::sum_u32(self.seq)
            + checksum::sum_u32(self.ack)
            + u32::from(u16::from_be_bytes([offset, self.flags]))
            + u32::from(self.window);
        let options = if self.flags & flags::SYN != 0 {
            const TEMPLATE: u32 = checksum::sum(&SYN_OPTIONS);
            TEMPLATE + checksum::sum_u32(self.timestamp)
        } else {
            0
        };
        header + options
    }
}

/// Builds a whole IPv4 probe (header + TCP + options) into `buf`; returns its length.
pub fn emit_probe_v4(src: Ipv4Addr, dst: Ipv4Addr, ident: u16, tcp: &ProbeRepr, buf: &mut [u8]) -> Result<usize> {
    let tcp_len = tcp.emit(src, dst, buf.get_mut(ipv4::HEADER_LEN..).ok_or(Error::Truncated)?)?;
    let ip = ipv4::Ipv4Repr {
        src,
        dst,
        protocol: ipv4::PROTO_TCP,
        ident,
        tos: 0,
        ttl: 64,
        dont_fragment: true,
        payload_len: tcp_len,
    };
    ip.emit(buf)?;
    Ok(ipv4::HEADER_LEN + tcp_len)
}

/// Builds a whole IPv6 probe (header + TCP + options) into `buf`; returns its length.
pub fn emit_probe_v6(src: Ipv6Addr, dst: Ipv6Addr, flow_label: u32, tcp: &ProbeRepr, buf: &mut [u8]) -> Result<usize> {
    let tcp_len = tcp.emit(src, dst, buf.get_mut(ipv6::HEADER_LEN..).ok_or(Error::Truncated)?)?;
    let ip = ipv6::Ipv6Repr {
        src,
        dst,
        next_header: ipv4::PROTO_TCP,
        hop_limit: ipv6::DEFAULT_HOP_LIMIT,
        flow_label,
        payload_len: tcp_len,
    };
    ip.emit(buf)?;
    Ok(ipv6::HEADER_LEN + tcp_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_segment_keeps_every_field_it_is_given() {
        let segment = SegmentRepr {
            src_port: 33000,
            dst_port: 22,
            seq: 7,
            ack: 9,
            reserved: 8,
            flags: 0xc2,
            window: 3,
            urgent: 0xf7f5,
            options: &[3, 3, 10, 1, 2, 4, 5, 0xb4, 4, 2, 1, 1],
        };
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let mut buf = [0u8; 60];
        let len = segment.emit(src, dst, &mut buf).unwrap();
        assert_eq!(len, 32);
        let parsed = TcpPacket::new_checked(&buf[..len]).unwrap();
        assert_eq!((parsed.reserved(), parsed.flags(), parsed.urgent_pointer()), (8, 0xc2, 0xf7f5));
        assert_eq!(parsed.options(), segment.options);
        assert!(parsed.payload().is_empty());
        let sum = checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_TCP, len) + checksum::sum(&buf[..len]);
        assert_eq!(checksum::finish(sum), 0);
    }

    fn syn() -> ProbeRepr {
        ProbeRepr {
            src_port: 40001,
            dst_port: 443,
            seq: 0x0102_0304,
            ack: 0,
            flags: flags::SYN,
            window: LINUX_SYN_WINDOW,
            timestamp: 0xdead_beef,
        }
    }

    #[test]
    fn probe_looks_like_a_linux_client_syn() {
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let mut buf = [0u8; PROBE_LEN];
        assert_eq!(emit_probe_v4(src, dst, 7, &syn(), &mut buf).unwrap(), PROBE_LEN);
        let ip = ipv4::Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(ip.dont_fragment() && ip.checksum_ok());
        assert_eq!(ip.ttl(), 64);
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((tcp.src_port(), tcp.dst_port(), tcp.seq(), tcp.flags()), (40001, 443, 0x0102_0304, flags::SYN));
        assert_eq!(tcp.window(), 64240);
        assert_eq!(tcp.options(), &[2, 4, 5, 180, 4, 2, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 1, 3, 3, 7]);
        let sum = checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_TCP, ip.payload().len())
            + checksum::sum(ip.payload());
        assert_eq!(checksum::finish(sum), 0, "TCP checksum verifies");
    }

    #[test]
    fn an_ipv6_probe_is_the_same_syn_with_a_checksum_over_the_ipv6_pseudo_header() {
        let (src, dst) = (Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 1), Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 2));
        let mut buf = [0u8; PROBE_LEN_V6];
        assert_eq!(emit_probe_v6(src, dst, 0xfffff, &syn(), &mut buf).unwrap(), PROBE_LEN_V6);
        let ip = ipv6::Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!((ip.src(), ip.dst(), ip.hop_limit(), ip.flow_label()), (src, dst, 64, 0xfffff));
        let (protocol, segment) = ip.upper_layer().unwrap();
        assert_eq!(protocol, ipv4::PROTO_TCP);
        let tcp = TcpPacket::new_checked(segment).unwrap();
        assert_eq!((tcp.dst_port(), tcp.flags(), tcp.options().len()), (443, flags::SYN, 20));
        let sum =
            checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_TCP, segment.len()) + checksum::sum(segment);
        assert_eq!(checksum::finish(sum), 0, "TCP checksum verifies");
    }

    #[test]
    fn probes_without_syn_carry_no_options() {
        let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
        let fin = ProbeRepr { flags: flags::FIN | flags::PSH | flags::URG, ..syn() };
        let mut buf = [0u8; PROBE_LEN];
        let len = emit_probe_v4(src, dst, 7, &fin, &mut buf).unwrap();
        assert_eq!(len, ipv4::HEADER_LEN + HEADER_LEN);
        let ip = ipv4::Ipv4Packet::new_checked(&buf[..len]).unwrap();
        let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
        assert_eq!((tcp.flags(), tcp.options().len()), (flags::FIN | flags::PSH | flags::URG, 0));
        let sum = checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_TCP, ip.payload().len())
            + checksum::sum(ip.payload());
        assert_eq!(checksum::finish(sum), 0, "TCP checksum verifies");
    }

    #[test]
    fn quoted_headers_need_eight_bytes() {
        let mut buf = [0u8; 40];
        syn().emit(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, &mut buf).unwrap();
        let quoted = QuotedTcp::parse(&buf[..8]).unwrap();
        assert_eq!(quoted, QuotedTcp { src_port: 40001, dst_port: 443, seq: 0x0102_0304 });
        assert_eq!(QuotedTcp::parse(&buf[..7]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn rejects_bad_data_offsets() {
        let mut buf = [0u8; 20];
        buf[field::OFFSET] = 0x40; // 16 bytes: shorter than a header
        assert_eq!(TcpPacket::new_checked(&buf[..]).unwrap_err(), Error::Malformed);
        buf[field::OFFSET] = 0x60; // 24 bytes in a 20-byte buffer
        assert_eq!(TcpPacket::new_checked(&buf[..]).unwrap_err(), Error::Truncated);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(tcp) = TcpPacket::new_checked(&bytes[..]) {
                let _ = (tcp.src_port(), tcp.dst_port(), tcp.seq(), tcp.ack(), tcp.flags(), tcp.window(), tcp.options());
            }
            let _ = QuotedTcp::parse(&bytes);
        }

        #[test]
        fn probe_checksums_summed_from_the_fields_verify_over_the_bytes(
            (src_port, dst_port, seq, ack, flags, window, timestamp) in any::<(u16, u16, u32, u32, u8, u16, u32)>(),
            (src, dst, ident) in any::<(u32, u32, u16)>(),
        ) {
            // Regression guard for summing the fields instead of the written bytes.
            let repr = ProbeRepr { src_port, dst_port, seq, ack, flags, window, timestamp };
            let (src, dst) = (Ipv4Addr::from_bits(src), Ipv4Addr::from_bits(dst));
            let mut buf = [0xa5u8; PROBE_LEN];
            let len = emit_probe_v4(src, dst, ident, &repr, &mut buf).unwrap();
            let ip = ipv4::Ipv4Packet::new_checked(&buf[..len]).unwrap();
            prop_assert!(ip.checksum_ok());
            let segment = ip.payload();
            let sum = checksum::pseudo_header(src.into(), dst.into(), ipv4::PROTO_TCP, segment.len())
                + checksum::sum(segment);
            prop_assert_eq!(checksum::finish(sum), 0);
        }
    }
}
