//! UDP probe payloads per destination port: portolan's own table, Nmap's nmap-payloads when
//! installed, or one payload for every port (`--data`, `--data-string`, `--data-length`).

use std::collections::HashMap;
use std::sync::Arc;

/// The longest payload a probe carries: Nmap's limit for `--data-length`, which leaves room for
/// any header in the largest IPv4 packet.
pub const MAX_PAYLOAD: usize = 65400;

/// Portolan's payloads, written from the protocols' specifications.
const EMBEDDED: &str = include_str!("../data/udp-payloads");

/// A payload file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PayloadError {
    pub line: usize,
    pub message: String,
}

/// The payload of a UDP probe to each port.
#[derive(Debug, Clone)]
pub struct UdpPayloads {
    by_port: HashMap<u16, Arc<[u8]>>,
    /// What ports without an entry get: empty, unless the user gave one payload for all.
    otherwise: Arc<[u8]>,
}

impl UdpPayloads {
    /// Portolan's own table.
    pub fn embedded() -> UdpPayloads {
        UdpPayloads::parse(EMBEDDED).expect("the embedded payload table parses")
    }

    /// Reads a table in the nmap-payloads grammar. Where a port has several payloads the first
    /// is used; `source` directives (a fixed source port) are not followed, since portolan's
    /// source port carries the probe's cookie.
    pub fn parse(text: &str) -> Result<UdpPayloads, PayloadError> {
        let mut by_port = HashMap::new();
        let mut tokens = Tokens::new(text);
        while let Some(token) = tokens.next()? {
            match token {
                Token::Word("udp") => {
                    let ports = tokens.word("a port list after \"udp\"")?;
                    let ports = parse_ports(ports).map_err(|message| tokens.error(message))?;
                    let payload = tokens.strings()?;
                    for port in ports {
                        by_port.entry(port).or_insert_with(|| payload.clone());
                    }
                }
                Token::Word("source") => {
                    tokens.word("a port after \"source\"")?;
                }
                Token::Word(other) => return Err(tokens.error(format!("unexpected \"{other}\""))),
                Token::Quoted(_) => return Err(tokens.error("a quoted string outside an entry".into())),
            }
        }
        Ok(UdpPayloads { by_port, otherwise: Arc::from(&[][..]) })
    }

    /// The same payload to every port.
    pub fn same_for_all(payload: Vec<u8>) -> UdpPayloads {
        UdpPayloads { by_port: HashMap::new(), otherwise: payload.into() }
    }

    /// This table, with `other`'s payloads for the ports it lacks.
    pub fn or(mut self, other: UdpPayloads) -> UdpPayloads {
        for (port, payload) in other.by_port {
            self.by_port.entry(port).or_insert(payload);
        }
        self
    }

    pub fn for_port(&self, port: u16) -> Arc<[u8]> {
        self.by_port.get(&port).unwrap_or(&self.otherwise).clone()
    }

    /// How many ports have a payload of their own.
    pub fn ports(&self) -> usize {
        self.by_port.len()
    }
}

fn parse_ports(list: &str) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for item in list.split(',') {
        let bad = || format!("bad port list \"{list}\"");
        let (first, last) = item.split_once('-').unwrap_or((item, item));
        let first: u16 = first.parse().map_err(|_| bad())?;
        let last: u16 = last.parse().map_err(|_| bad())?;
        if first > last {
            return Err(bad());
        }
        ports.extend(first..=last);
    }
    Ok(ports)
}

enum Token<'a> {
    Word(&'a str),
    Quoted(Vec<u8>),
}

/// Words and C-style quoted strings, with `#` comments skipped.
struct Tokens<'a> {
    rest: &'a str,
    line: usize,
    pending: Option<Token<'a>>,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        Tokens { rest: text, line: 1, pending: None }
    }

    fn error(&self, message: String) -> PayloadError {
        PayloadError { line: self.line, message }
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            let trimmed = self.rest.trim_start();
            self.line += self.rest[..self.rest.len() - trimmed.len()].matches('\n').count();
            self.rest = trimmed;
            if !self.rest.starts_with('#') {
                return;
            }
            self.rest = self.rest.find('\n').map_or("", |end| &self.rest[end..]);
        }
    }

    fn next(&mut self) -> Result<Option<Token<'a>>, PayloadError> {
        if let Some(token) = self.pending.take() {
            return Ok(Some(token));
        }
        self.skip_space_and_comments();
        if self.rest.is_empty() {
            return Ok(None);
        }
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let (bytes, consumed) = unescape(quoted).map_err(|message| self.error(message))?;
            self.rest = &quoted[consumed..];
            return Ok(Some(Token::Quoted(bytes)));
        }
        let end = self.rest.find(|c: char| c.is_whitespace() || c == '"' || c == '#').unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(Some(Token::Word(word)))
    }

    fn word(&mut self, what: &str) -> Result<&'a str, PayloadError> {
        match self.next()? {
            Some(Token::Word(word)) => Ok(word),
            _ => Err(self.error(format!("expected {what}"))),
        }
    }

    /// One or more adjacent quoted strings, joined.
    fn strings(&mut self) -> Result<Arc<[u8]>, PayloadError> {
        // The entry's own line: looking for a string that continues it reads past its end.
        let line = self.line;
        let mut payload = Vec::new();
        let mut any = false;
        loop {
            match self.next()? {
                Some(Token::Quoted(bytes)) => {
                    payload.extend(bytes);
                    any = true;
                }
                other => {
                    self.pending = other;
                    break;
                }
            }
        }
        if !any {
            return Err(self.error("expected a quoted payload".into()));
        }
        if payload.len() > MAX_PAYLOAD {
            let message = format!("a payload of {} bytes: at most {MAX_PAYLOAD}", payload.len());
            return Err(PayloadError { line, message });
        }
        Ok(payload.into())
    }
}

