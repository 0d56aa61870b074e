//! The SEQ test's sequence attributes, from the replies to the six SYNs sent 100 ms apart
//! (Nmap's makeTSeqFP): how the initial sequence numbers grow — GCD of their differences, ISR
//! the average rate (8 × log2 per second), SP the spread of the rates (8 × log2 of their
//! standard deviation) — and TS, how fast TCP timestamps tick. The IP ID classes (TI, CI, II,
//! SS) are in [`crate::ipid`].

use std::time::Duration;

/// One SYN's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqReply {
    /// When its probe left, from any fixed moment.
    pub sent: Duration,
    /// The reply's initial sequence number.
    pub isn: u32,
    /// Its TSval, `None` when it carried no timestamp option.
    pub timestamp: Option<u32>,
}

/// SP, GCD and ISR need this many replies.
pub const MIN_ISN_REPLIES: usize = 4;

/// Above this GCD, SP is measured in units of the GCD.
pub const LARGE_GCD: u32 = 9;

/// SP, GCD, ISR (from four replies on) and TS (from two), in hexadecimal as Nmap writes them.
pub fn seq_attributes(replies: &[SeqReply]) -> Vec<(String, String)> {
    let mut attributes = Vec::new();
    if replies.len() >= MIN_ISN_REPLIES {
        let (sp, gcd, isr) = isn_attributes(replies);
        attributes.extend([("SP", sp), ("GCD", gcd), ("ISR", isr)].map(|(key, value)| (key, format!("{value:X}"))));
    }
    if let Some(ts) = timestamp_attribute(replies) {
        attributes.push(("TS", ts));
    }
    attributes.into_iter().map(|(key, value)| (key.to_string(), value)).collect()
}

/// The smaller of the two ways round from `b` to `a` (Nmap's MOD_DIFF).
pub fn mod_diff(a: u32, b: u32) -> u32 {
    a.wrapping_sub(b).min(b.wrapping_sub(a))
}

/// Microseconds between consecutive probes, at least one (they divide).
fn gaps_us(replies: &[SeqReply]) -> Vec<f64> {
    replies.windows(2).map(|pair| ((pair[1].sent.saturating_sub(pair[0].sent)).as_micros().max(1)) as f64).collect()
}

/// (SP, GCD, ISR).
fn isn_attributes(replies: &[SeqReply]) -> (u32, u32, u32) {
    let diffs: Vec<u32> = replies.windows(2).map(|pair| mod_diff(pair[1].isn, pair[0].isn)).collect();
    let rates: Vec<f64> = diffs.iter().zip(gaps_us(replies)).map(|(&diff, gap)| f64::from(diff) * 1e6 / gap).collect();
    let average = rates.iter().sum::<f64>() / rates.len() as f64;
    let gcd = diffs.iter().map(|&diff| u64::from(diff)).fold(0, gcd) as u32;
    if gcd == 0 {
        // A constant ISN.
        return (0, 0, 0);
    }
    let isr = log2_times_8(average);
    // Rates are divided by a large GCD (a stack stepping by 64000), not a small one, which
    // would make even steps look regular about one time in 32.
    let divisor = if gcd > LARGE_GCD { f64::from(gcd) } else { 1.0 };
    let squares: f64 = rates.iter().map(|rate| (rate / divisor - average / divisor).powi(2)).sum();
    let deviation = (squares / (rates.len() - 1) as f64).sqrt();
    let sp = if deviation <= 1.0 { 0 } else { log2_times_8(deviation) };
    (sp, gcd, isr)
}

/// The greatest common divisor (of differences between sequence numbers).
pub fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// 8 × log2(x), rounded; 0 below 1.
fn log2_times_8(x: f64) -> u32 {
    (x.log2() * 8.0 + 0.5).max(0.0) as u32
}

/// How fast the replies' timestamps tick, in hertz: `None` with fewer than two replies, a
/// reply without a timestamp or with a zero one, or timestamps that never moved.
pub fn timestamp_rate(replies: &[SeqReply]) -> Option<f64> {
    if replies.len() < 2 {
        return None;
    }
    let stamps: Vec<u32> = replies.iter().map(|reply| reply.timestamp.filter(|&ts| ts != 0)).collect::<Option<_>>()?;
    let ticks = stamps.windows(2).map(|pair| f64::from(mod_diff(pair[1], pair[0])));
    let hz: Vec<f64> = ticks.zip(gaps_us(replies)).map(|(ticks, gap)| ticks / (gap / 1e6)).collect();
    let average = hz.iter().sum::<f64>() / hz.len() as f64;
    (average > 0.0).then_some(average)
}

