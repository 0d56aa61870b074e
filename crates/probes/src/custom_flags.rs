//! `--scanflags`: any TCP flags, with the replies read by a base technique's table (SYN scan's
//! unless another is named), as Nmap does.

use model::{PortState, Reason};

use crate::{TcpReply, TcpTechnique, UnreachableCode};

pub struct CustomFlags {
    flags: u8,
    base: Box<dyn TcpTechnique>,
}

impl CustomFlags {
    pub fn new(flags: u8, base: Box<dyn TcpTechnique>) -> CustomFlags {
        CustomFlags { flags, base }
    }

    /// Parses `--scanflags`: a number (`9`, `0x29`) or flag names run together in any order
    /// (`SYNFIN`, `URGACKPSHRSTSYNFIN`), as Nmap accepts.
    pub fn parse_flags(text: &str) -> Option<u8> {
        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            return u8::from_str_radix(hex, 16).ok();
        }
        if let Ok(number) = text.parse::<u8>() {
            return Some(number);
        }
        const NAMES: [(&str, u8); 6] =
            [("URG", 0x20), ("ACK", 0x10), ("PSH", 0x08), ("RST", 0x04), ("SYN", 0x02), ("FIN", 0x01)];
        let upper = text.to_ascii_uppercase();
        let mut rest = upper.as_str();
        let mut flags = 0;
        while !rest.is_empty() {
            let (name, bit) = NAMES.iter().find(|(name, _)| rest.starts_with(name))?;
            flags |= bit;
            rest = &rest[name.len()..];
        }
        Some(flags)
    }
}

impl TcpTechnique for CustomFlags {
    fn name(&self) -> &'static str {
        self.base.name()
    }

    fn probe_flags(&self) -> u8 {
        self.flags
    }

    fn classify_tcp(&self, reply: &TcpReply) -> Option<(PortState, Reason)> {
        self.base.classify_tcp(reply)
    }

    fn classify_unreachable(&self, code: UnreachableCode) -> Option<(PortState, Reason)> {
        self.base.classify_unreachable(code)
    }

    fn on_timeout(&self) -> (PortState, Reason) {
        self.base.on_timeout()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::reply;
    use crate::{StealthScan, SynScan};
    use wire::tcp::flags;

    #[test]
    fn flags_by_name_in_any_order_or_by_number() {
        assert_eq!(CustomFlags::parse_flags("SYNFIN"), Some(flags::SYN | flags::FIN));
        assert_eq!(CustomFlags::parse_flags("finsyn"), Some(flags::SYN | flags::FIN));
        assert_eq!(CustomFlags::parse_flags("URGACKPSHRSTSYNFIN"), Some(0x3f));
        assert_eq!(CustomFlags::parse_flags("9"), Some(flags::FIN | flags::PSH));
        assert_eq!(CustomFlags::parse_flags("0x29"), Some(0x29));
        assert_eq!(CustomFlags::parse_flags("SYNFOO"), None);
        assert_eq!(CustomFlags::parse_flags("256"), None);
        assert_eq!(CustomFlags::parse_flags(""), Some(0));
    }

    #[test]
    fn replies_are_read_by_the_base_technique() {
        let as_syn = CustomFlags::new(flags::SYN | flags::FIN, Box::new(SynScan));
        assert_eq!(as_syn.probe_flags(), flags::SYN | flags::FIN);
        assert_eq!(as_syn.on_timeout(), (PortState::Filtered, Reason::NoResponse));
        assert_eq!(as_syn.classify_tcp(&reply(flags::SYN | flags::ACK, 0)), Some((PortState::Open, Reason::SynAck)));
        let as_fin = CustomFlags::new(flags::FIN | flags::PSH, Box::new(StealthScan::FIN));
        assert_eq!(as_fin.on_timeout(), (PortState::OpenFiltered, Reason::NoResponse));
        assert_eq!(as_fin.name(), "FIN Scan");
    }
}