/// Reads a quoted string's body up to its closing quote; returns the bytes and how much of
/// `text` (closing quote included) it used.
fn unescape(text: &str) -> Result<(Vec<u8>, usize), String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Ok((out, i + 1)),
            b'\n' => break,
            b'\\' => {
                let escaped = *bytes.get(i + 1).ok_or("unterminated string")?;
                i += 2;
                out.push(match escaped {
                    b'x' => {
                        let hex = text.get(i..i + 2).ok_or("\\x needs two hex digits")?;
                        i += 2;
                        u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape \\x{hex}"))?
                    }
                    b'0' => 0,
                    b'a' => 0x07,
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'v' => 0x0b,
                    b'\\' | b'"' | b'\'' => escaped,
                    other => return Err(format!("unknown escape \\{}", other as char)),
                });
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Err("unterminated string".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_covers_at_least_twenty_services() {
        let table = UdpPayloads::embedded();
        assert!(table.ports() >= 20, "{} ports", table.ports());
        assert!(table.for_port(9).is_empty(), "unlisted ports get an empty datagram");
    }

    #[test]
    fn embedded_payloads_have_their_protocols_lengths() {
        let table = UdpPayloads::embedded();
        assert_eq!(table.for_port(123).len(), 48, "an NTP packet");
        assert_eq!(table.for_port(123)[0], 0x23, "NTP version 4, client mode");
        assert_eq!(table.for_port(67).len(), 236 + 4 + 3 + 1, "BOOTP header, magic cookie, option 53, end");
        let nbstat = table.for_port(137);
        assert_eq!(nbstat.len(), 12 + 34 + 4, "header, encoded name, type and class");
        let snmp = table.for_port(161);
        assert_eq!(usize::from(snmp[1]) + 2, snmp.len(), "the BER sequence length covers the message");
        assert_eq!(usize::from(snmp[14]) + 15, snmp.len(), "the PDU length covers the PDU");
        let dns = table.for_port(53);
        assert_eq!(&dns[4..6], &[0, 1], "one question");
        let stun = table.for_port(3478);
        assert_eq!(stun.len(), 20, "a STUN header: type, length, magic cookie, 96-bit transaction");
        let bacnet = table.for_port(47808);
        assert_eq!(usize::from(bacnet[3]), bacnet.len(), "the BVLC length covers the message");
    }

    #[test]
    fn reads_nmaps_grammar() {
        let text = "# comment\nudp 7,9-10 \"\\x0D\\x0A\"\n  \"ab\\\"c\" # trailing\nudp 9 \"second\"\nsource 500\n";
        let table = UdpPayloads::parse(text).unwrap();
        assert_eq!(&*table.for_port(7), b"\r\nab\"c");
        assert_eq!(&*table.for_port(9), b"\r\nab\"c", "the first payload of a port wins");
        assert_eq!(&*table.for_port(10), b"\r\nab\"c");
        assert!(table.for_port(8).is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let error = UdpPayloads::parse("udp 7 \"ok\"\nudp x \"bad\"").unwrap_err();
        assert_eq!((error.line, error.message.as_str()), (2, "bad port list \"x\""));
        assert_eq!(UdpPayloads::parse("udp 7\n").unwrap_err().message, "expected a quoted payload");
        assert_eq!(UdpPayloads::parse("udp 7 \"\\q\"").unwrap_err().message, "unknown escape \\q");
        assert_eq!(UdpPayloads::parse("udp 7 \"open").unwrap_err().message, "unterminated string");
        assert_eq!(UdpPayloads::parse("tcp 7 \"x\"").unwrap_err().message, "unexpected \"tcp\"");
    }

    #[test]
    fn reads_nmaps_own_file_when_installed() {
        let Ok(text) = std::fs::read("/usr/share/nmap/nmap-payloads") else {
            assert!(std::env::var_os("CI").is_none(), "scripts/test installs nmap, whose payloads this reads");
            return;
        };
        let text = String::from_utf8_lossy(&text);
        let table = UdpPayloads::parse(&text).unwrap();
        assert!(table.ports() > 20);
    }

    #[test]
    fn another_table_fills_only_the_ports_this_one_lacks() {
        let ours = UdpPayloads::parse("udp 53 \"ours\"").unwrap();
        let theirs = UdpPayloads::parse("udp 53,123 \"theirs\"").unwrap();
        let both = ours.or(theirs);
        assert_eq!((&*both.for_port(53), &*both.for_port(123)), (&b"ours"[..], &b"theirs"[..]));
    }

    #[test]
    fn one_payload_for_all() {
        let table = UdpPayloads::same_for_all(b"x".to_vec());
        assert_eq!(&*table.for_port(53), b"x");
        assert_eq!(&*table.for_port(9), b"x");
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_without_panicking(text in "[udp0-9, \"\\\\x#\na-f-]{0,60}") {
            let _ = UdpPayloads::parse(&text);
        }
    }

    #[test]
    fn a_payload_longer_than_any_packet_carries_is_refused() {
        let entry = format!("udp 9 \"{}\"\n", "a".repeat(MAX_PAYLOAD + 1));
        let error = UdpPayloads::parse(&entry).unwrap_err();
        assert_eq!(error.to_string(), "line 1: a payload of 65401 bytes: at most 65400");
        assert!(UdpPayloads::parse(&format!("udp 9 \"{}\"\n", "a".repeat(MAX_PAYLOAD))).is_ok());
    }
}