/// How long the host has been up, from its first timestamp and the clock rate nearest a
/// common one (2, 100, 1000 Hz, else the rate itself); `None` without a rate, or for a claim
/// of more than two years (likely a randomised clock).
pub fn uptime(replies: &[SeqReply]) -> Option<Duration> {
    let rate = timestamp_rate(replies)?;
    let hz = if rate < 5.66 {
        2
    } else if rate > 70.0 && rate < 150.0 {
        100
    } else if rate > 724.0 && rate < 1448.0 {
        1000
    } else {
        (rate + 0.5) as u64
    };
    let seconds = u64::from(replies[0].timestamp?) / hz.max(1);
    (seconds <= TWO_YEARS_S).then(|| Duration::from_secs(seconds))
}

const TWO_YEARS_S: u64 = 63_072_000;

/// TS: "U" when a reply carried no timestamp, "0" when one was zero (the last such reply
/// decides, as in Nmap), else a class of the timestamps' rate: 1 up to 5.66 Hz, 7 for 70 to
/// 150 Hz (about 100), 8 for 150 to 350 Hz (about 200), else the rounded log2 of the rate.
/// `None` with fewer than two replies, or timestamps that never moved.
fn timestamp_attribute(replies: &[SeqReply]) -> Option<String> {
    let mut verdict = replies.iter().filter_map(|reply| match reply.timestamp {
        None => Some("U"),
        Some(0) => Some("0"),
        Some(_) => None,
    });
    if let Some(verdict) = verdict.next_back() {
        return Some(verdict.to_string());
    }
    let average = timestamp_rate(replies)?;
    let class = if average <= 5.66 {
        1
    } else if average > 70.0 && average <= 150.0 {
        7
    } else if average > 150.0 && average <= 350.0 {
        8
    } else {
        (0.5 + average.log2()) as u32
    };
    Some(format!("{class:X}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six replies 100 ms apart, their ISNs and timestamps from the given steps.
    fn replies(isn_step: u32, ts_step: Option<u32>) -> Vec<SeqReply> {
        (0..6u32)
            .map(|i| SeqReply {
                sent: Duration::from_millis(100 * u64::from(i)),
                isn: 1_000_000u32.wrapping_add(isn_step.wrapping_mul(i)),
                timestamp: ts_step.map(|step| 5000 + step * i),
            })
            .collect()
    }

    fn attributes(replies: &[SeqReply]) -> String {
        seq_attributes(replies).iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join("%")
    }

    #[test]
    fn a_stack_stepping_its_isn_by_64000_has_that_gcd_and_no_spread() {
        // 64000 per 100 ms is 640000 a second: 8 x log2 = 154.3, ISR 9A; timestamps at 1000 Hz.
        assert_eq!(attributes(&replies(64_000, Some(100))), "SP=0%GCD=FA00%ISR=9A%TS=A");
    }

    #[test]
    fn a_constant_isn_has_zero_everything() {
        assert_eq!(attributes(&replies(0, Some(10))), "SP=0%GCD=0%ISR=0%TS=7");
    }

    #[test]
    fn random_isns_spread_and_their_rate_is_measured() {
        let mut samples = replies(0, None);
        let isns = [0x1234_5678u32, 0x9abc_def0, 0x0fed_cba9, 0x7654_3210, 0xdead_beef, 0x0bad_f00d];
        for (sample, isn) in samples.iter_mut().zip(isns) {
            sample.isn = isn;
        }
        let found = seq_attributes(&samples);
        let value = |key: &str| u32::from_str_radix(&found.iter().find(|(k, _)| k == key).unwrap().1, 16).unwrap();
        assert_eq!(value("GCD"), 1);
        assert!(value("ISR") > 0xF0 && value("SP") > 0xE0, "{found:?}");
        assert_eq!(found.last().unwrap(), &("TS".to_string(), "U".to_string()), "no timestamps at all");
    }

    #[test]
    fn a_zero_timestamp_after_good_ones_says_zero_and_too_few_replies_give_no_isn_attributes() {
        let mut samples = replies(1000, Some(100));
        samples[5].timestamp = Some(0);
        assert_eq!(attributes(&samples[3..]), "TS=0");
        assert_eq!(attributes(&samples[..1]), "");
    }

    #[test]
    fn the_isn_difference_is_the_short_way_round() {
        assert_eq!(mod_diff(5, u32::MAX - 4), 10);
        assert_eq!(mod_diff(u32::MAX - 4, 5), 10);
    }
}
