//! ICMP echo (`-PE`), timestamp (`-PP`) and address mask (`-PM`) pings: the query's reply
//! means the host is up. The cookie rides in the identifier and sequence number, which the
//! reply echoes.

use model::{Protocol, Reason};
use wire::icmp::Query;

use super::{PingAnswer, PingProbe};
use crate::{Echo, ProbeFields, Response, Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpPing(Query);

impl IcmpPing {
    pub const ECHO: IcmpPing = IcmpPing(Query::Echo);
    pub const TIMESTAMP: IcmpPing = IcmpPing(Query::Timestamp);
    pub const ADDRESS_MASK: IcmpPing = IcmpPing(Query::AddressMask);
}

impl PingProbe for IcmpPing {
    fn probe(&self, fields: ProbeFields) -> Transport {
        Transport::Icmp { query: self.0, ident: fields.src_port, seq: fields.seq as u16 }
    }

    fn read(&self, response: &Response) -> Option<PingAnswer> {
        let Response::IcmpReply(reply) = response else { return None };
        if reply.query != self.0 {
            return None;
        }
        let reason = match self.0 {
            Query::Echo => Reason::EchoReply,
            Query::Timestamp => Reason::TimestampReply,
            Query::AddressMask => Reason::AddressMaskReply,
        };
        Some(PingAnswer {
            scanner: reply.to,
            scanner_port: reply.ident,
            target: reply.from,
            echo: Echo::SequenceLow16(reply.seq),
            ttl: reply.ttl,
            reason,
            by_icmp: false,
        })
    }

    fn reply_protocol(&self) -> Option<Protocol> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IcmpReply;
    use std::net::Ipv4Addr;

    #[test]
    fn each_query_reads_only_its_own_reply() {
        let reply = |query| {
            Response::IcmpReply(IcmpReply {
                from: Ipv4Addr::new(198, 18, 0, 2).into(),
                to: Ipv4Addr::new(198, 18, 0, 1).into(),
                query,
                ident: 40000,
                seq: 7,
                ttl: 64,
            })
        };
        let answer = IcmpPing::ECHO.read(&reply(Query::Echo)).unwrap();
        assert_eq!(
            (answer.reason, answer.scanner_port, answer.echo),
            (Reason::EchoReply, 40000, Echo::SequenceLow16(7))
        );
        assert_eq!(IcmpPing::ECHO.read(&reply(Query::Timestamp)), None);
        assert_eq!(IcmpPing::TIMESTAMP.read(&reply(Query::Timestamp)).unwrap().reason, Reason::TimestampReply);
        assert_eq!(IcmpPing::ADDRESS_MASK.read(&reply(Query::AddressMask)).unwrap().reason, Reason::AddressMaskReply);
    }
}
