//! Putting a fingerprint's tests together: the OPS and WIN lines from the six SYNs' replies,
//! and the TTL attributes once the hop count is known or guessed (Nmap's makeTOpsFP,
//! makeTWinFP and makeFP).

use crate::db::{Test, Tests};
use crate::reply::options_string;

/// The replies to the six SYNs, in order: their options and windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynReply<'a> {
    pub options: &'a [u8],
    pub window: u16,
}

/// OPS (O1–O6) and WIN (W1–W6); none unless all six SYNs were answered.
pub fn ops_and_win(replies: &[SynReply<'_>]) -> Option<[Test; 2]> {
    if replies.len() != 6 {
        return None;
    }
    let numbered = |key: &str, value: &dyn Fn(&SynReply<'_>) -> String| {
        replies.iter().enumerate().map(|(i, reply)| (format!("{key}{}", i + 1), value(reply))).collect::<Vec<_>>()
    };
    let options = numbered("O", &|reply| options_string(reply.options).unwrap_or_default());
    let windows = numbered("W", &|reply| format!("{:X}", reply.window));
    Some([("OPS".into(), options), ("WIN".into(), windows)])
}

/// The initial TTL a received one most likely started from (hosts under 32 hops away).
pub fn initial_ttl_guess(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

/// Each test's T, the TTL as received, becomes the TTL as sent when `hops` (from the UDP probe's
/// quoted TTL) is known: T + hops - 1; else T gives way to TG, its initial-TTL guess.
pub fn settle_ttls(tests: &mut Tests, hops: Option<u8>) {
    for (_, attributes) in tests.iter_mut() {
        let Some(index) = attributes.iter().position(|(key, _)| key == "T") else { continue };
        let Ok(received) = u8::from_str_radix(&attributes[index].1, 16) else { continue };
        match hops {
            Some(hops) => attributes[index].1 = format!("{:X}", u32::from(received) + u32::from(hops) - 1),
            None => attributes[index] = ("TG".into(), format!("{:X}", initial_ttl_guess(received))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX_OPTIONS: &[u8] = &[2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 1, 1, 3, 3, 10];

    #[test]
    fn six_answered_syns_make_ops_and_win() {
        let replies = [SynReply { options: LINUX_OPTIONS, window: 0xFE88 }; 6];
        let [ops, win] = ops_and_win(&replies).expect("six replies");
        assert_eq!(ops.1[0], ("O1".into(), "M5B4ST11NWA".into()));
        assert_eq!(win.1[5], ("W6".into(), "FE88".into()));
        assert_eq!(ops_and_win(&replies[..5]), None);
    }

    #[test]
    fn ttls_become_sent_ttls_with_a_hop_count_and_guesses_without() {
        let tests = || -> Tests { vec![("T1".into(), vec![("R".into(), "Y".into()), ("T".into(), "3F".into())])] };
        let mut known = tests();
        settle_ttls(&mut known, Some(2));
        assert_eq!(known[0].1[1], ("T".into(), "40".into()));
        let mut guessed = tests();
        settle_ttls(&mut guessed, None);
        assert_eq!(guessed[0].1[1], ("TG".into(), "40".into()));
        assert_eq!(
            [initial_ttl_guess(32), initial_ttl_guess(33), initial_ttl_guess(120), initial_ttl_guess(200)],
            [32, 64, 128, 255]
        );
    }
}
