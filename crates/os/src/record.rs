//! A round's answers as text, so that answers recorded from a real host (the lab's kernel)
//! become fixtures the fingerprint is tested on:
//!
//! ```text
//! probes 198.18.0.1 198.18.0.2 open=22 closed=23 udp=40000 base=40000 seq=305419896 ack=2271560481 echo=16962
//! seq_sent_us 0 100012 200031 300050 400066 500081
//! answer Seq(0) 412 4500003c…
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use crate::probe::{HostProbes, Probe};
use crate::round::HostAnswers;

impl HostAnswers {
    /// The answers in the text form above.
    pub fn to_text(&self) -> String {
        let p = &self.probes;
        let port = |port: Option<u16>| port.map_or("-".to_string(), |port| port.to_string());
        let mut text = format!(
            "probes {} {} open={} closed={} udp={} base={} seq={} ack={} echo={}\nseq_sent_us",
            p.src,
            p.dst,
            port(p.open_tcp),
            port(p.closed_tcp),
            port(p.closed_udp),
            p.port_base,
            p.seq_base,
            p.ack,
            p.echo_id
        );
        for sent in &self.seq_sent {
            let _ = write!(text, " {}", sent.map_or("-".to_string(), |sent| sent.as_micros().to_string()));
        }
        text.push('\n');
        for (probe, (packet, at)) in &self.answers {
            let hex: String = packet.iter().map(|byte| format!("{byte:02x}")).collect();
            let _ = writeln!(text, "answer {probe:?} {} {hex}", at.as_micros());
        }
        text
    }

    /// Answers from the text form; lines starting with `#` are comments.
    pub fn from_text(text: &str) -> Result<HostAnswers, String> {
        let mut lines = text.lines().filter(|line| !line.starts_with('#') && !line.trim().is_empty());
        let probes = parse_probes(lines.next().ok_or("no probes line")?)?;
        let sent_line = lines.next().ok_or("no seq_sent_us line")?;
        let sent: Vec<Option<Duration>> = sent_line
            .strip_prefix("seq_sent_us ")
            .ok_or("no seq_sent_us line")?
            .split_whitespace()
            .map(|us| if us == "-" { Ok(None) } else { us.parse().map(|us| Some(Duration::from_micros(us))) })
            .collect::<Result<_, _>>()
            .map_err(|error| format!("seq_sent_us: {error}"))?;
        let seq_sent: [Option<Duration>; 6] = sent.try_into().map_err(|_| "seq_sent_us needs six times")?;
        let mut answers = BTreeMap::new();
        for line in lines {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let ["answer", probe, at, hex] = fields[..] else { return Err(format!("not an answer line: {line:?}")) };
            let at = Duration::from_micros(at.parse().map_err(|_| format!("bad time in {line:?}"))?);
            answers.insert(parse_probe(probe)?, (parse_hex(hex)?, at));
        }
        Ok(HostAnswers { probes, seq_sent, answers, loss_seen: false })
    }
}

fn parse_probes(line: &str) -> Result<HostProbes, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let ["probes", src, dst, rest @ ..] = &fields[..] else { return Err(format!("not a probes line: {line:?}")) };
    let value = |key: &str| -> Result<&str, String> {
        rest.iter().find_map(|field| field.strip_prefix(key)?.strip_prefix('=')).ok_or(format!("no {key}= in {line:?}"))
    };
    let port = |key: &str| -> Result<Option<u16>, String> {
        match value(key)? {
            "-" => Ok(None),
            port => port.parse().map(Some).map_err(|_| format!("bad {key} in {line:?}")),
        }
    };
    let number =
        |key: &str| -> Result<u64, String> { value(key)?.parse().map_err(|_| format!("bad {key} in {line:?}")) };
    Ok(HostProbes {
        src: src.parse().map_err(|_| format!("bad address {src:?}"))?,
        dst: dst.parse().map_err(|_| format!("bad address {dst:?}"))?,
        open_tcp: port("open")?,
        closed_tcp: port("closed")?,
        closed_udp: port("udp")?,
        port_base: u16::try_from(number("base")?).map_err(|_| "base out of range")?,
        seq_base: u32::try_from(number("seq")?).map_err(|_| "seq out of range")?,
        ack: u32::try_from(number("ack")?).map_err(|_| "ack out of range")?,
        echo_id: u16::try_from(number("echo")?).map_err(|_| "echo out of range")?,
    })
}

/// "Seq(0)", "Ops(3)", "Ecn", "T(5)", "Udp", "Echo(1)".
fn parse_probe(text: &str) -> Result<Probe, String> {
    let numbered = |prefix: &str| text.strip_prefix(prefix)?.strip_suffix(')')?.parse::<u8>().ok();
    let probe = match text {
        "Ecn" => Some(Probe::Ecn),
        "Udp" => Some(Probe::Udp),
        _ => numbered("Seq(")
            .filter(|n| *n < 6)
            .map(Probe::Seq)
            .or_else(|| numbered("Ops(").filter(|n| *n < 6).map(Probe::Ops))
            .or_else(|| numbered("T(").filter(|n| (2..=7).contains(n)).map(Probe::T))
            .or_else(|| numbered("Echo(").filter(|n| *n < 2).map(Probe::Echo)),
    };
    probe.ok_or_else(|| format!("unknown probe {text:?}"))
}

fn parse_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return Err(format!("odd or non-ASCII hexadecimal: {hex:?}"));
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).map_err(|_| format!("bad hexadecimal at {at}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_the_text_form() {
        let probes = HostProbes {
            src: "198.18.0.1".parse().unwrap(),
            dst: "198.18.0.2".parse().unwrap(),
            open_tcp: Some(22),
            closed_tcp: None,
            closed_udp: Some(40000),
            port_base: 40000,
            seq_base: 7,
            ack: 9,
            echo_id: 11,
        };
        let mut answers = BTreeMap::new();
        answers.insert(Probe::T(5), (vec![0x45, 0, 0xff], Duration::from_micros(1234)));
        answers.insert(Probe::Echo(1), (vec![1, 2], Duration::from_micros(5)));
        let original = HostAnswers {
            probes,
            seq_sent: [Some(Duration::ZERO), Some(Duration::from_micros(100_000)), None, None, None, None],
            answers,
            loss_seen: false,
        };
        assert_eq!(HostAnswers::from_text(&original.to_text()), Ok(original));
        assert!(HostAnswers::from_text("probes 1.2.3.4").is_err());
        assert!(HostAnswers::from_text("").is_err());
    }
}
