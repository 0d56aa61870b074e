//! The service fingerprint of a port no rule knew, in the shape Nmap prints for submission:
//! `SF-Port9999-TCP:V=…%I=7%r(NULL,1A,"…")%r(GetRequest,…)`: each probe that drew an answer,
//! its length in hexadecimal, and the bytes escaped.

use crate::prober::PortJob;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    header: String,
    responses: Vec<String>,
}

/// Answers beyond this length are cut in the fingerprint, as Nmap cuts them.
const MAX_SHOWN: usize = 900;

impl Fingerprint {
    pub fn new(job: PortJob) -> Fingerprint {
        let protocol = job.protocol.to_string().to_uppercase();
        let header = format!("SF-Port{}-{protocol}:V=portolan-{}", job.addr.port(), env!("CARGO_PKG_VERSION"));
        Fingerprint { header, responses: Vec::new() }
    }

    pub fn add(&mut self, probe: &str, response: &[u8]) {
        let shown = &response[..response.len().min(MAX_SHOWN)];
        self.responses.push(format!("%r({probe},{:X},\"{}\")", response.len(), escape(shown)));
    }

    pub fn is_empty(&self) -> bool {
        self.responses.is_empty()
    }

    /// The whole fingerprint, one line.
    pub fn text(&self) -> String {
        format!("{}{}", self.header, self.responses.concat())
    }
}

/// Bytes as Nmap writes them in a fingerprint: printable ASCII as is, `\r \n \0` by name, quotes,
/// backslashes, spaces and the rest as `\xHH`.
pub fn escape(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &byte in bytes {
        match byte {
            b'\r' => text.push_str("\\r"),
            b'\n' => text.push_str("\\n"),
            0 => text.push_str("\\0"),
            b'"' | b'\\' | b' ' => text.push_str(&format!("\\x{byte:02x}")),
            0x21..=0x7e => text.push(char::from(byte)),
            _ => text.push_str(&format!("\\x{byte:02x}")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Protocol;

    #[test]
    fn answers_are_listed_with_their_length_and_escaped() {
        let job = PortJob { addr: "127.0.0.1:9999".parse().unwrap(), protocol: Protocol::Tcp, rtt: None };
        let mut fingerprint = Fingerprint::new(job);
        assert!(fingerprint.is_empty());
        fingerprint.add("NULL", b"hi there\r\n\x00\xff\"");
        let text = fingerprint.text();
        assert!(text.starts_with("SF-Port9999-TCP:V=portolan-"), "{text}");
        assert!(text.ends_with(r#"%r(NULL,D,"hi\x20there\r\n\0\xff\x22")"#), "{text}");
    }
}
