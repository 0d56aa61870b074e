//! Classic BPF programs run by the kernel on each packet a raw socket would receive, so that
//! only packets that can answer the scan's probes are copied to userspace. On a raw IPv4
//! socket, and on a link-layer socket in datagram mode, the program sees the packet from its
//! IP header on.

use std::io;
use std::ops::RangeInclusive;
use std::os::fd::AsRawFd;

use libc::sock_filter;

/// Classic BPF opcodes (linux/filter.h).
const LD_ABS_B: u16 = 0x30; // A = P[k], 8 bits
const LD_ABS_H: u16 = 0x28; // A = P[k], 16 bits
const LDX_MSH_B: u16 = 0xb1; // X = 4 * (P[k] & 0x0f): the IP header length
const LD_IND_H: u16 = 0x48; // A = P[X + k], 16 bits
const LD_IND_B: u16 = 0x50; // A = P[X + k], 8 bits
const JGE: u16 = 0x35;
const JGT: u16 = 0x25;
const JEQ: u16 = 0x15;
const RET: u16 = 0x06;

/// How much of an accepted packet to keep: more than any reply portolan reads.
const KEEP: u32 = 0xffff;

fn op(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// TCP segments, UDP datagrams or SCTP packets (all keep the destination port at offset 2)
/// whose destination port lies in `ports`.
pub fn to_ports(ports: RangeInclusive<u16>) -> Vec<sock_filter> {
    vec![
        op(LDX_MSH_B, 0, 0, 0),
        op(LD_IND_H, 0, 0, 2), // the destination port
        op(JGE, 0, 2, u32::from(*ports.start())),
        op(JGT, 1, 0, u32::from(*ports.end())),
        op(RET, 0, 0, KEEP),
        op(RET, 0, 0, 0),
    ]
}

/// ICMP messages that answer probes: destination unreachable (type 3), time exceeded (11,
/// a router's answer to a traceroute's probe), and echo (0), timestamp (14) and address mask
/// (18) replies.
pub fn icmp_answers() -> Vec<sock_filter> {
    vec![
        op(LDX_MSH_B, 0, 0, 0),
        op(LD_IND_B, 0, 0, 0), // the ICMP type
        op(JEQ, 5, 0, 3),
        op(JEQ, 4, 0, 11),
        op(JEQ, 3, 0, 0),
        op(JEQ, 2, 0, 14),
        op(JEQ, 1, 0, 18),
        op(RET, 0, 0, 0),
        op(RET, 0, 0, KEEP),
    ]
}

/// For a socket that receives every protocol: TCP segments, UDP datagrams and SCTP packets
/// to `ports` (as [`to_ports`]) and the ICMP messages of [`icmp_answers`]; nothing else.
pub fn answers(ports: RangeInclusive<u16>) -> Vec<sock_filter> {
    let to_ports = to_ports(ports);
    let icmp = icmp_answers();
    // Jumps count the instructions skipped: the port check starts right after the dispatch,
    // and its last instruction rejects.
    let to_icmp = to_ports.len() as u8;
    let to_reject = to_icmp - 1;
    let mut program = vec![
        op(LD_ABS_B, 0, 0, 9), // the IP protocol
        op(JEQ, 3, 0, u32::from(wire::ipv4::PROTO_TCP)),
        op(JEQ, 2, 0, u32::from(wire::ipv4::PROTO_UDP)),
        op(JEQ, 1, 0, u32::from(wire::sctp::PROTO_SCTP)),
        op(JEQ, to_icmp, to_reject, u32::from(wire::ipv4::PROTO_ICMP)),
    ];
    program.extend(to_ports);
    program.extend(icmp);
    program
}

/// For a link-layer socket receiving IPv6: TCP segments and UDP datagrams to `ports`,
/// ICMPv6 destination unreachable (type 1), time exceeded (3) and echo replies (129), and
/// any packet whose fixed header is followed by an extension header (hop-by-hop 0, routing
/// 43, fragment 44, destination options 60), which classic BPF cannot walk: the parsers do.
pub fn answers_v6(ports: RangeInclusive<u16>) -> Vec<sock_filter> {
    const NEXT_HEADER: u32 = 6;
    const UPPER_LAYER: u32 = 40;
    // Jumps count the instructions skipped: the port check starts at 8, the ICMPv6 type
    // check at 11, and the last two instructions (15, 16) accept and reject.
    vec![
        op(LD_ABS_B, 0, 0, NEXT_HEADER),
        op(JEQ, 6, 0, u32::from(wire::ipv4::PROTO_TCP)),
        op(JEQ, 5, 0, u32::from(wire::ipv4::PROTO_UDP)),
        op(JEQ, 7, 0, u32::from(wire::ipv6::NEXT_ICMPV6)),
        op(JEQ, 10, 0, 0),
        op(JEQ, 9, 0, 43),
        op(JEQ, 8, 0, 44),
        op(JEQ, 7, 8, 60),
        // 8: TCP or UDP, the destination port.
        op(LD_ABS_H, 0, 0, UPPER_LAYER + 2),
        op(JGE, 0, 6, u32::from(*ports.start())),
        op(JGT, 5, 4, u32::from(*ports.end())),
        // 11: ICMPv6, the type.
        op(LD_ABS_B, 0, 0, UPPER_LAYER),
        op(JEQ, 2, 0, 1),
        op(JEQ, 1, 0, 3),
        op(JEQ, 0, 1, 129),
        op(RET, 0, 0, KEEP),
        op(RET, 0, 0, 0),
    ]
}

/// For a link-layer socket receiving IPv6: neighbour advertisements (ICMPv6 type 136), which
/// come without extension headers (RFC 4861 section 7.1.2 wants their hop limit intact, and
/// no router forwards them).
pub fn neighbour_advertisements() -> Vec<sock_filter> {
    vec![
        op(LD_ABS_B, 0, 0, 6), // the next header
        op(JEQ, 0, 3, u32::from(wire::ipv6::NEXT_ICMPV6)),
        op(LD_ABS_B, 0, 0, 40), // the ICMPv6 type
        op(JEQ, 0, 1, u32::from(wire::icmpv6::TYPE_NEIGHBOR_ADVERTISEMENT)),
        op(RET, 0, 0, KEEP),
        op(RET, 0, 0, 0),
    ]
}

/// Attaches `program` to `socket` (SO_ATTACH_FILTER).
pub fn attach(socket: &impl AsRawFd, program: &[sock_filter]) -> io::Result<()> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).map_err(|_| io::Error::other("BPF program too long"))?,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: SO_ATTACH_FILTER takes a `sock_fprog`; it points at `program`, which outlives
    // the call, and the kernel copies the program during it and keeps no pointer to ours.
    unsafe { crate::set_option(socket, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog) }
}
