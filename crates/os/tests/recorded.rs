//! The fingerprint of answers recorded from the lab's kernel (crates/os/tests/fixtures,
//! recorded with the record-answers example), against Nmap's fingerprint of the same host taken
//! the same minute: every field alike but the SEQ rates, which come from the kernel's
//! randomised sequence numbers and timestamps and vary from run to run, and there agree to
//! within a few units.

use os::{observe, parse_printed, HostAnswers, Tests};

const ANSWERS: &str = include_str!("fixtures/lab-linux.answers");
const NMAP: &str = include_str!("fixtures/lab-linux.nmap");
const VARYING: [&str; 3] = ["SP", "ISR", "TS"];

fn seq_value(tests: &Tests, key: &str) -> u32 {
    let (_, seq) = tests.iter().find(|(name, _)| name == "SEQ").expect("a SEQ line");
    let (_, value) = seq.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key} in {seq:?}"));
    u32::from_str_radix(value, 16).expect("hexadecimal")
}

fn without_varying(tests: &Tests) -> Tests {
    tests
        .iter()
        .map(|(name, attributes)| {
            let kept = attributes.iter().filter(|(key, _)| name != "SEQ" || !VARYING.contains(&key.as_str()));
            (name.clone(), kept.cloned().collect())
        })
        .collect()
}

#[test]
fn recorded_lab_answers_give_nmaps_fingerprint() {
    let answers = HostAnswers::from_text(ANSWERS).expect("the fixture reads");
    let ours = observe(&[answers]);
    let nmaps = parse_printed(NMAP).expect("Nmap's fingerprint reads");
    assert_eq!(without_varying(&ours.tests), without_varying(&nmaps), "ours: {:?}", ours.tests);
    for key in ["SP", "ISR"] {
        let (a, b) = (seq_value(&ours.tests, key), seq_value(&nmaps, key));
        assert!(a.abs_diff(b) <= 8, "{key}: ours {a:X}, Nmap's {b:X}");
    }
    // Linux gives each connection its own timestamp offset: both see a wild "rate".
    assert!(seq_value(&ours.tests, "TS") >= 0x1C && seq_value(&nmaps, "TS") >= 0x1C);
    assert_eq!(ours.hops, Some(1));
    assert_eq!(ours.sequence.isns.len(), 6);
}
